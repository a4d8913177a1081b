//! The teacher environment's per-step work: observation rows, actions to motor commands, the
//! reward terms, and the outcome at the end.

use rapier3d::na::Point3;
use vigor_policy::student;
use vigor_sim::env::{TRIGGER_TILT_RAD, tilt_rad};
use vigor_sim::rapier::JointCommand;
use vigor_sim::sensors::{LinkPose, head_height_above_terrain};

use super::config::TeacherActionMode;
use super::reference::{heading, heading_relative};
use super::task::{
    ACTION_CLIP, CONTACT_N, HEAD_CLEAR_M, HEAD_CLEARANCE_M, Outcome, StepReward, TaskEnv, root_of,
};
use crate::demos::posture::STANDING_PELVIS_M;

/// Height difference under a loaded foot that counts as standing on an edge, m.
const EDGE_STEP_M: f32 = 0.04;
/// Half-size of the patch probed under a foot, m.
const FOOT_PROBE_M: f32 = 0.08;
/// The points probed under a foot, in units of [`FOOT_PROBE_M`]: the patch's corners and centre.
const PROBE: [(f32, f32); 5] = [
    (-1.0, -1.0),
    (-1.0, 1.0),
    (1.0, -1.0),
    (1.0, 1.0),
    (0.0, 0.0),
];
/// A robot slower than this counts as still, m/s.
const STILL_M_S: f32 = 0.5;
/// The `pit` reward term counts a link [`super::task::PIT_LINK_M`] below 0 over ground lower
/// than this, m: halfway down a pit (`vigor_sim::terrain::tiles::PIT_DEPTH_M`).
const PIT_GROUND_M: f32 = -0.5 * vigor_sim::terrain::tiles::PIT_DEPTH_M;
/// A pelvis this far below the terrain's lowest point has fallen off the world, m.
pub const LOST_BELOW_M: f32 = 0.5;

impl TaskEnv {
    /// Time since the policy engaged, s.
    #[must_use]
    pub fn since_engaged_s(&self) -> f32 {
        self.steps as f32 * self.dt
    }

    /// Whether the robot is upright now (pelvis at least 0.65 m above the ground, as
    /// [`TaskEnv::pelvis_height_m`] reads it, tilt under 20°), as of the last step.
    #[must_use]
    pub fn upright(&self) -> bool {
        self.stats.upright_since.is_some()
    }

    /// Whether the tracked demonstration has played to its end (the post-stand part follows).
    #[must_use]
    pub fn reference_done(&self) -> bool {
        self.clip_time_s() >= self.refs.references[self.reference].duration_s
    }

    /// Time since the tracked reference began, s: since engagement, or since the hand-over from
    /// a fall demonstration (`task.reanchor`).
    #[must_use]
    pub fn reference_time_s(&self) -> f32 {
        self.since_engaged_s() - self.anchor_s
    }

    /// Reference (clip) time now, s.
    fn clip_time_s(&self) -> f64 {
        let r = &self.refs.references[self.reference];
        let speed = r.duration_s / f64::from(self.params.raw.task.reference_duration_s);
        (self.clip_start_s + f64::from(self.reference_time_s()) * speed).min(r.duration_s)
    }

    /// Hands a fall demonstration over to the lying recovery the body ends in, and with
    /// `task.reanchor.again` a recovery that ended lying over to a new start, when
    /// `task.reanchor` says so, from the newest proprioceptive frame (what the student sees).
    fn maybe_hand_over(&mut self) {
        let Some(rule) = self.params.raw.task.reanchor else {
            return;
        };
        let since = self.since_engaged_s();
        let at = |name: &str| self.layout.offset(name).unwrap_or(0);
        let (g, w) = (at("projected_gravity"), at("base_ang_vel"));
        let f = &self.history[..self.dims.proprio];
        let gyro = [f[w], f[w + 1], f[w + 2]];
        self.still_s = rule.still_s(self.still_s, self.dt, gyro);
        if (self.handed_over_s.is_some() && !rule.again) || since < rule.after_s {
            return;
        }
        let signatures = self.refs.signatures();
        let on_fall =
            student::tilt_rad(signatures[self.reference]) < student::Reanchor::FALL_TRACK_TILT_RAD;
        if on_fall && self.posed && !self.params.raw.task.fall_reference_hand_over {
            // A posed fall start tracks its demonstration through (`task.fall_reference_hand_over`).
            return;
        }
        if let Some(next) = rule.hand_over(
            &signatures,
            self.reference,
            since,
            self.reference_done(),
            [f[g], f[g + 1], f[g + 2]],
            gyro,
            self.still_s,
        ) {
            self.reference = next;
            self.anchor_s = since;
            self.clip_start_s = 0.0;
            if on_fall {
                self.handed_over_s = Some(since);
            } else {
                self.restarts += 1;
            }
        }
    }

