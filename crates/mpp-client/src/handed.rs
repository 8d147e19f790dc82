//! When a payment counts as made: once a credential has been handed to the server. A provider
//! may present credentials of its own before it answers (a top-up of its payment channel);
//! the money such a credential moved stays moved when what follows fails (the server refuses
//! the voucher, the connection drops), so the spend policy's hold is then committed, not
//! released.

use std::sync::atomic::{AtomicBool, Ordering};

use mpp_core::{Answer, BoxFuture, Credential, MppError, Present};

use crate::Reservation;

/// A [`Present`] that remembers whether it handed a credential over.
pub(crate) struct Watched<'a> {
    inner: &'a dyn Present,
    handed_over: AtomicBool,
}

impl<'a> Watched<'a> {
    pub(crate) fn new(inner: &'a dyn Present) -> Self {
        Self {
            inner,
            handed_over: AtomicBool::new(false),
        }
    }

    /// True once a credential went through.
    pub(crate) fn handed_over(&self) -> bool {
        self.handed_over.load(Ordering::Acquire)
    }
}

impl Present for Watched<'_> {
    fn present<'a>(
        &'a self,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<Answer, MppError>> {
        self.handed_over.store(true, Ordering::Release);
        self.inner.present(credential)
    }

    fn resource(&self) -> Option<&str> {
        self.inner.resource()
    }
}

/// Commits `reservation` when the payment counts as `made`; releases it otherwise.
pub(crate) fn settle(reservation: Option<Reservation>, made: bool) {
    if let Some(reservation) = reservation {
        if made {
            reservation.commit();
        } else {
            drop(reservation);
        }
    }
}

#[cfg(test)]
mod tests {
    use mpp_core::{
        Amount, Challenge, CreditNeed, EncodedJson, PaymentPayload, PaymentProvider, Quote,
        StreamNeed,
    };

    use crate::SpendPolicy;
    use crate::stream::authorize;

    use super::*;

    const USD: &str = "0x20c0000000000000000000000000000000000000";

    /// A session provider whose request for credit tops the channel up by 500, then has its
    /// voucher refused; `tops_up: false` fails before presenting anything.
    struct ShortChannel {
        tops_up: bool,
    }

    impl PaymentProvider for ShortChannel {
        fn supports(&self, _: &str, _: &str) -> bool {
            true
        }

        async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
            Ok(Credential::new(
                challenge.to_echo(),
                PaymentPayload::new("voucher"),
            ))
        }

        async fn quote(&self, _: &Challenge) -> Result<Option<Quote>, MppError> {
            Ok(Some(
                Quote::new(Amount::new(10), USD).deposit(Amount::new(500)),
            ))
        }

        async fn authorize(
            &self,
            need: &StreamNeed<'_>,
            present: &dyn Present,
        ) -> Result<(), MppError> {
            if self.tops_up {
                let top_up =
                    Credential::new(need.challenge.to_echo(), PaymentPayload::new("topUp"));
                present.present(&top_up).await?;
            }
            Err(MppError::other("the server refused the voucher"))
        }
    }

    /// Accepts every credential.
    struct Server;

    impl Present for Server {
        fn present<'a>(&'a self, _: &'a Credential) -> BoxFuture<'a, Result<Answer, MppError>> {
            Box::pin(async { Ok(Answer::new(200)) })
        }
    }

    async fn spent_after(tops_up: bool) -> Amount {
        let request = EncodedJson::from_json(serde_json::json!({
            "amount": "10",
            "currency": USD,
        }))
        .unwrap();
        let challenge = Challenge::builder("api.example.com", "tempo", "session", request).id("c");
        let opened = Credential::new(challenge.to_echo(), PaymentPayload::new("open"));
        let need = CreditNeed::for_price(&mpp_core::Credit::new("0x01", 10, 10, 10), 10);
        let ask = StreamNeed::new(&challenge, &opened, &need, 1);
        let policy = SpendPolicy::new().budget(USD, Amount::new(10_000));
        let provider = ShortChannel { tops_up };
        let origin = "https://api.example.com".to_owned();
        let result = authorize(&provider, &ask, Some(&policy), origin, &Server).await;
        assert!(result.is_err());
        policy.spent(USD)
    }

    #[tokio::test]
    async fn a_top_up_counts_when_the_voucher_after_it_is_refused() {
        assert_eq!(spent_after(true).await, Amount::new(500));
    }

    #[tokio::test]
    async fn nothing_counts_when_nothing_was_presented() {
        assert_eq!(spent_after(false).await, Amount::ZERO);
    }
}
