//! `vigor sim-robot`: the simulated G1 as a process that looks to the network like the real
//! robot. [`SimRobot`] is the logic (no network): it takes `LowCmd` bytes, steps the physics and
//! produces `LowState` frames, depth frames and scenario changes. [`node`] wires it to zenoh in
//! real time.
//!
//! The robot starts standing in a gantry, as a real G1 is brought up: a spring-damper
//! ([`GANTRY_STIFFNESS_N_M`], [`GANTRY_DAMPING_N_S_M`]) holds its torso where it stood, the motors
//! obey `LowCmd` from the first frame, and the gantry is lowered (its force fades linearly over
//! [`GANTRY_LOWER_S`]) once low-level control has held position for [`GANTRY_RELEASE_AFTER_S`]:
//! the first `LowCmd` with a position gain starts that clock. A controller's soft start from the
//! measured pose therefore begins unloaded, as on the real robot, and the stand carries the
//! robot's weight only after it. Resets into a fall scenario put the robot back in the gantry.

pub mod config;
pub mod node;

use std::collections::VecDeque;

use anyhow::{Context, Result};
use rapier3d::na::{Isometry3, Translation3, Vector3};
use vigor_common::seed::{SplitMix64, derive};
use vigor_msgs::project::{DepthData, DepthFrame, Intrinsics, SimRequestKind};
use vigor_msgs::unitree_hg::{LowCmd, LowState, NUM_MOTOR_SLOTS};
use vigor_sim::engine::Engine;
use vigor_sim::env::{Env, EnvConfig, EpisodeSpec, Randomisation, SensorNoise};
use vigor_sim::rapier::{Ground, JointCommand, PhysicsParams};
use vigor_sim::robot::Robot;
use vigor_sim::scenario::{Scenario, plan};
use vigor_sim::sensors::{
    DepthCamera, DepthCameraConfig, LinkPose, RobotGeometry, camera_pose, link_pose_from_rapier,
};
use vigor_sim::terrain::{Terrain, TerrainKind};

pub use config::{SimRobotConfig, SimRobotParams};

/// Gantry spring on the torso, N/m.
pub const GANTRY_STIFFNESS_N_M: f64 = 4000.0;
/// Gantry damping, N·s/m.
pub const GANTRY_DAMPING_N_S_M: f64 = 400.0;
/// Time from the first position command to the start of lowering the gantry, s (longer than the
/// controller's soft start).
pub const GANTRY_RELEASE_AFTER_S: f64 = 3.5;
/// Time over which the gantry's force fades to zero, s.
pub const GANTRY_LOWER_S: f64 = 1.0;

/// Why a `LowCmd` was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Bad length, header, padding or CRC.
    Frame,
    /// The `mode_machine` is not this robot's.
    ModeMachine,
    /// Dropped by the configured message loss.
    Lost,
}

/// Counters, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// LowCmd frames applied.
    pub accepted: u64,
    /// Rejected for a bad frame or CRC.
    pub bad_frames: u64,
    /// Rejected for the wrong `mode_machine`.
    pub wrong_mode_machine: u64,
    /// Dropped by the configured loss (commands and states).
    pub lost: u64,
    /// LowState frames produced.
    pub states: u64,
}

/// The simulated robot.
pub struct SimRobot {
    robot: Robot,
    params: SimRobotParams,
    physics: PhysicsParams,
    /// The in-process evaluation's environment settings (no randomisation, perfect sensors), for
    /// episode resets.
    episode_config: EnvConfig,
    engine: Engine,
    terrain: Terrain,
    camera: Option<DepthCamera>,
    geometry: RobotGeometry,
    depth: Vec<f32>,
    commands: Vec<JointCommand>,
    /// Torso anchor of the gantry (world, m) while it is engaged.
    gantry: Option<[f64; 3]>,
    /// When position control took over (starts the gantry's release clock).
    takeover_s: Option<f64>,
    torso: usize,
    torso_prev: Option<[f64; 3]>,
    pending: VecDeque<(f64, Vec<JointCommand>)>,
    outgoing: VecDeque<(f64, LowState)>,
    rng: SplitMix64,
    time_s: f64,
    tick: u32,
    steps_per_state: u32,
    step_no: u64,
    depth_seq: u64,
    /// Counters.
    pub counters: Counters,
}

