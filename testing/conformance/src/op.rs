//! The operations this adapter answers, and the error type each one reports.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::envelope::{ErrorType, Failure};
use crate::{
    base64url, challenge, challenge_id, credential, http_flow, receipt, server_verify,
    tempo_cosign, tempo_receipt,
};

/// What an operation returns; the error becomes the operation's error type.
pub(crate) type Outcome<T> = Result<T, Box<dyn std::error::Error>>;

/// An operation of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    ChallengeParse,
    ChallengeFormat,
    CredentialParse,
    CredentialFormat,
    ReceiptParse,
    ReceiptFormat,
    Base64urlEncode,
    Base64urlDecode,
    ChallengeId,
    TempoReceiptVerify,
    TempoFeePayerCosign,
    ServerVerify,
    HttpPaymentRequest,
}

impl Op {
    /// Every operation, as `adapter.json` declares them.
    pub(crate) const ALL: [Op; 13] = [
        Op::ChallengeParse,
        Op::ChallengeFormat,
        Op::CredentialParse,
        Op::CredentialFormat,
        Op::ReceiptParse,
        Op::ReceiptFormat,
        Op::Base64urlEncode,
        Op::Base64urlDecode,
        Op::ChallengeId,
        Op::TempoReceiptVerify,
        Op::TempoFeePayerCosign,
        Op::ServerVerify,
        Op::HttpPaymentRequest,
    ];

    /// The operation's name in requests.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::ChallengeParse => "challenge.parse",
            Op::ChallengeFormat => "challenge.format",
            Op::CredentialParse => "credential.parse",
            Op::CredentialFormat => "credential.format",
            Op::ReceiptParse => "receipt.parse",
            Op::ReceiptFormat => "receipt.format",
            Op::Base64urlEncode => "base64url.encode",
            Op::Base64urlDecode => "base64url.decode",
            Op::ChallengeId => "challenge.id",
            Op::TempoReceiptVerify => "tempo.receipt.verify",
            Op::TempoFeePayerCosign => "tempo.fee_payer.cosign",
            Op::ServerVerify => "server.verify",
            Op::HttpPaymentRequest => "http.payment_request",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The one error type the contract allows this operation.
    fn error_type(self) -> ErrorType {
        match self {
            Op::ChallengeParse | Op::CredentialParse | Op::ReceiptParse => ErrorType::ParseError,
            Op::ChallengeFormat | Op::CredentialFormat | Op::ReceiptFormat => {
                ErrorType::FormatError
            }
            Op::Base64urlEncode | Op::Base64urlDecode => ErrorType::EncodingError,
            Op::ChallengeId => ErrorType::GenerationError,
            Op::TempoReceiptVerify | Op::TempoFeePayerCosign | Op::ServerVerify => {
                ErrorType::VerificationError
            }
            Op::HttpPaymentRequest => ErrorType::HttpError,
        }
    }

    /// Performs the operation on its `input`.
    pub(crate) fn run(self, input: Value) -> Result<Value, Failure> {
        let value = match self {
            Op::ChallengeParse => apply(input, challenge::parse),
            Op::ChallengeFormat => apply(input, challenge::format),
            Op::CredentialParse => apply(input, credential::parse),
            Op::CredentialFormat => apply(input, credential::format),
            Op::ReceiptParse => apply(input, receipt::parse),
            Op::ReceiptFormat => apply(input, receipt::format),
            Op::Base64urlEncode => apply(input, base64url::encode),
            Op::Base64urlDecode => apply(input, base64url::decode),
            Op::ChallengeId => apply(input, challenge_id::generate),
            Op::TempoReceiptVerify => apply(input, tempo_receipt::verify),
            Op::TempoFeePayerCosign => apply(input, tempo_cosign::cosign),
            Op::ServerVerify => apply(input, server_verify::verify),
            Op::HttpPaymentRequest => apply(input, http_flow::send),
        };
        value.map_err(|e| Failure::new(self.error_type(), e.to_string()))
    }
}

/// Reads the input as `I`, runs `f` and writes its output as JSON.
fn apply<I, O>(input: Value, f: fn(I) -> Outcome<O>) -> Outcome<Value>
where
    I: DeserializeOwned,
    O: Serialize,
{
    let input = serde_json::from_value(input).map_err(|e| format!("invalid input: {e}"))?;
    Ok(serde_json::to_value(f(input)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
        }
        assert_eq!(Op::from_name("no.such.op"), None);
    }
}
