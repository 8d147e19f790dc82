//! Drives one paid request: send, decide, pay, resend. Both entry points run this with their
//! own way of sending.

use std::future::Future;
use std::time::SystemTime;

use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue};
use mpp_core::headers::ACCEPT_PAYMENT;
use mpp_core::{
    Answer, BoxFuture, Challenge, Credential, MppError, PaymentProvider, Present, Problem, Quote,
    Retry, www_authenticate,
};
use reqwest::{Request, Response, StatusCode};

use crate::events::{Event, emit};
use crate::flow::{Context, Decision, decide};
use crate::handed::{Watched, settle};
use crate::{PayOptions, PaymentError};

/// How many times one request is paid at most: once, and once more when the provider asks for
/// it after hearing the server's answer (a session whose channel the server no longer knows).
const MAX_PAYMENTS: usize = 2;

/// Sends `request`, and when it is answered with 402, pays one challenge and sends it again
/// with the credential.
#[cfg(feature = "middleware")]
pub(crate) async fn send_paid<P, S, F>(
    provider: &P,
    options: &PayOptions,
    request: Request,
    send: S,
) -> Result<Response, PaymentError>
where
    P: PaymentProvider + ?Sized,
    S: Fn(Request) -> F + Sync,
    F: Future<Output = Result<Response, PaymentError>> + Send,
{
    Ok(exchange(provider, options, request, send).await?.response)
}

/// A response, and the payment that obtained it (if one was made).
pub(crate) struct Exchanged {
    pub(crate) response: Response,
    pub(crate) paid: Option<Paid>,
}

/// The challenge paid, and the credential that paid it.
#[derive(Clone)]
pub(crate) struct Paid {
    pub(crate) challenge: Challenge,
    pub(crate) credential: Credential,
}

/// Sends `request`, paying as `send_paid` does, and tells which challenge paid the response.
pub(crate) async fn exchange<P, S, F>(
    provider: &P,
    options: &PayOptions,
    mut request: Request,
    send: S,
) -> Result<Exchanged, PaymentError>
where
    P: PaymentProvider + ?Sized,
    S: Fn(Request) -> F + Sync,
    F: Future<Output = Result<Response, PaymentError>> + Send,
{
    if let Some(accept) = options.accept.as_ref().filter(|a| !a.is_empty())
        && let Ok(value) = HeaderValue::try_from(accept.to_string())
    {
        request.headers_mut().entry(ACCEPT_PAYMENT).or_insert(value);
    }
    let origin = request.url().origin().ascii_serialization();
    let retry = request.try_clone();
    let response = send(request).await?;
    if response.status() != StatusCode::PAYMENT_REQUIRED {
        return Ok(Exchanged {
            response,
            paid: None,
        });
    }
    // What the server asks for: the challenges of a 402, or of a refusal to pay again.
    let mut responder = response.url().origin().ascii_serialization();
    let mut asked = response.headers().clone();
    for payment in 1..=MAX_PAYMENTS {
        let quotes = quotes(provider, &challenges_of(&asked)).await?;
        let cx = Context {
            origin: &origin,
            responder: &responder,
            now: SystemTime::now(),
            quotes: &quotes,
        };
        let (challenge, plan, reservation) =
            match decide(provider, options, StatusCode::PAYMENT_REQUIRED, &asked, &cx) {
                Decision::Pay {
                    challenge,
                    plan,
                    reservation,
                } => (challenge, plan, reservation),
                Decision::Fail(err) => return Err(err),
                Decision::Done => return Err(PaymentError::NoChallenge),
            };
        // Everything that can fail without money moving is checked before paying.
        let mut paid = retry
            .as_ref()
            .and_then(Request::try_clone)
            .ok_or(PaymentError::BodyNotReplayable)?;
        let presenter = Presenter {
            send: &send,
            template: &paid,
        };
        let watched = Watched::new(&presenter);
        let made = match provider.pay_via(&challenge, &watched).await {
            Ok(credential) => credential
                .to_header_value()
                .map(|header| (credential, header))
                .map_err(PaymentError::from),
            Err(error) => Err(PaymentError::from(error)),
        };
        let (credential, header) = match made {
            Ok(made) => made,
            Err(error) => {
                // Counted as made all the same when the provider presented a credential of
                // its own on the way (a top-up).
                settle(reservation, watched.handed_over());
                return Err(error);
            }
        };
        paid.headers_mut().insert(AUTHORIZATION, header);
        let sent = send(paid).await;
        // A credential was handed over: from here on, count the payment as made.
        settle(reservation, true);
        let response = sent?;
        let status = response.status();
        if status != StatusCode::PAYMENT_REQUIRED && status != StatusCode::GONE {
            let receipt = crate::receipt_of(response.headers()).and_then(Result::ok);
            emit(
                options.hook.as_ref(),
                &Event::PaymentMade {
                    plan: &plan,
                    receipt: receipt.as_ref(),
                },
            );
            let answer = Answer::new(status.as_u16()).with_receipt(receipt);
            provider.observe(&credential, &answer).await;
            return Ok(Exchanged {
                response,
                paid: Some(Paid {
                    challenge: *challenge,
                    credential,
                }),
            });
        }
        responder = response.url().origin().ascii_serialization();
        asked = response.headers().clone();
        let problem = read_problem(response).await;
        let answer = Answer::new(status.as_u16())
            .with_problem(problem.clone())
            .with_challenges(challenges_of(&asked));
        let again = provider.observe(&credential, &answer).await == Retry::Again;
        if !again || payment == MAX_PAYMENTS || answer.challenges.is_empty() {
            return Err(PaymentError::Rejected { status, problem });
        }
    }
    Err(PaymentError::NoChallenge)
}