fn stand_commands(robot: &Robot) -> Vec<JointCommand> {
    vigor_sim::bench::hold_commands(robot)
}

impl SimRobot {
    /// A standing robot on the configured terrain tile.
    ///
    /// # Errors
    /// Terrain or engine construction failed, or rates that do not fit the physics step.
    pub fn new(robot: Robot, params: SimRobotParams, sim: &vigor_sim::SimParams) -> Result<Self> {
        let physics = sim.env.physics.clone();
        let episode_config = EnvConfig {
            engine: params.engine,
            randomisation: Randomisation::none(),
            noise: SensorNoise::none(),
            // Evaluation never draws from the start pool (a training collector's); neither do
            // the episodes this process resets into.
            start_pool: 0,
            ..sim.env.clone()
        };
        let physics_hz = (1.0 / f64::from(physics.dt_s)).round() as u32;
        anyhow::ensure!(
            physics_hz.is_multiple_of(params.lowstate_rate_hz),
            "stream.lowstate_rate_hz = {} does not divide the physics rate {physics_hz} Hz",
            params.lowstate_rate_hz
        );
        let terrain = Terrain::single(
            params.terrain,
            params.difficulty,
            params.terrain_seed,
            sim.env.tile_size_m,
            sim.env.cell_m,
        )?;
        let ground = if params.terrain == TerrainKind::Flat {
            Ground::Flat
        } else {
            Ground::Field(terrain.field().clone())
        };
        let engine = Engine::new(params.engine, &robot, &ground, &physics)?;
        let camera = (params.depth_rate_hz > 0)
            .then(|| DepthCamera::new(sim.depth))
            .transpose()?;
        let depth = vec![0.0; camera.as_ref().map_or(0, DepthCamera::len)];
        let mut this = Self {
            geometry: RobotGeometry::new(&robot),
            commands: stand_commands(&robot),
            torso: robot.link_index("torso_link").unwrap_or(0),
            torso_prev: None,
            gantry: None,
            takeover_s: None,
            robot,
            steps_per_state: physics_hz / params.lowstate_rate_hz,
            rng: SplitMix64::new(derive(params.loss_seed, "sim-robot-loss", 0)),
            params,
            physics,
            episode_config,
            engine,
            terrain,
            camera,
            depth,
            pending: VecDeque::new(),
            outgoing: VecDeque::new(),
            time_s: 0.0,
            tick: 0,
            step_no: 0,
            depth_seq: 0,
            counters: Counters::default(),
        };
        this.place(Scenario::Push, 0)?;
        Ok(this)
    }

    /// Physics timestep, s.
    #[must_use]
    pub fn dt_s(&self) -> f64 {
        f64::from(self.physics.dt_s)
    }

    /// Simulated time, s.
    #[must_use]
    pub fn time_s(&self) -> f64 {
        self.time_s
    }

    /// How much of the gantry's force is applied now (1 engaged, 0 released).
    #[must_use]
    pub fn gantry_strength(&self) -> f64 {
        if self.gantry.is_none() {
            return 0.0;
        }
        match self.takeover_s {
            None => 1.0,
            Some(t) => {
                let lowering = self.time_s - t - GANTRY_RELEASE_AFTER_S;
                (1.0 - lowering / GANTRY_LOWER_S).clamp(0.0, 1.0)
            }
        }
    }

    /// Whether position control has taken over.
    #[must_use]
    pub fn taken_over(&self) -> bool {
        self.takeover_s.is_some()
    }

    fn torso_pos(&self) -> [f64; 3] {
        let t = self.engine.link_poses()[self.torso].translation;
        [f64::from(t.x), f64::from(t.y), f64::from(t.z)]
    }

