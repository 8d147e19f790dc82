//! Session receipts, and the `payment-need-voucher` event of metered streams.
//!
//! A session receipt is an MPP receipt with `method: "tempo"`, `intent: "session"`,
//! `reference` = the channel id, and `challengeId`, `channelId`, `acceptedCumulative`, `spent`
//! (decimal strings), `units?` (a number) and `txHash?` (for actions that sent a transaction).

use alloy::primitives::B256;
use mpp_core::{Amount, Receipt};
use serde_json::Value;

use super::wire;
use crate::constants::METHOD;
use crate::error::SessionError;

/// The intent sessions use.
pub const SESSION_INTENT: &str = "session";

/// A session receipt, typed.
///
/// ```
/// use alloy::primitives::B256;
/// use mpp_core::Amount;
/// use mpp_tempo::SessionReceipt;
///
/// let receipt = SessionReceipt::new("challenge-1", B256::repeat_byte(1), Amount::new(30_000), Amount::new(20_000))
///     .with_units(2);
/// let wire = receipt.to_receipt();
/// assert_eq!(wire.reference, B256::repeat_byte(1).to_string());
/// let header = wire.to_header()?;
/// assert_eq!(SessionReceipt::from_receipt(&header.parse()?)?, receipt);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionReceipt {
    /// The challenge the credential answered.
    pub challenge_id: String,
    /// The channel.
    pub channel_id: B256,
    /// The highest voucher the server holds.
    pub accepted_cumulative: Amount,
    /// What the server has charged so far.
    pub spent: Amount,
    /// How many units were charged, when the server counts them.
    pub units: Option<u64>,
    /// The transaction the action sent (`open`, `topUp`, `close`).
    pub tx_hash: Option<B256>,
}

impl SessionReceipt {
    /// A receipt for `channel_id` after answering `challenge_id`.
    pub fn new(
        challenge_id: impl Into<String>,
        channel_id: B256,
        accepted_cumulative: Amount,
        spent: Amount,
    ) -> Self {
        Self {
            challenge_id: challenge_id.into(),
            channel_id,
            accepted_cumulative,
            spent,
            units: None,
            tx_hash: None,
        }
    }

    /// Sets the unit count.
    #[must_use]
    pub fn with_units(mut self, units: u64) -> Self {
        self.units = Some(units);
        self
    }

    /// Sets the transaction hash.
    #[must_use]
    pub fn with_tx_hash(mut self, tx_hash: B256) -> Self {
        self.tx_hash = Some(tx_hash);
        self
    }

    /// The MPP receipt, stamped now.
    pub fn to_receipt(&self) -> Receipt {
        let mut receipt = Receipt::new(METHOD, self.channel_id.to_string())
            .with_field("intent", SESSION_INTENT)
            .with_field("challengeId", self.challenge_id.clone())
            .with_field("channelId", self.channel_id.to_string())
            .with_field("acceptedCumulative", self.accepted_cumulative.to_string())
            .with_field("spent", self.spent.to_string());
        if let Some(units) = self.units {
            receipt = receipt.with_field("units", units);
        }
        if let Some(tx_hash) = &self.tx_hash {
            receipt = receipt.with_field("txHash", tx_hash.to_string());
        }
        receipt
    }

    /// Reads a session receipt (`method` tempo, `intent` session, the fields typed as the SDKs
    /// write them).
    pub fn from_receipt(receipt: &Receipt) -> Result<Self, SessionError> {
        if receipt.method != METHOD {
            return Err(SessionError::malformed("method", "must be \"tempo\""));
        }
        let extra = &receipt.extra;
        if extra.get("intent").and_then(Value::as_str) != Some(SESSION_INTENT) {
            return Err(SessionError::malformed("intent", "must be \"session\""));
        }
        let amount = |field| {
            wire::string(extra, field)?
                .parse::<Amount>()
                .map_err(|_| SessionError::malformed(field, "must be a decimal integer"))
        };
        Ok(Self {
            challenge_id: wire::string(extra, "challengeId")?.to_owned(),
            channel_id: wire::hash(extra, "channelId")?,
            accepted_cumulative: amount("acceptedCumulative")?,
            spent: amount("spent")?,
            units: match extra.get("units") {
                None | Some(Value::Null) => None,
                Some(value) => Some(
                    value
                        .as_u64()
                        .ok_or(SessionError::malformed("units", "must be a whole number"))?,
                ),
            },
            tx_hash: match extra.get("txHash") {
                None | Some(Value::Null) => None,
                Some(_) => Some(wire::hash(extra, "txHash")?),
            },
        })
    }
}

