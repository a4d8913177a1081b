//! One teacher environment: a simulated episode plus what VIGOR's teacher sees (proprioception
//! history, the next keyframe of the reference, the height scan; the critic also gets contacts and
//! the true base velocity), the reward terms, and the episode's outcome with the paper's metrics.

use std::sync::Arc;

use rapier3d::na::{Isometry3, Quaternion, Translation3, UnitQuaternion};
use vigor_policy::{ObservationLayout, Proprioception, projected_gravity};
use vigor_sim::env::{Env, EnvConfig, EnvError, EpisodeSpec};
use vigor_sim::rapier::JointCommand;
use vigor_sim::robot::Robot;
use vigor_sim::sensors::{HeightScan, HeightScanConfig};
use vigor_sim::terrain::TerrainKind;

use super::config::{REWARD_COUNT, ReferenceRule, TeacherParams};
use super::reference::{ReferenceSet, reference_obs_len};
use crate::demos::KeypointSet;

/// Names of the reward terms, in the order of [`StepReward::terms`].
pub const REWARD_TERMS: [&str; REWARD_COUNT] = [
    "body_pos",
    "joint_pos",
    "torque",
    "joint_limits",
    "joint_vel",
    "joint_acc",
    "action_rate",
    "undesired_contacts",
    "terrain_edge",
    "head_height",
    "base_velocity",
    "base_angular_velocity",
    "head_contact",
    "impact",
    "pit",
];

/// A contact counts above this ground force, N.
pub(super) const CONTACT_N: f32 = 1.0;
/// Safe success: the head never comes within this of the terrain, m (VIGOR's 5 cm).
pub const HEAD_CLEARANCE_M: f32 = 0.05;
/// The `pit` reward term counts a link whose origin is this far below 0, the level of stepping
/// stones and gaps, over one of their pits, m.
pub const PIT_LINK_M: f32 = 0.15;
/// The head counts as clear of the ground again above this, m.
pub(super) const HEAD_CLEAR_M: f32 = 0.10;
/// Actions are clipped to this magnitude before scaling.
pub const ACTION_CLIP: f32 = 10.0;
/// A start posed from a demonstration frame is dropped from this far above the terrain, m.
const POSED_DROP_M: f64 = 0.01;
/// Fall starts that have not tipped past 20° after this long engage anyway, s.
const MAX_PRE_TRIGGER_S: f32 = 3.0;

/// Observation sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObsDims {
    /// The reference block.
    pub reference: usize,
    /// The height scan.
    pub scan: usize,
    /// One proprioceptive frame.
    pub proprio: usize,
    /// Frames of history.
    pub history: usize,
    /// Critic-only values.
    pub extra: usize,
}

impl ObsDims {
    /// The encoder's input: reference and height scan.
    #[must_use]
    pub fn goal(&self) -> usize {
        self.reference + self.scan
    }
    /// The actor's whole input (the encoder's plus the proprioception history).
    #[must_use]
    pub fn actor(&self) -> usize {
        self.goal() + self.proprio * self.history
    }
    /// The critic's input (a row of the rollout): the actor's plus the privileged extras.
    #[must_use]
    pub fn critic(&self) -> usize {
        self.actor() + self.extra
    }
}

/// One step's reward: the total and each weighted term.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepReward {
    /// Sum of the terms.
    pub total: f32,
    /// Weighted terms, order of [`REWARD_TERMS`].
    pub terms: [f32; REWARD_COUNT],
}

