//! `configs/teacher.toml`: the teacher's task, network, PPO, rewards and curriculum, typed and
//! checked (errors name the file, the dotted key and the allowed range).

use serde::{Deserialize, Serialize};
use vigor_common::config::{self, ConfigError, Validate};
use vigor_policy::student::Reanchor;
use vigor_sim::engine::EngineKind;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;

use crate::demos::authored::RECOVERIES;
use crate::rl::PpoConfig;

/// Number of reward terms ([`RewardWeights::weights`]).
pub const REWARD_COUNT: usize = 15;

/// The shipped teacher configuration.
pub const DEFAULT_TOML: &str = include_str!("../../../configs/teacher.toml");
/// The unified teacher's configuration (every start, falls included, on every terrain).
pub const UNIFIED_TOML: &str = include_str!("../../../configs/teacher-unified.toml");

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherConfig {
    /// Name written into artifacts.
    pub name: String,
    /// Run seed: environments, actions, minibatches and weights derive from it.
    pub seed: u64,
    /// Parallel environments (1..=4096).
    pub envs: usize,
    /// Worker threads for the environments, 0 = one per core. Results do not depend on it.
    pub threads: usize,
    /// PPO iterations; each runs every environment through one whole episode (1..=1e6).
    pub iterations: usize,
    /// Checkpoint every this many iterations (1..=1e4).
    pub checkpoint_every: usize,
    /// libtorch intra-op threads (1..=64).
    pub torch_threads: usize,
    /// Simulation.
    pub sim: SimSection,
    /// The task.
    pub task: TaskSection,
    /// Networks.
    pub model: ModelSection,
    /// PPO.
    pub ppo: PpoConfig,
    /// Reward weights.
    pub rewards: RewardWeights,
    /// Curriculum.
    pub curriculum: CurriculumSection,
}

/// `[sim]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSection {
    /// `rapier` or `mujoco`.
    pub engine: EngineKind,
    /// Apply `configs/sim.toml`'s `[randomisation]` (friction, masses, gains, latency, failures).
    pub randomise: bool,
    /// Apply `configs/sim.toml`'s sensor noise and latency.
    pub sensor_noise: bool,
    /// Settled lying starts kept for reuse (0..=4096; 0 settles every start afresh): per
    /// scenario on flat ground, and per scenario, terrain kind and difficulty elsewhere, where each
    /// entry is also a tile of its own, so the settled starts train on this many tiles per kind
    /// and difficulty. See `vigor_sim::start_pool`.
    #[serde(default)]
    pub start_pool: usize,
    /// Physics rate while training, Hz (200..=2000, a multiple of the policy rate). Absent:
    /// `configs/sim.toml`'s (500). Evaluation always runs at `configs/sim.toml`'s rate unless
    /// told otherwise (`vigor eval --physics-hz`), so policies trained at different rates are
    /// judged on the same physics. Students distil at `configs/sim.toml`'s rate whatever rate
    /// their teacher trained at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physics_rate_hz: Option<u32>,
}

