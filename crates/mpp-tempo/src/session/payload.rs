//! Session credential payloads: `open`, `topUp`, `voucher` and `close`, read as strictly as the
//! official SDKs read them and written in their shape.
//!
//! | action | fields besides `action` |
//! |---|---|
//! | `open` | `type: "transaction"`, `channelId`, `transaction`, `cumulativeAmount`, `signature`, `descriptor` (v2), `authorizedSigner?` |
//! | `topUp` | `type: "transaction"`, `channelId`, `transaction`, `additionalDeposit`, `descriptor` (v2) |
//! | `voucher`, `close` | `channelId`, `cumulativeAmount`, `signature`, `descriptor` (v2) |
//!
//! Hex fields are `0x`-prefixed (any case on input, lowercase on output), hashes are 32 bytes,
//! amounts are decimal strings within the protocol's limit. v2 payloads carry the channel
//! descriptor; v1 payloads do not need one. Unknown fields are ignored.

use std::fmt;
use std::str::FromStr;

use alloy::primitives::{Address, B256, Bytes};
use mpp_core::{Amount, PaymentPayload};
use serde_json::{Map, Value};

use super::descriptor::ChannelDescriptor;
use super::protocol::SessionProtocol;
use super::voucher::{Voucher, VoucherSignature};
use super::wire;
use crate::error::SessionError;

/// The longest signed transaction an `open` or `topUp` payload may carry, in bytes.
pub const MAX_SESSION_TRANSACTION_LEN: usize = 8 * 1024;

/// What a session credential asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionAction {
    /// Open a channel (a signed transaction) and pay with its first voucher.
    Open,
    /// Add to the deposit (a signed transaction).
    TopUp,
    /// Pay with a higher voucher.
    Voucher,
    /// Close the channel with a final voucher.
    Close,
}

impl SessionAction {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::TopUp => "topUp",
            Self::Voucher => "voucher",
            Self::Close => "close",
        }
    }
}

impl fmt::Display for SessionAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionAction {
    type Err = SessionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Self::Open),
            "topUp" => Ok(Self::TopUp),
            "voucher" => Ok(Self::Voucher),
            "close" => Ok(Self::Close),
            other => Err(SessionError::UnknownAction(other.to_owned())),
        }
    }
}

/// An `open` payload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenPayload {
    /// The channel the transaction opens.
    pub channel_id: B256,
    /// The signed `0x76` transaction or `0x78` fee-payer envelope.
    pub transaction: Bytes,
    /// The first voucher's amount.
    pub cumulative_amount: Amount,
    /// The first voucher's signature.
    pub signature: VoucherSignature,
    /// The channel (required for v2).
    pub descriptor: Option<ChannelDescriptor>,
    /// The voucher signer the payer names (equal to the descriptor's when both are present).
    pub authorized_signer: Option<Address>,
}

impl OpenPayload {
    /// An `open` payload.
    pub fn new(
        channel_id: B256,
        transaction: impl Into<Bytes>,
        cumulative_amount: Amount,
        signature: VoucherSignature,
    ) -> Self {
        Self {
            channel_id,
            transaction: transaction.into(),
            cumulative_amount,
            signature,
            descriptor: None,
            authorized_signer: None,
        }
    }

    /// Adds the descriptor (v2) and names its authorized signer, as the SDKs' clients do.
    #[must_use]
    pub fn with_descriptor(mut self, descriptor: ChannelDescriptor) -> Self {
        self.authorized_signer = Some(descriptor.authorized_signer);
        self.descriptor = Some(descriptor);
        self
    }

    /// Names the voucher signer (v1 payloads carry it without a descriptor).
    #[must_use]
    pub fn with_authorized_signer(mut self, signer: Address) -> Self {
        self.authorized_signer = Some(signer);
        self
    }

    /// The first voucher.
    pub fn voucher(&self) -> Voucher {
        Voucher::new(self.channel_id, self.cumulative_amount)
    }
}

/// A `topUp` payload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopUpPayload {
    /// The channel.
    pub channel_id: B256,
    /// The signed `0x76` transaction or `0x78` fee-payer envelope.
    pub transaction: Bytes,
    /// The amount the transaction adds.
    pub additional_deposit: Amount,
    /// The channel (required for v2).
    pub descriptor: Option<ChannelDescriptor>,
}

