//! The G1 in MuJoCo (through mujoco-rs, linked against the `mujoco` wheel's library): the same
//! robot, ground, motor law, state and contacts as [`crate::rapier::RapierSim`], so
//! [`crate::engine::Engine`] can put either under the environment.
//!
//! The model is the description's MJCF export ([`crate::robot::to_mjcf_on`]) standing on a
//! plane or on a MuJoCo height field with the terrain's samples. Actuation is the robot's law,
//! computed from the state at the start of every physics step and applied as generalised joint
//! forces (`qfrc_applied`), torque clamp included; MuJoCo adds the joints' armature and dry
//! friction from the model. Pushes are Cartesian forces at the link's centre of mass.
//!
//! Differences from the rapier engine that remain (and are documented in
//! `docs/simulator-performance.md`): MuJoCo's soft contacts (default solref and solimp) against
//! rapier's; no restitution (MuJoCo contacts are inelastic, so
//! [`MujocoSim::set_restitution`] does nothing); contacts are points, not manifolds.
//!
//! Invariants: no randomness and no clock inside; MuJoCo runs single-threaded per model, so the
//! same commands from the same state give bit-identical trajectories on any thread.

use mujoco_rs::prelude::{MjData, MjModel, MjtObjBase};
use rapier3d::na::{Isometry3, Quaternion, UnitQuaternion};
use rapier3d::prelude::{Pose, Rotation, Vector};

use crate::rapier::{Contact, Ground, JointCommand, PhysicsParams, RobotState};
use crate::robot::{Robot, to_mjcf_on};

/// Why a MuJoCo model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MujocoError {
    /// MuJoCo rejected the generated model.
    #[error("MuJoCo could not compile the generated model of `{robot}`: {message}")]
    Compile {
        /// The robot's name.
        robot: String,
        /// MuJoCo's message.
        message: String,
    },
    /// A body or joint of the description is missing from the compiled model.
    #[error("the compiled MuJoCo model has no {kind} named `{name}`")]
    Missing {
        /// `body` or `joint`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// The ground is a triangle mesh: MuJoCo collides meshes as their convex hulls, so terrain
    /// must come as a height field.
    #[error("MuJoCo needs the ground as a plane or a height field, not a triangle mesh")]
    MeshGround,
}

/// A constant world-frame force on a link for a number of steps.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Push {
    body: usize,
    force: [f64; 3],
    steps_left: u32,
}

/// One simulated robot in its own MuJoCo model and data.
pub struct MujocoSim {
    data: MjData<Box<MjModel>>,
    robot: Robot,
    /// MuJoCo body of each robot link.
    link_bodies: Vec<usize>,
    /// Robot link of each MuJoCo body (None for the world).
    body_links: Vec<Option<usize>>,
    /// `qpos` and `qvel` address of each joint.
    qpos_adr: Vec<usize>,
    dof_adr: Vec<usize>,
    /// Nominal mass and inertia of each link's body, for mass randomisation.
    nominal_mass: Vec<f64>,
    nominal_inertia: Vec<[f64; 3]>,
    effort: Vec<f32>,
    strength: Vec<f32>,
    commands: Vec<JointCommand>,
    applied: Vec<f32>,
    pushes: Vec<Push>,
    contact_forces: Vec<[f32; 3]>,
    prev_pelvis_linvel: [f64; 3],
    pelvis_accel: [f64; 3],
    dt_s: f32,
    time_s: f64,
}

fn quat_rotate_inv(q: [f64; 4], v: [f64; 3]) -> [f64; 3] {
    let q = UnitQuaternion::from_quaternion(Quaternion::new(q[0], q[1], q[2], q[3]));
    let r = q.inverse_transform_vector(&rapier3d::na::Vector3::new(v[0], v[1], v[2]));
    [r.x, r.y, r.z]
}

fn to_f32<const N: usize>(v: [f64; N]) -> [f32; N] {
    v.map(|x| x as f32)
}