/// `[task]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSection {
    /// Starts, drawn uniformly per episode (by scenario name; an unknown one is an error listing
    /// them).
    pub scenarios: Vec<Scenario>,
    /// Episode length after the policy engages, s (1..=30). VIGOR: 7.5.
    pub episode_s: f32,
    /// The reference behaviour is played over this long, s (0.5..=30); the rest is post-stand.
    pub reference_duration_s: f32,
    /// Spacing of the sparse keyframes the policy sees, s of reference time (0.05..=5).
    pub keyframe_spacing_s: f32,
    /// Proprioceptive frames in the actor's history (1..=50).
    pub history: usize,
    /// `default_offset` (q* = default + scale a), `current_delta` (q* = q + scale a, HoST's) or
    /// `reference_residual` (q* = the reference's joints now + scale a).
    pub action_mode: TeacherActionMode,
    /// Action scale, rad (0.01..=2).
    pub action_scale: f32,
    /// Multiplier on the robot description's PD gains (0.1..=5).
    pub kp_scale: f32,
    /// Height scan length along the heading, m (0..=4).
    pub scan_x_m: f32,
    /// Height scan width, m (0..=4).
    pub scan_y_m: f32,
    /// Height scan spacing, m (0.02..=1).
    pub scan_spacing_m: f32,
    /// How an episode's reference demonstration is chosen: `scenario` (by the start's name) or
    /// `gravity` (by the body's gravity direction at engagement, the rule the student's runtime
    /// uses on the robot). Absent in configurations before it existed, which read as `scenario`.
    #[serde(default)]
    pub reference_rule: ReferenceRule,
    /// The demonstrations episodes track (names of `configs/demos/`, mirror images included).
    /// Absent in configurations before the fall demonstrations, which read as the three lying
    /// recoveries (`vigor_training::demos::authored::RECOVERIES`).
    #[serde(default = "default_demos")]
    pub demos: Vec<String>,
    /// Share of training episodes of lying starts that begin part-way along their demonstration
    /// instead of at the scenario's start (0..=1; DeepMimic's reference-state initialisation):
    /// the robot is put in the demonstration's pose at a phase drawn uniformly over the clip, at
    /// rest, and the reference plays on from there. Evaluation never uses them, and the
    /// curriculum and the success metrics count only full starts. Absent in configurations before
    /// it existed, which read as 0.
    #[serde(default)]
    pub reference_start_share: f32,
    /// Share of training episodes of fall starts (pushes) that begin posed along one of the fall
    /// demonstrations instead of being pushed (0..=1): the demonstration is drawn uniformly among
    /// the fall tracks of `task.demos` and the phase over its clip, both from the episode's seed,
    /// the robot at rest in that frame (at phase 0: the 20° tilt the policy engages at), as the
    /// feasibility check poses it. Like `reference_start_share`, practice: evaluation never uses
    /// them and neither the curriculum nor the success metrics count them. Absent in
    /// configurations before it existed, which read as 0.
    #[serde(default)]
    pub fall_reference_start_share: f32,
    /// How far along its fall demonstration a posed fall start may begin, a fraction of the clip
    /// (`0.05..=1`): the phase is drawn uniformly below it. 0.25 poses every one in the landing,
    /// the part the feasibility check finds the teacher missing. Absent in configurations
    /// before it existed, which read as the whole clip (1).
    #[serde(default = "whole_clip", skip_serializing_if = "is_whole_clip")]
    pub fall_reference_phase_max: f32,
    /// Whether a posed fall start hands over to the lying recovery it lands in (`task.reanchor`)
    /// as a pushed body does (true), or tracks its fall demonstration to the end, through the
    /// landing and the demonstration's own route up (false): what the feasibility check
    /// (`vigor demos check`, hand-over off) asks of it. Real pushes hand over either way. Absent
    /// in configurations before it existed, which read as true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub fall_reference_hand_over: bool,
    /// Range of the pushes that topple fall starts in training, N (`50..=2000`, low first; the
    /// PD-held stand before a push tips over by itself, and 50 N for 0.2 s still engages the
    /// policy at the 20° tilt: in the first training iterations with 50-450 N no push episode
    /// succeeded by standing still).
    /// Evaluation and VIGOR's protocol always push with 250-450 N
    /// (`vigor_sim::scenario::PROTOCOL_PUSH_N`); a wider range in training adds gentler falls,
    /// which land more slowly. Absent in configurations before it existed, which read as the
    /// protocol's range.
    #[serde(default = "protocol_push_n")]
    pub push_force_n: [f32; 2],
    /// Where the plain lying starts (supine, prone, side, sitting) lie in training, a distance
    /// range from the tile centre, m (`0..=1.8`, low first; `vigor_sim::env::EnvConfig::lying_offset_m`).
    /// `[0, 0]` (absent in configurations before it existed) lies them at the centre, on the
    /// level spawn square every kind but rough ground keeps; VIGOR's protocol lies them on the
    /// terrain itself (`vigor_sim::scenario::PROTOCOL_LYING_OFFSET_M`, 1.0-1.6 m), and
    /// the student inherits the teacher's range.
    #[serde(default, skip_serializing_if = "at_centre")]
    pub lying_offset_m: [f32; 2],
    /// The hand-over from a fall demonstration to the lying recovery the body ends in
    /// (`vigor_policy::student::Reanchor`: `after_s`, `lying_tilt_rad`, `settled_rad_s`, and
    /// optionally `again` and `sitting_tilt_rad`): once a pushed robot lies still, it tracks the
    /// recovery for how it lies, from the start; with `again = true` a recovery whose clip ended
    /// with the body lying (or, with `sitting_tilt_rad`, sitting still leaning back or sideways)
    /// starts over the same way. The student inherits it and the robot's runtime applies it
    /// alike. Absent (none) in configurations before it existed: a fall demonstration is tracked
    /// to its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reanchor: Option<Reanchor>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(weight: &f32) -> bool {
    *weight == 0.0
}