impl TopUpPayload {
    /// A `topUp` payload.
    pub fn new(
        channel_id: B256,
        transaction: impl Into<Bytes>,
        additional_deposit: Amount,
    ) -> Self {
        Self {
            channel_id,
            transaction: transaction.into(),
            additional_deposit,
            descriptor: None,
        }
    }

    /// Adds the descriptor (v2).
    #[must_use]
    pub fn with_descriptor(mut self, descriptor: ChannelDescriptor) -> Self {
        self.descriptor = Some(descriptor);
        self
    }
}

/// A `voucher` or `close` payload: a signed voucher.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VoucherPayload {
    /// The channel.
    pub channel_id: B256,
    /// The voucher's amount.
    pub cumulative_amount: Amount,
    /// The voucher's signature.
    pub signature: VoucherSignature,
    /// The channel (required for v2).
    pub descriptor: Option<ChannelDescriptor>,
}

impl VoucherPayload {
    /// A signed voucher.
    pub fn new(voucher: Voucher, signature: VoucherSignature) -> Self {
        Self {
            channel_id: voucher.channel_id,
            cumulative_amount: voucher.cumulative_amount,
            signature,
            descriptor: None,
        }
    }

    /// Adds the descriptor (v2).
    #[must_use]
    pub fn with_descriptor(mut self, descriptor: ChannelDescriptor) -> Self {
        self.descriptor = Some(descriptor);
        self
    }

    /// The voucher.
    pub fn voucher(&self) -> Voucher {
        Voucher::new(self.channel_id, self.cumulative_amount)
    }
}

/// A session credential payload.
///
/// ```
/// use mpp_core::PaymentPayload;
/// use mpp_tempo::{SessionAction, SessionPayload, SessionProtocol};
///
/// let payload: PaymentPayload = serde_json::from_value(serde_json::json!({
///     "action": "voucher",
///     "channelId": "0x2c09f11ec610cf81eb833a3f13908c68e8de846346ea8c19c6041c538332aa52",
///     "cumulativeAmount": "20000",
///     "signature": format!("0x{}1b", "11".repeat(64)),
/// }))?;
/// let session = SessionPayload::from_payload(&payload, SessionProtocol::V1)?;
/// assert_eq!(session.action(), SessionAction::Voucher);
/// assert_eq!(SessionPayload::from_payload(&session.to_payload(), SessionProtocol::V1)?, session);
/// // v2 payloads must carry the channel descriptor.
/// assert!(SessionPayload::from_payload(&payload, SessionProtocol::V2).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionPayload {
    /// `open`.
    Open(OpenPayload),
    /// `topUp`.
    TopUp(TopUpPayload),
    /// `voucher`.
    Voucher(VoucherPayload),
    /// `close`.
    Close(VoucherPayload),
}

impl SessionPayload {
    /// Reads a credential payload for a session speaking `protocol`.
    pub fn from_payload(
        payload: &PaymentPayload,
        protocol: SessionProtocol,
    ) -> Result<Self, SessionError> {
        let map = payload.as_object();
        let action: SessionAction = match map.get("action") {
            None | Some(Value::Null) => return Err(SessionError::MissingAction),
            Some(Value::String(action)) => action.parse()?,
            Some(other) => return Err(SessionError::UnknownAction(other.to_string())),
        };
        let channel_id = wire::hash(map, "channelId")?;
        let descriptor = descriptor(map, protocol)?;
        Ok(match action {
            SessionAction::Open => {
                transaction_type(map)?;
                let authorized_signer = match map.get("authorizedSigner") {
                    None | Some(Value::Null) => None,
                    Some(_) => Some(wire::address(map, "authorizedSigner")?),
                };
                if let (Some(named), Some(descriptor)) = (authorized_signer, &descriptor)
                    && named != descriptor.authorized_signer
                {
                    return Err(SessionError::mismatch(
                        "authorizedSigner",
                        descriptor.authorized_signer,
                        named,
                    ));
                }
                Self::Open(OpenPayload {
                    channel_id,
                    transaction: transaction(map)?,
                    cumulative_amount: wire::amount(map, "cumulativeAmount", protocol)?,
                    signature: signature(map)?,
                    descriptor,
                    authorized_signer,
                })
            }
            SessionAction::TopUp => {
                transaction_type(map)?;
                Self::TopUp(TopUpPayload {
                    channel_id,
                    transaction: transaction(map)?,
                    additional_deposit: wire::amount(map, "additionalDeposit", protocol)?,
                    descriptor,
                })
            }
            SessionAction::Voucher | SessionAction::Close => {
                let voucher = VoucherPayload {
                    channel_id,
                    cumulative_amount: wire::amount(map, "cumulativeAmount", protocol)?,
                    signature: signature(map)?,
                    descriptor,
                };
                if action == SessionAction::Voucher {
                    Self::Voucher(voucher)
                } else {
                    Self::Close(voucher)
                }
            }
        })
    }

