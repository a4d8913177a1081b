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

pub use assemble::{Ground, JointModel, PhysicsParams};
pub use state::{JointCommand, RobotState};

use rapier3d::prelude::*;

use crate::robot::Robot;

/// One ground contact manifold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contact {
    /// Robot link index.
    pub link: usize,
    /// Mean contact point, world frame, m.
    pub point: [f32; 3],
    /// Force of the ground on the link, world frame, N.
    pub force: [f32; 3],
}

/// A constant world-frame force on a link for a number of steps.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Push {
    link: usize,
    force: Vector,
    steps_left: u32,
}

/// One simulated robot in its own rapier world.
pub struct RapierSim {
    world: PhysicsWorld,
    /// The ground collider.
    ground: ColliderHandle,
    /// Robot link of each robot collider.
    collider_links: std::collections::HashMap<ColliderHandle, usize>,
    /// External pushes in progress.
    pushes: Vec<Push>,
    /// Ground contact force on each link at the last step, world frame, N.
    contact_forces: Vec<[f32; 3]>,
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
    /// Reduced or maximal coordinates.
    joint_model: JointModel,
    /// PD solved by rapier's implicit joint motors.
    implicit_motors: bool,
    /// Impulse joint of each robot joint (maximal coordinates only).
    impulse_joints: Vec<Option<ImpulseJointHandle>>,
    /// Each link's frame relative to its parent at joint position 0.
    offsets: Vec<Pose>,
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
        if self.implicit_motors {
            self.set_implicit_motors();
        }
        for &h in &self.link_bodies {
            if let Some(rb) = self.world.bodies.get_mut(h) {
                rb.reset_torques(false);
                rb.reset_forces(false);
            }
        }
        for push in &mut self.pushes {
            if let Some(rb) = self.world.bodies.get_mut(self.link_bodies[push.link]) {
                rb.add_force(push.force, true);
            }
            push.steps_left = push.steps_left.saturating_sub(1);
        }
        self.pushes.retain(|p| p.steps_left > 0);
        for j in 0..self.commands.len() {
            let child = self.link_bodies[self.joint_links[j]];
            let parent = self.link_bodies[self.joint_parents[j]];
            let Some(rb) = self.world.bodies.get(child) else {
                continue;
            };
            let tau = if self.implicit_motors {
                let limit = self.effort[j] * self.strength[j];
                self.commands[j].tau_ff.clamp(-limit, limit)
            } else {
                self.applied[j]
            };
            let torque = *rb.rotation() * self.joint_axes[j] * tau;
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
        self.update_contact_forces();
    }

    /// Hands each joint's PD command to rapier's force-based joint motor (stiffness kp, damping kd,
    /// targets q* and dq*, force limit = effort limit times strength).
    fn set_implicit_motors(&mut self) {
        for j in 0..self.commands.len() {
            let c = self.commands[j];
            let s = self.strength[j];
            let limit = self.effort[j] * s;
            let set = |data: &mut GenericJoint| {
                data.set_motor_model(JointAxis::AngX, MotorModel::ForceBased);
                data.set_motor(JointAxis::AngX, c.q, c.dq, c.kp * s, c.kd * s);
                data.set_motor_max_force(JointAxis::AngX, limit);
            };
            match self.joint_model {
                JointModel::Impulse => {
                    if let Some(h) = self.impulse_joints[j]
                        && let Some(joint) = self.world.impulse_joints.get_mut(h, false)
                    {
                        set(&mut joint.data);
                    }
                }
                JointModel::Multibody => {
                    let body = self.link_bodies[self.joint_links[j]];
                    if let Some(l) = self.world.multibody_joints.rigid_body_link(body).copied()
                        && let Some(mb) = self.world.multibody_joints.get_multibody_mut(l.multibody)
                        && let Some(link) = mb.link_mut(l.id)
                    {
                        set(&mut link.joint.data);
                    }
                }
            }
        }
    }

    /// Applies a constant world-frame `force_n` to link `link` for `duration_s` (rounded to whole
    /// steps, at least one).
    pub fn push(&mut self, link: usize, force_n: [f32; 3], duration_s: f32) {
        if link < self.link_bodies.len() {
            let steps = (duration_s / self.dt_s()).round().max(1.0) as u32;
            self.pushes.push(Push {
                link,
                force: Vector::from_array(force_n),
                steps_left: steps,
            });
        }
    }

    /// Ground contact force on each link at the last step (world frame, N; zero when not in
    /// contact).
    #[must_use]
    pub fn contact_forces(&self) -> &[[f32; 3]] {
        &self.contact_forces
    }

    fn update_contact_forces(&mut self) {
        for f in &mut self.contact_forces {
            *f = [0.0; 3];
        }
        let dt = self.dt_s();
        for pair in self.world.narrow_phase.contact_pairs_with(self.ground) {
            let (other, sign) = if pair.collider1 == self.ground {
                (pair.collider2, 1.0)
            } else {
                (pair.collider1, -1.0)
            };
            if let Some(&link) = self.collider_links.get(&other) {
                let f = pair.total_impulse() * (sign / dt);
                let acc = &mut self.contact_forces[link];
                acc[0] += f.x;
                acc[1] += f.y;
                acc[2] += f.z;
            }
        }
    }

    /// Every ground contact manifold at the last step: link, mean contact point (world, m) and
    /// force on the link (world, N).
    #[must_use]
    pub fn contacts(&self) -> Vec<Contact> {
        let dt = self.dt_s();
        let mut out = Vec::new();
        for pair in self.world.narrow_phase.contact_pairs_with(self.ground) {
            let other_is_first = pair.collider1 != self.ground;
            let other = if other_is_first {
                pair.collider1
            } else {
                pair.collider2
            };
            let (Some(&link), Some(collider)) = (
                self.collider_links.get(&other),
                self.world.colliders.get(other),
            ) else {
                continue;
            };
            for m in pair.manifolds() {
                if m.points.is_empty() {
                    continue;
                }
                let mut point = Vector::ZERO;
                for p in &m.points {
                    point += *collider.position()
                        * if other_is_first {
                            p.local_p1
                        } else {
                            p.local_p2
                        };
                }
                point /= m.points.len() as f32;
                let sign = if other_is_first { -1.0 } else { 1.0 };
                let impulse: f32 = m.points.iter().map(|p| p.data.impulse).sum();
                let force = m.data.normal * (impulse * sign / dt);
                out.push(Contact {
                    link,
                    point: point.to_array(),
                    force: force.to_array(),
                });
            }
        }
        out
    }

    /// Scales link `link`'s mass and inertia by `scale` (domain randomisation; 1 = nominal).
    pub fn set_link_mass_scale(&mut self, link: usize, scale: f32) {
        if let (Some(l), Some(&h)) = (self.robot.links.get(link), self.link_bodies.get(link))
            && let Some(rb) = self.world.bodies.get_mut(h)
        {
            rb.set_additional_mass_properties(assemble::mass_properties(l, scale.max(0.05)), true);
        }
    }

    /// Sets the friction coefficient of every contact (ground and robot colliders).
    pub fn set_friction(&mut self, friction: f32) {
        for (_, c) in self.world.colliders.iter_mut() {
            c.set_friction(friction);
        }
    }

    /// Sets the restitution of every contact.
    pub fn set_restitution(&mut self, restitution: f32) {
        for (_, c) in self.world.colliders.iter_mut() {
            c.set_restitution(restitution);
        }
    }
}

#[cfg(test)]
mod tests;
