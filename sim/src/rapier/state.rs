//! Commands in, state out: joint commands, resets, joint and base state, IMU readings.

use rapier3d::na::Isometry3;
use rapier3d::prelude::*;

use super::RapierSim;
use crate::robot::Robot;

/// One motor's command, exactly the fields of a Unitree `MotorCmd`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JointCommand {
    /// Target position, rad.
    pub q: f32,
    /// Target velocity, rad/s.
    pub dq: f32,
    /// Position gain, N·m/rad.
    pub kp: f32,
    /// Velocity gain, N·m·s/rad.
    pub kd: f32,
    /// Feed-forward torque, N·m.
    pub tau_ff: f32,
}

/// The robot's state after a step.
#[derive(Debug, Clone, PartialEq)]
pub struct RobotState {
    /// Pelvis position in the world, m.
    pub base_pos: [f32; 3],
    /// Pelvis orientation, w x y z.
    pub base_quat: [f32; 4],
    /// Pelvis linear velocity in the world frame, m/s.
    pub base_linvel: [f32; 3],
    /// Pelvis angular velocity in the pelvis frame (what the IMU gyro reads), rad/s.
    pub base_gyro: [f32; 3],
    /// Pelvis specific force in the pelvis frame (what the accelerometer reads), m/s².
    pub base_accel: [f32; 3],
    /// Torso orientation (the torso IMU, Unitree's `rt/secondary_imu`), w x y z.
    pub torso_quat: [f32; 4],
    /// Torso angular velocity in the torso frame, rad/s.
    pub torso_gyro: [f32; 3],
    /// Joint positions, rad, by joint index.
    pub q: Vec<f32>,
    /// Joint velocities, rad/s.
    pub dq: Vec<f32>,
    /// Torques applied at the last step, N·m.
    pub tau: Vec<f32>,
}

impl RobotState {
    /// The pelvis pose in the world (the root of [`Robot::lowest_point_at`] and
    /// `lowest_point_at` of the engines).
    #[must_use]
    pub fn root(&self) -> Isometry3<f64> {
        let [x, y, z] = self.base_pos.map(f64::from);
        let [w, i, j, k] = self.base_quat.map(f64::from);
        Isometry3::from_parts(
            rapier3d::na::Translation3::new(x, y, z),
            rapier3d::na::UnitQuaternion::from_quaternion(rapier3d::na::Quaternion::new(
                w, i, j, k,
            )),
        )
    }
}

impl RapierSim {
    pub(super) fn configure_multibody(&mut self, robot: &Robot, self_collision: bool) {
        let root = self.link_bodies[0];
        let Some(link) = self.world.multibody_joints.rigid_body_link(root).copied() else {
            return;
        };
        let Some(mb) = self
            .world
            .multibody_joints
            .get_multibody_mut(link.multibody)
        else {
            return;
        };
        mb.set_self_contacts_enabled(self_collision);
        mb.damping_mut().fill(0.0);
        for (j, joint) in robot.joints.iter().enumerate() {
            let body = self.link_bodies[self.joint_links[j]];
            let Some(dof) = self
                .world
                .multibody_joints
                .rigid_body_link(body)
                .map(|l| l.id)
            else {
                continue;
            };
            let Some(mb) = self
                .world
                .multibody_joints
                .get_multibody_mut(link.multibody)
            else {
                return;
            };
            let Some(index) = mb.link(dof).map(|l| l.assembly_id()) else {
                continue;
            };
            mb.armature_mut()[index] = joint.armature as f32;
            mb.frictions_mut()[index] = joint.friction as f32;
        }
    }

    /// Joint positions and velocities, by joint index.
    #[must_use]
    pub fn joint_state(&self) -> (Vec<f32>, Vec<f32>) {
        let n = self.joint_links.len();
        let (mut q, mut dq) = (vec![0.0; n], vec![0.0; n]);
        if self.joint_model == super::JointModel::Impulse {
            for j in 0..n {
                let (Some(child), Some(parent)) = (
                    self.world.bodies.get(self.link_bodies[self.joint_links[j]]),
                    self.world
                        .bodies
                        .get(self.link_bodies[self.joint_parents[j]]),
                ) else {
                    continue;
                };
                // child = parent * offset * Rot(axis, q): recover q about the axis.
                let offset = self.offsets[self.joint_links[j]].rotation;
                let rel = offset.inverse() * parent.rotation().inverse() * *child.rotation();
                let axis = self.joint_axes[j];
                q[j] = 2.0 * Vector::new(rel.x, rel.y, rel.z).dot(axis).atan2(rel.w);
                if q[j] > std::f32::consts::PI {
                    q[j] -= std::f32::consts::TAU;
                } else if q[j] < -std::f32::consts::PI {
                    q[j] += std::f32::consts::TAU;
                }
                dq[j] = (*child.rotation() * axis).dot(child.angvel() - parent.angvel());
            }
            return (q, dq);
        }
        for j in 0..n {
            let body = self.link_bodies[self.joint_links[j]];
            if let Some((mb, id)) =
                self.world
                    .multibody_joints
                    .rigid_body_link(body)
                    .and_then(|l| {
                        self.world
                            .multibody_joints
                            .get_multibody(l.multibody)
                            .map(|mb| (mb, l.id))
                    })
                && let Some(link) = mb.link(id)
            {
                q[j] = link.joint().coords()[3];
                dq[j] = mb.joint_velocity(link)[0];
            }
        }
        (q, dq)
    }

