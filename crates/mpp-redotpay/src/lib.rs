#![doc = include_str!("../README.md")]

pub use mpp_core;
