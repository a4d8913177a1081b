//! Checks the controller applies before and on every tick: the joint table against the
//! configuration, finite LowState, the remote's e-stop button, and a clamp that never panics.

use vigor_msgs::unitree_hg::{LowState, NUM_MOTOR_SLOTS};

use super::JointSpec;
use crate::config::ControllerParams;

/// Bit of the Unitree remote's key word (`wireless_remote[2..4]`, little-endian) for `select`,
/// the button Unitree's own deploy code uses to leave the policy for damping; here it is an
/// e-stop.
pub const REMOTE_SELECT_BIT: u16 = 1 << 3;

/// Why a robot description and a controller configuration do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JointTableError {
    /// The configuration expects another robot variant.
    #[error(
        "the controller config expects mode_machine {config} but the robot description is for mode_machine {robot}"
    )]
    ModeMachine {
        /// `loop.mode_machine`.
        config: u8,
        /// The description's.
        robot: u8,
    },
    /// A slot is out of range or used twice.
    #[error("joint {index} has motor slot {slot}, which is out of range or already used")]
    Slot {
        /// Joint index.
        index: usize,
        /// Its slot.
        slot: usize,
    },
    /// No joints.
    #[error("the robot description has no joints")]
    Empty,
}

/// Checks a joint table against the configuration before the daemon starts: the robot variant
/// (`mode_machine`) and unique motor slots within the 35 of `unitree_hg`.
///
/// # Errors
/// [`JointTableError`] naming what disagrees.
pub fn check_joint_table(
    params: &ControllerParams,
    robot_mode_machine: u8,
    joints: &[JointSpec],
) -> Result<(), JointTableError> {
    if params.mode_machine != robot_mode_machine {
        return Err(JointTableError::ModeMachine {
            config: params.mode_machine,
            robot: robot_mode_machine,
        });
    }
    if joints.is_empty() {
        return Err(JointTableError::Empty);
    }
    let mut used = [false; NUM_MOTOR_SLOTS];
    for (index, j) in joints.iter().enumerate() {
        match used.get_mut(j.slot) {
            Some(u) if !*u => *u = true,
            _ => {
                return Err(JointTableError::Slot {
                    index,
                    slot: j.slot,
                });
            }
        }
    }
    Ok(())
}

/// `x` clamped to `[lo, hi]` without ever panicking: a NaN `x` gives `fallback` (clamped too), a
/// NaN bound is ignored, and inverted bounds give `hi`.
#[must_use]
pub fn clamp_or(x: f32, lo: f32, hi: f32, fallback: f32) -> f32 {
    let x = if x.is_nan() { fallback } else { x };
    // f32::max and f32::min return the other operand when one is NaN.
    x.max(lo).min(hi)
}

/// Whether a LowState is usable: finite IMU readings and finite position and velocity on every
/// driven slot.
pub(crate) fn finite_state(s: &LowState, joints: &[JointSpec]) -> bool {
    let imu = &s.imu_state;
    imu.quaternion.iter().all(|v| v.is_finite())
        && imu.gyroscope.iter().all(|v| v.is_finite())
        && imu.accelerometer.iter().all(|v| v.is_finite())
        && joints.iter().all(|j| {
            s.motor_state
                .get(j.slot)
                .is_some_and(|m| m.q.is_finite() && m.dq.is_finite())
        })
}

/// Whether the remote's `select` button is pressed in this LowState.
#[must_use]
pub fn remote_estop(s: &LowState) -> bool {
    u16::from_le_bytes([s.wireless_remote[2], s.wireless_remote[3]]) & REMOTE_SELECT_BIT != 0
}
