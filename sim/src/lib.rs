//! The simulated Unitree G1 on which vigor trains, evaluates and tests its controller.
//!
//! Today this crate holds the simulator's typed configuration ([`config`]): physics and policy
//! rates, run seed and the size of the vectorised environment, with the decimation derived and
//! checked. The rapier3d robot, procedural terrain, depth camera, fall scenarios and the vectorised
//! environment are built on it next (see the simulator issue), then MuJoCo behind the same interface.
//!
//! Invariants: every random stream derives from the configured seed
//! ([`vigor_common::seed::derive`]); time advances only through `step`.

pub mod config;

pub use config::{SimConfig, SimParams};
