//! RFC 3339 timestamps: the challenge `expires` parameter and receipt timestamps.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ParseError;

/// Parses an RFC 3339 date-time (fractional seconds and offsets accepted).
///
/// ```
/// let t = mpp_core::expires::parse("2026-01-15T12:05:00.123+01:00")?;
/// assert_eq!(mpp_core::expires::format(t), "2026-01-15T11:05:00.123Z");
/// # Ok::<(), mpp_core::ParseError>(())
/// ```
pub fn parse(text: &str) -> Result<OffsetDateTime, ParseError> {
    if text.len() > 64 {
        return Err(ParseError::TooLarge {
            len: text.len(),
            limit: 64,
        });
    }
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| ParseError::Invalid {
        field: "timestamp",
        reason: "not an RFC 3339 date-time",
    })
}

/// Formats a time as RFC 3339 in UTC with millisecond precision (`2026-01-15T12:05:00.123Z`),
/// the form `mppx` emits. Instants beyond year 9999 are written as the last representable
/// millisecond of 9999.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.checked_to_offset(time::UtcOffset::UTC).unwrap_or(LATEST);
    let Ok(year @ 0..=9999) = u32::try_from(t.year()) else {
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        );
    };
    // Written digit by digit: this runs for every challenge a server issues.
    let mut out = String::with_capacity(24);
    let mut digits = |value: u32, width: u32, then: char| {
        for place in (0..width).rev() {
            let digit = value / 10u32.pow(place) % 10;
            out.push(char::from_digit(digit, 10).unwrap_or('0'));
        }
        out.push(then);
    };
    digits(year, 4, '-');
    digits(u32::from(u8::from(t.month())), 2, '-');
    digits(u32::from(t.day()), 2, 'T');
    digits(u32::from(t.hour()), 2, ':');
    digits(u32::from(t.minute()), 2, ':');
    digits(u32::from(t.second()), 2, '.');
    digits(u32::from(t.millisecond()), 3, 'Z');
    out
}

/// The latest instant RFC 3339 (four-digit years) can write.
const LATEST: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59.999 UTC);

/// Converts a [`SystemTime`], clamping to the range RFC 3339 can write (years 0 to 9999).
pub fn from_system(t: SystemTime) -> OffsetDateTime {
    let converted = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => time::Duration::try_from(after)
            .ok()
            .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_add(d)),
        Err(before) => time::Duration::try_from(before.duration())
            .ok()
            .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_sub(d)),
    };
    converted.map_or(LATEST, |t| t.min(LATEST))
}

/// Formats a [`SystemTime`] as [`format()`] does.
pub fn format_system(t: SystemTime) -> String {
    format(from_system(t))
}

/// The `expires` value for a challenge that lives `ttl` from now.
pub fn in_duration(ttl: Duration) -> String {
    let now = SystemTime::now();
    format(
        from_system(now)
            .checked_add(time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX))
            .unwrap_or(LATEST),
    )
}

/// True when `expires` is at or before `now`. Both official SDKs treat a challenge as expired
/// from its `expires` instant on; this is the stricter of their two comparisons.
pub fn is_past(expires: OffsetDateTime, now: SystemTime) -> bool {
    expires <= from_system(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_variants() {
        for ok in [
            "2026-01-15T12:05:00Z",
            "2026-01-15T12:05:00.5Z",
            "2026-01-15T12:05:00.123456789Z",
            "2026-01-15T12:05:00+05:30",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in ["Jan 29 2026 12:00", "2026-01-15", "2026-01-15 12:05:00", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extreme_instants_never_panic() {
        let far = parse("9999-12-31T23:59:59-00:01").unwrap();
        assert_eq!(format(far), "9999-12-31T23:59:59.999Z");
        let huge = Duration::from_secs(u64::MAX / 4);
        assert_eq!(in_duration(huge), "9999-12-31T23:59:59.999Z");
        let future = SystemTime::UNIX_EPOCH.checked_add(huge).unwrap();
        assert_eq!(format_system(future), "9999-12-31T23:59:59.999Z");
        assert!(!is_past(far, future));
    }

    #[test]
    fn formats_like_the_long_way() {
        for text in [
            "2026-01-15T12:05:00.123Z",
            "0001-02-03T04:05:06.007Z",
            "9999-12-31T23:59:59.999Z",
            "1970-01-01T00:00:00.000Z",
        ] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
        let ancient = time::macros::datetime!(-0042-03-04 05:06:07.089 UTC);
        assert_eq!(format(ancient), "-042-03-04T05:06:07.089Z");
    }

    #[test]
    fn expiry_is_inclusive() {
        let now = SystemTime::now();
        let t = OffsetDateTime::from(now);
        assert!(is_past(t, now));
        assert!(!is_past(t + time::Duration::seconds(1), now));
    }
}
