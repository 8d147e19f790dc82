//! [`RequestContext::operation`]: the exchange for a payment that does not arrive in an HTTP
//! request (a JSON-RPC method, an MCP tool call).

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method};

use super::RequestContext;

impl RequestContext {
    /// A context for an operation that is not an HTTP request: a JSON-RPC method, an MCP tool
    /// call, a message on a queue. `scope` names the operation (`tools/call search`) and takes
    /// the place of an HTTP route: it is bound into every challenge issued for it (under the
    /// reserved `opaque` key), so a credential paid for one operation never pays another.
    ///
    /// There is no body; the credential, if the operation carries one, is added with
    /// [`authorization`](Self::authorization).
    ///
    /// ```
    /// use mpp_server::RequestContext;
    ///
    /// let context = RequestContext::operation("tools/call search");
    /// assert_eq!(context.route(), "tools/call search");
    /// ```
    pub fn operation(scope: impl Into<String>) -> Self {
        Self {
            route: scope.into(),
            // An operation asks for content (a tool call is answered with its result), as a
            // GET does: the only use the exchange makes of the method.
            method: Method::GET,
            query: false,
            headers: HeaderMap::new(),
            body_digest: None,
        }
    }

    /// Carries the operation's credential in the form an `Authorization` header gives it
    /// (`Payment <base64url>`), replacing any credential set before. The exchange reads and
    /// checks it exactly as it reads an HTTP request's.
    #[must_use]
    pub fn authorization(mut self, value: HeaderValue) -> Self {
        self.headers.insert(AUTHORIZATION, value);
        self
    }
}