    /// True once the episode has run its length.
    #[must_use]
    pub fn done(&self) -> bool {
        self.steps >= (self.params.raw.task.episode_s / self.dt).round() as usize
    }

    /// Writes the critic-layout observation row (the actor's is its first
    /// [`super::task::ObsDims::actor`] values): reference, height scan, proprioception history
    /// (newest first), then base velocity in the body frame, head height, per-link contacts,
    /// terrain difficulty, episode phase and reference phase.
    pub fn observe(&self, out: &mut [f32]) {
        let d = self.dims;
        let r = &self.refs.references[self.reference];
        let speed = r.duration_s / f64::from(self.params.raw.task.reference_duration_s);
        let t_clip = self.clip_time_s();
        r.write_obs(
            t_clip,
            &self.default_q,
            1.0 / speed,
            &mut out[..d.reference],
        );
        let s = self.env.state();
        let yaw = heading(&root_of(s.base_pos, s.base_quat).rotation) as f32;
        if self.flat_scan {
            let ground = self.env.terrain().height(s.base_pos[0], s.base_pos[1]);
            out[d.reference..d.goal()].fill(s.base_pos[2] - ground);
        } else {
            self.scan.sample(
                s.base_pos,
                yaw,
                Some(self.env.terrain()),
                &mut out[d.reference..d.goal()],
            );
        }
        out[d.goal()..d.actor()].copy_from_slice(&self.history);
        let extra = &mut out[d.actor()..];
        let rot = root_of(s.base_pos, s.base_quat).rotation;
        let v = rot.inverse()
            * rapier3d::na::Vector3::new(s.base_linvel[0], s.base_linvel[1], s.base_linvel[2])
                .cast::<f64>();
        extra[0] = v.x as f32;
        extra[1] = v.y as f32;
        extra[2] = v.z as f32;
        let poses = self.link_poses();
        extra[3] = self.head_height(&poses).unwrap_or(0.0);
        let forces = self.env.sim().contact_forces();
        let links = self.env.robot().links.len();
        for (k, f) in forces.iter().take(links).enumerate() {
            extra[4 + k] = f32::from(u8::from(norm(*f) > CONTACT_N));
        }
        extra[4 + links] = self.difficulty;
        extra[5 + links] = self.since_engaged_s() / self.params.raw.task.episode_s;
        extra[6 + links] = (t_clip / r.duration_s) as f32;
        for x in out.iter_mut() {
            if !x.is_finite() {
                *x = 0.0;
            }
        }
    }

    pub(super) fn link_poses(&self) -> Vec<rapier3d::na::Isometry3<f64>> {
        let s = self.env.state();
        let q: Vec<f64> = s.q.iter().map(|&x| f64::from(x)).collect();
        self.env
            .robot()
            .forward_kinematics(&root_of(s.base_pos, s.base_quat), &q)
    }

    /// The pelvis's height above the ground it stands or lies on, m, as the reward's root height
    /// and the success test read it: above the terrain under the pelvis or, where both feet have
    /// footing higher than that, above the lower foot's footing (the highest ground in its probed
    /// patch). A pelvis over a pit (stepping stones, gaps) is so measured from the stones or the
    /// rims the feet are on rather than from the pit's floor about 1 m down, where a crouch would
    /// read as standing. On flat ground the two are the same.
    #[must_use]
    pub fn pelvis_height_m(&self) -> f32 {
        self.pelvis_height_with(&self.link_poses())
    }

