//! Choosing and paying a challenge that did not arrive in an HTTP 402: a JSON-RPC error, an MCP
//! tool result. The same decision engine and spend policy as [`Fetch`](crate::Fetch).

use std::time::SystemTime;

use mpp_core::{Challenge, Credential, PaymentProvider, Receipt};

use crate::events::{Event, EventHook, emit};
use crate::exchange::quotes;
use crate::flow::{Context, Decision, choose};
use crate::policy::Reservation;
use crate::{PayOptions, PaymentError, PlannedPayment};

/// Picks the challenge to pay among those `origin` offered, exactly as
/// [`send_with_payment`](crate::Fetch::send_with_payment) picks among a 402's: in the order of
/// the options' preferences, the first that has not expired, that `provider` supports and that
/// the spend policy allows (a provider's deposit into a payment channel counted as the HTTP
/// client counts it). The policy's hold on the amount travels in the [`Selection`].
///
/// `origin` names the server for the policy's per-origin budget and for events (a URL, or any
/// stable name of the peer). A dry run, a refusal and "nothing payable" are errors, as for
/// HTTP; nothing has been paid then.
///
/// ```
/// use mpp_client::{PayOptions, PaymentError, SpendPolicy, select};
/// use mpp_core::{Amount, Challenge, EncodedJson};
/// # use mpp_core::{MppError, PaymentChallenge, PaymentCredential, PaymentPayload, PaymentProvider};
/// # struct Stub;
/// # impl PaymentProvider for Stub {
/// #     fn supports(&self, m: &str, _: &str) -> bool { m == "tempo" }
/// #     async fn pay(&self, c: &PaymentChallenge) -> Result<PaymentCredential, MppError> {
/// #         Ok(PaymentCredential::new(c.to_echo(), PaymentPayload::hash("0x")))
/// #     }
/// # }
///
/// let request = EncodedJson::from_json(serde_json::json!({"amount": "900", "currency": "usd"}))?;
/// let offered = [Challenge::builder("api.example.com", "tempo", "charge", request).id("ch_1")];
/// let options = PayOptions::new().policy(SpendPolicy::new().max_per_request("usd", Amount::new(500)));
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let refused = select(&Stub, &options, "mcp://api.example.com", &offered).await.unwrap_err();
/// assert!(matches!(refused, PaymentError::Refused(_)));
/// let chosen = select(&Stub, &PayOptions::new(), "mcp://api.example.com", &offered).await?;
/// assert_eq!(chosen.challenge().id, "ch_1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn select<P: PaymentProvider + ?Sized>(
    provider: &P,
    options: &PayOptions,
    origin: &str,
    challenges: &[Challenge],
) -> Result<Selection, PaymentError> {
    if challenges.is_empty() {
        return Err(PaymentError::NoChallenge);
    }
    emit(
        options.hook.as_ref(),
        &Event::ChallengeReceived {
            origin,
            count: challenges.len(),
        },
    );
    let quotes = quotes(provider, challenges).await?;
    let cx = Context {
        origin,
        responder: origin,
        now: SystemTime::now(),
        quotes: &quotes,
    };
    match choose(provider, options, challenges, &cx) {
        Decision::Pay {
            challenge,
            plan,
            reservation,
        } => Ok(Selection {
            challenge: *challenge,
            plan: *plan,
            reservation,
            hook: options.hook.clone(),
        }),
        Decision::Fail(error) => Err(error),
        Decision::Done => Err(PaymentError::NoChallenge),
    }
}

/// A challenge [`select`] chose to pay, holding the spend policy's reservation of its amount.
///
/// Pay it with [`pay`](Self::pay), send the credential, then say how it ended:
/// [`paid`](Self::paid) when the server answered with the result, [`rejected`](Self::rejected)
/// when it refused the credential. Either counts the amount as spent (a credential was handed
/// over); dropping the selection instead releases the reservation, for a payment never sent.
#[must_use = "dropping a selection releases its reservation: nothing is counted as paid"]
pub struct Selection {
    challenge: Challenge,
    plan: PlannedPayment,
    reservation: Option<Reservation>,
    hook: Option<EventHook>,
}

impl Selection {
    /// The challenge to pay.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// What it asks, as the spend policy read it.
    pub fn plan(&self) -> &PlannedPayment {
        &self.plan
    }

    /// Pays the challenge with `provider` and returns the credential.
    pub async fn pay<P: PaymentProvider + ?Sized>(
        &self,
        provider: &P,
    ) -> Result<Credential, PaymentError> {
        Ok(provider.pay(&self.challenge).await?)
    }

    /// The server accepted the credential: the amount is spent, and the hook hears
    /// [`Event::PaymentMade`] with the receipt, if one came back.
    pub fn paid(self, receipt: Option<&Receipt>) {
        if let Some(reservation) = self.reservation {
            reservation.commit();
        }
        emit(
            self.hook.as_ref(),
            &Event::PaymentMade {
                plan: &self.plan,
                receipt,
            },
        );
    }

    /// The server refused the credential. Money may have moved (a pushed transaction), so the
    /// amount counts as spent, as it does for HTTP.
    pub fn rejected(self) {
        if let Some(reservation) = self.reservation {
            reservation.commit();
        }
    }
}

impl std::fmt::Debug for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selection")
            .field("challenge_id", &self.challenge.id)
            .field("plan", &self.plan)
            .field("reserved", &self.reservation.is_some())
            .finish_non_exhaustive()
    }
}
