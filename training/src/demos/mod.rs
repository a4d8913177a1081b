//! Demonstrations: human falls and get-ups retargeted to the G1, cut into clips, sampled as sparse
//! keyframes and projected onto terrain, as VIGOR learns from them.
//!
//! The pipeline, one file per step:
//! - [`lafan`]: import of LAFAN1-G1 retargeted CSV takes (Unitree's format), validated line by line.
//! - [`segment`]: lying phases found from the pelvis height, takes cut into fall -> lie -> get-up
//!   clips, labelled with the start posture and the recovery behaviour, resampled to the policy rate.
//! - [`clip`]: the [`Clip`] (root pose and joint positions at a fixed rate) and its file format.
//! - [`kinematics`]: every link's pose per frame and root-relative keypoints, from the robot model.
//! - [`keyframes`]: sparse keyframes sampled uniformly along a clip, and the next-target query.
//! - [`align`]: lifting a reference onto terrain with a seeded offset, clip and phase.
//! - [`authored`]: the project's own recovery behaviours, authored as keyframe sequences in
//!   `configs/demos/` and compiled to clips; these are the default demonstration set.
//!
//! Invariants: frames are in Unitree motor-slot order and the robot description's units (m, rad);
//! the ground of a reference is the plane z = 0; every random choice takes its seed from the
//! caller. Nothing derived from LAFAN1 (CC BY-NC-ND 4.0) is ever written into the repository: the
//! importer reads the user's copy and writes clips where the user says.

pub mod align;
pub mod authored;
pub mod clip;
pub mod keyframes;
pub mod kinematics;
pub mod lafan;
pub mod posture;
pub mod segment;

use std::path::PathBuf;

pub use align::{AlignParams, Alignment, align, lift_onto};
pub use authored::{AuthoredDemo, shipped_clips, shipped_demos};
pub use clip::{Clip, Frame};
pub use keyframes::Keyframes;
pub use kinematics::{ClipKinematics, KEYPOINTS, Keypoint, KeypointSet};
pub use lafan::{Take, read_take};
pub use posture::Posture;
pub use segment::{SegmentParams, segment_take};

/// Why demonstrations could not be read, written or used.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A CSV take is malformed; fix the named line.
    #[error("{path}:{line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// What is wrong, naming the column.
        message: String,
    },
    /// A clip file is malformed or of another version.
    #[error("{path}: not a readable vigor clip: {message}")]
    ClipFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A clip does not fit the robot (joint count, limits) or is otherwise unusable.
    #[error("clip `{clip}`: {message}")]
    Clip {
        /// The clip's name.
        clip: String,
        /// What is wrong.
        message: String,
    },
    /// An authored demonstration file is invalid; names the file and key.
    #[error(transparent)]
    Config(#[from] vigor_common::ConfigError),
}

#[cfg(test)]
mod tests;
