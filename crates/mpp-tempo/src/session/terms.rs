//! What a session challenge asks of a channel: the escrow, the payee, the token and the
//! operator. Every descriptor a payload carries is checked against it.

use alloy::primitives::{Address, B256};

use super::descriptor::ChannelDescriptor;
use super::protocol::Escrow;
use crate::error::SessionError;

/// The channel a challenge accepts payment through: in `escrow`, paying `payee` in `token`,
/// with `operator` (zero for none) allowed to settle and close.
///
/// Build it from the challenge with
/// [`TempoSessionRequest::terms`](crate::TempoSessionRequest::terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelTerms {
    /// Where channels live.
    pub escrow: Escrow,
    /// Who must be paid (`recipient`).
    pub payee: Address,
    /// The token (`currency`).
    pub token: Address,
    /// The operator (`methodDetails.operator`, zero when absent).
    pub operator: Address,
}

impl ChannelTerms {
    /// Channels in `escrow` paying `payee` in `token`, without an operator.
    pub fn new(escrow: Escrow, payee: Address, token: Address) -> Self {
        Self {
            escrow,
            payee,
            token,
            operator: Address::ZERO,
        }
    }

    /// Requires `operator`.
    #[must_use]
    pub fn with_operator(mut self, operator: Address) -> Self {
        self.operator = operator;
        self
    }

    /// Checks a payload's descriptor: it derives `channel_id` in this escrow and names this
    /// payee, token and operator.
    pub fn check_descriptor(
        &self,
        channel_id: B256,
        descriptor: &ChannelDescriptor,
    ) -> Result<(), SessionError> {
        let derived = descriptor.channel_id(&self.escrow);
        if derived != channel_id {
            return Err(SessionError::ChannelIdMismatch {
                claimed: channel_id,
                derived,
            });
        }
        self.check_parties(descriptor.payee, descriptor.token, descriptor.operator)
    }

    /// Checks the payee, token and operator a channel or call names.
    pub(crate) fn check_parties(
        &self,
        payee: Address,
        token: Address,
        operator: Address,
    ) -> Result<(), SessionError> {
        if payee != self.payee {
            return Err(SessionError::mismatch("payee", self.payee, payee));
        }
        if token != self.token {
            return Err(SessionError::mismatch("token", self.token, token));
        }
        if operator != self.operator {
            return Err(SessionError::mismatch("operator", self.operator, operator));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::protocol::TIP20_CHANNEL_RESERVE;

    #[test]
    fn checks_identity_and_parties() {
        let escrow = Escrow::new(TIP20_CHANNEL_RESERVE, 31337);
        let terms = ChannelTerms::new(escrow, Address::repeat_byte(1), Address::repeat_byte(2));
        let d = ChannelDescriptor {
            payer: Address::repeat_byte(9),
            payee: terms.payee,
            operator: Address::ZERO,
            token: terms.token,
            salt: B256::repeat_byte(3),
            authorized_signer: Address::ZERO,
            expiring_nonce_hash: B256::repeat_byte(4),
        };
        let id = d.channel_id(&escrow);
        assert_eq!(terms.check_descriptor(id, &d), Ok(()));
        assert!(matches!(
            terms.check_descriptor(B256::ZERO, &d),
            Err(SessionError::ChannelIdMismatch { .. })
        ));
        for (field, changed) in [
            (
                "payee",
                ChannelDescriptor {
                    payee: Address::repeat_byte(7),
                    ..d
                },
            ),
            (
                "token",
                ChannelDescriptor {
                    token: Address::repeat_byte(7),
                    ..d
                },
            ),
            (
                "operator",
                ChannelDescriptor {
                    operator: Address::repeat_byte(7),
                    ..d
                },
            ),
        ] {
            let id = changed.channel_id(&escrow);
            assert!(
                matches!(terms.check_descriptor(id, &changed), Err(SessionError::Mismatch { field: f, .. }) if f == field),
                "{field}"
            );
        }
        let with_operator = terms.with_operator(Address::repeat_byte(7));
        let d = ChannelDescriptor {
            operator: Address::repeat_byte(7),
            ..d
        };
        assert_eq!(
            with_operator.check_descriptor(d.channel_id(&escrow), &d),
            Ok(())
        );
    }
}
