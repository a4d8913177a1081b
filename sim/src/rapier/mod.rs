//! The G1 in rapier3d: a reduced-coordinate multibody with the robot's motor law applied every
//! physics step, whole-body contacts with the ground, and the state and sensor readout.
//!
//! Actuation reproduces the robot: per motor, `tau = clamp(tau_ff + kp (q* - q) + kd (dq* - dq),
//! ±effort)`, computed from the current state at every physics step and applied as equal and
//! opposite torques about the joint axis on the child and parent links (the multibody solver
//! projects them onto the joint's generalised force). Armature and dry friction are the
//! multibody's per-DoF armature and friction; rapier's default joint damping is removed so all
//! damping comes from `kd`.
//!
//! Invariants: no randomness and no clock inside; the same commands from the same state give
//! bit-identical trajectories on any thread.

mod assemble;
mod state;

pub use assemble::{Ground, PhysicsParams};
pub use state::{JointCommand, RobotState};

use rapier3d::prelude::*;

use crate::robot::Robot;

/// One simulated robot in its own rapier world.
pub struct RapierSim {
    world: PhysicsWorld,
    /// Rigid body of each robot link.
    link_bodies: Vec<RigidBodyHandle>,
    /// Robot link index moved by each joint.
    joint_links: Vec<usize>,
    /// Parent link of each joint's link.
    joint_parents: Vec<usize>,
    /// Joint axis in its link's frame.
    joint_axes: Vec<Vector>,
    /// Torque limit of each motor, N·m.
    effort: Vec<f32>,
    /// Motor strength multiplier (randomisation; 0 = actuator failure).
    strength: Vec<f32>,
    /// The command being applied.
    commands: Vec<JointCommand>,
    /// Torque applied at the last step, N·m.
    applied: Vec<f32>,
    /// Pelvis velocity at the previous step, for the accelerometer.
    prev_pelvis_linvel: Vector,
    /// Pelvis linear acceleration over the last step, world frame, m/s².
    pelvis_accel: Vector,
    /// Simulated time, s.
    time_s: f64,
    robot: Robot,
}

impl RapierSim {
    /// Builds the robot standing in its default pose on `ground`, feet on the surface.
    #[must_use]
    pub fn new(robot: &Robot, ground: &Ground, params: &PhysicsParams) -> Self {
        assemble::assemble(robot, ground, params)
    }

    /// The robot description this simulation was built from.
    #[must_use]
    pub fn robot(&self) -> &Robot {
        &self.robot
    }

    /// Simulated time since construction, s.
    #[must_use]
    pub fn time_s(&self) -> f64 {
        self.time_s
    }

    /// Physics step, s.
    #[must_use]
    pub fn dt_s(&self) -> f32 {
        self.world.integration_parameters.dt
    }

    /// Sets the motor commands (one per joint, in slot order), applied from the next step on.
    ///
    /// # Panics
    /// If `commands` does not have one entry per joint.
    pub fn set_commands(&mut self, commands: &[JointCommand]) {
        assert_eq!(commands.len(), self.commands.len(), "one command per joint");
        self.commands.copy_from_slice(commands);
    }

    /// Scales motor `joint`'s torque limit and output (1 = nominal, 0 = the motor has failed).
    pub fn set_motor_strength(&mut self, joint: usize, strength: f32) {
        if let Some(s) = self.strength.get_mut(joint) {
            *s = strength.max(0.0);
        }
    }

    /// Advances one physics step: motor law, then rapier.
    pub fn step(&mut self) {
        let (q, dq) = self.joint_state();
        for j in 0..self.commands.len() {
            let c = self.commands[j];
            let limit = self.effort[j] * self.strength[j];
            let tau = (c.tau_ff + c.kp * (c.q - q[j]) + c.kd * (c.dq - dq[j])).clamp(-limit, limit);
            self.applied[j] = tau;
        }
        for &h in &self.link_bodies {
            if let Some(rb) = self.world.bodies.get_mut(h) {
                rb.reset_torques(false);
            }
        }
        for j in 0..self.commands.len() {
            let child = self.link_bodies[self.joint_links[j]];
            let parent = self.link_bodies[self.joint_parents[j]];
            let Some(rb) = self.world.bodies.get(child) else {
                continue;
            };
            let torque = *rb.rotation() * self.joint_axes[j] * self.applied[j];
            if let Some(rb) = self.world.bodies.get_mut(child) {
                rb.add_torque(torque, true);
            }
            if let Some(rb) = self.world.bodies.get_mut(parent) {
                rb.add_torque(-torque, true);
            }
        }
        self.world.step();
        self.time_s += f64::from(self.dt_s());
        let v = self
            .world
            .bodies
            .get(self.link_bodies[0])
            .map_or(Vector::ZERO, |rb| rb.linvel());
        self.pelvis_accel = (v - self.prev_pelvis_linvel) / self.dt_s();
        self.prev_pelvis_linvel = v;
    }
}

#[cfg(test)]
mod tests;