/// How an episode went (the paper's metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// Upright (pelvis >= 0.65 m above the terrain, tilt < 20°) and still (< 0.5 m/s) at the end.
    pub success: bool,
    /// Success with the head never within 5 cm of the terrain after it was clear of it.
    pub safe_success: bool,
    /// From engagement to the start of the final upright stretch, s (successes only).
    pub time_to_recover_s: f32,
    /// RMS of the heading-relative keypoint error against the reference, m.
    pub tracking_rms_m: f32,
    /// Mechanical energy, sum of |tau dq| dt, J.
    pub energy_j: f32,
    /// Horizontal pelvis travel from engagement to the end, m.
    pub drift_m: f32,
    /// Lowest head clearance after engagement, m.
    pub min_head_m: f32,
    /// How long the robot had been upright without a break at the end (pelvis >= 0.65 m above
    /// the terrain, tilt < 20°; checked at every policy step), s; 0 when not upright.
    #[serde(default)]
    pub upright_s: f32,
    /// Body rotation rate at the end, averaged over about 0.2 s of physics steps, rad/s (a robot
    /// that stands but shakes reads high).
    #[serde(default)]
    pub gyro_rad_s: f32,
    /// The robot left the terrain (off its footprint or falling off the world) and the episode
    /// ended there, a failure.
    #[serde(default)]
    pub left_terrain: bool,
    /// The episode began part-way along its demonstration (a training-only reference-state
    /// start), not at its scenario's start.
    #[serde(default)]
    pub reference_start: bool,
    /// When a fall demonstration handed over to a lying recovery (`task.reanchor`), s after
    /// engagement; `None` when it did not.
    #[serde(default)]
    pub handed_over_s: Option<f32>,
    /// How often a lying recovery that ended with the body lying started over
    /// (`task.reanchor.again`).
    #[serde(default)]
    pub restarts: u32,
    /// The lowest any link's origin went, world height in m, from engagement on. On stepping
    /// stones and gaps, whose spawn square, stones and rims lie at 0 and whose pits 1 m down, a
    /// value well below 0 says a limb went into a pit; other kinds have other levels (stairs up
    /// and the bowl of slopes up spawn below 0, stairs down and platforms above). Absent in
    /// evaluations before it existed, which read as 0.
    #[serde(default)]
    pub lowest_link_m: f32,
    /// The same at engagement, before the policy's first action: where the start itself put the
    /// body (a lying start settled over a pit).
    #[serde(default)]
    pub lowest_link_start_m: f32,
    /// Episode return.
    pub reward: f32,
}

/// Running episode statistics.
#[derive(Debug, Clone, Default)]
pub(super) struct Stats {
    pub(super) head_clear: bool,
    pub(super) strikes: u32,
    pub(super) min_head: f32,
    pub(super) lowest_link: f32,
    pub(super) lowest_link_start: f32,
    pub(super) energy: f32,
    pub(super) track_sq: f64,
    pub(super) track_n: f64,
    pub(super) upright_since: Option<f32>,
    pub(super) start_xy: [f32; 2],
    pub(super) reward: f32,
    pub(super) left_terrain: bool,
}

/// A teacher environment.
pub struct TaskEnv {
    pub(super) env: Env,
    pub(super) params: Arc<TeacherParams>,
    pub(super) refs: Arc<ReferenceSet>,
    pub(super) keypoints: KeypointSet,
    pub(super) scan: HeightScan,
    pub(super) layout: ObservationLayout,
    pub(super) default_q: Vec<f32>,
    pub(super) kp: Vec<f32>,
    pub(super) kd: Vec<f32>,
    pub(super) dims: ObsDims,
    pub(super) reference: usize,
    pub(super) difficulty: f32,
    pub(super) history: Vec<f32>,
    pub(super) last_action: Vec<f32>,
    pub(super) prev_dq: Vec<f32>,
    pub(super) foot_links: Vec<usize>,
    pub(super) stats: Stats,
    pub(super) dt: f32,
    pub(super) assist_n: f32,
    pub(super) steps: usize,
    pub(super) torso: usize,
    /// Whether resets may begin part-way along the demonstration (training only).
    pub(super) reference_starts: bool,
    /// Clip time the episode began at, s (0 for a full start).
    pub(super) clip_start_s: f64,
    /// The episode began posed from its demonstration.
    pub(super) posed: bool,
    /// When the tracked reference began, s after engagement (0, or the hand-over's time).
    pub(super) anchor_s: f32,
    /// The hand-over happened at this time since engagement, s.
    pub(super) handed_over_s: Option<f32>,
    /// Lying recoveries started over this episode (`task.reanchor.again`).
    pub(super) restarts: u32,
    /// How long the body has turned slower than `task.reanchor.settled_rad_s`, s.
    pub(super) still_s: f32,
    /// The height scan reads level ground (an evaluation diagnostic; [`TaskEnv::set_flat_scan`]).
    pub(super) flat_scan: bool,
    /// The episode's tile has pits (stepping stones, gaps), the only kinds the `pit` term reads.
    pub(super) pits: bool,
}

/// The observation sizes for `robot` under `params`.
///
/// # Panics
/// If the height-scan parameters were not validated.
#[must_use]
pub fn obs_dims(robot: &Robot, params: &TeacherParams) -> ObsDims {
    let t = &params.raw.task;
    let scan = height_scan(params).len();
    ObsDims {
        reference: reference_obs_len(robot.joints.len()),
        scan,
        proprio: ObservationLayout::g1_proprioception().len(),
        history: t.history,
        extra: 3 + 1 + robot.links.len() + 3,
    }
}

