//! Funnels: user-defined ordered stages, shared by marketing's lead lifecycle and
//! sales' opportunity stages, so both are measured by the same rules.
//!
//! This module holds the funnel *definition* ([`Funnel`], [`Stage`]); the conversion
//! engines that run over stage events build on it.

mod definition;

pub use definition::{Funnel, Stage, StageKind, StageOwner};