    /// The credential payload, in the SDKs' shape (hex in lowercase, amounts as strings).
    pub fn to_payload(&self) -> PaymentPayload {
        let mut map = Map::new();
        map.insert(
            "action".into(),
            Value::String(self.action().as_str().into()),
        );
        let text = |value: String| Value::String(value);
        match self {
            Self::Open(open) => {
                map.insert("type".into(), text("transaction".into()));
                map.insert("channelId".into(), text(open.channel_id.to_string()));
                map.insert(
                    "transaction".into(),
                    text(alloy::hex::encode_prefixed(&open.transaction)),
                );
                map.insert("signature".into(), text(open.signature.to_string()));
                if let Some(descriptor) = &open.descriptor {
                    map.insert("descriptor".into(), descriptor.to_json());
                }
                map.insert(
                    "cumulativeAmount".into(),
                    text(open.cumulative_amount.to_string()),
                );
                if let Some(signer) = &open.authorized_signer {
                    map.insert("authorizedSigner".into(), text(wire::address_text(signer)));
                }
            }
            Self::TopUp(top_up) => {
                map.insert("type".into(), text("transaction".into()));
                map.insert("channelId".into(), text(top_up.channel_id.to_string()));
                map.insert(
                    "transaction".into(),
                    text(alloy::hex::encode_prefixed(&top_up.transaction)),
                );
                if let Some(descriptor) = &top_up.descriptor {
                    map.insert("descriptor".into(), descriptor.to_json());
                }
                map.insert(
                    "additionalDeposit".into(),
                    text(top_up.additional_deposit.to_string()),
                );
            }
            Self::Voucher(voucher) | Self::Close(voucher) => {
                map.insert("channelId".into(), text(voucher.channel_id.to_string()));
                if let Some(descriptor) = &voucher.descriptor {
                    map.insert("descriptor".into(), descriptor.to_json());
                }
                map.insert(
                    "cumulativeAmount".into(),
                    text(voucher.cumulative_amount.to_string()),
                );
                map.insert("signature".into(), text(voucher.signature.to_string()));
            }
        }
        PaymentPayload::from_object(map)
    }

    /// The action.
    pub fn action(&self) -> SessionAction {
        match self {
            Self::Open(_) => SessionAction::Open,
            Self::TopUp(_) => SessionAction::TopUp,
            Self::Voucher(_) => SessionAction::Voucher,
            Self::Close(_) => SessionAction::Close,
        }
    }

    /// The channel the payload is about.
    pub fn channel_id(&self) -> B256 {
        match self {
            Self::Open(open) => open.channel_id,
            Self::TopUp(top_up) => top_up.channel_id,
            Self::Voucher(voucher) | Self::Close(voucher) => voucher.channel_id,
        }
    }

    /// The channel descriptor the payload carries.
    pub fn descriptor(&self) -> Option<&ChannelDescriptor> {
        match self {
            Self::Open(open) => open.descriptor.as_ref(),
            Self::TopUp(top_up) => top_up.descriptor.as_ref(),
            Self::Voucher(voucher) | Self::Close(voucher) => voucher.descriptor.as_ref(),
        }
    }
}

fn transaction_type(map: &Map<String, Value>) -> Result<(), SessionError> {
    match map.get("type") {
        Some(Value::String(kind)) if kind == "transaction" => Ok(()),
        _ => Err(SessionError::malformed("type", "must be \"transaction\"")),
    }
}

fn transaction(map: &Map<String, Value>) -> Result<Bytes, SessionError> {
    let text = wire::string(map, "transaction")?;
    wire::parse_bytes(text, "transaction", MAX_SESSION_TRANSACTION_LEN).map(Bytes::from)
}