fn whole_clip() -> f32 {
    1.0
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_whole_clip(phase: &f32) -> bool {
    *phase >= 1.0
}

fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_true(on: &bool) -> bool {
    *on
}

fn protocol_push_n() -> [f32; 2] {
    vigor_sim::scenario::PROTOCOL_PUSH_N
}

/// Whether a lying-start range is the centre's (serialised only when it is not).
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn at_centre(range_m: &[f32; 2]) -> bool {
    *range_m == [0.0, 0.0]
}

fn default_demos() -> Vec<String> {
    RECOVERIES.iter().map(|&s| s.to_owned()).collect()
}

/// How a teacher episode's reference demonstration is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceRule {
    /// By the start's scenario: prone and draped starts track the prone recovery, side starts the
    /// side one, everything else the supine one.
    #[default]
    Scenario,
    /// By the projected gravity at engagement, closest in direction to a demonstration's first
    /// frame (`vigor_policy::student::closest_gravity`), as the deployed student chooses. With
    /// the three lying recoveries a push forward tracks the prone one, backward the supine one,
    /// sideways the side one; with the fall demonstrations each push direction tracks its fall.
    Gravity,
}

/// How the teacher's actions become joint targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeacherActionMode {
    /// `q* = q_default + scale a`.
    DefaultOffset,
    /// `q* = q_measured + scale a` (HoST).
    CurrentDelta,
    /// `q* = q_reference(t) + scale a`: the demonstration's joint trajectory is the feed-forward
    /// and the policy learns the corrections. The student imitates the resulting targets.
    ReferenceResidual,
}

/// `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Size of the goal-in-context latent z (1..=256).
    pub latent: usize,
    /// Hidden layers of g(reference, height scan).
    pub encoder_hidden: Vec<usize>,
    /// Hidden layers of pi(z, proprioception).
    pub actor_hidden: Vec<usize>,
    /// Hidden layers of the critic.
    pub critic_hidden: Vec<usize>,
    /// Initial action standard deviation (0.01..=3).
    pub init_std: f32,
    /// HoST's multi-critic: the reward terms (`[rewards]` names) split into 2..=8 groups, every
    /// term in exactly one; the critic has one value head per group, and each group's advantages
    /// are normalised on their own before they are summed. Empty (and absent in configurations
    /// before it existed): one value over the total reward.
    #[serde(default)]
    pub critic_groups: Vec<Vec<String>>,
}

