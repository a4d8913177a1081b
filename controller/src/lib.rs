//! The on-robot controller: runs the fall-safety policy and streams motor commands to the G1.
//!
//! - [`core`]: the safety state machine, watchdogs and command generation as a plain struct, one
//!   call per control tick (no network, threads or clock).
//! - [`control_loop`]: the control thread's tick around the core (phase lock, deadline misses,
//!   the other-writer window, stale depth and heartbeat, status decimation, shutdown) as a plain
//!   struct with time passed in.
//! - [`node`]: the daemon: the loop wired to zenoh with a control thread, a policy thread, an
//!   I/O thread and a supervisor that turns signals and dead threads into damping.
//! - [`realtime`]: SCHED_FIFO, CPU affinity and locked memory, with a warning when refused.
//! - [`timing`]: sleeping to deadlines, the phase lock, loop-timing histograms.
//! - [`bus`]: opening the zenoh session (config file, `--connect`, `--listen`).
//! - [`config`]: the typed `configs/controller.toml`.
//! - [`commands`]: safe command frames (damping).
//! - [`robot`]: the robot description's joint table as the controller's joints.
//! - [`cli`]: the command line of the `vigor-controller` binary and `vigor control`: flags, the
//!   run and its timing summary.
//!
//! Invariants: the control path never panics (`unwrap`, `expect` and `panic!` are denied here);
//! commands always carry the `mode_machine` read from the robot.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod bus;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control_loop;
pub mod core;
pub mod node;
pub mod realtime;
pub mod robot;
pub mod timing;

pub use config::{ControllerConfig, ControllerParams};
pub use core::{Controller, JointSpec, TickInput, Transition};
