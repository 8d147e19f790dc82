//! [`Price`]: what a paid tool or JSON-RPC method costs.

use mpp_core::ChargeParams;

/// What one call of a paid tool (or JSON-RPC method) costs.
///
/// Today a price is a one-time charge: every call is paid on its own
/// ([`Price::charge`], or any [`ChargeParams`] through `From`). Other kinds (a session's unit
/// price, drawn from an open payment channel) are further constructors of this type, so code
/// that prices its tools with charges keeps compiling when they arrive.
///
/// ```
/// use mpp_core::ChargeParams;
/// use mpp_mcp::Price;
///
/// let price = Price::charge(ChargeParams::new("0.01").description("One search"));
/// assert_eq!(price.as_charge().map(|p| p.amount.as_str()), Some("0.01"));
/// assert_eq!(Price::from(ChargeParams::new("0.01").description("One search")), price);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price {
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Charge(ChargeParams),
}

impl Price {
    /// Each call pays `params` once (the `charge` intent of every method the handler offers).
    pub fn charge(params: ChargeParams) -> Self {
        Self {
            kind: Kind::Charge(params),
        }
    }

    /// The charge, when this price is one.
    pub fn as_charge(&self) -> Option<&ChargeParams> {
        match &self.kind {
            Kind::Charge(params) => Some(params),
        }
    }
}

impl From<ChargeParams> for Price {
    fn from(params: ChargeParams) -> Self {
        Self::charge(params)
    }
}