/// `[rewards]`: weights per second of episode (multiplied by the policy period, as legged_gym
/// does), and the kernels' widths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardWeights {
    /// Root-relative keypoint (and root height) tracking, `exp(-mean err^2 / sigma^2)`. VIGOR 1.25.
    pub body_pos: f32,
    /// Kernel width of body tracking, m.
    pub body_pos_sigma_m: f32,
    /// Joint angle tracking. VIGOR 0.5.
    pub joint_pos: f32,
    /// Kernel width of joint tracking, rad.
    pub joint_pos_sigma_rad: f32,
    /// Sum of squared torques.
    pub torque: f32,
    /// Sum of joint-limit violations beyond 95 % of the range, rad.
    pub joint_limits: f32,
    /// Sum of squared joint velocities.
    pub joint_vel: f32,
    /// Sum of squared joint accelerations.
    pub joint_acc: f32,
    /// Sum of squared action changes.
    pub action_rate: f32,
    /// Links other than the feet touching the ground once the reference stands.
    pub undesired_contacts: f32,
    /// A foot bearing load across a terrain edge. VIGOR -1.0.
    pub terrain_edge: f32,
    /// Post-stand head height, `min(h, 1.2) / 1.2`. VIGOR 0.25.
    pub head_height: f32,
    /// Post-stand squared base velocity.
    pub base_velocity: f32,
    /// Post-stand squared pelvis angular velocity (the gyro's): stillness once standing. Absent
    /// in configurations before it existed, which read as 0.
    #[serde(default)]
    pub base_angular_velocity: f32,
    /// The head within 5 cm of the terrain (after it was clear of it).
    pub head_contact: f32,
    /// Ground force above `impact_force_n` on any link, per `impact_force_n`.
    pub impact: f32,
    /// Threshold of an impact peak, N.
    pub impact_force_n: f32,
    /// Per second, for each link whose origin is down inside a pit of stepping stones or gaps
    /// (the only kinds with pits; their level is 0): more than `PIT_LINK_M` below 0, over ground
    /// halfway down a pit. A limb gone into a pit is where the protocol's starts on these kinds
    /// fail (docs/teacher.md, "Limbs in the pits"). Absent in configurations before it existed,
    /// which read as 0 (off), and left out of files when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pit: f32,
}

/// `[curriculum]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurriculumSection {
    /// Stage 2 starts when the flat-ground success rate of an iteration reaches this (0..=1;
    /// above 1 = never).
    pub stage2_success: f32,
    /// Terrain kinds of stage 2 (by name; an unknown one is an error listing them).
    pub terrains: Vec<TerrainKind>,
    /// Difficulty levels (1..=50); level k has difficulty k / (levels - 1).
    pub levels: usize,
    /// HoST's exploration aid: an upward force on the torso of this fraction of the robot's
    /// weight at the start (0..=1; 0 = none), never applied in evaluation.
    pub assist_start: f32,
    /// The assist is multiplied by this after an iteration whose success rate reaches
    /// `assist_success` (0..=1), and switched off below 2 % of the weight.
    pub assist_decay: f32,
    /// Success rate that lowers the assist (0..=1).
    pub assist_success: f32,
    /// A two-way assist: after an iteration whose success rate is below this (0..=1; 0 = never),
    /// the assist goes back up by one step (divided by `assist_decay`, at most `assist_start`)
    /// instead of staying where a decay left it, while the assist is on (once a decay switches it
    /// off below 2 %, it stays off). Absent in configurations before it existed: 0.
    #[serde(default)]
    pub assist_raise_below: f32,
    /// Eased own terrain: a scenario with its own terrain (legs on a box, draped over a stair, the
    /// pushes toward stairs and off a platform) runs on it at its own difficulty times the slot's
    /// level fraction (level 0: the easiest tile, the top level: its own, as evaluated) instead
    /// of always at its own, so its slot climbs to it. Absent in configurations before it
    /// existed: off.
    #[serde(default)]
    pub ease_own_terrain: bool,
    /// Full-range draws (0..=1): in stage 2 this share of the episodes on a slot's terrain draws
    /// its difficulty uniformly over the whole range, as the protocol does, instead of playing at
    /// the slot's level; those episodes do not move the level. The draw depends on the episode's
    /// seed only. Absent in configurations before it existed: 0 (every episode at its level).
    #[serde(default)]
    pub full_range_share: f32,
    /// Kinds whose slots draw every episode's difficulty over the whole range (as
    /// `full_range_share` = 1 for them alone), whatever `full_range_share` says for the rest: for
    /// kinds the levels hold near their easiest tile while the protocol meets all of them (stepping
    /// stones and gaps, docs/teacher.md "Limbs in the pits"). Each kind must be one of
    /// `terrains`. Absent in configurations before it existed, and left out of files when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_range_kinds: Vec<TerrainKind>,
    /// Adaptive start sampling: each episode's scenario is drawn with a probability that grows
    /// with how often that scenario has been failing on the slot's terrain kind, instead of
    /// uniformly (docs/teacher.md). Absent in configurations before it existed: off.
    #[serde(default)]
    pub adaptive_starts: bool,
    /// The uniform share of adaptive draws (0..=1): every scenario keeps at least this over the
    /// number of scenarios; the rest goes in proportion to the failure rates.
    #[serde(default = "default_adaptive_floor")]
    pub adaptive_floor: f32,
    /// Weight of one episode in its cell's running failure rate (0.001..=1): a full start's under
    /// adaptive starts, a reference-state start's under adaptive phases.
    #[serde(default = "default_adaptive_rate")]
    pub adaptive_rate: f32,
    /// Adaptive phases (0 = off, else 2..=50 bins): a reference-state start
    /// (`task.reference_start_share`) draws the bin of the clip it begins in with a probability
    /// that grows with how often starts in that bin have been failing on the slot's terrain kind,
    /// with the floor and rate above, instead of uniformly over the clip (docs/teacher.md). Absent
    /// in configurations before it existed: off.
    #[serde(default)]
    pub adaptive_phase_bins: u32,
}

