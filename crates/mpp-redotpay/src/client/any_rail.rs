//! [`RedotPayAnyRail`]: one provider for both rails, preferring the balance.

use mpp_core::{Challenge, Credential, MppError, PaymentProvider, Quote};

use super::challenge::{payable_request, supports};
use super::{OnChainPayer, RedotPayBalance, RedotPayCrypto};

/// Pays a RedotPay challenge on the balance rail when the challenge offers it, and on a crypto
/// rail otherwise. A `MultiProvider` hands each `redotpay`/`charge` challenge to the first
/// provider that supports it, so a client holding both an rdt and a wallet uses this one
/// instead of adding [`RedotPayBalance`] and [`RedotPayCrypto`] separately.
///
/// ```
/// use mpp_core::{MppError, PaymentProvider};
/// use mpp_redotpay::CryptoEntry;
/// use mpp_redotpay::client::{RedotPayBalance, RedotPayCrypto};
///
/// let wallet = |_: CryptoEntry| async { Ok::<_, MppError>(String::from("0x…")) };
/// let provider = RedotPayBalance::new("rdt_123").or_crypto(RedotPayCrypto::new(wallet));
/// assert!(provider.supports("redotpay", "charge"));
/// ```
pub struct RedotPayAnyRail<P> {
    balance: RedotPayBalance,
    crypto: RedotPayCrypto<P>,
}

impl RedotPayBalance {
    /// Pays with this rdt when the balance rail is offered, else with `crypto`.
    pub fn or_crypto<P>(self, crypto: RedotPayCrypto<P>) -> RedotPayAnyRail<P> {
        RedotPayAnyRail {
            balance: self,
            crypto,
        }
    }
}

impl<P: OnChainPayer> PaymentProvider for RedotPayAnyRail<P> {
    fn supports(&self, method: &str, intent: &str) -> bool {
        supports(method, intent)
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        let request = payable_request(challenge)?;
        if request.method_details.balance.is_some() {
            self.balance.pay(challenge).await
        } else {
            self.crypto.pay(challenge).await
        }
    }

    /// The crypto rail's quote when that is the rail it pays; the balance rail's price is
    /// the challenge's own.
    async fn quote(&self, challenge: &Challenge) -> Result<Option<Quote>, MppError> {
        let balance = payable_request(challenge)
            .is_ok_and(|request| request.method_details.balance.is_some());
        if balance {
            return Ok(None);
        }
        self.crypto.quote(challenge).await
    }
}

impl<P> std::fmt::Debug for RedotPayAnyRail<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedotPayAnyRail")
            .field("balance", &self.balance)
            .field("crypto", &self.crypto)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use mpp_core::EncodedJson;
    use serde_json::{Value, json};

    use super::*;
    use crate::CryptoEntry;

    const HASH: &str = "0x3333333333333333333333333333333333333333333333333333333333333333";

    fn challenge(method_details: Value) -> Challenge {
        let request = json!({"amount": "1", "currency": "usd", "methodDetails": method_details});
        Challenge::builder(
            "r",
            "redotpay",
            "charge",
            EncodedJson::from_json(request).unwrap(),
        )
        .expires("2999-01-01T00:00:00Z")
        .id("c")
    }

    #[tokio::test]
    async fn prefers_the_balance_and_falls_back_to_crypto() {
        let wallet = |_: CryptoEntry| async { Ok::<_, MppError>(String::from(HASH)) };
        let provider = RedotPayBalance::new("rdt").or_crypto(RedotPayCrypto::new(wallet));
        let entry = json!({"chainId": 1, "currency": "0xaa", "amount": "1", "decimal": 0, "recipient": "0xbb"});
        let both = provider
            .pay(&challenge(json!({"balance": {}, "crypto": [entry]})))
            .await
            .unwrap();
        assert_eq!(both.payload.kind(), Some("balance"));
        let crypto = provider
            .pay(&challenge(json!({"crypto": [entry]})))
            .await
            .unwrap();
        assert_eq!(crypto.payload.kind(), Some("crypto"));
        assert_eq!(crypto.payload.get_str("hash"), Some(HASH));
        assert_eq!(crypto.payload.get("chainId"), Some(&json!(1)));
    }

    #[tokio::test]
    async fn quotes_the_crypto_rail_only_when_it_pays_it() {
        let wallet = |_: CryptoEntry| async { Ok::<_, MppError>(String::from(HASH)) };
        let provider =
            RedotPayBalance::new("rdt").or_crypto(RedotPayCrypto::new(wallet).decimals(6));
        let entry = json!({"chainId": 1, "currency": "0xaa", "amount": "1.5", "decimal": 0, "recipient": "0xbb"});
        let crypto = provider
            .quote(&challenge(json!({"crypto": [entry]})))
            .await
            .unwrap()
            .expect("a quote for the crypto rail");
        assert_eq!(crypto.amount, mpp_core::Amount::new(1_500_000));
        assert_eq!(crypto.currency, "0xaa");
        assert_eq!(crypto.recipient.as_deref(), Some("0xbb"));
        assert_eq!(crypto.chain_id, Some(1));
        // The balance rail is paid when offered: its price is the challenge's own.
        let both = challenge(json!({"balance": {}, "crypto": [entry]}));
        assert_eq!(provider.quote(&both).await.unwrap(), None);
    }
}
