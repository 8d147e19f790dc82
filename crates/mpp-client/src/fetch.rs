//! `send_with_payment` on `reqwest::RequestBuilder`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use mpp_core::PaymentProvider;
use reqwest::{RequestBuilder, Response};

use crate::events::Event;
use crate::exchange::exchange;
use crate::stream::{MeteredStream, Opened};
use crate::{PayOptions, PaymentError, SpendPolicy};

mod sealed {
    pub trait Sealed {}
    impl Sealed for reqwest::RequestBuilder {}
}

/// Adds [`send_with_payment`](Fetch::send_with_payment) to [`reqwest::RequestBuilder`]: when
/// the server answers `402`, the challenge is paid with `provider` and the request is sent
/// again with the credential.
///
/// ```no_run
/// use mpp_client::{Fetch, SpendPolicy};
/// # use mpp_core::{MppError, PaymentChallenge, PaymentCredential, PaymentPayload, PaymentProvider};
/// # struct MyProvider;
/// # impl PaymentProvider for MyProvider {
/// #     fn supports(&self, _: &str, _: &str) -> bool { true }
/// #     async fn pay(&self, c: &PaymentChallenge) -> Result<PaymentCredential, MppError> {
/// #         Ok(PaymentCredential::new(c.to_echo(), PaymentPayload::hash("0x")))
/// #     }
/// # }
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let provider = MyProvider;
/// let response = reqwest::Client::new()
///     .get("https://api.example.com/paid")
///     .send_with_payment(&provider)
///     .policy(SpendPolicy::new().allow_methods(["tempo"]))
///     .await?;
/// println!("Status: {}", response.status());
/// # Ok(()) }
/// ```
pub trait Fetch: sealed::Sealed + Sized {
    /// Sends the request, paying with `provider` if the server asks for payment.
    fn send_with_payment<P: PaymentProvider>(self, provider: &P) -> SendWithPayment<'_, P>;
}

impl Fetch for RequestBuilder {
    fn send_with_payment<P: PaymentProvider>(self, provider: &P) -> SendWithPayment<'_, P> {
        SendWithPayment {
            builder: self,
            provider,
            options: PayOptions::default(),
        }
    }
}

/// A request about to be sent with payment; `.await` it. Adjust how it pays first with
/// [`policy`](Self::policy), [`on_event`](Self::on_event) or [`options`](Self::options).
#[derive(Debug)]
#[must_use = "a request is only sent when awaited"]
pub struct SendWithPayment<'a, P> {
    builder: RequestBuilder,
    provider: &'a P,
    options: PayOptions,
}

impl<P> SendWithPayment<'_, P> {
    /// Applies a spend policy.
    pub fn policy(mut self, policy: SpendPolicy) -> Self {
        self.options = self.options.policy(policy);
        self
    }

    /// Calls `hook` for every [`Event`].
    pub fn on_event(mut self, hook: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        self.options = self.options.on_event(hook);
        self
    }

    /// Replaces all payment options.
    pub fn options(mut self, options: PayOptions) -> Self {
        self.options = options;
        self
    }
}

impl<'a, P: PaymentProvider> SendWithPayment<'a, P> {
    /// Sends the request, paying as awaiting it does, and reads the answer as a metered
    /// stream of items (Server-Sent Events paid per item from a session's channel): the
    /// server's requests for more credit are answered by the provider as the items arrive.
    /// [`MeteredStream::new`] does the same with a response already received.
    pub async fn stream(self) -> Result<MeteredStream<'a>, PaymentError> {
        let provider = self.provider;
        let response = self.await?;
        let status = response.status();
        if !status.is_success() {
            return Err(PaymentError::NotAStream { status });
        }
        Ok(MeteredStream::new(response, provider))
    }
}

impl<'a, P: PaymentProvider> IntoFuture for SendWithPayment<'a, P> {
    type Output = Result<Response, PaymentError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (client, request) = self.builder.build_split();
            let request = request?;
            let (url, headers) = (request.url().clone(), request.headers().clone());
            let sender = client.clone();
            let exchanged = exchange(self.provider, &self.options, request, |request| {
                let client = sender.clone();
                async move { client.execute(request).await.map_err(PaymentError::from) }
            })
            .await?;
            let mut response = exchanged.response;
            if let Some(paid) = exchanged.paid {
                // What a metered stream in this response needs to pay for more items.
                response.extensions_mut().insert(Opened {
                    paid,
                    client,
                    url,
                    headers,
                    policy: self.options.policy.clone(),
                });
            }
            Ok(response)
        })
    }
}
