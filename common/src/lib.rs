//! Code that several vigor crates need and that belongs to none of them.
//!
//! - [`config`]: the two-stage configuration pattern. A file is parsed into a plain, serde-typed
//!   struct (`deny_unknown_fields`, every field documented with unit, range and shipped value), then
//!   `validate()` turns it into checked runtime parameters. Every error names the file, the key and,
//!   for out-of-range values, the allowed range.
//! - [`seed`]: deterministic derivation of per-environment and per-purpose seeds from one run seed,
//!   so results never depend on thread count or scheduling.
//! - [`fsutil`]: atomic file writes (temporary file, fsync, rename), so a crash never leaves a torn
//!   checkpoint, artifact or report.
//! - [`robot`]: the robot's joint table (slots, limits, gains, default pose) read from the robot
//!   description without the simulator, for the controller.
//!
//! Invariants: nothing here reads environment variables, the clock or global state.

pub mod config;
pub mod fsutil;
pub mod robot;
pub mod seed;

pub use config::{ConfigError, Validate};
