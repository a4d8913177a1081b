//! One simulated episode: terrain tile, scenario start, domain randomisation, decimated policy
//! steps, noisy delayed sensors, and the 20° tilt trigger where VIGOR engages.

use std::collections::VecDeque;

use rapier3d::na::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use vigor_common::seed::{SplitMix64, derive};

use crate::engine::{Engine, EngineKind};
use crate::mujoco::MujocoError;
use crate::rapier::{Ground, JointCommand, PhysicsParams, RobotState};
use crate::robot::{Robot, Shape};
use crate::scenario::{Scenario, StartPlan, lying_offset, plan};
use crate::terrain::{Terrain, TerrainError, TerrainKind};

/// Base tilt at which a fall is declared and VIGOR's policy engages, rad (20°).
pub const TRIGGER_TILT_RAD: f32 = 0.349_065_85;

/// Ranges sampled uniformly per episode; `[1, 1]`-style ranges switch a term off.
#[derive(Debug, Clone, PartialEq)]
pub struct Randomisation {
    /// Contact friction coefficient.
    pub friction: [f32; 2],
    /// Contact restitution.
    pub restitution: [f32; 2],
    /// Per-motor strength multiplier (torque limit and output).
    pub motor_strength: [f32; 2],
    /// Per-motor multiplier on the commanded kp and kd.
    pub gain_scale: [f32; 2],
    /// Command latency, physics steps (inclusive range).
    pub latency_steps: [u32; 2],
    /// Probability that one random motor has failed (zero torque) for the episode.
    pub actuator_failure_prob: f32,
    /// Per-link mass and inertia multiplier.
    pub link_mass_scale: [f32; 2],
}

impl Randomisation {
    /// No randomisation at all.
    #[must_use]
    pub fn none() -> Self {
        Self {
            friction: [1.0, 1.0],
            restitution: [0.0, 0.0],
            motor_strength: [1.0, 1.0],
            gain_scale: [1.0, 1.0],
            latency_steps: [0, 0],
            actuator_failure_prob: 0.0,
            link_mass_scale: [1.0, 1.0],
        }
    }
}

/// Standard deviations of sensor noise, and sensor latency.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorNoise {
    /// Joint position noise, rad.
    pub joint_pos_rad: f32,
    /// Joint velocity noise, rad/s.
    pub joint_vel_rad_s: f32,
    /// Gyro noise, rad/s.
    pub gyro_rad_s: f32,
    /// Accelerometer noise, m/s².
    pub accel_m_s2: f32,
    /// Latency of every sensor, physics steps.
    pub latency_steps: u32,
}

impl SensorNoise {
    /// Perfect, immediate sensors.
    #[must_use]
    pub fn none() -> Self {
        Self {
            joint_pos_rad: 0.0,
            joint_vel_rad_s: 0.0,
            gyro_rad_s: 0.0,
            accel_m_s2: 0.0,
            latency_steps: 0,
        }
    }
}

/// Everything an environment needs besides the robot.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvConfig {
    /// Physics engine.
    pub engine: EngineKind,
    /// Physics settings.
    pub physics: PhysicsParams,
    /// Physics steps per policy step.
    pub decimation: u32,
    /// Terrain tile size, m.
    pub tile_size_m: f32,
    /// Terrain resolution, m.
    pub cell_m: f32,
    /// Episode randomisation.
    pub randomisation: Randomisation,
    /// Sensor noise and latency.
    pub noise: SensorNoise,
    /// Settled lying starts kept for reuse per scenario on flat ground, and per scenario, terrain
    /// kind and difficulty elsewhere, where each entry is a tile of its own
    /// ([`crate::start_pool`]); 0 settles every lying start afresh on a tile of its own.
    pub start_pool: usize,
    /// Range of the fall starts' pushes, N ([`crate::scenario::PROTOCOL_PUSH_N`] unless a
    /// training configuration widens it).
    pub push_force_n: [f32; 2],
    /// Where the plain lying starts (supine, prone, side, sitting) lie: a range of distances from
    /// the tile centre along the tile's axes, m ([`crate::scenario::lying_offset`]; `[0, 0]`: at
    /// the centre, on the level spawn square that every terrain kind but rough ground keeps
    /// clear). Out at [`crate::scenario::PROTOCOL_LYING_OFFSET_M`] the body lies on the slope,
    /// the steps, the stones or across a trench instead. The place comes from a stream of the
    /// episode seed of its own (of the pool's tile seed for a pooled start on terrain), so every
    /// other draw of the episode is the same at any range.
    pub lying_offset_m: [f32; 2],
}

