//! Several payment providers behind one, routed by method and intent.

use mpp_core::{
    Answer, Challenge, Credential, MppError, PaymentProvider, Present, Quote, Retry, StreamNeed,
};

use mpp_core::BoxFuture;

trait ErasedProvider: Send + Sync {
    fn supports(&self, method: &str, intent: &str) -> bool;
    fn pay<'a>(&'a self, challenge: &'a Challenge) -> BoxFuture<'a, Result<Credential, MppError>>;
    fn quote<'a>(
        &'a self,
        challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Option<Quote>, MppError>>;
    fn pay_via<'a>(
        &'a self,
        challenge: &'a Challenge,
        present: &'a dyn Present,
    ) -> BoxFuture<'a, Result<Credential, MppError>>;
    fn authorize<'a>(
        &'a self,
        need: &'a StreamNeed<'a>,
        present: &'a dyn Present,
    ) -> BoxFuture<'a, Result<(), MppError>>;
    fn observe<'a>(
        &'a self,
        credential: &'a Credential,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Retry>;
}

impl<P: PaymentProvider> ErasedProvider for P {
    fn supports(&self, method: &str, intent: &str) -> bool {
        PaymentProvider::supports(self, method, intent)
    }
    fn pay<'a>(&'a self, challenge: &'a Challenge) -> BoxFuture<'a, Result<Credential, MppError>> {
        Box::pin(PaymentProvider::pay(self, challenge))
    }
    fn quote<'a>(
        &'a self,
        challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Option<Quote>, MppError>> {
        Box::pin(PaymentProvider::quote(self, challenge))
    }
    fn pay_via<'a>(
        &'a self,
        challenge: &'a Challenge,
        present: &'a dyn Present,
    ) -> BoxFuture<'a, Result<Credential, MppError>> {
        Box::pin(PaymentProvider::pay_via(self, challenge, present))
    }
    fn authorize<'a>(
        &'a self,
        need: &'a StreamNeed<'a>,
        present: &'a dyn Present,
    ) -> BoxFuture<'a, Result<(), MppError>> {
        Box::pin(PaymentProvider::authorize(self, need, present))
    }
    fn observe<'a>(
        &'a self,
        credential: &'a Credential,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Retry> {
        Box::pin(PaymentProvider::observe(self, credential, answer))
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

impl MultiProvider {
    /// The first provider that supports `method` and `intent`.
    fn route(&self, method: &str, intent: &str) -> Result<&dyn ErasedProvider, MppError> {
        self.providers
            .iter()
            .find(|p| p.supports(method, intent))
            .map(|p| p.as_ref())
            .ok_or_else(|| MppError::Unsupported {
                method: method.to_owned(),
                intent: intent.to_owned(),
            })
    }
}

impl PaymentProvider for MultiProvider {
    fn supports(&self, method: &str, intent: &str) -> bool {
        self.providers.iter().any(|p| p.supports(method, intent))
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        self.route(&challenge.method, &challenge.intent)?
            .pay(challenge)
            .await
    }

    async fn quote(&self, challenge: &Challenge) -> Result<Option<Quote>, MppError> {
        match self.route(&challenge.method, &challenge.intent) {
            Ok(provider) => provider.quote(challenge).await,
            Err(_) => Ok(None),
        }
    }

    async fn pay_via(
        &self,
        challenge: &Challenge,
        present: &dyn Present,
    ) -> Result<Credential, MppError> {
        self.route(&challenge.method, &challenge.intent)?
            .pay_via(challenge, present)
            .await
    }

    async fn authorize(
        &self,
        need: &StreamNeed<'_>,
        present: &dyn Present,
    ) -> Result<(), MppError> {
        let challenge = need.challenge;
        self.route(&challenge.method, &challenge.intent)?
            .authorize(need, present)
            .await
    }

    async fn observe(&self, credential: &Credential, answer: &Answer) -> Retry {
        let echo = &credential.challenge;
        match self.route(&echo.method, &echo.intent) {
            Ok(provider) => provider.observe(credential, answer).await,
            Err(_) => Retry::No,
        }
    }
}

impl std::fmt::Debug for MultiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiProvider")
            .field("providers", &self.providers.len())
            .finish()
    }
}
