//! One interface over the two physics engines: the environment, recording, benchmarks and the
//! simulated robot hold an [`Engine`] and never ask which one it is.

use std::fmt;
use std::str::FromStr;

use rapier3d::na::Isometry3;
use rapier3d::prelude::Pose;
use serde::{Deserialize, Serialize};

use crate::mujoco::{MujocoError, MujocoSim};
use crate::rapier::{Contact, Ground, JointCommand, PhysicsParams, RapierSim, RobotState};
use crate::robot::Robot;

/// Which physics engine runs the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// rapier3d: reduced-coordinate multibody, pure Rust.
    #[default]
    Rapier,
    /// MuJoCo through mujoco-rs.
    Mujoco,
}

impl EngineKind {
    /// Both engines, rapier first.
    pub const ALL: [Self; 2] = [Self::Rapier, Self::Mujoco];

    /// The engine's name as flags and configs write it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Rapier => "rapier",
            Self::Mujoco => "mujoco",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rapier" => Ok(Self::Rapier),
            "mujoco" => Ok(Self::Mujoco),
            other => Err(format!(
                "unknown engine `{other}`: allowed `rapier` or `mujoco`"
            )),
        }
    }
}

/// A simulated robot in either engine.
#[allow(clippy::large_enum_variant)]
pub enum Engine {
    /// rapier3d.
    Rapier(RapierSim),
    /// MuJoCo.
    Mujoco(MujocoSim),
}

macro_rules! both {
    ($self:ident, $sim:ident => $e:expr) => {
        match $self {
            Engine::Rapier($sim) => $e,
            Engine::Mujoco($sim) => $e,
        }
    };
}

impl Engine {
    /// Builds the robot standing in its default pose on `ground` in engine `kind`.
    ///
    /// # Errors
    /// MuJoCo only: a mesh ground or a model it refuses.
    pub fn new(
        kind: EngineKind,
        robot: &Robot,
        ground: &Ground,
        params: &PhysicsParams,
    ) -> Result<Self, MujocoError> {
        Ok(match kind {
            EngineKind::Rapier => Self::Rapier(RapierSim::new(robot, ground, params)),
            EngineKind::Mujoco => Self::Mujoco(MujocoSim::new(robot, ground, params)?),
        })
    }

    /// Returns an engine built on flat ground to the state [`Engine::new`] leaves, where that is
    /// cheaper than building it (MuJoCo: no model compile); `false` when the caller must build a
    /// new one (rapier). Only for an engine built with [`Ground::Flat`] and the same `params`.
    pub fn renew_flat(&mut self, params: &PhysicsParams) -> bool {
        match self {
            Self::Mujoco(s) => {
                s.renew_flat(params);
                true
            }
            Self::Rapier(_) => false,
        }
    }

    /// Which engine this is.
    #[must_use]
    pub fn kind(&self) -> EngineKind {
        match self {
            Self::Rapier(_) => EngineKind::Rapier,
            Self::Mujoco(_) => EngineKind::Mujoco,
        }
    }

    /// The robot description the simulation was built from.
    #[must_use]
    pub fn robot(&self) -> &Robot {
        both!(self, s => s.robot())
    }

    /// Simulated time since construction, s.
    #[must_use]
    pub fn time_s(&self) -> f64 {
        both!(self, s => s.time_s())
    }

    /// Physics step, s.
    #[must_use]
    pub fn dt_s(&self) -> f32 {
        both!(self, s => s.dt_s())
    }

    /// Sets the motor commands (one per joint, in slot order), applied from the next step on.
    ///
    /// # Panics
    /// If `commands` does not have one entry per joint.
    pub fn set_commands(&mut self, commands: &[JointCommand]) {
        both!(self, s => s.set_commands(commands));
    }

    /// Scales motor `joint`'s torque limit and output (1 = nominal, 0 = the motor has failed).
    pub fn set_motor_strength(&mut self, joint: usize, strength: f32) {
        both!(self, s => s.set_motor_strength(joint, strength));
    }

    /// Advances one physics step: the motor law, then the engine.
    pub fn step(&mut self) {
        both!(self, s => s.step());
    }

    /// Applies a constant world-frame `force_n` to link `link` for `duration_s`.
    pub fn push(&mut self, link: usize, force_n: [f32; 3], duration_s: f32) {
        both!(self, s => s.push(link, force_n, duration_s));
    }

    /// Ground contact force on each link at the last step (world frame, N).
    #[must_use]
    pub fn contact_forces(&self) -> &[[f32; 3]] {
        both!(self, s => s.contact_forces())
    }

    /// Ground contacts at the last step.
    #[must_use]
    pub fn contacts(&self) -> Vec<Contact> {
        both!(self, s => s.contacts())
    }

    /// Scales link `link`'s mass and inertia by `scale`.
    pub fn set_link_mass_scale(&mut self, link: usize, scale: f32) {
        both!(self, s => s.set_link_mass_scale(link, scale));
    }

    /// Sets the friction coefficient of every contact.
    pub fn set_friction(&mut self, friction: f32) {
        both!(self, s => s.set_friction(friction));
    }

    /// Sets the restitution of every contact (rapier; MuJoCo's contacts are inelastic).
    pub fn set_restitution(&mut self, restitution: f32) {
        both!(self, s => s.set_restitution(restitution));
    }

    /// Joint positions and velocities, by joint index.
    #[must_use]
    pub fn joint_state(&self) -> (Vec<f32>, Vec<f32>) {
        both!(self, s => s.joint_state())
    }

    /// Puts the robot at root pose `root` with joint positions `q`, at rest.
    pub fn reset(&mut self, root: &Isometry3<f64>, q: &[f64]) {
        both!(self, s => s.reset(root, q));
    }

    /// World pose of every link.
    #[must_use]
    pub fn link_poses(&self) -> Vec<Pose> {
        both!(self, s => s.link_poses())
    }

    /// The robot's state.
    #[must_use]
    pub fn state(&self) -> RobotState {
        both!(self, s => s.state())
    }

    /// Lowest point of the robot's colliders, m, if it stood at `root` with joints `q`.
    #[must_use]
    pub fn lowest_point_at(&self, root: &Isometry3<f64>, q: &[f64]) -> f64 {
        both!(self, s => s.lowest_point_at(root, q))
    }
}
