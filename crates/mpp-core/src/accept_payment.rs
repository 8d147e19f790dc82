//! The `Accept-Payment` request header: which methods and intents a client prefers.

use crate::error::{ParseError, check_len};
use crate::limits::MAX_ACCEPT_PAYMENT_LEN;

/// A parsed `Accept-Payment` value: `method/intent` ranges (`*` wildcards) with q-values.
///
/// ```
/// use mpp_core::AcceptPayment;
///
/// let accept: AcceptPayment = "tempo/charge;q=0.5, redotpay/*, stripe/charge;q=0".parse()?;
/// let offers = [("stripe", "charge"), ("tempo", "charge"), ("redotpay", "charge")];
/// // redotpay (q=1) first, then tempo (q=0.5); stripe is refused (q=0).
/// assert_eq!(accept.rank(&offers, |o| *o), vec![2, 1]);
/// # Ok::<(), mpp_core::ParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct AcceptPayment {
    ranges: Vec<Range>,
}

#[derive(Clone, PartialEq, Eq, Debug)]
struct Range {
    method: Option<String>,
    intent: Option<String>,
    /// Thousandths: 0..=1000.
    q: u16,
}

impl Range {
    /// How specifically this range matches an offer: `None` when it does not.
    fn specificity(&self, method: &str, intent: &str) -> Option<u8> {
        let m = match &self.method {
            None => 0,
            Some(m) if m == method => 2,
            Some(_) => return None,
        };
        let i = match &self.intent {
            None => 0,
            Some(i) if i == intent => 1,
            Some(_) => return None,
        };
        Some(m + i)
    }
}

impl AcceptPayment {
    /// The q-value (in thousandths) that the most specific matching range gives an offer, or
    /// `None` when no range matches.
    pub fn quality(&self, method: &str, intent: &str) -> Option<u16> {
        self.ranges
            .iter()
            .filter_map(|r| r.specificity(method, intent).map(|s| (s, r.q)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, q)| q)
    }

    /// Orders offers for a response: offers with q > 0 by descending q, server order kept on
    /// ties. Returns indices into `offers`. When no offer is acceptable the server's full list
    /// is returned, since the challenge stays authoritative.
    pub fn rank<T>(&self, offers: &[T], key: impl Fn(&T) -> (&str, &str)) -> Vec<usize> {
        let mut ranked: Vec<(usize, u16)> = offers
            .iter()
            .enumerate()
            .filter_map(|(i, offer)| {
                let (method, intent) = key(offer);
                self.quality(method, intent).map(|q| (i, q))
            })
            .filter(|(_, q)| *q > 0)
            .collect();
        if ranked.is_empty() {
            return (0..offers.len()).collect();
        }
        ranked.sort_by_key(|(_, q)| std::cmp::Reverse(*q));
        ranked.into_iter().map(|(i, _)| i).collect()
    }
}

impl AcceptPayment {
    /// An empty preference list: everything is acceptable.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a preference for `method`/`intent` (`None` for `*`) with a q-value in thousandths
    /// (clamped to 1000).
    #[must_use]
    pub fn prefer(mut self, method: Option<&str>, intent: Option<&str>, q: u16) -> Self {
        self.ranges.push(Range {
            method: method.map(str::to_owned),
            intent: intent.map(str::to_owned),
            q: q.min(1000),
        });
        self
    }

    /// True when no preference is given.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

impl std::fmt::Display for AcceptPayment {
    /// The header value, e.g. `tempo/charge, redotpay/*;q=0.5`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, range) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(
                f,
                "{}/{}",
                range.method.as_deref().unwrap_or("*"),
                range.intent.as_deref().unwrap_or("*")
            )?;
            if range.q < 1000 {
                let digits = format!("{:03}", range.q);
                match digits.trim_end_matches('0') {
                    "" => f.write_str(";q=0")?,
                    fraction => write!(f, ";q=0.{fraction}")?,
                }
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for AcceptPayment {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_len(s, MAX_ACCEPT_PAYMENT_LEN)?;
        let mut ranges = Vec::new();
        for item in s.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let mut parts = item.split(';');
            let range = parts.next().unwrap_or("").trim();
            let (method, intent) = range.split_once('/').ok_or(INVALID)?;
            let mut q = 1000;
            for param in parts {
                let (name, value) = param.split_once('=').ok_or(INVALID)?;
                if name.trim().eq_ignore_ascii_case("q") {
                    q = parse_q(value.trim()).ok_or(INVALID)?;
                }
            }
            ranges.push(Range {
                method: wildcard(method.trim())?,
                intent: wildcard(intent.trim())?,
                q,
            });
        }
        Ok(Self { ranges })
    }
}

const INVALID: ParseError = ParseError::Invalid {
    field: "Accept-Payment",
    reason: "expected method/intent[;q=value] items",
};

fn wildcard(part: &str) -> Result<Option<String>, ParseError> {
    if part == "*" {
        return Ok(None);
    }
    if part.is_empty() || !part.chars().all(crate::auth_params::is_tchar) {
        return Err(INVALID);
    }
    Ok(Some(part.to_owned()))
}

/// RFC 9110 qvalue: `0[.ddd]` or `1[.000]`, as thousandths.
fn parse_q(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_range_wins() {
        let a: AcceptPayment = "*/*;q=0.1, tempo/*;q=0.8, tempo/session;q=0"
            .parse()
            .unwrap();
        assert_eq!(a.quality("tempo", "charge"), Some(800));
        assert_eq!(a.quality("tempo", "session"), Some(0));
        assert_eq!(a.quality("stripe", "charge"), Some(100));
    }

    #[test]
    fn ties_keep_server_order_and_no_match_falls_back() {
        let a: AcceptPayment = "x/charge, y/charge".parse().unwrap();
        let offers = [("y", "charge"), ("x", "charge")];
        assert_eq!(a.rank(&offers, |o| *o), vec![0, 1]);
        let none: AcceptPayment = "z/*".parse().unwrap();
        assert_eq!(none.rank(&offers, |o| *o), vec![0, 1]);
    }

    #[test]
    fn formats_what_it_parses() {
        let a = AcceptPayment::new()
            .prefer(Some("tempo"), Some("charge"), 1000)
            .prefer(Some("redotpay"), None, 500)
            .prefer(None, None, 0);
        let text = a.to_string();
        assert_eq!(text, "tempo/charge, redotpay/*;q=0.5, */*;q=0");
        assert_eq!(text.parse::<AcceptPayment>().unwrap(), a);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "tempo",
            "tempo/charge;q=2",
            "tempo/charge;q=0.1234",
            "/charge",
        ] {
            assert!(bad.parse::<AcceptPayment>().is_err(), "{bad}");
        }
    }
}