impl MujocoSim {
    /// Builds the robot standing in its default pose on `ground`, feet on the surface.
    ///
    /// `params`: the step and friction are used; solver iterations and the joint model are
    /// rapier's and do not apply (MuJoCo solves the constraints of its own generalised
    /// coordinates to convergence).
    ///
    /// # Errors
    /// A mesh ground, or a model MuJoCo refuses.
    pub fn new(
        robot: &Robot,
        ground: &Ground,
        params: &PhysicsParams,
    ) -> Result<Self, MujocoError> {
        let field = match ground {
            Ground::Flat => None,
            Ground::Field(f) => Some(f),
            Ground::Mesh { .. } => return Err(MujocoError::MeshGround),
        };
        let xml = to_mjcf_on(robot, f64::from(params.dt_s), field);
        let model = MjModel::from_xml_string(&xml).map_err(|e| MujocoError::Compile {
            robot: robot.name.clone(),
            message: e.to_string(),
        })?;
        let mut link_bodies = Vec::with_capacity(robot.links.len());
        let mut body_links = vec![None; model.ffi().nbody as usize];
        for (i, link) in robot.links.iter().enumerate() {
            let id = model
                .name_to_id(MjtObjBase::mjOBJ_BODY, &link.name)
                .ok_or_else(|| MujocoError::Missing {
                    kind: "body",
                    name: link.name.clone(),
                })?;
            link_bodies.push(id);
            body_links[id] = Some(i);
        }
        let mut qpos_adr = Vec::with_capacity(robot.joints.len());
        let mut dof_adr = Vec::with_capacity(robot.joints.len());
        for j in &robot.joints {
            let id = model
                .name_to_id(MjtObjBase::mjOBJ_JOINT, &j.name)
                .ok_or_else(|| MujocoError::Missing {
                    kind: "joint",
                    name: j.name.clone(),
                })?;
            qpos_adr.push(model.jnt_qposadr()[id] as usize);
            dof_adr.push(model.jnt_dofadr()[id] as usize);
        }
        let nominal_mass = link_bodies.iter().map(|&b| model.body_mass()[b]).collect();
        let nominal_inertia = link_bodies
            .iter()
            .map(|&b| model.body_inertia()[b])
            .collect();
        let mut sim = Self {
            data: MjData::new(Box::new(model)),
            link_bodies,
            body_links,
            qpos_adr,
            dof_adr,
            nominal_mass,
            nominal_inertia,
            effort: robot.joints.iter().map(|j| j.effort as f32).collect(),
            strength: vec![1.0; robot.joints.len()],
            commands: robot
                .joints
                .iter()
                .map(|j| JointCommand {
                    q: j.default as f32,
                    dq: 0.0,
                    kp: j.kp as f32,
                    kd: j.kd as f32,
                    tau_ff: 0.0,
                })
                .collect(),
            applied: vec![0.0; robot.joints.len()],
            pushes: Vec::new(),
            contact_forces: vec![[0.0; 3]; robot.links.len()],
            prev_pelvis_linvel: [0.0; 3],
            pelvis_accel: [0.0; 3],
            dt_s: params.dt_s,
            time_s: 0.0,
            robot: robot.clone(),
        };
        sim.set_friction(params.friction);
        sim.stand_on(field);
        Ok(sim)
    }

    /// Puts the robot standing in its default pose on the ground (`field`, or flat), feet on the
    /// surface: the state [`MujocoSim::new`] ends in.
    fn stand_on(&mut self, field: Option<&crate::terrain::HeightField>) {
        let q0 = self.robot.default_pose();
        let root = self.robot.links[0].offset;
        let lowest = self.lowest_point_at(&root, &q0);
        let ground_z = field.map_or(0.0, |f| {
            let t = root.translation;
            f64::from(f.height(t.x as f32, t.y as f32))
        });
        let mut lifted = root;
        lifted.translation.z += ground_z - lowest + 0.001;
        self.reset(&lifted, &q0);
    }