    fn pelvis_height_with(&self, poses: &[rapier3d::na::Isometry3<f64>]) -> f32 {
        let s = self.env.state();
        let terrain = self.env.terrain();
        let feet: Vec<[f32; 2]> = self
            .foot_links
            .iter()
            .map(|&link| {
                let p = poses[link].translation.vector;
                [p.x as f32, p.y as f32]
            })
            .collect();
        pelvis_height(|x, y| terrain.height(x, y), s.base_pos, &feet)
    }

    fn head_height(&self, poses: &[rapier3d::na::Isometry3<f64>]) -> Option<f32> {
        let lp: Vec<LinkPose> = poses.iter().map(LinkPose::from_isometry).collect();
        head_height_above_terrain(self.env.robot(), &lp, Some(self.env.terrain()))
    }

    /// The motor commands for `action` (clipped to ±10, then scaled, then clamped to the limits).
    #[must_use]
    pub fn commands(&self, action: &[f32], q_now: &[f32]) -> Vec<JointCommand> {
        let t = &self.params.raw.task;
        let reference = self.refs.references[self.reference].frame_at(self.clip_time_s());
        self.env
            .robot()
            .joints
            .iter()
            .enumerate()
            .map(|(j, joint)| {
                let a = action[j].clamp(-ACTION_CLIP, ACTION_CLIP) * t.action_scale;
                let base = match t.action_mode {
                    TeacherActionMode::DefaultOffset => self.default_q[j],
                    TeacherActionMode::CurrentDelta => q_now[j],
                    TeacherActionMode::ReferenceResidual => reference.q[j],
                };
                JointCommand {
                    q: (base + a).clamp(joint.lower as f32, joint.upper as f32),
                    dq: 0.0,
                    kp: self.kp[j],
                    kd: self.kd[j],
                    tau_ff: 0.0,
                }
            })
            .collect()
    }

    /// Applies `action` for one policy step and returns the reward. Once the robot has left the
    /// terrain (off its footprint, or more than [`LOST_BELOW_M`] under its lowest point: falling
    /// off the world) the episode is over: the simulator is no longer stepped and every later
    /// step rewards nothing, as a terminated episode would.
    pub fn step(&mut self, action: &[f32]) -> StepReward {
        if self.stats.left_terrain {
            self.steps += 1;
            return StepReward::default();
        }
        let q_now = self.env.sensed().q;
        let commands = self.commands(action, &q_now);
        if self.assist_n > 0.0 {
            self.env
                .apply_force(self.torso, [0.0, 0.0, self.assist_n], self.dt);
        }
        self.env.step(&commands);
        self.steps += 1;
        if self.off_terrain() {
            self.stats.left_terrain = true;
            return StepReward::default();
        }
        let reward = self.reward(action);
        self.last_action.copy_from_slice(action);
        let frame = self.proprio_frame();
        let p = self.dims.proprio;
        let len = self.history.len();
        self.history.copy_within(..len - p, p);
        self.history[..p].copy_from_slice(&frame);
        self.maybe_hand_over();
        reward
    }

    /// Whether the pelvis is off the terrain's footprint, far below its lowest point, or not
    /// finite.
    fn off_terrain(&self) -> bool {
        let p = self.env.state().base_pos;
        let field = self.env.terrain().field();
        let (lowest, _) = field.height_range();
        !p.iter().all(|v| v.is_finite())
            || !field.contains_xy(p[0], p[1])
            || p[2] < lowest - LOST_BELOW_M
    }

