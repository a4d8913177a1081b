//! Simulated exteroception and privileged observations, computed from link poses alone so every
//! physics backend (rapier today, MuJoCo next) shares them: the head depth camera, the
//! legged_gym-style height scan, and the teacher's privileged terms (head height, contacts).
//!
//! - [`pose`]: [`LinkPose`], the engine-neutral `f32` pose the sensors read, and conversions from
//!   forward kinematics (nalgebra) and rapier.
//! - [`geometry`]: analytic ray casts against the robot's capsules, spheres and boxes
//!   ([`RobotGeometry`]), for self-occlusion.
//! - [`depth`]: the D435i-like pinhole depth camera ([`DepthCamera`]) over terrain and robot.
//! - [`height_scan`]: ground heights on a yaw-aligned grid around the base ([`HeightScan`]).
//! - [`privileged`]: head height above the ground and approximate per-link ground contacts.
//!
//! Conventions: world frame z up, metres, `f32`. `terrain: None` everywhere means the plane
//! `z = 0` (the physics' [`crate::rapier::Ground::Flat`]). Link poses are indexed like
//! [`crate::robot::Robot::links`].
//!
//! Invariants: pure functions of their inputs (no clock, no randomness); sensor structs precompute
//! at construction and their per-frame calls write into caller buffers without allocating.

pub mod depth;
pub mod geometry;
pub mod height_scan;
pub mod pose;
pub mod privileged;

#[cfg(test)]
mod depth_tests;
#[cfg(test)]
mod geometry_tests;

pub use depth::{DepthCamera, DepthCameraConfig, NO_RETURN, camera_pose};
pub use geometry::{Primitive, RobotCollider, RobotGeometry, ray_box, ray_capsule, ray_sphere};
pub use height_scan::{HeightScan, HeightScanConfig};
pub use pose::{LinkPose, link_pose_from_rapier};
pub use privileged::{contact_states, ground_clearance, head_height_above_terrain};

use crate::terrain::Terrain;

/// Why a sensor could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// A configuration value lies outside its allowed range; change `name`.
    #[error("sensor parameter `{name}` = {value} is out of range: allowed {allowed}")]
    InvalidParameter {
        /// The configuration field.
        name: &'static str,
        /// The value found.
        value: String,
        /// The allowed range or condition.
        allowed: String,
    },
}

/// `Ok` when `lo <= value <= hi` (NaN fails), else [`SensorError::InvalidParameter`].
pub(crate) fn check<V: PartialOrd + std::fmt::Display>(
    name: &'static str,
    value: V,
    lo: V,
    hi: V,
) -> Result<(), SensorError> {
    if value >= lo && value <= hi {
        Ok(())
    } else {
        Err(SensorError::InvalidParameter {
            name,
            value: value.to_string(),
            allowed: format!("{lo} ..= {hi}"),
        })
    }
}

/// Ground height at `(x, y)`, m: the terrain's, or 0 without terrain.
#[must_use]
pub fn ground_height(terrain: Option<&Terrain>, x: f32, y: f32) -> f32 {
    terrain.map_or(0.0, |t| t.height(x, y))
}

/// Distance along the unit direction `dir` from `origin` to the ground within `max_dist`, m: the
/// terrain's surface ([`Terrain::raycast`]), or the plane `z = 0` without terrain (hit from either
/// side, like the terrain, which reports where a ray from below comes out).
#[must_use]
pub fn ground_raycast(
    terrain: Option<&Terrain>,
    origin: [f32; 3],
    dir: [f32; 3],
    max_dist: f32,
) -> Option<f32> {
    match terrain {
        Some(t) => t.raycast(origin, dir, max_dist),
        None => {
            let t = -origin[2] / dir[2];
            (dir[2] != 0.0 && t >= 0.0 && t <= max_dist).then_some(t)
        }
    }
}