pub(super) fn height_scan(params: &TeacherParams) -> HeightScan {
    let t = &params.raw.task;
    HeightScan::new(HeightScanConfig {
        x_extent_m: t.scan_x_m,
        y_extent_m: t.scan_y_m,
        spacing_m: t.scan_spacing_m,
    })
    .expect("validated height scan")
}

pub(super) fn root_of(base_pos: [f32; 3], q: [f32; 4]) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::new(
            f64::from(base_pos[0]),
            f64::from(base_pos[1]),
            f64::from(base_pos[2]),
        ),
        UnitQuaternion::from_quaternion(Quaternion::new(
            f64::from(q[0]),
            f64::from(q[1]),
            f64::from(q[2]),
            f64::from(q[3]),
        )),
    )
}

impl TaskEnv {
    /// Builds the environment and resets it into `spec`.
    ///
    /// # Errors
    /// Terrain or engine errors.
    ///
    /// # Panics
    /// If the robot lacks the keypoints' links (the shipped G1 has them).
    pub fn new(
        robot: &Robot,
        env_config: &EnvConfig,
        params: Arc<TeacherParams>,
        refs: Arc<ReferenceSet>,
        spec: EpisodeSpec,
    ) -> Result<Self, EnvError> {
        let env = Env::new(robot, env_config, spec)?;
        let dims = obs_dims(robot, &params);
        let scale = params.raw.task.kp_scale;
        let foot_links = robot
            .links
            .iter()
            .enumerate()
            .filter(|(_, l)| l.name.contains("ankle_roll"))
            .map(|(i, _)| i)
            .collect();
        let mut this = Self {
            dt: env_config.physics.dt_s * env_config.decimation as f32,
            keypoints: KeypointSet::new(robot).expect("G1 keypoints"),
            scan: height_scan(&params),
            layout: ObservationLayout::g1_proprioception(),
            default_q: robot.joints.iter().map(|j| j.default as f32).collect(),
            kp: robot.joints.iter().map(|j| j.kp as f32 * scale).collect(),
            kd: robot.joints.iter().map(|j| j.kd as f32 * scale).collect(),
            history: vec![0.0; dims.proprio * dims.history],
            last_action: vec![0.0; robot.joints.len()],
            prev_dq: vec![0.0; robot.joints.len()],
            env,
            params,
            refs,
            dims,
            reference: 0,
            difficulty: 0.0,
            foot_links,
            stats: Stats::default(),
            assist_n: 0.0,
            steps: 0,
            torso: robot.link_index("torso_link").unwrap_or(0),
            reference_starts: false,
            clip_start_s: 0.0,
            posed: false,
            anchor_s: 0.0,
            handed_over_s: None,
            restarts: 0,
            still_s: 0.0,
            flat_scan: false,
            pits: false,
        };
        this.begin(spec);
        Ok(this)
    }

    /// Sets the upward assist on the torso for this episode, as a fraction of the robot's weight
    /// (training only; 0 = none).
    pub fn set_assist(&mut self, fraction: f32) {
        self.assist_n = fraction * self.env.robot().mass() as f32 * 9.81;
    }

    /// A diagnostic for evaluation: the height scan reads level ground, every sample the pelvis's
    /// height above the terrain directly beneath it, whatever the terrain around; the rest of the
    /// observation and the physics are unchanged. It measures how much of a teacher's success
    /// comes from what it sees of the terrain.
    pub fn set_flat_scan(&mut self, on: bool) {
        self.flat_scan = on;
    }

    /// Lets later resets begin part-way along the demonstration for the share of episodes
    /// [`super::curriculum::reference_start`] picks (training; evaluation leaves it off).
    pub fn set_reference_starts(&mut self, on: bool) {
        self.reference_starts = on;
    }

    /// Observation sizes.
    #[must_use]
    pub fn dims(&self) -> ObsDims {
        self.dims
    }