fn default_adaptive_floor() -> f32 {
    0.3
}

fn default_adaptive_rate() -> f32 {
    0.05
}

/// The checked configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherParams {
    /// The file as read.
    pub raw: TeacherConfig,
}

impl TeacherParams {
    /// The physics engine.
    #[must_use]
    pub fn engine(&self) -> EngineKind {
        self.raw.sim.engine
    }

    /// The starts, drawn uniformly per episode.
    #[must_use]
    pub fn scenarios(&self) -> &[Scenario] {
        &self.raw.task.scenarios
    }

    /// The stage-2 terrain kinds.
    #[must_use]
    pub fn terrains(&self) -> &[TerrainKind] {
        &self.raw.curriculum.terrains
    }

    /// The critic's value heads: one per `model.critic_groups` entry, or one.
    #[must_use]
    pub fn value_heads(&self) -> usize {
        self.raw.model.critic_groups.len().max(1)
    }

    /// The value head of each reward term (order of [`super::task::REWARD_TERMS`]): its group in
    /// `model.critic_groups`, or 0 for all with one head and for a term left out of the groups.
    /// Validation guarantees every term that is on (weight not 0) has exactly one group.
    #[must_use]
    pub fn reward_heads(&self) -> [usize; REWARD_COUNT] {
        let mut heads = [0; REWARD_COUNT];
        for (g, group) in self.raw.model.critic_groups.iter().enumerate() {
            for name in group {
                if let Some(k) = super::task::REWARD_TERMS.iter().position(|t| t == name) {
                    heads[k] = g;
                }
            }
        }
        heads
    }
}

impl TeacherConfig {
    /// The embedded shipped configuration, checked.
    ///
    /// # Errors
    /// Only if the shipped file is broken (a test guards it).
    pub fn embedded() -> Result<TeacherParams, ConfigError> {
        let file = "<embedded configs/teacher.toml>";
        config::parse::<Self>(DEFAULT_TOML, file)?.validate(file)
    }
}

impl RewardWeights {
    /// Every weight with its name, in log order.
    #[must_use]
    pub fn weights(&self) -> [(&'static str, f32); REWARD_COUNT] {
        [
            ("body_pos", self.body_pos),
            ("joint_pos", self.joint_pos),
            ("torque", self.torque),
            ("joint_limits", self.joint_limits),
            ("joint_vel", self.joint_vel),
            ("joint_acc", self.joint_acc),
            ("action_rate", self.action_rate),
            ("undesired_contacts", self.undesired_contacts),
            ("terrain_edge", self.terrain_edge),
            ("head_height", self.head_height),
            ("base_velocity", self.base_velocity),
            ("base_angular_velocity", self.base_angular_velocity),
            ("head_contact", self.head_contact),
            ("impact", self.impact),
            ("pit", self.pit),
        ]
    }
}
