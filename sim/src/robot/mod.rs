//! The robot description: the project's own G1 model (`configs/robots/`), validated into a
//! [`Robot`] with forward kinematics, and exported to MJCF for MuJoCo.
//!
//! Invariants: links are ordered parents first; joints are in Unitree motor-slot order; every
//! figure comes from the description file, never from constants in code.

pub mod description;
pub mod mirror;
mod mjcf;
mod model;
mod validate;

pub use mjcf::{to_mjcf, to_mjcf_on};
pub use model::{
    Attachment, CameraMount, Collider, G1_23DOF_TOML, G1_29DOF_TOML, Joint, Link, Robot, Shape,
    Site,
};

use vigor_common::ConfigError;

/// Why a robot description could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RobotError {
    /// The file could not be read or parsed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A value is invalid; names the file and key.
    #[error("{file}: `{key}`: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// Dotted key, e.g. `links[3].joint.range_rad`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// No shipped robot of that name.
    #[error("no shipped robot named {0}; shipped: g1_29dof, g1_23dof")]
    Unknown(String),
}

impl RobotError {
    fn invalid(file: &str, key: String, message: impl Into<String>) -> Self {
        Self::Invalid {
            file: file.to_owned(),
            key,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests;