    /// Puts the robot at root pose `root` with joint positions `q` (by joint index), at rest.
    pub fn reset(&mut self, root: &Isometry3<f64>, q: &[f64]) {
        if self.joint_model == super::JointModel::Impulse {
            let poses = self.robot.forward_kinematics(root, q);
            for (&h, pose) in self.link_bodies.iter().zip(&poses) {
                if let Some(rb) = self.world.bodies.get_mut(h) {
                    rb.set_position(super::assemble::to_pose_f32(pose), true);
                    rb.set_linvel(Vector::ZERO, true);
                    rb.set_angvel(Vector::ZERO, true);
                }
            }
            self.prev_pelvis_linvel = Vector::ZERO;
            self.pelvis_accel = Vector::ZERO;
            self.applied.fill(0.0);
            return;
        }
        let (current, _) = self.joint_state();
        let root_body = self.link_bodies[0];
        let t = root.translation.vector;
        let r = root.rotation;
        let pose = Pose::from_parts(
            Vector::new(t.x as f32, t.y as f32, t.z as f32),
            Rotation::from_xyzw(r.i as f32, r.j as f32, r.k as f32, r.w as f32).normalize(),
        );
        if let Some(rb) = self.world.bodies.get_mut(root_body) {
            rb.set_position(pose, true);
        }
        let Some(link) = self
            .world
            .multibody_joints
            .rigid_body_link(root_body)
            .copied()
        else {
            return;
        };
        let mut disp = vec![0.0f32; 0];
        if let Some(mb) = self.world.multibody_joints.get_multibody(link.multibody) {
            disp = vec![0.0; mb.ndofs()];
            for (j, (&joint_link, now)) in self.joint_links.iter().zip(&current).enumerate() {
                let body = self.link_bodies[joint_link];
                if let Some(id) = self
                    .world
                    .multibody_joints
                    .rigid_body_link(body)
                    .map(|l| l.id)
                    && let Some(l) = mb.link(id)
                {
                    disp[l.assembly_id()] = q.get(j).copied().unwrap_or(0.0) as f32 - now;
                }
            }
        }
        if let Some(mb) = self
            .world
            .multibody_joints
            .get_multibody_mut(link.multibody)
        {
            mb.apply_displacements(&disp);
            mb.generalized_velocity_mut().fill(0.0);
            mb.forward_kinematics(&self.world.bodies, true);
            mb.update_rigid_bodies(&mut self.world.bodies, true);
        }
        for &h in &self.link_bodies {
            if let Some(rb) = self.world.bodies.get_mut(h) {
                rb.set_linvel(Vector::ZERO, true);
                rb.set_angvel(Vector::ZERO, true);
            }
        }
        self.prev_pelvis_linvel = Vector::ZERO;
        self.pelvis_accel = Vector::ZERO;
        self.applied.fill(0.0);
    }

    /// World pose of every link.
    #[must_use]
    pub fn link_poses(&self) -> Vec<Pose> {
        self.link_bodies
            .iter()
            .map(|&h| {
                self.world
                    .bodies
                    .get(h)
                    .map_or(Pose::IDENTITY, |rb| *rb.position())
            })
            .collect()
    }

    /// The robot's state.
    #[must_use]
    pub fn state(&self) -> RobotState {
        let (q, dq) = self.joint_state();
        let pelvis = self.world.bodies.get(self.link_bodies[0]);
        let pose = pelvis.map_or(Pose::IDENTITY, |rb| *rb.position());
        let linvel = pelvis.map_or(Vector::ZERO, |rb| rb.linvel());
        let angvel = pelvis.map_or(Vector::ZERO, |rb| rb.angvel());
        let inv = pose.rotation.inverse();
        let gyro = inv * angvel;
        let accel = inv * (self.pelvis_accel - self.world.gravity);
        let r = pose.rotation;
        let torso = self
            .robot
            .link_index("torso_link")
            .and_then(|i| self.world.bodies.get(self.link_bodies[i]));
        let torso_rot = torso.map_or(Rotation::IDENTITY, |rb| *rb.rotation());
        let torso_gyro = torso_rot.inverse() * torso.map_or(Vector::ZERO, |rb| rb.angvel());
        RobotState {
            torso_quat: [torso_rot.w, torso_rot.x, torso_rot.y, torso_rot.z],
            torso_gyro: torso_gyro.to_array(),
            base_pos: pose.translation.to_array(),
            base_quat: [r.w, r.x, r.y, r.z],
            base_linvel: linvel.to_array(),
            base_gyro: gyro.to_array(),
            base_accel: accel.to_array(),
            q,
            dq,
            tau: self.applied.clone(),
        }
    }

    /// Lowest point of the robot's colliders, m, if it stood at `root` with joints `q`.
    #[must_use]
    pub fn lowest_point_at(&self, root: &Isometry3<f64>, q: &[f64]) -> f64 {
        self.robot.lowest_point_at(root, q)
    }
}