    /// The simulated episode.
    #[must_use]
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The newest proprioceptive frame (what the robot's controller builds from `LowState`).
    #[must_use]
    pub fn newest_proprio(&self) -> &[f32] {
        &self.history[..self.dims.proprio]
    }

    /// Index of the reference this episode tracks.
    #[must_use]
    pub fn reference_index(&self) -> usize {
        self.reference
    }

    /// Starts a new episode.
    ///
    /// # Errors
    /// Terrain or engine errors.
    pub fn reset(&mut self, spec: EpisodeSpec) -> Result<(), EnvError> {
        let phase = if self.reference_starts {
            super::curriculum::reference_start(&self.params, &spec)
        } else {
            None
        };
        let Some(phase) = phase else {
            self.env.reset(spec)?;
            self.posed = false;
            self.clip_start_s = 0.0;
            self.begin(spec);
            return Ok(());
        };
        self.reset_posed_on(
            spec,
            self.refs.index_for_posed(spec.scenario, spec.seed),
            phase,
        )
    }

    /// Starts a new episode of `spec` (its terrain and seed) posed at `phase` (0..1, clamped) of
    /// reference `reference` instead of at the scenario's start: the frame's joints and pelvis
    /// attitude, a yaw from the seed, at rest, just above the terrain; no settling and no push.
    /// The episode tracks that reference from that phase on. Reference-state starts in training
    /// use it, and so does the open-loop check of the demonstrations
    /// ([`super::feasibility`]), which poses every demonstration at chosen phases.
    ///
    /// # Errors
    /// Terrain or engine errors.
    ///
    /// # Panics
    /// If `reference` is not an index of the task's reference set.
    pub fn reset_posed_on(
        &mut self,
        spec: EpisodeSpec,
        reference: usize,
        phase: f64,
    ) -> Result<(), EnvError> {
        let r = &self.refs.references[reference];
        let t0 = phase.clamp(0.0, 1.0) * r.duration_s;
        let frame = r.frame_at(t0);
        let q: Vec<f64> = frame.q.iter().map(|&x| f64::from(x)).collect();
        self.env
            .reset_posed(spec, frame.root_rotation, &q, POSED_DROP_M)?;
        self.posed = true;
        self.clip_start_s = t0;
        self.begin(spec);
        self.reference = reference;
        Ok(())
    }

    fn hold_commands(&self) -> Vec<JointCommand> {
        self.default_q
            .iter()
            .zip(self.kp.iter().zip(&self.kd))
            .map(|(&q, (&kp, &kd))| JointCommand {
                q,
                dq: 0.0,
                kp,
                kd,
                tau_ff: 0.0,
            })
            .collect()
    }

    fn begin(&mut self, spec: EpisodeSpec) {
        // The difficulty of the tile built (a scenario's own terrain replaces the slot's).
        let (kind, difficulty) = spec.scenario.terrain_for(spec.terrain);
        self.difficulty = difficulty;
        self.pits = matches!(kind, TerrainKind::SteppingStones | TerrainKind::Gaps);
        if spec.scenario.is_fall() && !self.posed {
            // Stand and get pushed until the 20° trigger: the policy engages there.
            let hold = self.hold_commands();
            while self.env.trigger_s().is_none() && self.env.episode_s() < MAX_PRE_TRIGGER_S {
                self.env.step(&hold);
            }
        }
        self.reference = match self.params.raw.task.reference_rule {
            ReferenceRule::Scenario => self.refs.index_for(spec.scenario),
            ReferenceRule::Gravity => self
                .refs
                .index_for_gravity(projected_gravity(self.env.state().base_quat)),
        };
        self.anchor_s = 0.0;
        self.handed_over_s = None;
        self.restarts = 0;
        self.still_s = 0.0;
        self.last_action.iter_mut().for_each(|a| *a = 0.0);
        let s = self.env.state();
        self.prev_dq.clone_from(&s.dq);
        let lowest = self
            .link_poses()
            .iter()
            .map(|p| p.translation.z as f32)
            .fold(f32::INFINITY, f32::min);
        self.stats = Stats {
            min_head: f32::INFINITY,
            lowest_link: lowest,
            lowest_link_start: lowest,
            start_xy: [s.base_pos[0], s.base_pos[1]],
            ..Stats::default()
        };
        self.steps = 0;
        let frame = self.proprio_frame();
        for chunk in self.history.chunks_exact_mut(self.dims.proprio) {
            chunk.copy_from_slice(&frame);
        }
    }

    pub(super) fn proprio_frame(&mut self) -> Vec<f32> {
        let s = self.env.sensed();
        let mut out = vec![0.0; self.dims.proprio];
        self.layout.write_proprioception(
            &Proprioception {
                gyro: s.base_gyro,
                quat_wxyz: s.base_quat,
                q: &s.q,
                dq: &s.dq,
                default_q: &self.default_q,
                last_action: &self.last_action,
            },
            &mut out,
        );
        out
    }
}