impl Default for EnvConfig {
    fn default() -> Self {
        Self {
            engine: EngineKind::Rapier,
            physics: PhysicsParams::default(),
            decimation: 10,
            tile_size_m: 5.0,
            cell_m: 0.05,
            randomisation: Randomisation::none(),
            noise: SensorNoise::none(),
            start_pool: 0,
            push_force_n: crate::scenario::PROTOCOL_PUSH_N,
            lying_offset_m: [0.0, 0.0],
        }
    }
}

/// What an episode is: scenario, terrain and seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeSpec {
    /// The start.
    pub scenario: Scenario,
    /// Terrain kind and difficulty. A scenario with its own terrain keeps its kind and takes
    /// this difficulty only when this is of that kind ([`Scenario::terrain_for`]).
    pub terrain: (TerrainKind, f32),
    /// Episode seed.
    pub seed: u64,
}

/// Why an environment could not be built or reset.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// Invalid terrain parameters.
    #[error(transparent)]
    Terrain(#[from] TerrainError),
    /// The MuJoCo engine could not build the robot.
    #[error(transparent)]
    Engine(#[from] MujocoError),
}

/// One environment.
pub struct Env {
    robot: Robot,
    config: EnvConfig,
    sim: Engine,
    /// `sim` was built on flat ground.
    flat: bool,
    terrain: Terrain,
    spec: EpisodeSpec,
    start: StartPlan,
    rng: SplitMix64,
    episode_s: f32,
    /// Body rotation rate, averaged over about [`GYRO_MEAN_S`], rad/s.
    gyro_mean: f32,
    trigger_s: Option<f32>,
    pushed: bool,
    gain_scale: Vec<f32>,
    command_queue: VecDeque<Vec<JointCommand>>,
    latency: usize,
    sensor_queue: VecDeque<RobotState>,
}

fn gaussian(rng: &mut SplitMix64) -> f32 {
    // Box-Muller from two uniforms in (0, 1].
    let u1 = 1.0 - rng.next_f32();
    let u2 = rng.next_f32();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

fn uniform(rng: &mut SplitMix64, range: [f32; 2]) -> f32 {
    if range[1] > range[0] {
        rng.uniform(range[0], range[1])
    } else {
        range[0]
    }
}

/// Time constant of [`Env::gyro_mean_rad_s`], s.
pub const GYRO_MEAN_S: f32 = 0.2;

/// Tilt of a w x y z quaternion from upright, rad.
#[must_use]
pub fn tilt_rad(quat_wxyz: [f32; 4]) -> f32 {
    let [_, x, y, _] = quat_wxyz;
    (1.0 - 2.0 * (x * x + y * y)).clamp(-1.0, 1.0).acos()
}

impl Env {
    /// Builds the environment and resets it into `spec`.
    ///
    /// # Errors
    /// Invalid terrain parameters.
    pub fn new(robot: &Robot, config: &EnvConfig, spec: EpisodeSpec) -> Result<Self, EnvError> {
        let terrain =
            Terrain::single(TerrainKind::Flat, 0.0, 0, config.tile_size_m, config.cell_m)?;
        let sim = Engine::new(config.engine, robot, &Ground::Flat, &config.physics)?;
        let mut env = Self {
            robot: robot.clone(),
            config: config.clone(),
            sim,
            flat: true,
            terrain,
            spec,
            start: plan(
                spec.scenario,
                robot,
                &mut SplitMix64::new(0),
                config.push_force_n,
            ),
            rng: SplitMix64::new(0),
            episode_s: 0.0,
            gyro_mean: 0.0,
            trigger_s: None,
            pushed: false,
            gain_scale: vec![1.0; robot.joints.len()],
            command_queue: VecDeque::new(),
            latency: 0,
            sensor_queue: VecDeque::new(),
        };
        env.reset(spec)?;
        Ok(env)
    }

    /// Starts a new episode.
    ///
    /// # Errors
    /// Invalid terrain parameters.
    pub fn reset(&mut self, spec: EpisodeSpec) -> Result<(), EnvError> {
        let mut root = self.prepare(spec, true)?;
        // Lying starts settle under damping alone (Unitree's passive state: kp 0, kd 3).
        let damping = vec![
            JointCommand {
                kd: 3.0,
                ..JointCommand::default()
            };
            self.robot.joints.len()
        ];
        let settle_steps = (self.start.settle_s / self.sim.dt_s()).round() as usize;
        if settle_steps > 0 && self.flat && self.config.start_pool > 0 {
            // A settled start from the pool, at this start's place and a yaw of its own.
            let index = crate::start_pool::index(spec.seed, self.config.start_pool);
            let settled =
                crate::start_pool::settled(&self.robot, &self.config, spec.scenario, index)?;
            let yaw = f64::from(self.rng.uniform(-1.0, 1.0)) * std::f64::consts::PI;
            let placed = settled.placed([root.translation.x, root.translation.y], yaw);
            self.sim.reset(&placed, &settled.q);
            self.sim.set_commands(&damping);
        } else if let Some(index) = self.pooled_tile(spec) {
            // The pool's tile (which `prepare` built) and the start settled on it.
            let settled = crate::start_pool::settled_on_tile(
                &self.robot,
                &self.config,
                spec.scenario,
                spec.scenario.terrain_for(spec.terrain),
                index,
            )?;
            self.sim.reset(&settled.root, &settled.q);
            self.sim.set_commands(&damping);
        } else {
            root.translation.z = self.drop_height(&root, &self.start.q) + self.start.drop_m;
            self.sim.reset(&root, &self.start.q);
            if settle_steps > 0 {
                self.sim.set_commands(&damping);
                for _ in 0..settle_steps {
                    self.sim.step();
                }
            }
        }
        Ok(())
    }

    /// Starts a new episode of `spec` (terrain, randomisation and start place as
    /// [`Env::reset`]) with the robot in a given pose instead of the scenario's start: the
    /// pelvis turned by `rotation` and then by a yaw drawn from the episode's seed, joints at `q`,
    /// at rest, with its lowest point `drop_m` above the terrain; no settling and no push. For
    /// starts part-way along a demonstration (reference-state initialisation).
    ///
    /// # Errors
    /// Invalid terrain parameters.
    ///
    /// # Panics
    /// If `q` does not have one entry per joint.
    pub fn reset_posed(
        &mut self,
        spec: EpisodeSpec,
        rotation: UnitQuaternion<f64>,
        q: &[f64],
        drop_m: f64,
    ) -> Result<(), EnvError> {
        assert_eq!(q.len(), self.robot.joints.len(), "one angle per joint");
        let start = self.prepare(spec, false)?;
        let yaw = f64::from(self.rng.uniform(-1.0, 1.0)) * std::f64::consts::PI;
        let turned = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw) * rotation;
        let mut root = Isometry3::from_parts(start.translation, turned);
        root.translation.z = self.drop_height(&root, q) + drop_m;
        self.sim.reset(&root, q);
        self.start.push = None;
        self.start.settle_s = 0.0;
        self.start.drop_m = drop_m;
        self.start.root = root;
        self.start.q = q.to_vec();
        Ok(())
    }

    /// The pool entry ([`crate::start_pool`]) of a start that settles on terrain other than flat
    /// ground, or `None`: no pool, flat ground (pooled without tiles) or a fall (no settle).
    fn pooled_tile(&self, spec: EpisodeSpec) -> Option<u64> {
        let (kind, _) = spec.scenario.terrain_for(spec.terrain);
        (self.config.start_pool > 0 && !spec.scenario.is_fall() && kind != TerrainKind::Flat)
            .then(|| crate::start_pool::index(spec.seed, self.config.start_pool))
    }

    /// Everything a reset does before the robot is placed: the terrain tile, the engine, the
    /// randomisation, the scenario's start plan and the episode clocks. Returns the start's root
    /// moved to the tile's centre. With `pooled`, a start the pool keeps tiles for plays on its
    /// entry's tile, at its entry's place ([`crate::start_pool::tile_seed`] in place of the
    /// episode's seed for both); every other draw stays the episode's own.
    fn prepare(&mut self, spec: EpisodeSpec, pooled: bool) -> Result<Isometry3<f64>, EnvError> {
        self.spec = spec;
        self.rng = SplitMix64::new(derive(spec.seed, "episode", 0));
        let (kind, difficulty) = spec.scenario.terrain_for(spec.terrain);
        let place_seed = match self.pooled_tile(spec) {
            Some(index) if pooled => crate::start_pool::tile_seed((kind, difficulty), index),
            _ => spec.seed,
        };
        let terrain_seed = derive(place_seed, "terrain", 0);
        self.terrain = Terrain::single(
            kind,
            difficulty,
            terrain_seed,
            self.config.tile_size_m,
            self.config.cell_m,
        )?;
        let flat = kind == TerrainKind::Flat;
        // On flat ground a MuJoCo engine is returned to its as-built state instead of compiled
        // again (the same trajectories: `a_renewed_flat_engine_runs_as_a_new_one`).
        let renewed = flat && self.flat && self.sim.renew_flat(&self.config.physics);
        if !renewed {
            let ground = if flat {
                Ground::Flat
            } else {
                Ground::Field(self.terrain.field().clone())
            };
            self.sim = Engine::new(
                self.config.engine,
                &self.robot,
                &ground,
                &self.config.physics,
            )?;
        }
        self.flat = flat;
        self.randomise();
        self.start = plan(
            spec.scenario,
            &self.robot,
            &mut self.rng,
            self.config.push_force_n,
        );
        let centre = self
            .terrain
            .tiles()
            .first()
            .map_or([0.0, 0.0], |t| t.centre_xy);
        let mut root = self.start.root;
        let [dx, dy] = lying_offset(spec.scenario, place_seed, self.config.lying_offset_m);
        root.translation.x += f64::from(centre[0] + dx);
        root.translation.y += f64::from(centre[1] + dy);
        self.command_queue.clear();
        self.sensor_queue.clear();
        self.episode_s = 0.0;
        self.gyro_mean = 0.0;
        self.trigger_s = None;
        self.pushed = false;
        Ok(root)
    }

    fn randomise(&mut self) {
        let r = self.config.randomisation.clone();
        self.sim.set_friction(uniform(&mut self.rng, r.friction));
        self.sim
            .set_restitution(uniform(&mut self.rng, r.restitution));
        for j in 0..self.robot.joints.len() {
            let strength = uniform(&mut self.rng, r.motor_strength);
            self.sim.set_motor_strength(j, strength);
            self.gain_scale[j] = uniform(&mut self.rng, r.gain_scale);
        }
        for link in 0..self.robot.links.len() {
            let scale = uniform(&mut self.rng, r.link_mass_scale);
            if scale != 1.0 {
                self.sim.set_link_mass_scale(link, scale);
            }
        }
        if self.rng.next_f32() < r.actuator_failure_prob {
            let j = (self.rng.next_u64() % self.robot.joints.len() as u64) as usize;
            self.sim.set_motor_strength(j, 0.0);
        }
        let [lo, hi] = r.latency_steps;
        self.latency = if hi > lo {
            (lo + (self.rng.next_u64() % u64::from(hi - lo + 1)) as u32) as usize
        } else {
            lo as usize
        };
    }

    /// Root height that puts the robot's lowest point exactly on the terrain under it.
    fn drop_height(&self, root: &Isometry3<f64>, q: &[f64]) -> f64 {
        let at_zero = Isometry3::from_parts(
            Translation3::new(root.translation.x, root.translation.y, 0.0),
            root.rotation,
        );
        let poses = self.robot.forward_kinematics(&at_zero, q);
        let mut lift = f64::NEG_INFINITY;
        let mut need = |p: Point3<f64>, radius: f64| {
            let ground = f64::from(self.terrain.height(p.x as f32, p.y as f32));
            lift = lift.max(ground + radius - p.z);
        };
        for (link, pose) in self.robot.links.iter().zip(&poses) {
            for c in &link.colliders {
                match &c.shape {
                    Shape::Capsule { a, b, radius } => {
                        for k in 0..=4 {
                            let t = f64::from(k) / 4.0;
                            need(pose * (a + (b - a) * t), *radius);
                        }
                    }
                    Shape::Sphere { centre, radius } => need(pose * centre, *radius),
                    Shape::Cuboid {
                        centre,
                        half_extents: h,
                    } => {
                        for s in 0..8u8 {
                            let pick = |bit: u8, e: f64| if s & bit == 0 { -e } else { e };
                            need(
                                pose * (centre
                                    + Vector3::new(pick(1, h.x), pick(2, h.y), pick(4, h.z))),
                                0.0,
                            );
                        }
                    }
                }
            }
        }
        lift
    }

    /// One policy step: `commands` (one per joint) go through gain randomisation and command
    /// latency to the motors for `decimation` physics steps; pushes and the tilt trigger run.
    ///
    /// # Panics
    /// If `commands` does not have one entry per joint.
    pub fn step(&mut self, commands: &[JointCommand]) {
        let scaled: Vec<JointCommand> = commands
            .iter()
            .zip(&self.gain_scale)
            .map(|(c, s)| JointCommand {
                kp: c.kp * s,
                kd: c.kd * s,
                ..*c
            })
            .collect();
        for _ in 0..self.config.decimation {
            self.command_queue.push_back(scaled.clone());
            while self.command_queue.len() > self.latency + 1 {
                self.command_queue.pop_front();
            }
            if let Some(cmd) = self.command_queue.front() {
                self.sim.set_commands(cmd);
            }
            if let Some(p) = self.start.push
                && !self.pushed
                && self.episode_s >= p.at_s
            {
                self.sim.push(p.link, p.force_n, p.duration_s);
                self.pushed = true;
            }
            self.sim.step();
            self.episode_s += self.sim.dt_s();
            let state = self.sim.state();
            let g = state.base_gyro;
            let rate = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
            self.gyro_mean += (rate - self.gyro_mean) * (self.sim.dt_s() / GYRO_MEAN_S).min(1.0);
            if self.trigger_s.is_none() && tilt_rad(state.base_quat) > TRIGGER_TILT_RAD {
                self.trigger_s = Some(self.episode_s);
            }
            self.sensor_queue.push_back(state);
            while self.sensor_queue.len() > self.config.noise.latency_steps as usize + 1 {
                self.sensor_queue.pop_front();
            }
        }
    }

    /// Applies a constant world-frame `force_n` to link `link` for `duration_s` from the next
    /// physics step (training aids such as an assisting lift; scenario pushes run by themselves).
    pub fn apply_force(&mut self, link: usize, force_n: [f32; 3], duration_s: f32) {
        self.sim.push(link, force_n, duration_s);
    }

    /// The true state now.
    #[must_use]
    pub fn state(&self) -> RobotState {
        self.sim.state()
    }

    /// What the sensors report: the state `latency_steps` ago with noise added.
    #[must_use]
    pub fn sensed(&mut self) -> RobotState {
        let mut s = self
            .sensor_queue
            .front()
            .cloned()
            .unwrap_or_else(|| self.sim.state());
        let n = self.config.noise.clone();
        for q in &mut s.q {
            *q += n.joint_pos_rad * gaussian(&mut self.rng);
        }
        for dq in &mut s.dq {
            *dq += n.joint_vel_rad_s * gaussian(&mut self.rng);
        }
        for g in &mut s.base_gyro {
            *g += n.gyro_rad_s * gaussian(&mut self.rng);
        }
        for a in &mut s.base_accel {
            *a += n.accel_m_s2 * gaussian(&mut self.rng);
        }
        s
    }

    /// The body's rotation rate (gyro magnitude) averaged over about the last [`GYRO_MEAN_S`]
    /// of physics steps, rad/s: a robot that stands but shakes reads high.
    #[must_use]
    pub fn gyro_mean_rad_s(&self) -> f32 {
        self.gyro_mean
    }

    /// Episode time since the start (after settling), s.
    #[must_use]
    pub fn episode_s(&self) -> f32 {
        self.episode_s
    }

    /// When the base tilt first exceeded 20° this episode, s.
    #[must_use]
    pub fn trigger_s(&self) -> Option<f32> {
        self.trigger_s
    }

    /// The episode's start plan.
    #[must_use]
    pub fn start(&self) -> &StartPlan {
        &self.start
    }

    /// The episode spec.
    #[must_use]
    pub fn spec(&self) -> EpisodeSpec {
        self.spec
    }

    /// The terrain of this episode.
    #[must_use]
    pub fn terrain(&self) -> &Terrain {
        &self.terrain
    }

    /// The physics simulation.
    #[must_use]
    pub fn sim(&self) -> &Engine {
        &self.sim
    }

    /// The robot.
    #[must_use]
    pub fn robot(&self) -> &Robot {
        &self.robot
    }

    /// The episode's physics and terrain as they are now, for a process that runs the episode on
    /// by itself (`vigor sim-robot` resets into an evaluation's episode this way). Gain
    /// randomisation and command latency stay behind: they live in the environment's step.
    #[must_use]
    pub fn into_parts(self) -> (Engine, Terrain) {
        (self.sim, self.terrain)
    }
}
