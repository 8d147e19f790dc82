//! The typed Tempo session request: the challenge's `request` object with its `methodDetails`.

use alloy::primitives::{Address, B256};
use mpp_core::Amount;
use serde_json::{Map, Value, json};

use super::protocol::{Escrow, SessionProtocol};
use super::terms::ChannelTerms;
use super::wire;
use crate::error::RequestError;
use crate::request::{address_field, amount_field, optional_string, parse_memo, string_field};

/// A Tempo `session` request: the price of one unit and where channels live.
///
/// On the wire (the official SDKs' shape): `amount` (price per unit, base units), `unitType`,
/// `suggestedDeposit?`, `currency`, `recipient`, `description?`, `externalId?` and
/// `methodDetails {escrowContract, chainId, minVoucherDelta?, feePayer?, operator?,
/// sessionProtocol?, channelId?, feeToken?, sessionSnapshot?}`; amounts are decimal strings and
/// `chainId` a number. Unknown fields are ignored.
///
/// ```
/// use mpp_tempo::{SessionProtocol, TempoSessionRequest};
///
/// let request = TempoSessionRequest::from_json(&serde_json::json!({
///     "amount": "10000",
///     "unitType": "request",
///     "suggestedDeposit": "1000000",
///     "currency": "0x20c0000000000000000000000000000000000000",
///     "recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
///     "methodDetails": {
///         "escrowContract": "0x4d50500000000000000000000000000000000000",
///         "chainId": 42431,
///         "feePayer": true,
///         "sessionProtocol": "v2"
///     }
/// }))?;
/// assert_eq!(request.protocol(), SessionProtocol::V2);
/// assert_eq!(request.amount.base_units(), 10_000);
/// assert_eq!(TempoSessionRequest::from_map(&request.to_map())?, request);
/// # Ok::<(), mpp_tempo::RequestError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TempoSessionRequest {
    /// The price of one unit, in base units (> 0).
    pub amount: Amount,
    /// What a unit is (`request`, `token`, `second`, …). mppx's clients require it; peers that
    /// leave it out are accepted.
    pub unit_type: Option<String>,
    /// The deposit the server suggests for a new channel.
    pub suggested_deposit: Option<Amount>,
    /// The TIP-20 token.
    pub currency: Address,
    /// The payee.
    pub recipient: Address,
    /// Display text.
    pub description: Option<String>,
    /// The merchant reference.
    pub external_id: Option<String>,
    /// The escrow contract (`methodDetails.escrowContract`).
    pub escrow_contract: Address,
    /// The chain (`methodDetails.chainId`).
    pub chain_id: u64,
    /// The smallest increase a voucher must bring.
    pub min_voucher_delta: Option<Amount>,
    /// The server sponsors the fees of `open` and `topUp` transactions.
    pub fee_payer: bool,
    /// Who may settle and close besides the payee (v2).
    pub operator: Option<Address>,
    /// The protocol the server names (`methodDetails.sessionProtocol`); when absent it follows
    /// from the escrow address.
    pub session_protocol: Option<SessionProtocol>,
    /// A channel the server suggests resuming.
    pub channel_id: Option<B256>,
    /// The fee token the server sponsors in.
    pub fee_token: Option<Address>,
    /// The server's snapshot of a reusable channel, kept as sent.
    pub session_snapshot: Option<Value>,
}

impl TempoSessionRequest {
    /// A request for `amount` per `unit_type` of `currency`, paid to `recipient` through channels
    /// in `escrow`. It names the escrow's protocol explicitly.
    pub fn new(
        amount: Amount,
        unit_type: impl Into<String>,
        currency: Address,
        recipient: Address,
        escrow: &Escrow,
    ) -> Self {
        Self {
            amount,
            unit_type: Some(unit_type.into()),
            suggested_deposit: None,
            currency,
            recipient,
            description: None,
            external_id: None,
            escrow_contract: escrow.address(),
            chain_id: escrow.chain_id(),
            min_voucher_delta: None,
            fee_payer: false,
            operator: None,
            session_protocol: Some(escrow.protocol()),
            channel_id: None,
            fee_token: None,
            session_snapshot: None,
        }
    }

    /// Reads a request object.
    pub fn from_json(value: &Value) -> Result<Self, RequestError> {
        match value {
            Value::Object(map) => Self::from_map(map),
            _ => Err(RequestError::invalid("request", "must be a JSON object")),
        }
    }