/// What paying each of `challenges` costs, as its provider quotes it.
pub(crate) async fn quotes<P: PaymentProvider + ?Sized>(
    provider: &P,
    challenges: &[Challenge],
) -> Result<Vec<(String, Quote)>, PaymentError> {
    let mut quotes = Vec::new();
    for challenge in challenges {
        if !provider.supports(&challenge.method, &challenge.intent) {
            continue;
        }
        if let Some(quote) = provider.quote(challenge).await? {
            quotes.push((challenge.id.clone(), quote));
        }
    }
    Ok(quotes)
}

/// The `Payment` challenges of a response's headers that parse.
pub(crate) fn challenges_of(headers: &HeaderMap) -> Vec<Challenge> {
    www_authenticate::from_headers(headers)
        .into_iter()
        .filter_map(Result::ok)
        .collect()
}

/// Sends a provider's own credentials (a channel's top-up) to the resource being paid for: the
/// request's method, URL and headers, without its body, and the credential.
pub(crate) struct Presenter<'a, S> {
    pub(crate) send: &'a S,
    pub(crate) template: &'a Request,
}

impl<S, F> Present for Presenter<'_, S>
where
    S: Fn(Request) -> F + Sync,
    F: Future<Output = Result<Response, PaymentError>> + Send,
{
    fn present<'a>(
        &'a self,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<Answer, MppError>> {
        Box::pin(async move {
            let mut request =
                Request::new(self.template.method().clone(), self.template.url().clone());
            let headers = request.headers_mut();
            for (name, value) in self.template.headers() {
                if ![CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING].contains(name) {
                    headers.append(name, value.clone());
                }
            }
            let header = credential.to_header_value().map_err(MppError::other)?;
            headers.insert(AUTHORIZATION, header);
            let response = (self.send)(request)
                .await
                .map_err(|e| MppError::Network(Box::new(e)))?;
            let status = response.status();
            if status.is_success() {
                let receipt = crate::receipt_of(response.headers()).and_then(Result::ok);
                return Ok(Answer::new(status.as_u16()).with_receipt(receipt));
            }
            let challenges = challenges_of(response.headers());
            let problem = read_problem(response).await;
            Ok(Answer::new(status.as_u16())
                .with_problem(problem)
                .with_challenges(challenges))
        })
    }

    fn resource(&self) -> Option<&str> {
        Some(self.template.url().as_str())
    }
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
