//! The client half: [`TempoProvider`] pays Tempo `charge` challenges, and `session` challenges
//! from payment channels.

mod provider;
mod session;

pub use provider::TempoProvider;
pub use session::{
    ChannelError, ChannelStatus, DEFAULT_DEPOSIT_UNITS, SessionChannel, SessionOptions,
};
