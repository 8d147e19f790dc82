//! Several payment providers behind one, routed by method and intent.

use std::future::Future;
use std::pin::Pin;

use mpp_core::{Challenge, Credential, MppError, PaymentProvider, Quote};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

trait ErasedProvider: Send + Sync {
    fn supports(&self, method: &str, intent: &str) -> bool;
    fn pay<'a>(&'a self, challenge: &'a Challenge) -> BoxFuture<'a, Result<Credential, MppError>>;
    fn quote(&self, challenge: &Challenge) -> Option<Quote>;
}

impl<P: PaymentProvider> ErasedProvider for P {
    fn supports(&self, method: &str, intent: &str) -> bool {
        PaymentProvider::supports(self, method, intent)
    }
    fn pay<'a>(&'a self, challenge: &'a Challenge) -> BoxFuture<'a, Result<Credential, MppError>> {
        Box::pin(PaymentProvider::pay(self, challenge))
    }
    fn quote(&self, challenge: &Challenge) -> Option<Quote> {
        PaymentProvider::quote(self, challenge)
    }
}

/// Wraps several providers and pays each challenge with the first one that supports its
/// `method` and `intent`.
///
/// ```
/// use mpp_client::MultiProvider;
/// use mpp_core::PaymentProvider;
/// # use mpp_core::{MppError, PaymentChallenge, PaymentCredential, PaymentPayload};
/// # struct Tempo;
/// # impl PaymentProvider for Tempo {
/// #     fn supports(&self, m: &str, i: &str) -> bool { m == "tempo" && i == "charge" }
/// #     async fn pay(&self, c: &PaymentChallenge) -> Result<PaymentCredential, MppError> {
/// #         Ok(PaymentCredential::new(c.to_echo(), PaymentPayload::hash("0x")))
/// #     }
/// # }
///
/// let provider = MultiProvider::new().with(Tempo);
/// assert!(provider.supports("tempo", "charge"));
/// assert!(!provider.supports("stripe", "charge"));
/// ```
#[derive(Default)]
pub struct MultiProvider {
    providers: Vec<Box<dyn ErasedProvider>>,
}

impl MultiProvider {
    /// No providers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a provider; earlier ones win when several support a challenge.
    #[must_use]
    pub fn with(mut self, provider: impl PaymentProvider + 'static) -> Self {
        self.providers.push(Box::new(provider));
        self
    }

    /// How many providers it holds.
    pub fn len(&self) -> usize {
        self.providers.len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }
}

impl PaymentProvider for MultiProvider {
    fn supports(&self, method: &str, intent: &str) -> bool {
        self.providers.iter().any(|p| p.supports(method, intent))
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        let provider = self
            .providers
            .iter()
            .find(|p| p.supports(&challenge.method, &challenge.intent))
            .ok_or_else(|| MppError::Unsupported {
                method: challenge.method.clone(),
                intent: challenge.intent.clone(),
            })?;
        provider.pay(challenge).await
    }

    fn quote(&self, challenge: &Challenge) -> Option<Quote> {
        self.providers
            .iter()
            .find(|p| p.supports(&challenge.method, &challenge.intent))?
            .quote(challenge)
    }
}

impl std::fmt::Debug for MultiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiProvider")
            .field("providers", &self.providers.len())
            .finish()
    }
}
