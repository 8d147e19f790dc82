//! [`MeteredWs`]: a metered stream over a WebSocket (feature `ws`): payment frames with the
//! `mpp` discriminator, each credential verified as a bodiless `POST` to the same URL, items
//! charged one by one as they are sent.

use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_core::Stream;
use futures_util::stream::{BoxStream, SplitSink};
use futures_util::{SinkExt, StreamExt};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method, Uri};
use mpp_core::ChargeParams;
use mpp_core::stream::Frame;
use tokio::sync::{mpsc, watch};

use super::{Charge, Charger, MeterOptions};
use crate::{ChargeOutcome, Mpp, RequestContext};

/// How many payment frames may wait for verification; one more closes the socket (1008), as
/// the official SDKs do.
pub const MAX_QUEUED_PAYMENT_FRAMES: usize = 32;

/// How long the socket stays open after `payment-close-ready` for the client to close it.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Close codes.
const NORMAL: u16 = 1000;
const POLICY: u16 = 1008;
const INTERNAL: u16 = 1011;

/// Serves a stream of items over a WebSocket, each paid from the payer's session channel.
///
/// The client first asks the same URL over HTTP for the challenge (the route's payment layer
/// answers 402), opens the socket, and sends its credential as an `authorization` frame. Each
/// credential frame is verified as a bodiless `POST` to the URL carrying only that
/// `Authorization` header, and answered with a `payment-receipt` frame; the first one starts
/// the stream. Every item is charged the price just before its `message` frame is sent; when
/// the credit runs out a `payment-need-voucher` frame asks for more and the stream waits (up to
/// [`MeterOptions::wait`]) for a voucher frame. At the end a `payment-close-ready` frame carries
/// the session receipt, and the client closes the socket (the server closes it with 1000 after
/// ten seconds otherwise; at once after a `payment-close-request`).
/// A refused credential is a `payment-error` frame and close 1008, as is a client with more
/// than [`MAX_QUEUED_PAYMENT_FRAMES`] payment frames waiting; a failing channel store, 1011.
///
/// [`respond`](Self::respond) serves the whole route: the HTTP probe (402 with the
/// challenges), credentials sent over HTTP (a bodiless `POST` with a top-up, a voucher or a
/// close: 204), a `GET` paying over HTTP (the same items as Server-Sent Events), and the
/// WebSocket upgrade. Put the route beside the payment layer, not behind it. Serve it with
/// `TCP_NODELAY` (axum: `listener.tap_io(|tcp| { let _ = tcp.set_nodelay(true); })`): each
/// voucher frame is answered by small frames that otherwise wait for the client's delayed ACK.
///
/// ```no_run
/// use axum::extract::{Request, State};
/// use axum::response::Response;
/// use mpp_server::{MeteredWs, Mpp};
/// use mpp_server::mpp_core::ChargeParams;
///
/// async fn ticks(State(mpp): State<Mpp>, request: Request) -> Response {
///     let items = futures_util::stream::iter((0..100).map(|i| format!("tick {i}")));
///     MeteredWs::new(mpp, ChargeParams::new("0.001")).respond(request, items).await
/// }
/// # let _ = axum::Router::<Mpp>::new().route("/ticks", axum::routing::any(ticks));
/// ```
#[derive(Clone, Debug)]
pub struct MeteredWs {
    mpp: Mpp,
    params: ChargeParams,
    options: MeterOptions,
}

/// What the reader hands the payment worker.
enum Work {
    Authorization(String),
    CloseRequest,
}

/// What the writer sends.
enum Out {
    Frame(Frame),
    Close(u16, String),
}

impl MeteredWs {
    /// A stream paid through `mpp` at `params`' price per item.
    pub fn new(mpp: Mpp, params: ChargeParams) -> Self {
        Self {
            mpp,
            params,
            options: MeterOptions::default(),
        }
    }

