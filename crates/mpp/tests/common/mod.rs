//! Helpers shared by the facade's integration tests. Each test binary uses a part of them.
#![allow(dead_code)]

pub(crate) mod chain;
pub(crate) mod hash_method;
#[cfg(feature = "mcp")]
pub(crate) mod mcp;
pub(crate) mod node;
pub(crate) mod our_server;
#[cfg(feature = "store")]
pub(crate) mod replica;
pub(crate) mod session;
