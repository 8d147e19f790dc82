//! A metered stream over a WebSocket (feature `ws`): the challenge asked for over HTTP, the
//! credentials sent as `authorization` frames, the items read as a [`MeteredStream`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use futures_util::stream;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use mpp_core::stream::Frame;
use mpp_core::{Answer, BoxFuture, Credential, MppError, PaymentProvider, Present, StreamNeed};
use reqwest::{Method, Request, Url};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::events::{Event, emit};
use crate::exchange::{Paid, Presenter, challenges_of, quotes};
use crate::flow::{Context, Decision, decide};
use crate::handed::{Watched, settle};
use crate::stream::{Shared, authorize, keep_final_receipt};
use crate::{MeteredStream, PayOptions, PaymentError, SpendPolicy};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the metered WebSocket stream at `url` (`ws://` or `wss://`), paid by `provider`:
/// asks the same URL over HTTP (`http://`, `https://`) for the challenge, pays it (the spend
/// policy of `options` applies), opens the socket and sends the credential as an
/// `authorization` frame. The items then arrive as a [`MeteredStream`]; the server's requests
/// for more credit are answered with voucher frames (a top-up first when the deposit is short),
/// never past what the items received justify. The stream ends at `payment-close-ready`, whose
/// receipt is [`MeteredStream::receipt`].
pub async fn connect<'a, P: PaymentProvider>(
    url: &str,
    provider: &'a P,
    options: PayOptions,
) -> Result<MeteredStream<'a>, PaymentError> {
    let ws_url = Url::parse(url).map_err(|e| PaymentError::Transport(Box::new(e)))?;
    let http_url = http_of(&ws_url)?;
    let client = reqwest::Client::new();
    let probe = client.get(http_url.clone()).send().await?;
    let status = probe.status();
    if status != StatusCode::PAYMENT_REQUIRED {
        return Err(PaymentError::NotAStream { status });
    }
    let headers = probe.headers().clone();
    let origin = http_url.origin().ascii_serialization();
    let quotes = quotes(provider, &challenges_of(&headers)).await?;
    let cx = Context {
        origin: &origin,
        responder: &origin,
        now: SystemTime::now(),
        quotes: &quotes,
    };
    let (challenge, plan, reservation) = match decide(provider, &options, status, &headers, &cx) {
        Decision::Pay {
            challenge,
            plan,
            reservation,
        } => (challenge, plan, reservation),
        Decision::Fail(error) => return Err(error),
        Decision::Done => return Err(PaymentError::NoChallenge),
    };
    // An open's top-up, if one is needed first, goes over HTTP like any management request.
    let template = Request::new(Method::POST, http_url.clone());
    let send = |request: Request| {
        let client = client.clone();
        async move { client.execute(request).await.map_err(PaymentError::from) }
    };
    let http = Presenter {
        send: &send,
        template: &template,
    };
    let watched = Watched::new(&http);
    let credential = match provider.pay_via(&challenge, &watched).await {
        Ok(credential) => credential,
        Err(error) => {
            settle(reservation, watched.handed_over());
            return Err(error.into());
        }
    };
    // Frames are small and each voucher waits for its receipt: no Nagle delay.
    let connected = tokio_tungstenite::connect_async_with_config(ws_url.as_str(), None, true)
        .await
        .map_err(|e| PaymentError::Transport(Box::new(e)));
    let (ws, _) = match connected {
        Ok(connected) => connected,
        Err(error) => {
            settle(reservation, watched.handed_over());
            return Err(error);
        }
    };
    let socket = Socket {
        ws: tokio::sync::Mutex::new(Frames {
            ws,
            pending: VecDeque::new(),
        }),
        resource: http_url.to_string(),
    };
    let answer = socket.present(&credential).await;
    // The credential was handed over: count the payment as made.
    settle(reservation, true);
    let answer = answer?;
    if answer.is_success() {
        emit(
            options.hook.as_ref(),
            &Event::PaymentMade {
                plan: &plan,
                receipt: answer.receipt.as_ref(),
            },
        );
    }
    provider.observe(&credential, &answer).await;
    if !answer.is_success() {
        return Err(PaymentError::Rejected {
            status: StatusCode::from_u16(answer.status).unwrap_or(StatusCode::PAYMENT_REQUIRED),
            problem: answer.problem,
        });
    }
    let shared = Arc::new(Mutex::new(Shared::default()));
    let state = Reading {
        socket,
        provider,
        paid: Paid {
            challenge: *challenge,
            credential,
        },
        policy: options.policy,
        origin,
        shared: Arc::clone(&shared),
        done: false,
    };
    Ok(MeteredStream::from_parts(
        stream::unfold(state, Reading::next).boxed(),
        shared,
    ))
}

