//! Drives one paid request: send, decide, pay, resend. Both entry points run this with their
//! own way of sending.

use std::future::Future;
use std::time::SystemTime;

use http::HeaderValue;
use http::header::AUTHORIZATION;
use mpp_core::headers::ACCEPT_PAYMENT;
use mpp_core::{PaymentProvider, Problem};
use reqwest::{Request, Response, StatusCode};

use crate::events::{Event, emit};
use crate::flow::{Context, Decision, decide};
use crate::{PayOptions, PaymentError};

/// Sends `request`, and when it is answered with 402, pays one challenge and sends it again
/// with the credential. At most one payment is made per request.
pub(crate) async fn send_paid<P, S, F>(
    provider: &P,
    options: &PayOptions,
    mut request: Request,
    mut send: S,
) -> Result<Response, PaymentError>
where
    P: PaymentProvider + ?Sized,
    S: FnMut(Request) -> F,
    F: Future<Output = Result<Response, PaymentError>>,
{
    if let Some(accept) = options.accept.as_ref().filter(|a| !a.is_empty())
        && let Ok(value) = HeaderValue::try_from(accept.to_string())
    {
        request.headers_mut().entry(ACCEPT_PAYMENT).or_insert(value);
    }
    let origin = request.url().origin().ascii_serialization();
    let retry = request.try_clone();
    let response = send(request).await?;
    let responder = response.url().origin().ascii_serialization();
    let cx = Context {
        origin: &origin,
        responder: &responder,
        now: SystemTime::now(),
    };
    let (challenge, plan, reservation) = match decide(
        provider,
        options,
        response.status(),
        response.headers(),
        &cx,
    ) {
        Decision::Done => return Ok(response),
        Decision::Fail(err) => return Err(err),
        Decision::Pay {
            challenge,
            plan,
            reservation,
        } => (challenge, plan, reservation),
    };
    // Everything that can fail without money moving is checked before paying.
    let mut retry = retry.ok_or(PaymentError::BodyNotReplayable)?;
    let credential = provider.pay(&challenge).await?;
    retry
        .headers_mut()
        .insert(AUTHORIZATION, credential.to_header_value()?);
    let response = send(retry).await;
    // A credential was handed over: from here on, count the payment as made.
    if let Some(reservation) = reservation {
        reservation.commit();
    }
    let response = response?;
    if response.status() == StatusCode::PAYMENT_REQUIRED {
        let status = response.status();
        let problem = read_problem(response).await;
        return Err(PaymentError::Rejected { status, problem });
    }
    let receipt = crate::receipt_of(response.headers()).and_then(Result::ok);
    emit(
        options.hook.as_ref(),
        &Event::PaymentMade {
            plan: &plan,
            receipt: receipt.as_ref(),
        },
    );
    Ok(response)
}

/// The largest problem body read from a refusal.
const MAX_PROBLEM_BODY: usize = 64 * 1024;

/// Reads a problem-details body, at most [`MAX_PROBLEM_BODY`] bytes of it.
async fn read_problem(mut response: Response) -> Option<Problem> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if body.len() + chunk.len() > MAX_PROBLEM_BODY {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).ok()
}
