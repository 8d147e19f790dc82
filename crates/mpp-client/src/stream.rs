//! [`MeteredStream`]: the items of a metered Server-Sent Events response, with the server's
//! requests for more credit answered on the way.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use http::HeaderMap;
use mpp_core::stream::{SseReader, StreamEvent};
use mpp_core::{Answer, PaymentProvider, Receipt, StreamNeed};
use reqwest::{Client, Method, Request, Response, Url};

use crate::exchange::{Paid, Presenter};
use crate::handed::{Watched, settle};
use crate::{PaymentError, PlannedPayment, SpendPolicy};

/// The items of a metered stream (Server-Sent Events paid per item from a payment channel),
/// as they arrive. Get one with [`SendWithPayment::stream`](crate::SendWithPayment::stream),
/// or from a paid response with [`MeteredStream::new`].
///
/// When the server asks for more credit (`payment-need-voucher`), the stream has the payment
/// provider answer (a voucher, after a top-up when the channel's deposit is short, sent to
/// the same URL) before it reads on, holding any top-up against the request's spend policy,
/// and never authorises more than the items received justify: a server asking for more is
/// refused, and the stream ends with the error. The server's final receipt is kept:
/// [`receipt`](Self::receipt).
pub struct MeteredStream<'a> {
    items: BoxStream<'a, Result<String, PaymentError>>,
    shared: Arc<Mutex<Shared>>,
}

/// What the stream learned, readable while it is consumed.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) received: u64,
    pub(crate) receipt: Option<Receipt>,
}

impl fmt::Debug for MeteredStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredStream")
            .field("received", &self.received())
            .finish_non_exhaustive()
    }
}

impl<'a> MeteredStream<'a> {
    /// A stream of `items`, whose progress is kept in `shared`.
    #[cfg(feature = "ws")]
    pub(crate) fn from_parts(
        items: BoxStream<'a, Result<String, PaymentError>>,
        shared: Arc<Mutex<Shared>>,
    ) -> Self {
        Self { items, shared }
    }

    /// How many items arrived so far.
    pub fn received(&self) -> u64 {
        self.lock().received
    }

    /// The session receipt the server sent at the end of the stream (`payment-receipt`).
    pub fn receipt(&self) -> Option<Receipt> {
        self.lock().receipt.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Stream for MeteredStream<'_> {
    type Item = Result<String, PaymentError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.items.poll_next_unpin(cx)
    }
}

/// How a paid response was obtained, kept in its extensions by
/// [`SendWithPayment`](crate::SendWithPayment): what a metered stream in it needs to pay for
/// more items.
#[derive(Clone)]
pub(crate) struct Opened {
    pub(crate) paid: Paid,
    pub(crate) client: Client,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    /// The spend policy the request was paid under: a top-up mid-stream counts against it.
    pub(crate) policy: Option<SpendPolicy>,
}

impl<'a> MeteredStream<'a> {
    /// Reads `response` (a `text/event-stream` answer of
    /// [`send_with_payment`](crate::Fetch::send_with_payment)) as a metered stream, with
    /// `provider` (the one that paid it) answering the server's requests for more credit.
    /// A response no payment opened still yields its items, and fails at the first request
    /// for credit.
    pub fn new<P: PaymentProvider>(response: Response, provider: &'a P) -> Self {
        let opened = response.extensions().get::<Opened>().cloned();
        let (paid, client, template, policy) = match opened {
            Some(opened) => {
                // Vouchers and top-ups go to the same URL, as a POST with the request's
                // headers and no body (the presenter leaves out the body's headers), so the
                // server verifies them without serving (or charging) the resource again.
                let mut template = Request::new(Method::POST, opened.url);
                *template.headers_mut() = opened.headers;
                (Some(opened.paid), opened.client, template, opened.policy)
            }
            None => (
                None,
                Client::new(),
                Request::new(Method::POST, response.url().clone()),
                None,
            ),
        };
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = Reading {
            response: Some(response),
            reader: SseReader::new(),
            paid,
            provider,
            client,
            template,
            policy,
            shared: Arc::clone(&shared),
            broken: false,
        };
        MeteredStream {
            items: stream::unfold(state, Reading::next).boxed(),
            shared,
        }
    }
}