/// `ws://` → `http://`, `wss://` → `https://`.
fn http_of(url: &Url) -> Result<Url, PaymentError> {
    let scheme = match url.scheme() {
        "ws" => "http",
        "wss" => "https",
        other => {
            return Err(PaymentError::Transport(
                format!("a WebSocket URL starts with ws:// or wss://, not {other}://").into(),
            ));
        }
    };
    let mut http = url.clone();
    http.set_scheme(scheme)
        .map_err(|()| PaymentError::Transport("the URL cannot be asked over HTTP".into()))?;
    Ok(http)
}

/// The socket and the frames read ahead of the one being waited for.
struct Frames {
    ws: Ws,
    pending: VecDeque<Frame>,
}

impl Frames {
    /// The next frame (an application text frame is an item), `None` once the socket closed.
    async fn next(&mut self) -> Result<Option<Frame>, PaymentError> {
        if let Some(frame) = self.pending.pop_front() {
            return Ok(Some(frame));
        }
        while let Some(message) = self.ws.next().await {
            let message = message.map_err(|e| PaymentError::Transport(Box::new(e)))?;
            match message {
                Message::Text(text) => {
                    return Ok(Some(
                        Frame::parse(text.as_str())?
                            .unwrap_or_else(|| Frame::Message(text.as_str().to_owned())),
                    ));
                }
                Message::Close(_) => return Ok(None),
                _ => {}
            }
        }
        Ok(None)
    }

    async fn send(&mut self, frame: &Frame) -> Result<(), PaymentError> {
        self.ws
            .send(Message::Text(frame.to_json().into()))
            .await
            .map_err(|e| PaymentError::Transport(Box::new(e)))
    }

    /// Ends the socket with a normal close.
    async fn close(&mut self) {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "stream complete".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }
}

/// Presents credentials as `authorization` frames; the answer is the next `payment-receipt`
/// (or `payment-error`) frame. Items that arrive meanwhile are kept for the reader.
struct Socket {
    ws: tokio::sync::Mutex<Frames>,
    /// The HTTP URL of the resource (a session's close goes there).
    resource: String,
}

impl Socket {
    async fn present(&self, credential: &Credential) -> Result<Answer, PaymentError> {
        let header = credential.to_header_value()?;
        let value = header.to_str().unwrap_or_default().to_owned();
        let mut frames = self.ws.lock().await;
        frames.send(&Frame::Authorization(value)).await?;
        let mut later = Vec::new();
        let answer = loop {
            match frames.next().await? {
                Some(Frame::Receipt(receipt)) => {
                    break Answer::new(200).with_receipt(Some(receipt));
                }
                Some(Frame::Error { status, message }) => {
                    later.push(Frame::Error {
                        status,
                        message: message.clone(),
                    });
                    break Answer::new(status);
                }
                Some(frame) => later.push(frame),
                None => break Answer::new(StatusCode::BAD_GATEWAY.as_u16()),
            }
        };
        for frame in later.into_iter().rev() {
            frames.pending.push_front(frame);
        }
        Ok(answer)
    }
}

impl Present for Socket {
    fn present<'a>(
        &'a self,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<Answer, MppError>> {
        Box::pin(async move {
            Socket::present(self, credential)
                .await
                .map_err(|e| MppError::Network(Box::new(e)))
        })
    }

    fn resource(&self) -> Option<&str> {
        Some(&self.resource)
    }
}

struct Reading<'a, P> {
    socket: Socket,
    provider: &'a P,
    paid: Paid,
    policy: Option<SpendPolicy>,
    origin: String,
    shared: Arc<Mutex<Shared>>,
    done: bool,
}

impl<P: PaymentProvider> Reading<'_, P> {
    async fn next(self) -> Option<(Result<String, PaymentError>, Self)> {
        if self.done {
            return None;
        }
        loop {
            let frame = self.socket.ws.lock().await.next().await;
            let frame = match frame {
                Ok(Some(frame)) => frame,
                Ok(None) => return None,
                Err(error) => return Some((Err(error), self.end().await)),
            };
            match frame {
                Frame::Message(item) => {
                    self.lock().received += 1;
                    return Some((Ok(item), self));
                }
                Frame::NeedVoucher(need) => {
                    let received = self.lock().received;
                    let paid = &self.paid;
                    let ask = StreamNeed::new(&paid.challenge, &paid.credential, &need, received);
                    let origin = self.origin.clone();
                    let answered = authorize(
                        self.provider,
                        &ask,
                        self.policy.as_ref(),
                        origin,
                        &self.socket,
                    )
                    .await;
                    if let Err(error) = answered {
                        return Some((Err(error), self.end().await));
                    }
                }
                Frame::CloseReady(receipt) => {
                    keep_final_receipt(self.provider, Some(&self.paid), &self.shared, receipt)
                        .await;
                    self.end().await;
                    return None;
                }
                Frame::Error { status, message } => {
                    let error = PaymentError::Closed { status, message };
                    return Some((Err(error), self.end().await));
                }
                _ => {}
            }
        }
    }

    /// Closes the socket: nothing more is read, nor charged.
    async fn end(mut self) -> Self {
        self.done = true;
        self.socket.ws.lock().await.close().await;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
