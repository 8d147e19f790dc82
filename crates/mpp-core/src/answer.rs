//! What a payment provider hears back: the server's answer to a credential, and the means to
//! present a credential of its own (a payment channel's top-up, say) before the paying one.

use crate::metering::BoxFuture;
use crate::{Challenge, Credential, MppError, Problem, Receipt};

/// How a server answered a credential.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The receipt, on success.
    pub receipt: Option<Receipt>,
    /// The problem details, on a refusal.
    pub problem: Option<Problem>,
    /// The fresh challenges a refusal carried.
    pub challenges: Vec<Challenge>,
}

impl Answer {
    /// An answer with `status`.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }

    /// Sets the receipt.
    #[must_use]
    pub fn with_receipt(mut self, receipt: Option<Receipt>) -> Self {
        self.receipt = receipt;
        self
    }

    /// Sets the problem details.
    #[must_use]
    pub fn with_problem(mut self, problem: Option<Problem>) -> Self {
        self.problem = problem;
        self
    }

    /// Sets the fresh challenges.
    #[must_use]
    pub fn with_challenges(mut self, challenges: Vec<Challenge>) -> Self {
        self.challenges = challenges;
        self
    }

    /// True for a 2xx answer.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends a credential to the resource being paid for, in a request of its own, and returns
/// the server's answer. The client hands one to
/// [`PaymentProvider::pay_via`](crate::PaymentProvider::pay_via).
pub trait Present: Send + Sync {
    /// Presents `credential`.
    fn present<'a>(&'a self, credential: &'a Credential)
    -> BoxFuture<'a, Result<Answer, MppError>>;

    /// The URL of the resource being paid for, when the transport has one (HTTP): a session
    /// provider keeps it with its channel, to send the channel's close there later. `None`, the
    /// default, when there is none.
    fn resource(&self) -> Option<&str> {
        None
    }
}

/// What a provider wants done after hearing the server's answer
/// ([`PaymentProvider::observe`](crate::PaymentProvider::observe)).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum Retry {
    /// Nothing more: hand the answer back.
    #[default]
    No,
    /// Pay one of the answer's fresh challenges and send the request again: the provider has
    /// learnt something that makes another payment succeed (a channel the server no longer
    /// knows, which it reopens).
    Again,
}
