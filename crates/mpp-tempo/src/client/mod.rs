//! The client half: [`TempoProvider`] pays Tempo `charge` challenges.

mod provider;

pub use provider::TempoProvider;
