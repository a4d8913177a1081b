//! Depth perception for vigor: where depth frames come from and how they are prepared for the
//! depth student, the same way in training and on the robot.
//!
//! - [`camera`]: the head camera's geometry: the Intel RealSense D435i's depth field of view, its
//!   mount on the G1's torso, and pinhole intrinsics for any resolution.
//! - [`source`]: the [`DepthSource`] trait and its implementations: `SimDepthSource` (a
//!   simulated episode's head camera), [`RecordedSource`] with [`FrameWriter`] (depth
//!   recordings), and `RealSenseSource`.
//! - [`convert`]: camera-native data (Z16 counts, librealsense intrinsics) to [`DepthFrame`]s,
//!   always built and tested so the RealSense driver stays a thin copy loop.
//! - [`preprocess`]: the one preprocessing pipeline ([`DepthPreprocessor`]): range clip, box
//!   resize, hole fill, normalisation to `[-0.5, 0.5]`, and the stack of recent frames.
//! - [`augment`]: seeded depth domain randomisation for training ([`DepthAugmenter`]) and camera
//!   pose jitter.
//!
//! Cargo features: `sim` (default) builds `SimDepthSource` and the simulator glue (error variants,
//! `PoseJitter::apply`) on vigor-sim; crates that only preprocess (the policy runtime on the
//! robot) depend on this crate without default features and never link the simulator.
//! `realsense` builds the live camera driver (needs librealsense2); `realsense-check` type-checks
//! it without the library.
//!
//! Invariants: preprocessing parameters travel inside the policy artifact, never beside it, and
//! nothing but [`DepthPreprocessor`] turns raw depth into policy input. Depth is z-depth in
//! metres with 0 meaning no return everywhere before preprocessing. Simulated sources and
//! augmentation are deterministic per seed and never read the wall clock.
//!
//! [`DepthFrame`]: vigor_msgs::project::DepthFrame

pub mod augment;
pub mod camera;
pub mod convert;
pub mod error;
pub mod preprocess;
pub mod source;

/// Depth of a pixel without a measurement, m: what the RealSense and the simulated camera
/// (`vigor_sim::sensors::NO_RETURN`) report.
pub const NO_RETURN: f32 = 0.0;

pub use augment::{DepthAugmentConfig, DepthAugmenter, PoseJitter};
pub use convert::z16_frame;
pub use error::PerceptionError;
pub use preprocess::{DepthPreprocessConfig, DepthPreprocessor};
pub use source::{DepthSource, FrameWriter, RecordedSource};

#[cfg(feature = "sim")]
pub use source::SimDepthSource;

#[cfg(feature = "realsense")]
pub use source::RealSenseSource;
