//! The payment handler: the methods offered, the realm, the binding secret and the store.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mpp_core::{
    Recovery, ReplayStore, SecretError, ServerMethod, ServerSecret, SharedStore, StoreError,
};

use crate::RouteTerms;
use crate::events::{Event, Hook};
use crate::method::DynMethod;
use crate::priced::Priced;
use crate::stream::Wakers;

/// The environment variable read for the realm when none is configured.
pub const REALM_ENV: &str = "MPP_REALM";

/// The environment variable read for the binding secret when none is configured.
pub const SECRET_ENV: &str = "MPP_SECRET_KEY";

/// The server's payment handler (the Go SDK's `server.New`): the methods it offers, the
/// realm, the secret that binds challenge ids, and the replay store.
///
/// It is cheap to clone; clones share everything. Every adapter (the tower layer, the axum
/// extractor, the actix-web middleware) and [`Mpp::charge`] run the same exchange through it.
///
/// ```
/// # mod stand_in { include!("../examples/stand_in/mod.rs"); }
/// use mpp_core::ServerSecret;
/// use mpp_server::Mpp;
///
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let mpp = Mpp::builder()
///     .method(stand_in::StandInMethod::new())
///     .realm("api.example.com")
///     .secret(secret)
///     .build()?;
/// assert_eq!(mpp.realm(), "api.example.com");
/// assert!(!format!("{mpp:?}").contains("an-example-secret"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Mpp {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) methods: Vec<Box<dyn DynMethod>>,
    pub(crate) realm: String,
    pub(crate) secret: ServerSecret,
    pub(crate) store: SharedStore,
    pub(crate) challenge_ttl: Duration,
    pub(crate) late_payment_window: Duration,
    pub(crate) body_limit: usize,
    pub(crate) hooks: Vec<Hook>,
    /// The request objects of recent prices.
    pub(crate) priced: Priced,
    /// Metered streams of this process waiting for their channel's credit to rise.
    pub(crate) wakers: Wakers,
}

impl Mpp {
    /// The default lifetime of a challenge: five minutes.
    pub const DEFAULT_CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);

    /// The default cap on a buffered request body: 1 MiB.
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

    /// Starts a handler; see [`MppBuilder`].
    pub fn builder() -> MppBuilder {
        MppBuilder::default()
    }

    /// A handler offering one method in `realm`, with an in-memory store and the defaults.
    pub fn new(
        method: impl ServerMethod,
        realm: impl Into<String>,
        secret: ServerSecret,
    ) -> Result<Self, BuildError> {
        Self::builder()
            .method(method)
            .realm(realm)
            .secret(secret)
            .build()
    }

    /// The protection space challenges are issued for.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// The replay store.
    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// Finishes the settlements a previous run of this server (or another replica sharing the
    /// store) started but did not record: each method asks the network how its pending
    /// settlements ended, records the settled ones in the ledger and releases the claims of
    /// the failed ones ([`ServerMethod::recover`]). Call it once at start-up, before serving;
    /// it is safe to call again (from a timer, say) and from several replicas at once.
    ///
    /// A method that cannot reach the store fails the pass with the store's error; settlements
    /// whose outcome the network cannot tell yet are left for the next pass
    /// ([`Recovery::unresolved`]).
    pub async fn recover(&self) -> Result<Recovery, StoreError> {
        let mut total = Recovery::default();
        for method in &self.inner.methods {
            let pass = method.recover().await?;
            if pass != Recovery::default() {
                tracing::info!(
                    target: "mpp_server::recover",
                    method = method.name(),
                    intent = method.intent(),
                    recorded = pass.recorded,
                    abandoned = pass.abandoned,
                    unresolved = pass.unresolved,
                    "recovered pending settlements"
                );
            }
            total.add(pass);
        }
        crate::events::emit(&self.inner.hooks, &Event::Recovered { recovery: &total });
        Ok(total)
    }

    /// The largest request body the adapters buffer, in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }
}

impl fmt::Debug for Mpp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let methods: Vec<String> = self
            .inner
            .methods
            .iter()
            .map(|m| format!("{}/{}", m.name(), m.intent()))
            .collect();
        f.debug_struct("Mpp")
            .field("realm", &self.inner.realm)
            .field("methods", &methods)
            .field("secret", &self.inner.secret)
            .field("store", &self.inner.store)
            .field("challenge_ttl", &self.inner.challenge_ttl)
            .field("body_limit", &self.inner.body_limit)
            .finish_non_exhaustive()
    }
}

