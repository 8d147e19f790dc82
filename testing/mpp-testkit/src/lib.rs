#![doc = include_str!("../README.md")]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub use alloy_primitives;
pub use alloy_signer_local;
pub use mpp_core;

mod contracts;
mod error;
mod output;
mod postgres;
mod process;
mod redis;
mod relay;
mod rpc;
mod tempo;

pub use contracts::{RESERVE_ABI, TIP20_CHANNEL_RESERVE};
pub use error::{Error, Result};
pub use postgres::Postgres;
pub use redis::RedisServer;
pub use rpc::RpcClient;
pub use tempo::{
    ALPHA_USD, BETA_USD, DEV_ACCOUNT_COUNT, FundedKey, PATH_USD, THETA_USD, TempoChain,
    TempoChainOptions,
};
