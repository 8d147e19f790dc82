//! How a client pays: spend policy, preferences and event hook.

use std::sync::Arc;

use mpp_core::AcceptPayment;

use crate::SpendPolicy;
use crate::events::{Event, EventHook};

/// How a request is paid for: the spend policy, the client's method preferences and an event
/// hook. Shared by [`Fetch`](crate::Fetch) and [`PaymentMiddleware`](crate::PaymentMiddleware).
///
/// ```
/// use mpp_client::{PayOptions, SpendPolicy};
///
/// let options = PayOptions::new()
///     .policy(SpendPolicy::new().allow_methods(["tempo"]))
///     .accept("tempo/charge, */*;q=0.5".parse()?)
///     .on_event(|event| eprintln!("{event:?}"));
/// # Ok::<(), mpp_core::ParseError>(())
/// ```
#[derive(Clone, Default)]
pub struct PayOptions {
    pub(crate) policy: Option<SpendPolicy>,
    pub(crate) accept: Option<AcceptPayment>,
    pub(crate) hook: Option<EventHook>,
}

impl PayOptions {
    /// Pays anything a provider supports, with no limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a spend policy.
    #[must_use]
    pub fn policy(mut self, policy: SpendPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Sends these preferences as `Accept-Payment` and picks challenges in their order.
    #[must_use]
    pub fn accept(mut self, accept: AcceptPayment) -> Self {
        self.accept = Some(accept);
        self
    }

    /// Calls `hook` for every [`Event`].
    #[must_use]
    pub fn on_event(mut self, hook: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }
}

impl std::fmt::Debug for PayOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayOptions")
            .field("policy", &self.policy)
            .field("accept", &self.accept.as_ref().map(ToString::to_string))
            .field("hook", &self.hook.is_some())
            .finish()
    }
}