    /// Reads a request object, checking every field.
    pub fn from_map(map: &Map<String, Value>) -> Result<Self, RequestError> {
        let details = match map.get("methodDetails") {
            Some(Value::Object(d)) => d,
            None | Some(Value::Null) => return Err(RequestError::Missing("methodDetails")),
            Some(_) => return Err(RequestError::invalid("methodDetails", "must be an object")),
        };
        let chain_id = match details.get("chainId") {
            None | Some(Value::Null) => return Err(RequestError::Missing("chainId")),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                RequestError::invalid("chainId", "must be a non-negative integer")
            })?,
            Some(_) => return Err(RequestError::invalid("chainId", "must be a number")),
        };
        let fee_payer = match details.get("feePayer") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(RequestError::invalid("feePayer", "must be a boolean")),
        };
        let session_protocol = optional_string(details.get("sessionProtocol"), "sessionProtocol")?
            .map(|text| {
                text.parse()
                    .map_err(|_| RequestError::invalid("sessionProtocol", "must be v1 or v2"))
            })
            .transpose()?;
        let request = Self {
            amount: amount_field(map.get("amount"), "amount")?,
            unit_type: optional_string(map.get("unitType"), "unitType")?,
            suggested_deposit: optional(
                map.get("suggestedDeposit"),
                "suggestedDeposit",
                amount_field,
            )?,
            currency: address_field(map.get("currency"), "currency")?,
            recipient: address_field(map.get("recipient"), "recipient")?,
            description: optional_string(map.get("description"), "description")?,
            external_id: optional_string(map.get("externalId"), "externalId")?,
            escrow_contract: address_field(details.get("escrowContract"), "escrowContract")?,
            chain_id,
            min_voucher_delta: optional(
                details.get("minVoucherDelta"),
                "minVoucherDelta",
                amount_field,
            )?,
            fee_payer,
            operator: optional(details.get("operator"), "operator", address_field)?,
            session_protocol,
            channel_id: optional(details.get("channelId"), "channelId", |v, field| {
                parse_memo(string_field(v, field)?, field)
            })?,
            fee_token: optional(details.get("feeToken"), "feeToken", address_field)?,
            session_snapshot: details
                .get("sessionSnapshot")
                .filter(|v| !v.is_null())
                .cloned(),
        };
        request.validate()?;
        Ok(request)
    }

    /// Checks the constraints: a positive price, and every amount within the protocol's limit.
    pub fn validate(&self) -> Result<(), RequestError> {
        if self.amount.is_zero() {
            return Err(RequestError::invalid("amount", "must be greater than zero"));
        }
        let protocol = self.protocol();
        let amounts = [
            ("amount", Some(self.amount)),
            ("suggestedDeposit", self.suggested_deposit),
            ("minVoucherDelta", self.min_voucher_delta),
        ];
        for (field, amount) in amounts {
            if let Some(amount) = amount
                && protocol.check(amount, field).is_err()
            {
                return Err(RequestError::invalid(
                    field,
                    format!("exceeds the {protocol} channel limit"),
                ));
            }
        }
        Ok(())
    }

    /// The protocol: the one the request names, else the escrow address's.
    pub fn protocol(&self) -> SessionProtocol {
        self.session_protocol
            .unwrap_or_else(|| SessionProtocol::for_escrow(self.escrow_contract))
    }

    /// The escrow channels live in.
    pub fn escrow(&self) -> Escrow {
        Escrow::with_protocol(self.protocol(), self.escrow_contract, self.chain_id)
    }

    /// What the request asks of a channel: this escrow, paying `recipient` in `currency`, with
    /// `operator` (or none).
    pub fn terms(&self) -> ChannelTerms {
        ChannelTerms::new(self.escrow(), self.recipient, self.currency)
            .with_operator(self.operator.unwrap_or(Address::ZERO))
    }

    /// The request object, as the challenge carries it (hex in lowercase).
    pub fn to_map(&self) -> Map<String, Value> {
        let mut details = Map::new();
        details.insert(
            "escrowContract".into(),
            json!(wire::address_text(&self.escrow_contract)),
        );
        details.insert("chainId".into(), json!(self.chain_id));
        if let Some(delta) = self.min_voucher_delta {
            details.insert("minVoucherDelta".into(), json!(delta.to_string()));
        }
        if self.fee_payer {
            details.insert("feePayer".into(), json!(true));
        }
        if let Some(operator) = &self.operator {
            details.insert("operator".into(), json!(wire::address_text(operator)));
        }
        if let Some(protocol) = self.session_protocol {
            details.insert("sessionProtocol".into(), json!(protocol.as_str()));
        }
        if let Some(channel_id) = &self.channel_id {
            details.insert("channelId".into(), json!(channel_id.to_string()));
        }
        if let Some(fee_token) = &self.fee_token {
            details.insert("feeToken".into(), json!(wire::address_text(fee_token)));
        }
        if let Some(snapshot) = &self.session_snapshot {
            details.insert("sessionSnapshot".into(), snapshot.clone());
        }
        let mut map = Map::new();
        map.insert("amount".into(), json!(self.amount.to_string()));
        if let Some(unit_type) = &self.unit_type {
            map.insert("unitType".into(), json!(unit_type));
        }
        if let Some(deposit) = self.suggested_deposit {
            map.insert("suggestedDeposit".into(), json!(deposit.to_string()));
        }
        map.insert("currency".into(), json!(wire::address_text(&self.currency)));
        map.insert(
            "recipient".into(),
            json!(wire::address_text(&self.recipient)),
        );
        if let Some(description) = &self.description {
            map.insert("description".into(), json!(description));
        }
        if let Some(external_id) = &self.external_id {
            map.insert("externalId".into(), json!(external_id));
        }
        map.insert("methodDetails".into(), Value::Object(details));
        map
    }
}

