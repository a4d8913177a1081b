//! The on-robot controller: runs the fall-safety policy and streams motor commands to the G1.
//!
//! Today this crate holds the controller's typed configuration ([`config`]) and the safe command
//! frames every state falls back to ([`commands`]): the damping command that Passive and Damping
//! stream. The safety state machine, watchdogs, the 500 Hz control thread and the zenoh node come
//! with the controller issue.
//!
//! Invariants: the control path never panics (`unwrap`, `expect` and `panic!` are denied here);
//! commands always carry the `mode_machine` read from the robot.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod commands;
pub mod config;

pub use config::{ControllerConfig, ControllerParams};
