//! The decision at the heart of the client: given a response, pay which challenge, or not at
//! all. Pure: no I/O, so both entry points share it and it is tested without a network.

use std::time::SystemTime;

use http::{HeaderMap, StatusCode};
use mpp_core::{Challenge, PaymentProvider, Quote, www_authenticate};

use crate::events::{Event, emit};
use crate::policy::Reservation;
use crate::{PayOptions, PaymentError, PlannedPayment, Refusal};

/// What to do with a response.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Not a payment request: hand the response back as it is.
    Done,
    /// Pay `challenge`; the policy's hold on the amount is in `reservation`.
    Pay {
        challenge: Box<Challenge>,
        plan: Box<PlannedPayment>,
        reservation: Option<Reservation>,
    },
    /// Give up with this error; nothing was paid.
    Fail(PaymentError),
}

/// Where the exchange stands.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    /// Origin of the request.
    pub(crate) origin: &'a str,
    /// Origin of the response (differs after a cross-origin redirect).
    pub(crate) responder: &'a str,
    pub(crate) now: SystemTime,
    /// What paying each challenge (by id) would cost, as its provider quoted it
    /// ([`PaymentProvider::quote`]); challenges not listed cost what they say.
    pub(crate) quotes: &'a [(String, Quote)],
}

/// Decides what a response asks for.
pub(crate) fn decide<P: PaymentProvider + ?Sized>(
    provider: &P,
    options: &PayOptions,
    status: StatusCode,
    headers: &HeaderMap,
    cx: &Context<'_>,
) -> Decision {
    if status != StatusCode::PAYMENT_REQUIRED {
        return Decision::Done;
    }
    let challenges: Vec<Challenge> = www_authenticate::from_headers(headers)
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    if challenges.is_empty() {
        return Decision::Fail(PaymentError::NoChallenge);
    }
    emit(
        options.hook.as_ref(),
        &Event::ChallengeReceived {
            origin: cx.responder,
            count: challenges.len(),
        },
    );
    if cx.responder != cx.origin {
        return Decision::Fail(PaymentError::CrossOrigin {
            origin: cx.origin.to_owned(),
            challenger: cx.responder.to_owned(),
        });
    }
    choose(provider, options, &challenges, cx)
}

/// Chooses which of the challenges `cx.origin` offered to pay: in the client's preferred
/// order, the first that has not expired, that a provider supports and that the spend policy
/// allows. Whatever transport the challenges came over.
pub(crate) fn choose<P: PaymentProvider + ?Sized>(
    provider: &P,
    options: &PayOptions,
    challenges: &[Challenge],
    cx: &Context<'_>,
) -> Decision {
    let order = match &options.accept {
        Some(accept) => accept.rank(challenges, |c| (c.method.as_str(), c.intent.as_str())),
        None => (0..challenges.len()).collect(),
    };
    let mut offered = Vec::new();
    let mut first_refusal: Option<Refusal> = None;
    for challenge in order.into_iter().filter_map(|i| challenges.get(i)) {
        let name = format!("{}/{}", challenge.method, challenge.intent);
        if challenge.is_expired(cx.now) {
            offered.push(format!("{name} (expired)"));
            continue;
        }
        if !provider.supports(&challenge.method, &challenge.intent) {
            offered.push(format!("{name} (no provider)"));
            continue;
        }
        let quote = cx
            .quotes
            .iter()
            .find(|(id, _)| *id == challenge.id)
            .map(|(_, quote)| quote.clone());
        let plan = PlannedPayment::new(challenge, cx.origin).quoted(quote);
        let reservation = match &options.policy {
            None => None,
            Some(policy) => match policy.reserve(&plan) {
                Ok(reservation) => Some(reservation),
                Err(refusal) => {
                    emit(
                        options.hook.as_ref(),
                        &Event::PaymentRefused { refusal: &refusal },
                    );
                    offered.push(format!("{name} (refused: {})", refusal.rule));
                    first_refusal.get_or_insert(refusal);
                    continue;
                }
            },
        };
        if options.policy.as_ref().is_some_and(|p| p.is_dry_run()) {
            return Decision::Fail(PaymentError::DryRun(Box::new(plan)));
        }
        return Decision::Pay {
            challenge: Box::new(challenge.clone()),
            plan: Box::new(plan),
            reservation,
        };
    }
    Decision::Fail(match first_refusal {
        Some(refusal) => PaymentError::Refused(refusal),
        None => PaymentError::NoPayableChallenge {
            offered: offered.join(", "),
        },
    })
}

#[cfg(test)]
mod tests;