    /// Applies the gantry's spring-damper force on the torso for the next step.
    fn gantry_force(&mut self) {
        let strength = self.gantry_strength();
        let Some(anchor) = self.gantry else {
            return;
        };
        if strength <= 0.0 {
            self.gantry = None;
            self.torso_prev = None;
            return;
        }
        let p = self.torso_pos();
        let v = self.torso_prev.map_or([0.0; 3], |q| {
            std::array::from_fn(|i| (p[i] - q[i]) / self.dt_s())
        });
        self.torso_prev = Some(p);
        let f: [f32; 3] = std::array::from_fn(|i| {
            (strength * (GANTRY_STIFFNESS_N_M * (anchor[i] - p[i]) - GANTRY_DAMPING_N_S_M * v[i]))
                as f32
        });
        self.engine.push(self.torso, f, self.physics.dt_s);
    }

    /// The engine.
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Physics steps per depth frame (0: no depth).
    #[must_use]
    pub fn steps_per_depth(&self) -> u64 {
        if self.params.depth_rate_hz == 0 {
            0
        } else {
            ((1.0 / self.dt_s()) / f64::from(self.params.depth_rate_hz)).round() as u64
        }
    }

    /// Places the robot for `scenario` (fall scenarios stand it up without their scripted push;
    /// pushes come as requests) on the current terrain.
    fn place(&mut self, scenario: Scenario, seed: u64) -> Result<()> {
        let mut rng = SplitMix64::new(derive(seed, "sim-robot-reset", 0));
        let start = plan(
            scenario,
            &self.robot,
            &mut rng,
            vigor_sim::scenario::PROTOCOL_PUSH_N,
        );
        let centre = self
            .terrain
            .tiles()
            .first()
            .map_or([0.0, 0.0], |t| t.centre_xy);
        let (x, y) = (
            f64::from(centre[0]) + start.root.translation.x,
            f64::from(centre[1]) + start.root.translation.y,
        );
        let mut root = Isometry3::from_parts(Translation3::new(x, y, 0.0), start.root.rotation);
        let ground = f64::from(self.terrain.height(x as f32, y as f32));
        let low = self.robot.lowest_point_at(&root, &start.q);
        root.translation.vector += Vector3::new(0.0, 0.0, ground - low + start.drop_m);
        self.engine.reset(&root, &start.q);
        self.hand_over(scenario.is_fall());
        let settle = (f64::from(start.settle_s) / self.dt_s()).round() as usize;
        for _ in 0..settle {
            self.engine.step();
        }
        Ok(())
    }

    /// Resets into exactly the episode `vigor eval` runs in-process for `spec`: the environment
    /// builds the terrain tile and the engine, places and settles the start; this process then
    /// runs it on under the commands it receives.
    fn episode(&mut self, spec: EpisodeSpec) -> Result<()> {
        anyhow::ensure!(
            !spec.scenario.is_fall(),
            "episode reset: `{}` is a fall start; reset into `stand` and push instead",
            spec.scenario.name()
        );
        let env = Env::new(&self.robot, &self.episode_config, spec)?;
        let (kind, difficulty) = spec.scenario.terrain_for(spec.terrain);
        let (engine, terrain) = env.into_parts();
        self.params.terrain_seed = terrain.seed();
        self.engine = engine;
        self.terrain = terrain;
        self.params.terrain = kind;
        self.params.difficulty = difficulty;
        self.hand_over(false);
        Ok(())
    }

    /// After a reset: the gantry for a standing start, damping for a lying one (as the simulator
    /// settles lying starts), and no command or state from before the reset.
    fn hand_over(&mut self, standing: bool) {
        self.gantry = standing.then(|| self.torso_pos());
        self.torso_prev = None;
        if self.takeover_s.is_some() {
            self.takeover_s = Some(self.time_s);
        }
        self.commands = if standing {
            stand_commands(&self.robot)
        } else {
            // Lying starts settle under damping, as the simulator's scenarios do.
            vec![
                JointCommand {
                    kd: 3.0,
                    ..JointCommand::default()
                };
                self.robot.joints.len()
            ]
        };
        self.engine.set_commands(&self.commands);
        self.pending.clear();
        self.outgoing.clear();
    }