fn signature(map: &Map<String, Value>) -> Result<VoucherSignature, SessionError> {
    VoucherSignature::from_hex(wire::string(map, "signature")?)
}

fn descriptor(
    map: &Map<String, Value>,
    protocol: SessionProtocol,
) -> Result<Option<ChannelDescriptor>, SessionError> {
    match (map.get("descriptor"), protocol) {
        (None | Some(Value::Null), SessionProtocol::V2) => Err(SessionError::malformed(
            "descriptor",
            "is required for v2 sessions",
        )),
        (None | Some(Value::Null), _) => Ok(None),
        (Some(value), _) => ChannelDescriptor::from_json(value).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use alloy::signers::local::PrivateKeySigner;
    use serde_json::json;

    use super::*;
    use crate::session::protocol::{Escrow, TIP20_CHANNEL_RESERVE};

    fn key() -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap()
    }

    fn descriptor() -> ChannelDescriptor {
        ChannelDescriptor {
            payer: key().address(),
            payee: Address::repeat_byte(0x70),
            operator: Address::ZERO,
            token: Address::repeat_byte(0x20),
            salt: B256::repeat_byte(0x22),
            authorized_signer: key().address(),
            expiring_nonce_hash: B256::repeat_byte(0x44),
        }
    }

    fn signed(amount: u128) -> (B256, VoucherSignature) {
        let escrow = Escrow::new(TIP20_CHANNEL_RESERVE, 42431);
        let id = descriptor().channel_id(&escrow);
        let sig = Voucher::new(id, Amount::new(amount))
            .sign_sync(&escrow, &key())
            .unwrap();
        (id, sig)
    }

    fn all() -> Vec<SessionPayload> {
        let (id, sig) = signed(10_000);
        vec![
            SessionPayload::Open(
                OpenPayload::new(id, vec![0x76, 0xc0], Amount::new(10_000), sig.clone())
                    .with_descriptor(descriptor()),
            ),
            SessionPayload::TopUp(
                TopUpPayload::new(id, vec![0x78, 0xc0], Amount::new(5))
                    .with_descriptor(descriptor()),
            ),
            SessionPayload::Voucher(
                VoucherPayload::new(Voucher::new(id, Amount::new(10_000)), sig.clone())
                    .with_descriptor(descriptor()),
            ),
            SessionPayload::Close(
                VoucherPayload::new(Voucher::new(id, Amount::new(10_000)), sig)
                    .with_descriptor(descriptor()),
            ),
        ]
    }

    fn object(payload: &SessionPayload) -> serde_json::Map<String, Value> {
        payload.to_payload().as_object().clone()
    }

    fn parse(value: Value, protocol: SessionProtocol) -> Result<SessionPayload, SessionError> {
        let payload: PaymentPayload = serde_json::from_value(value).unwrap();
        SessionPayload::from_payload(&payload, protocol)
    }

    #[test]
    fn round_trips_every_action_in_the_sdk_shape() {
        for payload in all() {
            let map = object(&payload);
            assert_eq!(
                SessionPayload::from_payload(&payload.to_payload(), SessionProtocol::V2),
                Ok(payload.clone())
            );
            assert_eq!(map["action"], payload.action().as_str());
            assert_eq!(payload.descriptor(), Some(&descriptor()));
            assert!(hex_is_lowercase(&Value::Object(map)));
        }
        let open = object(&all()[0]);
        let mut keys: Vec<&str> = open.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "action",
                "authorizedSigner",
                "channelId",
                "cumulativeAmount",
                "descriptor",
                "signature",
                "transaction",
                "type"
            ]
        );
        assert_eq!(open["type"], "transaction");
        assert_eq!(open["transaction"], "0x76c0");
    }

    fn hex_is_lowercase(value: &Value) -> bool {
        match value {
            Value::String(s) if s.starts_with("0x") => *s == s.to_lowercase(),
            Value::Object(map) => map.values().all(hex_is_lowercase),
            _ => true,
        }
    }

    #[test]
    fn reads_mixed_case_and_ignores_unknown_fields() {
        let mut map = object(&all()[2]);
        let upper = map["channelId"]
            .as_str()
            .unwrap()
            .to_uppercase()
            .replace("0X", "0x");
        map.insert("channelId".into(), json!(upper));
        map.insert("source".into(), json!("ignored"));
        map.insert("cumulativeAmount".into(), json!("0010000"));
        assert_eq!(
            parse(Value::Object(map), SessionProtocol::V2),
            Ok(all()[2].clone())
        );
    }

    #[test]
    fn v1_payloads_need_no_descriptor() {
        let (id, sig) = signed(1);
        let payload = json!({
            "action": "open",
            "type": "transaction",
            "channelId": id,
            "transaction": "0x76c0",
            "cumulativeAmount": "1",
            "signature": sig,
            "authorizedSigner": key().address(),
        });
        let parsed = parse(payload.clone(), SessionProtocol::V1).unwrap();
        let SessionPayload::Open(open) = &parsed else {
            panic!("open")
        };
        assert_eq!(open.authorized_signer, Some(key().address()));
        assert_eq!(open.descriptor, None);
        assert_eq!(open.voucher(), Voucher::new(id, Amount::new(1)));
        assert_eq!(
            parse(payload, SessionProtocol::V2),
            Err(SessionError::malformed(
                "descriptor",
                "is required for v2 sessions"
            ))
        );
    }

    #[test]
    fn actions_are_checked_first() {
        let base = object(&all()[2]);
        let mut missing = base.clone();
        missing.remove("action");
        assert_eq!(
            parse(Value::Object(missing), SessionProtocol::V2),
            Err(SessionError::MissingAction)
        );
        for (action, shown) in [
            (json!("settle"), "settle"),
            (json!("Voucher"), "Voucher"),
            (json!(1), "1"),
        ] {
            let mut unknown = base.clone();
            unknown.insert("action".into(), action);
            unknown.remove("channelId");
            assert_eq!(
                parse(Value::Object(unknown), SessionProtocol::V2),
                Err(SessionError::UnknownAction(shown.into()))
            );
        }
    }

    #[test]
    fn refuses_every_malformed_field() {
        let cases: Vec<(usize, &str, Value)> = vec![
            (0, "type", json!("hash")),
            (1, "type", Value::Null),
            (0, "channelId", json!("0x1234")),
            (2, "channelId", json!(42)),
            (0, "transaction", json!("76c0")),
            (1, "transaction", json!("0xzz")),
            (
                1,
                "transaction",
                json!(format!(
                    "0x{}",
                    "00".repeat(MAX_SESSION_TRANSACTION_LEN + 1)
                )),
            ),
            (0, "cumulativeAmount", json!("1.5")),
            (2, "cumulativeAmount", json!(5)),
            (3, "cumulativeAmount", Value::Null),
            (1, "additionalDeposit", json!("-1")),
            (2, "signature", json!("0x")),
            (3, "signature", json!("nothex")),
            (0, "authorizedSigner", json!("0x1234")),
            (0, "descriptor", json!({"payer": "0x00"})),
            (2, "descriptor", json!("x")),
        ];
        for (index, field, value) in cases {
            let mut map = object(&all()[index]);
            map.insert(field.into(), value.clone());
            assert!(
                parse(Value::Object(map), SessionProtocol::V2).is_err(),
                "{field} = {value}"
            );
        }
    }

    #[test]
    fn refuses_amounts_over_the_limit_and_a_second_signer() {
        let mut map = object(&all()[2]);
        map.insert("cumulativeAmount".into(), json!((1u128 << 96).to_string()));
        assert_eq!(
            parse(Value::Object(map), SessionProtocol::V2),
            Err(SessionError::AmountOverLimit {
                field: "cumulativeAmount",
                protocol: SessionProtocol::V2
            })
        );
        let mut map = object(&all()[0]);
        map.insert("authorizedSigner".into(), json!(Address::repeat_byte(9)));
        assert!(matches!(
            parse(Value::Object(map), SessionProtocol::V2),
            Err(SessionError::Mismatch {
                field: "authorizedSigner",
                ..
            })
        ));
        // A signature that is hex but not a signature is an invalid signature.
        let mut map = object(&all()[2]);
        map.insert("signature".into(), json!("0x1234"));
        assert!(matches!(
            parse(Value::Object(map), SessionProtocol::V2),
            Err(SessionError::InvalidSignature(_))
        ));
    }
}
