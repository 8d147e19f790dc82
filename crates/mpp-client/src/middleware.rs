//! `PaymentMiddleware` for `reqwest-middleware`.

use http::Extensions;
use mpp_core::PaymentProvider;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::events::Event;
use crate::exchange::send_paid;
use crate::{PayOptions, PaymentError, SpendPolicy};

/// Pays `402` answers automatically for every request of a `reqwest-middleware` client.
///
/// ```no_run
/// use mpp_client::{PaymentMiddleware, SpendPolicy};
/// use reqwest_middleware::ClientBuilder;
/// # use mpp_core::{MppError, PaymentChallenge, PaymentCredential, PaymentPayload, PaymentProvider};
/// # struct MyProvider;
/// # impl PaymentProvider for MyProvider {
/// #     fn supports(&self, _: &str, _: &str) -> bool { true }
/// #     async fn pay(&self, c: &PaymentChallenge) -> Result<PaymentCredential, MppError> {
/// #         Ok(PaymentCredential::new(c.to_echo(), PaymentPayload::hash("0x")))
/// #     }
/// # }
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(PaymentMiddleware::new(MyProvider).policy(SpendPolicy::new().dry_run(true)))
///     .build();
/// let response = client.get("https://api.example.com/paid").send().await?;
/// # Ok(()) }
/// ```
///
/// A refusal or failure arrives as `reqwest_middleware::Error::Middleware`; the typed
/// [`PaymentError`] is inside: `err.downcast_ref::<PaymentError>()` on the `anyhow::Error`.
#[derive(Debug)]
pub struct PaymentMiddleware<P> {
    provider: P,
    options: PayOptions,
}

impl<P: PaymentProvider> PaymentMiddleware<P> {
    /// Pays with `provider`, with no spend limits.
    pub fn new(provider: P) -> Self {
        Self {
            provider,
            options: PayOptions::default(),
        }
    }

    /// Applies a spend policy.
    #[must_use]
    pub fn policy(mut self, policy: SpendPolicy) -> Self {
        self.options = self.options.policy(policy);
        self
    }

    /// Calls `hook` for every [`Event`].
    #[must_use]
    pub fn on_event(mut self, hook: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        self.options = self.options.on_event(hook);
        self
    }

    /// Replaces all payment options.
    #[must_use]
    pub fn options(mut self, options: PayOptions) -> Self {
        self.options = options;
        self
    }
}

#[async_trait::async_trait]
impl<P: PaymentProvider + 'static> Middleware for PaymentMiddleware<P> {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let result = send_paid(&self.provider, &self.options, request, |request| {
            let next = next.clone();
            let mut extensions = extensions.clone();
            async move {
                next.run(request, &mut extensions)
                    .await
                    .map_err(|e| PaymentError::Transport(Box::new(e)))
            }
        })
        .await;
        result.map_err(|err| match err {
            // A failure of the stack below stays what it was.
            PaymentError::Transport(inner) => match inner.downcast::<reqwest_middleware::Error>() {
                Ok(inner) => *inner,
                Err(other) => reqwest_middleware::Error::middleware(PaymentError::Transport(other)),
            },
            other => reqwest_middleware::Error::middleware(other),
        })
    }
}