    fn lost(&mut self) -> bool {
        self.params.loss > 0.0 && self.rng.next_f32() < self.params.loss
    }

    /// Takes a received `LowCmd` frame: checked, then queued for the command latency.
    ///
    /// # Errors
    /// Why it was not applied (also counted).
    pub fn on_lowcmd(&mut self, bytes: &[u8]) -> Result<(), Rejected> {
        let cmd = LowCmd::decode(bytes).map_err(|_| {
            self.counters.bad_frames += 1;
            Rejected::Frame
        })?;
        if cmd.mode_machine != self.robot.mode_machine {
            self.counters.wrong_mode_machine += 1;
            return Err(Rejected::ModeMachine);
        }
        if self.lost() {
            self.counters.lost += 1;
            return Err(Rejected::Lost);
        }
        self.counters.accepted += 1;
        let commands: Vec<JointCommand> = self
            .robot
            .joints
            .iter()
            .map(|j| {
                let m = &cmd.motor_cmd[j.slot.min(NUM_MOTOR_SLOTS - 1)];
                if m.mode == 0 {
                    JointCommand::default()
                } else {
                    JointCommand {
                        q: m.q,
                        dq: m.dq,
                        kp: m.kp,
                        kd: m.kd,
                        tau_ff: m.tau,
                    }
                }
            })
            .collect();
        self.pending
            .push_back((self.time_s + self.params.command_latency_s, commands));
        Ok(())
    }

    /// Handles a request: push, reset into a scenario (or `stand`), or terrain change.
    ///
    /// # Errors
    /// An unknown link, scenario or terrain name, with the choices.
    pub fn request(&mut self, request: &SimRequestKind) -> Result<()> {
        match request {
            SimRequestKind::Push {
                link,
                force_n,
                duration_s,
            } => {
                let i = self
                    .robot
                    .link_index(link)
                    .with_context(|| format!("push: no link `{link}` on {}", self.robot.name))?;
                self.engine.push(i, *force_n, *duration_s);
            }
            SimRequestKind::Reset { scenario, seed } => {
                let s = if scenario == "stand" {
                    Scenario::Push
                } else {
                    Scenario::from_name(scenario)
                        .map_err(|e| anyhow::anyhow!("reset: {e}, or stand"))?
                };
                self.place(s, *seed)?;
            }
            SimRequestKind::Episode {
                scenario,
                terrain,
                difficulty,
                seed,
            } => {
                let spec = EpisodeSpec {
                    scenario: Scenario::from_name(scenario)
                        .map_err(|e| anyhow::anyhow!("episode reset: {e}"))?,
                    terrain: (
                        TerrainKind::from_name(terrain)
                            .map_err(|e| anyhow::anyhow!("episode reset: {e}"))?,
                        *difficulty,
                    ),
                    seed: *seed,
                };
                self.episode(spec)?;
            }
            SimRequestKind::Terrain {
                name,
                difficulty,
                seed,
            } => {
                self.params.terrain = TerrainKind::from_name(name)?;
                self.params.difficulty = *difficulty;
                self.params.terrain_seed = *seed;
                // The new tile takes effect at the next reset (the engine is rebuilt then).
                let physics = self.physics.clone();
                self.terrain = Terrain::single(
                    self.params.terrain,
                    self.params.difficulty,
                    self.params.terrain_seed,
                    self.terrain.tile_size_m(),
                    self.terrain.field().cell_m(),
                )?;
                let ground = if self.params.terrain == TerrainKind::Flat {
                    Ground::Flat
                } else {
                    Ground::Field(self.terrain.field().clone())
                };
                self.engine = Engine::new(self.params.engine, &self.robot, &ground, &physics)?;
                self.place(Scenario::Push, *seed)?;
            }
        }
        Ok(())
    }