    fn reward(&mut self, action: &[f32]) -> StepReward {
        let w = self.params.raw.rewards.clone();
        let dt = self.dt;
        let s = self.env.state();
        let root = root_of(s.base_pos, s.base_quat);
        let poses = self.link_poses();
        let r = &self.refs.references[self.reference];
        let t_clip = self.clip_time_s();
        let post_stand = self.reference_time_s() >= self.params.raw.task.reference_duration_s
            || (self.posed && t_clip >= r.duration_s);
        let target = r.frame_at(t_clip);
        let terrain = self.env.terrain();
        let ground = |x: f32, y: f32| terrain.height(x, y);
        let pelvis_h = self.pelvis_height_with(&poses);

        let kp: Vec<Point3<f64>> = self.keypoints.place(&poses);
        let rel = heading_relative(&root, &kp);
        let mut err = 0.0f32;
        for (a, b) in rel.chunks_exact(3).zip(target.keypoints.chunks_exact(3)) {
            err += (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2);
        }
        let n_kp = (rel.len() / 3) as f32;
        self.stats.track_sq += f64::from(err);
        self.stats.track_n += f64::from(n_kp);
        let body_err = (err + (pelvis_h - target.root_height_m).powi(2)) / (n_kp + 1.0);
        let body = (-body_err / w.body_pos_sigma_m.powi(2)).exp();
        let joint_err =
            s.q.iter()
                .zip(&target.q)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
                / s.q.len() as f32;
        let joint = (-joint_err / w.joint_pos_sigma_rad.powi(2)).exp();

        let torque: f32 = s.tau.iter().map(|t| t * t).sum();
        let limits: f32 =
            s.q.iter()
                .zip(&self.env.robot().joints)
                .map(|(&q, j)| {
                    let mid = ((j.lower + j.upper) / 2.0) as f32;
                    let half = ((j.upper - j.lower) / 2.0) as f32 * 0.95;
                    (q - mid - half).max(0.0) + (mid - half - q).max(0.0)
                })
                .sum();
        let vel: f32 = s.dq.iter().map(|v| v * v).sum();
        let acc: f32 =
            s.dq.iter()
                .zip(&self.prev_dq)
                .map(|(a, b)| ((a - b) / dt).powi(2))
                .sum();
        self.prev_dq.clone_from(&s.dq);
        let rate: f32 = action
            .iter()
            .zip(&self.last_action)
            .map(|(a, b)| (a - b).powi(2))
            .sum();

        let forces = self.env.sim().contact_forces();
        let mut undesired = 0.0;
        let mut edge = 0.0;
        let mut impact = 0.0;
        let thr = w.impact_force_n;
        for (link, f) in forces.iter().enumerate() {
            let load = norm(*f);
            impact += (load - thr).max(0.0) / thr;
            if load <= CONTACT_N {
                continue;
            }
            if self.foot_links.contains(&link) {
                let p = poses[link].translation.vector;
                let (x, y) = (p.x as f32, p.y as f32);
                let probe = PROBE.map(|(a, b)| ground(x + a * FOOT_PROBE_M, y + b * FOOT_PROBE_M));
                let hi = probe.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let lo = probe.iter().copied().fold(f32::INFINITY, f32::min);
                if hi - lo > EDGE_STEP_M {
                    edge += 1.0;
                }
            } else if post_stand {
                undesired += 1.0;
            }
        }
        let pit = if w.pit == 0.0 || !self.pits {
            0.0
        } else {
            poses
                .iter()
                .filter(|p| {
                    let v = p.translation.vector;
                    v.z < -f64::from(super::task::PIT_LINK_M)
                        && ground(v.x as f32, v.y as f32) < PIT_GROUND_M
                })
                .count() as f32
        };
        let head = self.head_height(&poses).unwrap_or(1.0);
        self.stats.min_head = self.stats.min_head.min(head);
        self.stats.lowest_link = poses
            .iter()
            .map(|p| p.translation.z as f32)
            .fold(self.stats.lowest_link, f32::min);
        let mut strike = 0.0;
        if head > HEAD_CLEAR_M {
            self.stats.head_clear = true;
        } else if self.stats.head_clear && head < HEAD_CLEARANCE_M {
            self.stats.head_clear = false;
            self.stats.strikes += 1;
            strike = 1.0;
        }
        let speed2: f32 = s.base_linvel.iter().map(|v| v * v).sum();
        let spin2: f32 = s.base_gyro.iter().map(|v| v * v).sum();
        let (head_term, vel_term, spin_term) = if post_stand {
            (head.clamp(0.0, 1.2) / 1.2, speed2, spin2)
        } else {
            (0.0, 0.0, 0.0)
        };
        self.stats.energy += s
            .tau
            .iter()
            .zip(&s.dq)
            .map(|(t, v)| (t * v).abs())
            .sum::<f32>()
            * dt;
        let upright =
            pelvis_h >= STANDING_PELVIS_M as f32 && tilt_rad(s.base_quat) < TRIGGER_TILT_RAD;
        if upright {
            self.stats
                .upright_since
                .get_or_insert(self.since_engaged_s());
        } else {
            self.stats.upright_since = None;
        }

        let raw = [
            body, joint, torque, limits, vel, acc, rate, undesired, edge, head_term, vel_term,
            spin_term, strike, impact, pit,
        ];
        let weights = w.weights();
        let mut out = StepReward::default();
        for (k, (x, (name, wt))) in raw.iter().zip(weights).enumerate() {
            // Weights are per second of episode, except a head strike's, which is per strike.
            let per = if name == "head_contact" { 1.0 } else { dt };
            let v = if x.is_finite() { x * wt * per } else { 0.0 };
            out.terms[k] = v;
            out.total += v;
        }
        self.stats.reward += out.total;
        out
    }

