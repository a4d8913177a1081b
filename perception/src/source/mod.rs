//! Where depth frames come from, behind one trait so the controller, training and tools never
//! care which:
//!
//! - `sim`: `SimDepthSource`, the head camera rendered from a simulated episode (cargo feature
//!   `sim`, on by default; deterministic per seed, simulated time only).
//! - [`recorded`]: [`RecordedSource`] replays a depth recording written by [`FrameWriter`].
//! - `realsense` (cargo feature `realsense`): `RealSenseSource`, a live Intel RealSense D435i.
//!
//! Invariants: every source numbers its frames from 0 in [`DepthFrame::seq`] (a recording
//! replays the numbers it recorded) and stamps them on its own clock; no source reads the wall
//! clock except the live camera, whose stamps are the device's.

pub mod recorded;
#[cfg(feature = "sim")]
pub mod sim;

#[cfg(feature = "realsense")]
pub mod realsense;

use vigor_msgs::project::DepthFrame;

use crate::error::PerceptionError;

pub use recorded::{FrameWriter, RecordedSource};
#[cfg(feature = "sim")]
pub use sim::SimDepthSource;

#[cfg(feature = "realsense")]
pub use realsense::RealSenseSource;

/// A stream of depth frames.
pub trait DepthSource {
    /// The next frame, or `None` once the source is exhausted (end of a recording that does not
    /// loop); live and simulated sources never end.
    ///
    /// # Errors
    /// Whatever the source could not do: read a corrupt recording, reach the device, step the
    /// simulation. The source may be used again after an error.
    fn next_frame(&mut self) -> Result<Option<DepthFrame>, PerceptionError>;

    /// One line for logs: kind, resolution, rate, file or seed.
    fn describe(&self) -> String;
}
