//! [`Mpp::charge`]: one payment exchange for one request (the Go SDK's `Charge`).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use mpp_core::{Challenge, ChargeParams, FormatError, PriceError, Problem};

use crate::{Mpp, Payment, RequestContext, exchange, response};

impl Mpp {
    /// Runs the payment exchange for a request priced with `params`: verifies the request's
    /// credential, or says which challenges to send.
    ///
    /// A credential is checked, in order: it parses; its method and intent are offered here;
    /// its challenge id was bound by this server's secret; its realm, `opaque` (the charge's
    /// `meta` plus the route scope) and `request` equal what this route issues now; it has an
    /// unexpired `expires`; its digest matches the request body; its challenge was not used
    /// before; and the payment method verifies it (the checks after parsing are
    /// [`RouteTerms::verify`](crate::RouteTerms::verify), with this route's terms). Every
    /// refusal yields [`ChargeOutcome::PaymentRequired`] with fresh challenges.
    ///
    /// The error is for a misconfigured route (a price the methods cannot express); answer it
    /// with a 500.
    ///
    /// ```
    /// # mod stand_in { include!("../examples/stand_in/mod.rs"); }
    /// use mpp_core::{ChargeParams, ServerSecret};
    /// use mpp_server::{ChargeOutcome, Mpp, RequestContext};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
    /// let mpp = Mpp::new(stand_in::StandInMethod::new(), "api.example.com", secret)?;
    ///
    /// let (parts, ()) = http::Request::get("/resource").body(())?.into_parts();
    /// let outcome = mpp.charge(&RequestContext::from_parts(&parts), &ChargeParams::new("0.50")).await?;
    /// let ChargeOutcome::PaymentRequired(required) = outcome else { unreachable!() };
    /// let response: http::Response<bytes::Bytes> = required.into_response();
    /// assert_eq!(response.status(), 402);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn charge(
        &self,
        request: &RequestContext,
        params: &ChargeParams,
    ) -> Result<ChargeOutcome, ChargeError> {
        exchange::run(self, request, params).await
    }
}

/// What [`Mpp::charge`] decided (the Go SDK's `ChargeResult`).
#[derive(Debug)]
#[must_use]
pub enum ChargeOutcome {
    /// The credential was verified: run the handler and add the receipt
    /// ([`Payment::apply_to`]).
    Paid(Payment),
    /// The credential was verified but pays for no content: it managed a payment channel (a
    /// top-up, a close, or a voucher on a request that asks for none). Do not run the
    /// handler; answer [`Payment::management_response`] (204 with the receipt).
    Managed(Payment),
    /// No acceptable credential: send these challenges
    /// ([`PaymentRequired::into_response`]).
    PaymentRequired(PaymentRequired),
}

/// Fresh challenges and the problem explaining why they are sent: the 402 (or 400) answer.
#[derive(Debug, Clone)]
pub struct PaymentRequired {
    challenges: Vec<Challenge>,
    header_values: Vec<HeaderValue>,
    problem: Problem,
}

impl PaymentRequired {
    pub(crate) fn new(
        challenges: Vec<Challenge>,
        header_values: Vec<HeaderValue>,
        problem: Problem,
    ) -> Self {
        Self {
            challenges,
            header_values,
            problem,
        }
    }

    /// The challenges, in the order they are sent.
    pub fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    /// The problem details sent as the body.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// The status: 402, or 400 for a request no payment can fix.
    pub fn status(&self) -> StatusCode {
        self.problem.status()
    }

    /// The response (the Go SDK's `WriteChallenge`): the status, one `WWW-Authenticate` line
    /// per challenge, `Cache-Control: no-store`, `Content-Type: application/problem+json` and
    /// the RFC 9457 body `{type, title, status, detail, challengeId}`.
    pub fn into_response<B: From<Bytes>>(self) -> Response<B> {
        response::problem_response(&self.problem, &self.header_values)
    }
}

/// Why [`Mpp::charge`] could not answer: the route is misconfigured. Answer with a 500.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChargeError {
    /// A payment method cannot express the route's price.
    #[error("payment method {method} cannot price this route: {source}")]
    Price {
        /// The method.
        method: String,
        /// Why.
        #[source]
        source: PriceError,
    },
    /// A challenge cannot be written as a header (for example a description with a line break).
    #[error("a challenge cannot be written as a header: {0}")]
    Challenge(#[source] FormatError),
}

impl ChargeError {
    /// A plain `500 Internal Server Error` response (the details go to the log, not the client).
    pub fn into_response<B: From<Bytes>>(self) -> Response<B> {
        response::status_response(StatusCode::INTERNAL_SERVER_ERROR)
    }
}