    /// The episode's outcome so far (final at [`TaskEnv::done`]).
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        let s = self.env.state();
        let speed = s.base_linvel.iter().map(|v| v * v).sum::<f32>().sqrt();
        let success =
            self.stats.upright_since.is_some() && speed < STILL_M_S && !self.stats.left_terrain;
        let dx = s.base_pos[0] - self.stats.start_xy[0];
        let dy = s.base_pos[1] - self.stats.start_xy[1];
        Outcome {
            success,
            safe_success: success && self.stats.strikes == 0,
            time_to_recover_s: if success {
                self.stats.upright_since.unwrap_or(0.0)
            } else {
                0.0
            },
            tracking_rms_m: (self.stats.track_sq / self.stats.track_n.max(1.0)).sqrt() as f32,
            energy_j: self.stats.energy,
            drift_m: (dx * dx + dy * dy).sqrt(),
            min_head_m: self.stats.min_head,
            upright_s: self
                .stats
                .upright_since
                .map_or(0.0, |t| self.since_engaged_s() - t),
            gyro_rad_s: self.env.gyro_mean_rad_s(),
            left_terrain: self.stats.left_terrain,
            reference_start: self.posed,
            handed_over_s: self.handed_over_s,
            restarts: self.restarts,
            lowest_link_m: if self.stats.lowest_link.is_finite() {
                self.stats.lowest_link
            } else {
                0.0
            },
            lowest_link_start_m: if self.stats.lowest_link_start.is_finite() {
                self.stats.lowest_link_start
            } else {
                0.0
            },
            reward: self.stats.reward,
        }
    }
}

/// [`TaskEnv::pelvis_height_m`] on a terrain given by `ground` (height at x, y), for a pelvis at
/// `pelvis` and feet at `feet` (xy of each foot link).
#[must_use]
pub(crate) fn pelvis_height(
    ground: impl Fn(f32, f32) -> f32,
    pelvis: [f32; 3],
    feet: &[[f32; 2]],
) -> f32 {
    let under = ground(pelvis[0], pelvis[1]);
    let footing = feet
        .iter()
        .map(|&[x, y]| {
            PROBE
                .iter()
                .map(|(a, b)| ground(x + a * FOOT_PROBE_M, y + b * FOOT_PROBE_M))
                .fold(f32::NEG_INFINITY, f32::max)
        })
        .fold(f32::INFINITY, f32::min);
    let ground = if footing.is_finite() {
        under.max(footing)
    } else {
        under
    };
    pelvis[2] - ground
}

fn norm(f: [f32; 3]) -> f32 {
    (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt()
}

impl TaskEnv {
    /// The reference's pose now, as [`crate::demos::KEYPOINTS`] in the world, drawn 1 m to the
    /// robot's left at its heading, standing on the terrain there (for recordings).
    #[must_use]
    pub fn target_keypoints_world(&self) -> Vec<[f32; 3]> {
        let s = self.env.state();
        let yaw = heading(&root_of(s.base_pos, s.base_quat).rotation) as f32;
        let f = self.refs.references[self.reference].frame_at(self.clip_time_s());
        let (sin, cos) = yaw.sin_cos();
        let (x, y) = (s.base_pos[0] - sin, s.base_pos[1] + cos);
        let z = self.env.terrain().height(x, y) + f.root_height_m;
        f.keypoints
            .chunks_exact(3)
            .map(|k| {
                [
                    x + cos * k[0] - sin * k[1],
                    y + sin * k[0] + cos * k[1],
                    z + k[2],
                ]
            })
            .collect()
    }
}