/// An optional field read with `read` when present and not null.
fn optional<T>(
    value: Option<&Value>,
    field: &'static str,
    read: impl FnOnce(Option<&Value>, &'static str) -> Result<T, RequestError>,
) -> Result<Option<T>, RequestError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => read(Some(v), field).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::protocol::{MODERATO_STREAM_CHANNEL, TIP20_CHANNEL_RESERVE};

    /// A request as mppx 0.11's server writes it (mppx checksums nothing; the SDKs accept any
    /// case).
    fn mppx() -> Value {
        json!({
            "amount": "10000",
            "currency": "0x20c0000000000000000000000000000000000000",
            "methodDetails": {
                "escrowContract": "0x4d50500000000000000000000000000000000000",
                "chainId": 31337,
                "minVoucherDelta": "1000",
                "feePayer": true,
                "operator": "0x0000000000000000000000000000000000000000",
                "sessionProtocol": "v2",
                "feeToken": "0x20C0000000000000000000000000000000000000",
                "machineTokenEnabled": false
            },
            "recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "suggestedDeposit": "100000",
            "unitType": "request"
        })
    }

    #[test]
    fn reads_the_mppx_request_and_round_trips() {
        let request = TempoSessionRequest::from_json(&mppx()).unwrap();
        assert_eq!(request.amount, Amount::new(10_000));
        assert_eq!(request.unit_type.as_deref(), Some("request"));
        assert_eq!(request.suggested_deposit, Some(Amount::new(100_000)));
        assert_eq!(request.min_voucher_delta, Some(Amount::new(1000)));
        assert!(request.fee_payer);
        assert_eq!(request.operator, Some(Address::ZERO));
        assert_eq!(request.protocol(), SessionProtocol::V2);
        assert_eq!(request.escrow().address(), TIP20_CHANNEL_RESERVE);
        assert_eq!(request.terms().operator, Address::ZERO);
        let map = request.to_map();
        assert_eq!(map["methodDetails"]["chainId"], 31337);
        assert_eq!(
            map["recipient"],
            "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
        );
        assert_eq!(map["methodDetails"]["sessionProtocol"], "v2");
        assert!(map["methodDetails"].get("machineTokenEnabled").is_none());
        assert_eq!(TempoSessionRequest::from_map(&map).unwrap(), request);
    }

    #[test]
    fn protocol_follows_the_escrow_unless_named() {
        let mut v = mppx();
        v["methodDetails"]["escrowContract"] = json!(MODERATO_STREAM_CHANNEL);
        v["methodDetails"]
            .as_object_mut()
            .unwrap()
            .remove("sessionProtocol");
        let legacy = TempoSessionRequest::from_json(&v).unwrap();
        assert_eq!(legacy.protocol(), SessionProtocol::V1);
        assert_eq!(legacy.session_protocol, None);
        assert!(
            legacy.to_map()["methodDetails"]
                .get("sessionProtocol")
                .is_none()
        );
        let built = TempoSessionRequest::new(
            Amount::new(1),
            "token",
            legacy.currency,
            legacy.recipient,
            &Escrow::new(MODERATO_STREAM_CHANNEL, 42431),
        );
        assert_eq!(built.to_map()["methodDetails"]["sessionProtocol"], "v1");
        assert_eq!(
            TempoSessionRequest::from_map(&built.to_map()).unwrap(),
            built
        );
    }

    #[test]
    fn accepts_optional_fields_absent_or_present() {
        let v = json!({
            "amount": "1",
            "currency": "0x20c0000000000000000000000000000000000000",
            "recipient": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
            "description": "tokens",
            "externalId": "x-1",
            "methodDetails": {
                "escrowContract": "0x4d50500000000000000000000000000000000000",
                "chainId": 4217,
                "channelId": format!("0x{}", "ab".repeat(32)),
                "sessionSnapshot": {"channelId": "0x00"}
            }
        });
        let request = TempoSessionRequest::from_json(&v).unwrap();
        assert_eq!(request.unit_type, None);
        assert_eq!(request.channel_id, Some(B256::repeat_byte(0xab)));
        assert_eq!(request.session_snapshot, Some(json!({"channelId": "0x00"})));
        assert_eq!(
            TempoSessionRequest::from_map(&request.to_map()).unwrap(),
            request
        );
    }

    type Change = fn(&mut Value);

    #[test]
    fn refuses_bad_requests() {
        let cases: Vec<(&str, Change)> = vec![
            ("zero amount", (|v: &mut Value| v["amount"] = json!("0"))),
            (
                "decimal amount",
                (|v: &mut Value| v["amount"] = json!("1.5")),
            ),
            ("numeric amount", (|v: &mut Value| v["amount"] = json!(10))),
            (
                "no currency",
                (|v: &mut Value| {
                    v.as_object_mut().unwrap().remove("currency");
                }),
            ),
            (
                "bad recipient",
                (|v: &mut Value| v["recipient"] = json!("0x1234")),
            ),
            (
                "no methodDetails",
                (|v: &mut Value| {
                    v.as_object_mut().unwrap().remove("methodDetails");
                }),
            ),
            (
                "no escrow",
                (|v: &mut Value| {
                    v["methodDetails"]
                        .as_object_mut()
                        .unwrap()
                        .remove("escrowContract");
                }),
            ),
            (
                "no chain",
                (|v: &mut Value| {
                    v["methodDetails"]
                        .as_object_mut()
                        .unwrap()
                        .remove("chainId");
                }),
            ),
            (
                "string chain",
                (|v: &mut Value| v["methodDetails"]["chainId"] = json!("31337")),
            ),
            (
                "negative chain",
                (|v: &mut Value| v["methodDetails"]["chainId"] = json!(-1)),
            ),
            (
                "feePayer object",
                (|v: &mut Value| v["methodDetails"]["feePayer"] = json!({})),
            ),
            (
                "protocol v3",
                (|v: &mut Value| v["methodDetails"]["sessionProtocol"] = json!("v3")),
            ),
            (
                "bad channel",
                (|v: &mut Value| v["methodDetails"]["channelId"] = json!("0x12")),
            ),
            (
                "bad delta",
                (|v: &mut Value| v["methodDetails"]["minVoucherDelta"] = json!("-1")),
            ),
            (
                "unitType number",
                (|v: &mut Value| v["unitType"] = json!(1)),
            ),
            (
                "deposit over uint96",
                (|v: &mut Value| {
                    v["suggestedDeposit"] = json!((1u128 << 96).to_string());
                }),
            ),
        ];
        for (name, change) in cases {
            let mut v = mppx();
            change(&mut v);
            assert!(TempoSessionRequest::from_json(&v).is_err(), "{name}");
        }
        assert!(TempoSessionRequest::from_json(&json!([])).is_err());
        // The uint96 limit does not apply to v1.
        let mut v = mppx();
        v["methodDetails"]["sessionProtocol"] = json!("v1");
        v["suggestedDeposit"] = json!((1u128 << 96).to_string());
        assert!(TempoSessionRequest::from_json(&v).is_ok());
    }
}