    /// Answers `request` to the stream's route: a WebSocket upgrade runs [`serve`](Self::serve)
    /// on the socket; any other request goes through the payment exchange (402 with the
    /// challenges, 204 for a credential that only manages the channel, and for a paid `GET`
    /// the items as Server-Sent Events).
    pub async fn respond<S>(self, request: axum::extract::Request, items: S) -> Response
    where
        S: Stream + Send + 'static,
        S::Item: Into<String>,
    {
        let (mut parts, _body) = request.into_parts();
        let upgrade = parts
            .headers
            .get(http::header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        if upgrade {
            return match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
                Ok(upgrade) => {
                    let uri = parts.uri.clone();
                    upgrade.on_upgrade(move |socket| self.serve(socket, uri, items))
                }
                Err(rejection) => rejection.into_response(),
            };
        }
        let context = RequestContext::from_parts(&parts);
        match self.mpp.charge(&context, &self.params).await {
            Ok(ChargeOutcome::PaymentRequired(required)) => required.into_response(),
            Ok(ChargeOutcome::Managed(payment)) => payment.management_response(),
            Ok(ChargeOutcome::Paid(payment)) => {
                let Some(meter) = payment.meter() else {
                    return crate::response::status_response(http::StatusCode::BAD_REQUEST);
                };
                let mut response = meter.options(self.options).sse(items).into_response();
                payment.apply_to(response.headers_mut());
                response
            }
            Err(error) => {
                tracing::warn!(target: "mpp_server::stream", %error, "a metered WebSocket route failed");
                crate::response::status_response(http::StatusCode::SERVICE_UNAVAILABLE)
            }
        }
    }

    /// Sets how the stream waits for credit.
    #[must_use]
    pub fn options(mut self, options: MeterOptions) -> Self {
        self.options = options;
        self
    }

    /// Runs the stream of `items` over `socket` (upgraded from a request to `uri`) until it
    /// ends.
    pub async fn serve<S>(self, socket: WebSocket, uri: Uri, items: S)
    where
        S: Stream + Send + 'static,
        S::Item: Into<String>,
    {
        let (sink, mut incoming) = socket.split();
        // Bounded: a slow client slows the items.
        let (out, outgoing) = mpsc::channel::<Out>(16);
        let writer = tokio::spawn(write(sink, outgoing));
        let (work_tx, mut work) = mpsc::channel::<Work>(MAX_QUEUED_PAYMENT_FRAMES);
        let reader_out = out.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = incoming.next().await {
                let text = match message {
                    Message::Text(text) => text,
                    Message::Close(_) => break,
                    _ => continue,
                };
                let next = match Frame::parse(text.as_str()) {
                    Ok(Some(Frame::Authorization(value))) => Work::Authorization(value),
                    Ok(Some(Frame::CloseRequest)) => Work::CloseRequest,
                    // Application data, or a server's frame: not for the payment flow.
                    Ok(_) => continue,
                    Err(error) => {
                        refuse(&reader_out, 400, &error.to_string(), POLICY).await;
                        break;
                    }
                };
                if work_tx.try_send(next).is_err() {
                    let message = "too many queued payment frames";
                    refuse(&reader_out, 429, message, POLICY).await;
                    break;
                }
            }
        });

        let (stop, stopped) = watch::channel(false);
        let mut items = Some(items.map(Into::into).boxed());
        let mut metering: Option<tokio::task::JoinHandle<Option<Charger>>> = None;
        while let Some(next) = work.recv().await {
            match next {
                Work::CloseRequest => {
                    let _ = stop.send(true);
                    if let Some(task) = metering.take() {
                        let charger = task.await.ok().flatten();
                        if let Some(charger) = charger
                            && close_ready(&out, &charger).await
                        {
                            close_normally(&out).await;
                        }
                    }
                    break;
                }
                Work::Authorization(value) => match self.verify(&uri, &value, &out).await {
                    Ok(Some(charger)) => {
                        if let Some(items) = items.take() {
                            let task = meter(charger, items, out.clone(), stopped.clone());
                            metering = Some(tokio::spawn(task));
                        }
                    }
                    Ok(None) => {}
                    Err((status, message, code)) => {
                        refuse(&out, status, &message, code).await;
                        break;
                    }
                },
            }
        }
        // The client went away, or the stream is over: nothing more is charged.
        let _ = stop.send(true);
        if let Some(task) = metering {
            let _ = task.await;
        }
        reader.abort();
        drop(out);
        let _ = writer.await;
    }

    /// Verifies one credential frame; answers it with its receipt. The charger of a session
    /// payment, to start the stream with.
    async fn verify(
        &self,
        uri: &Uri,
        value: &str,
        out: &mpsc::Sender<Out>,
    ) -> Result<Option<Charger>, (u16, String, u16)> {
        let header = HeaderValue::from_str(value).map_err(|_| {
            (
                400,
                "the authorization is not a header value".to_owned(),
                POLICY,
            )
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, header);
        let context = RequestContext::new(&Method::POST, uri).headers(&headers);
        match self.mpp.charge(&context, &self.params).await {
            Ok(ChargeOutcome::Paid(payment) | ChargeOutcome::Managed(payment)) => {
                let charger = payment
                    .meter()
                    .map(|meter| Charger::new(meter.options(self.options)));
                let receipt = Frame::Receipt(payment.receipt().clone());
                let _ = out.send(Out::Frame(receipt)).await;
                Ok(charger)
            }
            Ok(ChargeOutcome::PaymentRequired(required)) => Err((
                required.status().as_u16(),
                required.problem().detail.clone(),
                POLICY,
            )),
            Err(error) => Err((500, error.to_string(), INTERNAL)),
        }
    }
}