    /// One physics step; returns the `LowState` to publish now, if any (rate, latency, loss).
    pub fn step(&mut self) -> Option<LowState> {
        while self
            .pending
            .front()
            .is_some_and(|(due, _)| *due <= self.time_s)
        {
            if let Some((_, c)) = self.pending.pop_front() {
                if self.takeover_s.is_none() && c.iter().any(|j| j.kp > 0.0) {
                    self.takeover_s = Some(self.time_s);
                }
                self.commands = c;
                self.engine.set_commands(&self.commands);
            }
        }
        self.gantry_force();
        self.engine.step();
        self.time_s += self.dt_s();
        self.step_no += 1;
        if self.step_no.is_multiple_of(u64::from(self.steps_per_state)) {
            self.tick = self.tick.wrapping_add(1);
            let state = self.lowstate();
            self.outgoing
                .push_back((self.time_s + self.params.state_latency_s, state));
        }
        let due = self
            .outgoing
            .front()
            .is_some_and(|(due, _)| *due <= self.time_s + 1e-9);
        if !due {
            return None;
        }
        let (_, s) = self.outgoing.pop_front()?;
        if self.lost() {
            self.counters.lost += 1;
            return None;
        }
        self.counters.states += 1;
        Some(s)
    }

    /// The robot's state as the real G1 reports it.
    #[must_use]
    pub fn lowstate(&self) -> LowState {
        let s = self.engine.state();
        let mut out = LowState {
            mode_machine: self.robot.mode_machine,
            tick: self.tick,
            ..LowState::default()
        };
        out.imu_state.quaternion = s.base_quat;
        out.imu_state.gyroscope = s.base_gyro;
        out.imu_state.accelerometer = s.base_accel;
        let [w, x, y, z] = s.base_quat;
        out.imu_state.rpy = [
            (2.0 * (w * x + y * z)).atan2(1.0 - 2.0 * (x * x + y * y)),
            (2.0 * (w * y - z * x)).clamp(-1.0, 1.0).asin(),
            (2.0 * (w * z + x * y)).atan2(1.0 - 2.0 * (y * y + z * z)),
        ];
        out.imu_state.temperature = 38;
        for (i, j) in self.robot.joints.iter().enumerate() {
            let m = &mut out.motor_state[j.slot.min(NUM_MOTOR_SLOTS - 1)];
            m.mode = 1;
            m.q = s.q[i];
            m.dq = s.dq[i];
            m.tau_est = s.tau[i];
            m.temperature = [40, 35];
            m.vol = 52.0;
        }
        out.with_crc()
    }

    /// Renders the head camera's depth frame (terrain and the robot's own body).
    #[must_use]
    pub fn depth_frame(&mut self, stamp_ns: u64) -> Option<DepthFrame> {
        let camera = self.camera.as_ref()?;
        let poses: Vec<LinkPose> = self
            .engine
            .link_poses()
            .iter()
            .map(link_pose_from_rapier)
            .collect();
        let cam = camera_pose(&self.robot, &poses)?;
        camera.render(
            cam,
            Some(&self.terrain),
            Some((&self.geometry, &poses)),
            &mut self.depth,
        );
        let c: &DepthCameraConfig = camera.config();
        let fx = 0.5 * f32::from(c.width_px) / (0.5 * c.hfov_deg.to_radians()).tan();
        let fy = 0.5 * f32::from(c.height_px) / (0.5 * c.vfov_deg.to_radians()).tan();
        let frame = DepthFrame {
            seq: self.depth_seq,
            stamp_ns,
            width: c.width_px,
            height: c.height_px,
            intrinsics: Intrinsics {
                fx_px: fx,
                fy_px: fy,
                cx_px: f32::from(c.width_px) / 2.0,
                cy_px: f32::from(c.height_px) / 2.0,
            },
            depth: DepthData::Millimetres(
                self.depth
                    .iter()
                    .map(|d| {
                        if d.is_finite() {
                            (d * 1000.0).round().clamp(0.0, 65535.0) as u16
                        } else {
                            0
                        }
                    })
                    .collect(),
            ),
        };
        self.depth_seq += 1;
        Some(frame)
    }
}

#[cfg(test)]
mod tests;
