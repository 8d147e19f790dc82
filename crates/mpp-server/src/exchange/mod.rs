//! The payment exchange, written once: price the route, verify a credential or issue fresh
//! challenges. The tower layer, the axum extractor, the actix-web middleware and
//! [`Mpp::charge`](crate::Mpp::charge) all run this.

mod meter;
mod verify;

use std::collections::BTreeMap;
use std::hash::{BuildHasher as _, Hasher as _, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderValue;
use mpp_core::headers::ACCEPT_PAYMENT;
use mpp_core::{
    AcceptPayment, Challenge, ChargeParams, Credential, Problem, ProblemType, VerifyError,
};

use crate::context::{NONCE_KEY, ROUTE_SCOPE_KEY};
use crate::events::{Event, emit};
use crate::mpp::Inner;
use crate::terms::{Offer, RouteTerms};
use crate::{ChargeError, ChargeOutcome, Mpp, PaymentRequired, RequestContext};

/// One request's exchange: the route's terms (what it offers now, the `opaque` it binds, the
/// body), which both issue challenges and verify credentials.
struct Exchange<'a> {
    mpp: &'a Inner,
    /// The handler itself, for what outlives the exchange (a paid stream's meter).
    handle: &'a Mpp,
    context: &'a RequestContext,
    params: &'a ChargeParams,
    terms: RouteTerms<'a>,
}

/// Runs the exchange for `context` priced with `params`.
pub(crate) async fn run(
    mpp: &Mpp,
    context: &RequestContext,
    params: &ChargeParams,
) -> Result<ChargeOutcome, ChargeError> {
    let exchange = Exchange::new(mpp, context, params)?;
    let refusal = match Credential::from_headers(context.header_map()) {
        Ok(None) => {
            let problem = Problem::new(ProblemType::PaymentRequired, "Payment is required.");
            return exchange
                .challenge(problem)
                .map(ChargeOutcome::PaymentRequired);
        }
        Ok(Some(credential)) => match exchange.verify(credential).await {
            Ok((outcome, elapsed)) => {
                if let ChargeOutcome::Paid(payment) | ChargeOutcome::Managed(payment) = &outcome {
                    emit(
                        &mpp.inner.hooks,
                        &Event::PaymentVerified { payment, elapsed },
                    );
                }
                return Ok(outcome);
            }
            Err(refusal) => refusal,
        },
        Err(err) => verify::Refusal::unread(VerifyError::from(err)),
    };
    refusal.report(&mpp.inner.hooks);
    let problem = refusal.error.to_problem();
    exchange
        .challenge(problem)
        .map(ChargeOutcome::PaymentRequired)
}

impl<'a> Exchange<'a> {
    /// Prices every method for this route and computes the `opaque` it binds.
    fn new(
        handle: &'a Mpp,
        context: &'a RequestContext,
        params: &'a ChargeParams,
    ) -> Result<Self, ChargeError> {
        let mpp = &*handle.inner;
        let requests = mpp.priced.requests(&mpp.methods, params)?;
        let offers = mpp
            .methods
            .iter()
            .zip(requests.iter())
            .map(|(method, request)| Offer {
                method: method.as_ref(),
                request: request.clone(),
            })
            .collect();
        // The reserved keys are the server's; a charge's meta cannot set them.
        let mut opaque = params.meta.clone();
        opaque.remove(NONCE_KEY);
        opaque.insert(ROUTE_SCOPE_KEY.to_owned(), context.route().to_owned());
        let terms = RouteTerms::exchange(
            &mpp.realm,
            offers,
            opaque,
            context.body_digest().copied(),
            &mpp.store,
            mpp.late_payment_window,
        );
        Ok(Self {
            mpp,
            handle,
            context,
            params,
            terms,
        })
    }

    /// Fresh challenges, one per offered method, in the client's preferred order.
    fn challenge(&self, problem: Problem) -> Result<PaymentRequired, ChargeError> {
        let expires = self
            .params
            .expires
            .unwrap_or_else(|| SystemTime::now() + self.mpp.challenge_ttl);
        let offers = &self.terms.offers;
        let mut challenges = Vec::with_capacity(offers.len());
        let mut header_values = Vec::with_capacity(offers.len());
        for index in self.preferred_order() {
            let Some(offer) = offers.get(index) else {
                continue;
            };
            let mut builder = Challenge::builder(
                self.mpp.realm.as_str(),
                offer.method.name(),
                offer.method.intent(),
                offer.request.clone(),
            )
            .expires_at(expires)
            .opaque(&self.opaque_with_nonce());
            if let Some(description) = &self.params.description {
                builder = builder.description(description.as_str());
            }
            // A session challenge pays many requests, whatever their bodies: it binds none.
            if let Some(digest) = self.context.body_digest()
                && offer.method.metering().is_none()
            {
                builder = builder.digest(digest);
            }
            let challenge = builder.bind(&self.mpp.secret);
            header_values.push(
                challenge
                    .to_header_value()
                    .map_err(ChargeError::Challenge)?,
            );
            challenges.push(challenge);
        }
        let problem = match challenges.first() {
            Some(first) => problem.with_challenge_id(first.id.as_str()),
            None => problem,
        };
        tracing::debug!(
            target: "mpp_server::issue",
            outcome = "challenge",
            reason = problem.problem_type.slug(),
            challenges = challenges.len(),
            challenge_id = problem.challenge_id.as_deref().unwrap_or(""),
            "payment challenge issued"
        );
        emit(
            &self.mpp.hooks,
            &Event::ChallengeIssued {
                challenges: &challenges,
                problem: &problem,
            },
        );
        Ok(PaymentRequired::new(challenges, header_values, problem))
    }

    /// The `opaque` of a fresh challenge: the route's, plus a nonce.
    fn opaque_with_nonce(&self) -> BTreeMap<String, String> {
        let mut opaque = self.terms.opaque.clone().unwrap_or_default();
        opaque.insert(NONCE_KEY.to_owned(), nonce());
        opaque
    }

    /// The offers ordered by the client's `Accept-Payment` (a malformed header is ignored).
    fn preferred_order(&self) -> Vec<usize> {
        let lines: Vec<&str> = self
            .context
            .header_map()
            .get_all(ACCEPT_PAYMENT)
            .iter()
            .filter_map(|v: &HeaderValue| v.to_str().ok())
            .collect();
        let accept: AcceptPayment = lines.join(", ").parse().unwrap_or_default();
        accept.rank(&self.terms.offers, |offer| {
            (offer.method.name(), offer.method.intent())
        })
    }
}

/// A value no other challenge carries: a per-process random key (std's `RandomState`, seeded
/// by the OS) over a counter and the clock. Uniqueness is what matters, not secrecy: the
/// challenge id is the unforgeable part.
fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    mpp_core::base64url::encode(hasher.finish().to_be_bytes())
}