/// Sends each frame in order; a close frame ends the socket.
async fn write(mut sink: SplitSink<WebSocket, Message>, mut outgoing: mpsc::Receiver<Out>) {
    while let Some(next) = outgoing.recv().await {
        let sent = match next {
            Out::Frame(frame) => sink.send(Message::Text(frame.to_json().into())).await,
            Out::Close(code, reason) => {
                let frame = CloseFrame {
                    code,
                    reason: reason.into(),
                };
                let _ = sink.send(Message::Close(Some(frame))).await;
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    }
    let _ = sink.close().await;
}

/// A `payment-error` frame, then the close.
async fn refuse(out: &mpsc::Sender<Out>, status: u16, message: &str, code: u16) {
    let error = Frame::Error {
        status,
        message: message.to_owned(),
    };
    let _ = out.send(Out::Frame(error)).await;
    let _ = out.send(Out::Close(code, message.to_owned())).await;
}

/// The session receipt in a `payment-close-ready` frame (false when the store failed: the
/// socket is closed with 1011).
async fn close_ready(out: &mpsc::Sender<Out>, charger: &Charger) -> bool {
    match charger.receipt().await {
        Ok(receipt) => {
            let _ = out.send(Out::Frame(Frame::CloseReady(receipt))).await;
            true
        }
        Err(error) => {
            refuse(out, 500, &error.to_string(), INTERNAL).await;
            false
        }
    }
}

/// Close 1000 after `payment-close-ready`.
async fn close_normally(out: &mpsc::Sender<Out>) {
    let _ = out.send(Out::Close(NORMAL, "stream complete".into())).await;
}

/// Charges and sends the items until they end (then the close-ready frame), the credit does
/// not arrive in time, or `stopped` says stop. Returns the charger when stopped early, for the
/// close-ready frame the close request asks for.
async fn meter(
    mut charger: Charger,
    mut items: BoxStream<'static, String>,
    out: mpsc::Sender<Out>,
    mut stopped: watch::Receiver<bool>,
) -> Option<Charger> {
    loop {
        let item = tokio::select! {
            item = items.next() => item,
            _ = stopped.wait_for(|stop| *stop) => return Some(charger),
        };
        let Some(item) = item else {
            // The client reads the receipt, then closes (or sends its close credential first);
            // the server closes after a grace period otherwise.
            if close_ready(&out, &charger).await {
                let stop = async {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                tokio::select! {
                    () = tokio::time::sleep(CLOSE_GRACE) => close_normally(&out).await,
                    () = stop => {}
                }
            }
            return None;
        };
        loop {
            if *stopped.borrow() {
                return Some(charger);
            }
            match charger.charge().await {
                Ok(Charge::Paid) => {
                    if out.send(Out::Frame(Frame::Message(item))).await.is_err() {
                        return None;
                    }
                    break;
                }
                Ok(Charge::Short(need)) => {
                    if out
                        .send(Out::Frame(Frame::NeedVoucher(need)))
                        .await
                        .is_err()
                    {
                        return None;
                    }
                    let deadline = Instant::now() + charger.meter().options.wait;
                    let credit = tokio::select! {
                        credit = charger.wait(deadline) => credit,
                        _ = stopped.wait_for(|stop| *stop) => return Some(charger),
                    };
                    match credit {
                        Ok(true) => {}
                        Ok(false) => {
                            let message = "no voucher arrived in time";
                            refuse(&out, 402, message, POLICY).await;
                            return None;
                        }
                        Err(error) => {
                            refuse(&out, 500, &error.to_string(), INTERNAL).await;
                            return None;
                        }
                    }
                }
                Err(error) => {
                    refuse(&out, 500, &error.to_string(), INTERNAL).await;
                    return None;
                }
            }
        }
    }
}