    /// Returns a simulation built on flat ground to exactly the state [`MujocoSim::new`] leaves
    /// (nominal masses and inertias, `params`' friction, full motor strength, the default
    /// commands, no pushes, time 0, standing) without compiling the model again: an episode
    /// reset on flat ground then costs no model build. Only for a simulation built with
    /// [`Ground::Flat`] and the same robot and `params`.
    pub fn renew_flat(&mut self, params: &PhysicsParams) {
        let (bodies, mass, inertia) =
            (&self.link_bodies, &self.nominal_mass, &self.nominal_inertia);
        let friction = f64::from(params.friction);
        let mut model = self.data.model_clone();
        for ((&b, &m), &i) in bodies.iter().zip(mass).zip(inertia) {
            model.body_mass_mut()[b] = m;
            model.body_inertia_mut()[b] = i;
        }
        for g in model.geom_friction_mut() {
            g[0] = friction;
        }
        let _ = self.data.swap_model(model);
        self.strength.fill(1.0);
        for (c, j) in self.commands.iter_mut().zip(&self.robot.joints) {
            *c = JointCommand {
                q: j.default as f32,
                dq: 0.0,
                kp: j.kp as f32,
                kd: j.kd as f32,
                tau_ff: 0.0,
            };
        }
        self.pushes.clear();
        self.time_s = 0.0;
        self.stand_on(None);
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
        self.dt_s
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

    /// Advances one physics step: motor law, then MuJoCo.
    pub fn step(&mut self) {
        let (q, dq) = self.joint_state();
        for j in 0..self.commands.len() {
            let c = self.commands[j];
            let limit = self.effort[j] * self.strength[j];
            let tau = (c.tau_ff + c.kp * (c.q - q[j]) + c.kd * (c.dq - dq[j])).clamp(-limit, limit);
            self.applied[j] = tau;
        }
        {
            let qfrc = self.data.qfrc_applied_mut();
            qfrc.fill(0.0);
            for (j, &adr) in self.dof_adr.iter().enumerate() {
                qfrc[adr] = f64::from(self.applied[j]);
            }
        }
        {
            let xfrc = self.data.xfrc_applied_mut();
            for f in xfrc.iter_mut() {
                *f = [0.0; 6];
            }
            for push in &mut self.pushes {
                for (x, f) in xfrc[push.body].iter_mut().zip(push.force) {
                    *x += f;
                }
                push.steps_left = push.steps_left.saturating_sub(1);
            }
        }
        self.pushes.retain(|p| p.steps_left > 0);
        self.data.step();
        self.time_s += f64::from(self.dt_s);
        let qvel = self.data.qvel();
        let v = [qvel[0], qvel[1], qvel[2]];
        let dt = f64::from(self.dt_s);
        self.pelvis_accel = [0, 1, 2].map(|k| (v[k] - self.prev_pelvis_linvel[k]) / dt);
        self.prev_pelvis_linvel = v;
        self.update_contact_forces();
    }

    /// Applies a constant world-frame `force_n` to link `link` for `duration_s` (rounded to whole
    /// steps, at least one).
    pub fn push(&mut self, link: usize, force_n: [f32; 3], duration_s: f32) {
        if let Some(&body) = self.link_bodies.get(link) {
            let steps = (duration_s / self.dt_s).round().max(1.0) as u32;
            self.pushes.push(Push {
                body,
                force: force_n.map(f64::from),
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

    /// The robot link and sign (+1: the link is MuJoCo's second geom) of a robot-ground contact.
    fn contact_link(&self, geom: [i32; 2]) -> Option<(usize, f64)> {
        let body_of = |g: i32| self.data.model().geom_bodyid()[g as usize] as usize;
        let (b1, b2) = (body_of(geom[0]), body_of(geom[1]));
        match (self.body_links[b1], self.body_links[b2]) {
            (None, Some(link)) => Some((link, 1.0)),
            (Some(link), None) => Some((link, -1.0)),
            _ => None,
        }
    }

    /// World-frame force of contact `i` on its second geom.
    fn contact_world_force(&self, i: usize) -> [f64; 3] {
        let f = self.data.contact_force(i);
        let frame = self.data.contact()[i].frame;
        [0, 1, 2].map(|k| f[0] * frame[k] + f[1] * frame[3 + k] + f[2] * frame[6 + k])
    }

    fn update_contact_forces(&mut self) {
        for f in &mut self.contact_forces {
            *f = [0.0; 3];
        }
        for i in 0..self.data.ncon() as usize {
            let geom = self.data.contact()[i].geom;
            if let Some((link, sign)) = self.contact_link(geom) {
                let f = self.contact_world_force(i);
                for (acc, fk) in self.contact_forces[link].iter_mut().zip(f) {
                    *acc += (sign * fk) as f32;
                }
            }
        }
    }

    /// Every ground contact point at the last step: link, point (world, m) and force on the link
    /// (world, N).
    #[must_use]
    pub fn contacts(&self) -> Vec<Contact> {
        let mut out = Vec::new();
        for i in 0..self.data.ncon() as usize {
            let c = &self.data.contact()[i];
            if let Some((link, sign)) = self.contact_link(c.geom) {
                let f = self.contact_world_force(i);
                out.push(Contact {
                    link,
                    point: to_f32(c.pos),
                    force: f.map(|x| (sign * x) as f32),
                });
            }
        }
        out
    }

    /// Applies `edit` to a copy of the model and swaps it in (the data stays valid: only
    /// parameters change, never sizes).
    fn edit_model(&mut self, edit: impl FnOnce(&mut MjModel)) {
        let mut model = self.data.model_clone();
        edit(&mut model);
        let _ = self.data.swap_model(model);
    }

    /// Scales link `link`'s mass and inertia by `scale` (domain randomisation; 1 = nominal).
    pub fn set_link_mass_scale(&mut self, link: usize, scale: f32) {
        let Some(&body) = self.link_bodies.get(link) else {
            return;
        };
        let scale = f64::from(scale.max(0.05));
        let (mass, inertia) = (self.nominal_mass[link], self.nominal_inertia[link]);
        self.edit_model(|m| {
            m.body_mass_mut()[body] = mass * scale;
            m.body_inertia_mut()[body] = inertia.map(|i| i * scale);
        });
    }

    /// Sets the friction coefficient of every contact (MuJoCo combines two geoms' friction by
    /// their maximum, so every geom gets it).
    pub fn set_friction(&mut self, friction: f32) {
        let f = f64::from(friction);
        self.edit_model(|m| {
            for g in m.geom_friction_mut() {
                g[0] = f;
            }
        });
    }

    /// Restitution: MuJoCo's contacts are inelastic; kept for the engines' common interface and
    /// does nothing.
    pub fn set_restitution(&mut self, _restitution: f32) {}

    /// Joint positions and velocities, by joint index.
    #[must_use]
    pub fn joint_state(&self) -> (Vec<f32>, Vec<f32>) {
        let (qpos, qvel) = (self.data.qpos(), self.data.qvel());
        (
            self.qpos_adr.iter().map(|&a| qpos[a] as f32).collect(),
            self.dof_adr.iter().map(|&a| qvel[a] as f32).collect(),
        )
    }

    /// Puts the robot at root pose `root` with joint positions `q` (by joint index), at rest.
    pub fn reset(&mut self, root: &Isometry3<f64>, q: &[f64]) {
        self.data.reset();
        let t = root.translation.vector;
        let r = root.rotation;
        {
            let qpos = self.data.qpos_mut();
            qpos[..7].copy_from_slice(&[t.x, t.y, t.z, r.w, r.i, r.j, r.k]);
            for (&adr, &value) in self.qpos_adr.iter().zip(q) {
                qpos[adr] = value;
            }
        }
        self.data.qvel_mut().fill(0.0);
        self.data.forward();
        self.prev_pelvis_linvel = [0.0; 3];
        self.pelvis_accel = [0.0; 3];
        self.applied.fill(0.0);
        self.update_contact_forces();
    }

    /// World pose of every link.
    #[must_use]
    pub fn link_poses(&self) -> Vec<Pose> {
        let (xpos, xquat) = (self.data.xpos(), self.data.xquat());
        self.link_bodies
            .iter()
            .map(|&b| {
                let p = xpos[b];
                let q = xquat[b];
                Pose::from_parts(
                    Vector::new(p[0] as f32, p[1] as f32, p[2] as f32),
                    Rotation::from_xyzw(q[1] as f32, q[2] as f32, q[3] as f32, q[0] as f32)
                        .normalize(),
                )
            })
            .collect()
    }

    /// The robot's state.
    #[must_use]
    pub fn state(&self) -> RobotState {
        let (q, dq) = self.joint_state();
        let pelvis = self.link_bodies[0];
        let qvel = self.data.qvel();
        let quat = self.data.xquat()[pelvis];
        let gravity = self.data.model().opt().gravity;
        let a = [0, 1, 2].map(|k| self.pelvis_accel[k] - gravity[k]);
        let torso = self
            .robot
            .link_index("torso_link")
            .map_or(pelvis, |i| self.link_bodies[i]);
        let torso_quat = self.data.xquat()[torso];
        let torso_vel = self
            .data
            .object_velocity(MjtObjBase::mjOBJ_BODY, torso, true);
        RobotState {
            base_pos: to_f32(self.data.xpos()[pelvis]),
            base_quat: to_f32(quat),
            base_linvel: to_f32([qvel[0], qvel[1], qvel[2]]),
            // The free joint's angular velocity is already in the body frame.
            base_gyro: to_f32([qvel[3], qvel[4], qvel[5]]),
            base_accel: to_f32(quat_rotate_inv(quat, a)),
            torso_quat: to_f32(torso_quat),
            torso_gyro: to_f32([torso_vel[0], torso_vel[1], torso_vel[2]]),
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

#[cfg(test)]
mod tests;
