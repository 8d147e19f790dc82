//! What a handler offers, for advertising it outside a challenge: the methods and intents
//! ([`Mpp::offers`]) and what each would ask for a price ([`Mpp::requests`]).

use mpp_core::ChargeParams;
use serde_json::{Map, Value};

use crate::{ChargeError, Mpp};

/// What one offered method asks for a price: the `request` object a challenge of that method
/// and intent would carry (amounts in base units, the method's defaults applied).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MethodRequest {
    /// The payment method.
    pub method: String,
    /// The intent.
    pub intent: String,
    /// The request object.
    pub request: Map<String, Value>,
}

impl Mpp {
    /// The `(method, intent)` pairs this handler offers, in the order its challenges list them
    /// (for capability advertisements such as MCP's `experimental.payment`).
    ///
    /// ```
    /// # mod stand_in { include!("../examples/stand_in/mod.rs"); }
    /// use mpp_core::{ChargeParams, ServerSecret};
    /// use mpp_server::Mpp;
    ///
    /// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
    /// let mpp = Mpp::new(stand_in::StandInMethod::new(), "api.example.com", secret)?;
    /// assert_eq!(mpp.offers().collect::<Vec<_>>(), [("example", "charge")]);
    ///
    /// let requests = mpp.requests(&ChargeParams::new("0.50"))?;
    /// assert_eq!(requests[0].request["amount"], "50"); // the stand-in counts in cents
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn offers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner
            .methods
            .iter()
            .map(|method| (method.name(), method.intent()))
    }

    /// What each offered method would ask for `params`, in the order of
    /// [`offers`](Self::offers): for price lists (an MCP server's `tools/list`, a discovery
    /// document). Advisory: a challenge issued later is what a client pays.
    ///
    /// The error is the one [`Mpp::charge`] gives for this price: a method cannot express it.
    pub fn requests(&self, params: &ChargeParams) -> Result<Vec<MethodRequest>, ChargeError> {
        self.inner
            .methods
            .iter()
            .map(|method| {
                let request = method
                    .request(params)
                    .map_err(|source| ChargeError::Price {
                        method: method.name().to_owned(),
                        source,
                    })?;
                Ok(MethodRequest {
                    method: method.name().to_owned(),
                    intent: method.intent().to_owned(),
                    request,
                })
            })
            .collect()
    }
}
