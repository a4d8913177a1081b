//! `configs/sim_robot.toml`: the simulated robot process.

use serde::Deserialize;
use vigor_common::config::{self, ConfigError, Validate, check_range};
use vigor_sim::engine::EngineKind;
use vigor_sim::terrain::TerrainKind;

/// The shipped configuration, embedded.
pub const DEFAULT_TOML: &str = include_str!("../../../configs/sim_robot.toml");

/// What `configs/sim_robot.toml` says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimRobotConfig {
    /// `[physics]`.
    pub physics: PhysicsSection,
    /// `[start]`.
    pub start: StartSection,
    /// `[stream]`.
    pub stream: StreamSection,
    /// `[faults]`.
    pub faults: FaultSection,
}

/// `[physics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhysicsSection {
    /// `rapier` or `mujoco`; shipped `mujoco`.
    pub engine: EngineKind,
}

/// `[start]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSection {
    /// Terrain kind name; shipped `flat`.
    pub terrain: TerrainKind,
    /// Difficulty, 0..=1; shipped 0.
    pub difficulty: f32,
    /// Terrain seed; shipped 0.
    pub seed: u64,
}

/// `[stream]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSection {
    /// LowState rate, Hz, 100..=1000, dividing the physics rate; shipped 500.
    pub lowstate_rate_hz: u32,
    /// Depth rate, Hz, 0 (off) or 1..=90; shipped 30.
    pub depth_rate_hz: u32,
}

/// `[faults]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSection {
    /// Command latency, ms, 0..=100; shipped 0.
    pub command_latency_ms: f32,
    /// State latency, ms, 0..=100; shipped 0.
    pub state_latency_ms: f32,
    /// Loss probability, 0..=0.5; shipped 0.
    pub loss: f32,
    /// Seed of the loss draws; shipped 0.
    pub seed: u64,
}

/// Checked parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRobotParams {
    /// Engine.
    pub engine: EngineKind,
    /// Terrain.
    pub terrain: TerrainKind,
    /// Difficulty.
    pub difficulty: f32,
    /// Terrain seed.
    pub terrain_seed: u64,
    /// LowState rate, Hz.
    pub lowstate_rate_hz: u32,
    /// Depth rate, Hz (0: off).
    pub depth_rate_hz: u32,
    /// Command latency, s.
    pub command_latency_s: f64,
    /// State latency, s.
    pub state_latency_s: f64,
    /// Loss probability.
    pub loss: f32,
    /// Loss seed.
    pub loss_seed: u64,
}

impl SimRobotConfig {
    /// The shipped configuration, checked.
    ///
    /// # Errors
    /// Never for the shipped file (a test guards it).
    pub fn embedded() -> Result<SimRobotParams, ConfigError> {
        let file = "<embedded configs/sim_robot.toml>";
        config::parse::<Self>(DEFAULT_TOML, file)?.validate(file)
    }
}

impl Validate for SimRobotConfig {
    type Checked = SimRobotParams;

    fn validate(&self, file: &str) -> Result<SimRobotParams, ConfigError> {
        let (engine, terrain) = (self.physics.engine, self.start.terrain);
        check_range(file, "start.difficulty", self.start.difficulty, 0.0, 1.0)?;
        check_range(
            file,
            "stream.lowstate_rate_hz",
            self.stream.lowstate_rate_hz,
            100,
            1000,
        )?;
        if self.stream.depth_rate_hz != 0 {
            check_range(
                file,
                "stream.depth_rate_hz",
                self.stream.depth_rate_hz,
                1,
                90,
            )?;
        }
        let f = &self.faults;
        check_range(
            file,
            "faults.command_latency_ms",
            f.command_latency_ms,
            0.0,
            100.0,
        )?;
        check_range(
            file,
            "faults.state_latency_ms",
            f.state_latency_ms,
            0.0,
            100.0,
        )?;
        check_range(file, "faults.loss", f.loss, 0.0, 0.5)?;
        Ok(SimRobotParams {
            engine,
            terrain,
            difficulty: self.start.difficulty,
            terrain_seed: self.start.seed,
            lowstate_rate_hz: self.stream.lowstate_rate_hz,
            depth_rate_hz: self.stream.depth_rate_hz,
            command_latency_s: f64::from(f.command_latency_ms) / 1e3,
            state_latency_s: f64::from(f.state_latency_ms) / 1e3,
            loss: f.loss,
            loss_seed: f.seed,
        })
    }
}