/// The data of a `payment-need-voucher` event: the stream paused until a voucher for
/// `required_cumulative` arrives (a top-up first when that exceeds `deposit`).
///
/// ```
/// use mpp_tempo::NeedVoucher;
///
/// let event: NeedVoucher = serde_json::from_str(
///     r#"{"channelId":"0x2c09f11ec610cf81eb833a3f13908c68e8de846346ea8c19c6041c538332aa52",
///         "requiredCumulative":"50000","acceptedCumulative":"40000","deposit":"40000"}"#,
/// )?;
/// assert!(event.needs_top_up());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NeedVoucher {
    /// The channel.
    pub channel_id: B256,
    /// The voucher amount the server waits for.
    pub required_cumulative: Amount,
    /// The highest voucher it holds.
    pub accepted_cumulative: Amount,
    /// The channel's deposit.
    pub deposit: Amount,
}

impl NeedVoucher {
    /// The payer must top up before it can sign the required voucher.
    pub fn needs_top_up(&self) -> bool {
        self.required_cumulative > self.deposit
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The SSE `payment-receipt` data an mppx 0.11 server sent (wire samples of a local run).
    const MPPX_RECEIPT: &str = r#"{"method":"tempo","intent":"session","status":"success","timestamp":"2026-12-05T23:21:15.716Z","reference":"0x2c09f11ec610cf81eb833a3f13908c68e8de846346ea8c19c6041c538332aa52","challengeId":"WDEQJH3-h9_vsLjLvLme1HfrBKJHLXjBQ7hJFIJmgtk","channelId":"0x2c09f11ec610cf81eb833a3f13908c68e8de846346ea8c19c6041c538332aa52","acceptedCumulative":"80000","spent":"80000","units":8,"txHash":"0x52246d3b9f86ce6b73ad741c27951ad248e81ba71f492ee46e9d52f09abe9178"}"#;

    #[test]
    fn reads_an_mppx_receipt_and_writes_the_same_shape() {
        let receipt: Receipt = serde_json::from_str(MPPX_RECEIPT).unwrap();
        let session = SessionReceipt::from_receipt(&receipt).unwrap();
        assert_eq!(session.accepted_cumulative, Amount::new(80_000));
        assert_eq!(session.spent, Amount::new(80_000));
        assert_eq!(session.units, Some(8));
        assert!(session.tx_hash.is_some());
        let ours = session.to_receipt();
        assert_eq!(ours.reference, receipt.reference);
        assert_eq!(ours.extra, receipt.extra);
        let ours: Value = serde_json::to_value(&ours).unwrap();
        let theirs: Value = serde_json::from_str(MPPX_RECEIPT).unwrap();
        let keys = |v: &Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&ours), keys(&theirs));
    }

    #[test]
    fn optional_fields_stay_out() {
        let receipt = SessionReceipt::new("c", B256::repeat_byte(2), Amount::new(1), Amount::ZERO)
            .to_receipt();
        assert!(receipt.extra.get("units").is_none());
        assert!(receipt.extra.get("txHash").is_none());
        let again = SessionReceipt::from_receipt(&receipt).unwrap();
        assert_eq!(again.units, None);
        let with = again.clone().with_tx_hash(B256::repeat_byte(3));
        assert_eq!(
            SessionReceipt::from_receipt(&with.to_receipt()).unwrap(),
            with
        );
    }

    #[test]
    fn refuses_what_is_not_a_session_receipt() {
        let good: Receipt = serde_json::from_str(MPPX_RECEIPT).unwrap();
        let charge = Receipt::new("tempo", "0xabc");
        assert!(SessionReceipt::from_receipt(&charge).is_err());
        let other = Receipt::new("stripe", "x").with_field("intent", "session");
        assert!(SessionReceipt::from_receipt(&other).is_err());
        for (field, value) in [
            ("acceptedCumulative", json!(80000)),
            ("spent", json!("-1")),
            ("units", json!("8")),
            ("units", json!(-1)),
            ("channelId", json!("0x2c")),
            ("txHash", json!(1)),
            ("challengeId", json!(null)),
        ] {
            let mut bad = good.clone();
            bad.extra.insert(field.into(), value.clone());
            assert!(
                SessionReceipt::from_receipt(&bad).is_err(),
                "{field} = {value}"
            );
        }
    }

    #[test]
    fn need_voucher_is_the_sse_data_shape() {
        let sample = r#"{"channelId":"0x2c09f11ec610cf81eb833a3f13908c68e8de846346ea8c19c6041c538332aa52","requiredCumulative":"50000","acceptedCumulative":"40000","deposit":"40000"}"#;
        let event: NeedVoucher = serde_json::from_str(sample).unwrap();
        assert_eq!(event.required_cumulative, Amount::new(50_000));
        assert_eq!(serde_json::to_string(&event).unwrap(), sample);
        assert!(event.needs_top_up());
        assert!(serde_json::from_str::<NeedVoucher>(r#"{"channelId":"0x00"}"#).is_err());
    }
}