struct Reading<'a, P> {
    /// `None` once the body ended or the stream broke off.
    response: Option<Response>,
    reader: SseReader,
    paid: Option<Paid>,
    provider: &'a P,
    client: Client,
    template: Request,
    policy: Option<SpendPolicy>,
    shared: Arc<Mutex<Shared>>,
    /// Set when an error ended the stream.
    broken: bool,
}

impl<P: PaymentProvider> Reading<'_, P> {
    async fn next(mut self) -> Option<(Result<String, PaymentError>, Self)> {
        if self.broken {
            return None;
        }
        loop {
            let event = match self.event().await {
                Ok(Some(event)) => event,
                Ok(None) => return None,
                Err(error) => return Some((Err(error), self.break_off())),
            };
            match event {
                StreamEvent::Message(item) => {
                    self.lock().received += 1;
                    return Some((Ok(item), self));
                }
                StreamEvent::Receipt(receipt) => {
                    keep_final_receipt(self.provider, self.paid.as_ref(), &self.shared, receipt)
                        .await;
                }
                StreamEvent::NeedVoucher(need) => {
                    if let Err(error) = self.authorize(&need).await {
                        return Some((Err(error), self.break_off()));
                    }
                }
                _ => {}
            }
        }
    }

    /// Ends the stream after an error: dropping the response closes the connection, and the
    /// server stops metering.
    fn break_off(mut self) -> Self {
        self.response = None;
        self.broken = true;
        self
    }

    /// The next event of the body, `None` at its end.
    async fn event(&mut self) -> Result<Option<StreamEvent>, PaymentError> {
        loop {
            if let Some(event) = self.reader.next_event()? {
                return Ok(Some(event));
            }
            let Some(response) = self.response.as_mut() else {
                return Ok(None);
            };
            match response.chunk().await? {
                Some(chunk) => self.reader.push(&chunk),
                None => {
                    self.response = None;
                    return Ok(self.reader.finish()?);
                }
            }
        }
    }

    /// Has the provider raise the channel's credit as `need` asks.
    async fn authorize(&self, need: &mpp_core::CreditNeed) -> Result<(), PaymentError> {
        let Some(paid) = &self.paid else {
            return Err(PaymentError::NotMetered);
        };
        let received = self.lock().received;
        let ask = StreamNeed::new(&paid.challenge, &paid.credential, need, received);
        let send = |request: Request| {
            let client = self.client.clone();
            async move { client.execute(request).await.map_err(PaymentError::from) }
        };
        let presenter = Presenter {
            send: &send,
            template: &self.template,
        };
        let origin = self.template.url().origin().ascii_serialization();
        authorize(
            self.provider,
            &ask,
            self.policy.as_ref(),
            origin,
            &presenter,
        )
        .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Keeps a stream's final receipt in `shared`, and lets `provider` learn from it what the
/// channel has spent (its channel store then agrees with the server).
pub(crate) async fn keep_final_receipt<P: PaymentProvider>(
    provider: &P,
    paid: Option<&Paid>,
    shared: &Mutex<Shared>,
    receipt: Receipt,
) {
    if let Some(paid) = paid {
        let answer = Answer::new(200).with_receipt(Some(receipt.clone()));
        provider.observe(&paid.credential, &answer).await;
    }
    shared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .receipt = Some(receipt);
}

/// Has `provider` answer a stream's request for credit through `present`, holding what it puts
/// into the channel (a top-up when the deposit is short) against `policy` first, as any
/// payment's is. The hold counts as spent once the provider handed the server a credential,
/// even when it then fails: a top-up's deposit stays in escrow after a refused voucher.
pub(crate) async fn authorize<P: PaymentProvider>(
    provider: &P,
    ask: &StreamNeed<'_>,
    policy: Option<&SpendPolicy>,
    origin: String,
    present: &dyn mpp_core::Present,
) -> Result<(), PaymentError> {
    let reservation = match policy {
        Some(policy) => {
            let quote = provider.quote(ask.challenge).await?;
            let plan = PlannedPayment::new(ask.challenge, origin).quoted(quote);
            Some(policy.reserve(&plan)?)
        }
        None => None,
    };
    let watched = Watched::new(present);
    let answered = provider.authorize(ask, &watched).await;
    settle(reservation, answered.is_ok() || watched.handed_over());
    answered.map_err(PaymentError::from)
}