/// Configures an [`Mpp`]. The realm and the secret fall back to the `MPP_REALM` and
/// `MPP_SECRET_KEY` environment variables; the store defaults to a [`mpp_core::MemoryStore`],
/// the challenge lifetime to five minutes and the body limit to 1 MiB.
#[must_use]
pub struct MppBuilder {
    methods: Vec<Box<dyn DynMethod>>,
    realm: Option<String>,
    secret: Option<ServerSecret>,
    store: Option<SharedStore>,
    challenge_ttl: Duration,
    late_payment_window: Duration,
    body_limit: usize,
    hooks: Vec<Hook>,
}

impl Default for MppBuilder {
    fn default() -> Self {
        Self {
            methods: Vec::new(),
            realm: None,
            secret: None,
            store: None,
            challenge_ttl: Mpp::DEFAULT_CHALLENGE_TTL,
            late_payment_window: RouteTerms::DEFAULT_LATE_PAYMENT_WINDOW,
            body_limit: Mpp::DEFAULT_BODY_LIMIT,
            hooks: Vec::new(),
        }
    }
}

impl fmt::Debug for MppBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MppBuilder")
            .field("methods", &self.methods.len())
            .field("realm", &self.realm)
            .field("secret", &self.secret)
            .field("challenge_ttl", &self.challenge_ttl)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl MppBuilder {
    /// Offers a payment method. Call it once per method; a route then offers every method, in
    /// this order unless the client's `Accept-Payment` prefers another.
    pub fn method(mut self, method: impl ServerMethod) -> Self {
        self.methods.push(Box::new(method));
        self
    }

    /// Sets the realm (typically the API's host name). Without it, `MPP_REALM` is read; the
    /// request's `Host` is never used.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Sets the challenge-binding secret. Without it, `MPP_SECRET_KEY` is read.
    pub fn secret(mut self, secret: ServerSecret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Sets the replay store (default: in memory, for a single process).
    pub fn store(mut self, store: impl ReplayStore) -> Self {
        self.store = Some(SharedStore::new(store));
        self
    }

    /// Sets how long issued challenges stay payable (default five minutes). A charge's own
    /// [`expires`](mpp_core::ChargeParams::expires()) takes precedence.
    pub fn challenge_ttl(mut self, ttl: Duration) -> Self {
        self.challenge_ttl = ttl;
        self
    }

    /// Sets how long after its challenge expired a credential whose payment the payer already
    /// made ([`ServerMethod::paid_by_payer`], such as a transaction hash in push mode) is still
    /// taken (default five minutes). A payer whose transaction landed just before its challenge
    /// expired can present it just after; refusing it would keep money that already moved.
    /// Other credentials are refused as soon as their challenge expires.
    pub fn late_payment_window(mut self, window: Duration) -> Self {
        self.late_payment_window = window;
        self
    }

    /// Sets the largest request body the adapters buffer, in bytes (default 1 MiB). Larger
    /// bodies are answered with 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Registers a callback for challenges issued, payments verified and payments refused.
    /// Callbacks run inline on the request path: keep them fast, and hand slow work off.
    pub fn on_event(mut self, hook: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        self.hooks.push(Arc::new(hook));
        self
    }

    /// Checks the configuration and builds the handler.
    pub fn build(self) -> Result<Mpp, BuildError> {
        self.build_with_env(|name| std::env::var(name).ok())
    }

    fn build_with_env(self, env: impl Fn(&str) -> Option<String>) -> Result<Mpp, BuildError> {
        if self.methods.is_empty() {
            return Err(BuildError::NoMethods);
        }
        for (i, method) in self.methods.iter().enumerate() {
            let earlier = self.methods.iter().take(i);
            if earlier
                .into_iter()
                .any(|m| m.name() == method.name() && m.intent() == method.intent())
            {
                return Err(BuildError::DuplicateMethod {
                    method: method.name().to_owned(),
                    intent: method.intent().to_owned(),
                });
            }
        }
        let realm = match self.realm {
            Some(realm) => realm,
            None => env(REALM_ENV).ok_or(BuildError::MissingRealm)?,
        };
        if realm.trim().is_empty() {
            return Err(BuildError::MissingRealm);
        }
        if realm.chars().any(char::is_control) {
            return Err(BuildError::InvalidRealm);
        }
        let secret = match self.secret {
            Some(secret) => secret,
            None => ServerSecret::new(env(SECRET_ENV).ok_or(BuildError::MissingSecret)?)?,
        };
        Ok(Mpp {
            inner: Arc::new(Inner {
                methods: self.methods,
                realm,
                secret,
                store: self.store.unwrap_or_default(),
                challenge_ttl: self.challenge_ttl,
                late_payment_window: self.late_payment_window,
                body_limit: self.body_limit,
                hooks: self.hooks,
                priced: Priced::default(),
                wakers: Wakers::default(),
            }),
        })
    }
}

/// Why an [`Mpp`] could not be built. Messages never include the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No payment method was configured.
    #[error("at least one payment method is required")]
    NoMethods,
    /// Two methods share a method name and intent.
    #[error("payment method {method}/{intent} is configured twice")]
    DuplicateMethod {
        /// The method.
        method: String,
        /// The intent.
        intent: String,
    },
    /// No realm was configured and `MPP_REALM` is not set.
    #[error("a realm is required: configure one or set MPP_REALM")]
    MissingRealm,
    /// The realm holds a control character.
    #[error("the realm must not contain control characters")]
    InvalidRealm,
    /// No secret was configured and `MPP_SECRET_KEY` is not set.
    #[error("a server secret is required: configure one or set MPP_SECRET_KEY")]
    MissingSecret,
    /// The secret was refused.
    #[error("invalid server secret: {0}")]
    Secret(#[from] SecretError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpp_core::{ChargeParams, Credential, PriceError, Receipt, VerifyError};
    use serde_json::{Map, Value};

    struct Nop(&'static str);

    impl ServerMethod for Nop {
        fn method(&self) -> &str {
            self.0
        }
        fn intent(&self) -> &str {
            "charge"
        }
        fn request(&self, _: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
            Ok(Map::new())
        }
        async fn verify(
            &self,
            _: &Credential,
            _: &Map<String, Value>,
        ) -> Result<Receipt, VerifyError> {
            Err(VerifyError::failed("nop"))
        }
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn realm_and_secret_come_from_the_environment() {
        let env = |name: &str| match name {
            REALM_ENV => Some("env.example.com".to_owned()),
            SECRET_ENV => Some(SECRET.to_owned()),
            _ => None,
        };
        let mpp = Mpp::builder().method(Nop("a")).build_with_env(env).unwrap();
        assert_eq!(mpp.realm(), "env.example.com");
        let explicit = Mpp::builder()
            .method(Nop("a"))
            .realm("explicit.example.com")
            .build_with_env(env)
            .unwrap();
        assert_eq!(explicit.realm(), "explicit.example.com");
    }

    #[test]
    fn refuses_incomplete_configurations() {
        let none = |_: &str| None;
        let secret = || ServerSecret::new(SECRET).unwrap();
        let err = |b: MppBuilder| b.build_with_env(none).unwrap_err();
        assert_eq!(
            err(Mpp::builder().realm("r").secret(secret())),
            BuildError::NoMethods
        );
        assert_eq!(
            err(Mpp::builder().method(Nop("a")).secret(secret())),
            BuildError::MissingRealm
        );
        assert_eq!(
            err(Mpp::builder().method(Nop("a")).realm(" ").secret(secret())),
            BuildError::MissingRealm
        );
        assert_eq!(
            err(Mpp::builder().method(Nop("a")).realm("r")),
            BuildError::MissingSecret
        );
        assert!(matches!(
            err(Mpp::builder()
                .method(Nop("a"))
                .method(Nop("a"))
                .realm("r")
                .secret(secret())),
            BuildError::DuplicateMethod { .. }
        ));
        let short = |_: &str| Some("short".to_owned());
        let e = Mpp::builder()
            .method(Nop("a"))
            .realm("r")
            .build_with_env(short)
            .unwrap_err();
        assert!(matches!(e, BuildError::Secret(_)));
        assert!(!e.to_string().contains("short"));
    }
}
