//! `configs/sim.toml`: simulator rates, seed and vectorisation.

use serde::Deserialize;
use vigor_common::config::{self, ConfigError, Validate};

use crate::engine::EngineKind;
use crate::env::{EnvConfig, Randomisation, SensorNoise};
use crate::rapier::PhysicsParams;
use crate::sensors::{DepthCamera, DepthCameraConfig, HeightScan, HeightScanConfig, SensorError};

/// The shipped configuration, embedded so every binary runs without files.
pub const DEFAULT_TOML: &str = include_str!("../../configs/sim.toml");

/// What `configs/sim.toml` says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Physics steps per second, Hz. Range 200..=2000; shipped 500 (fall recovery needs at least
    /// that: contacts at impact are stiff).
    pub physics_rate_hz: u32,
    /// Policy steps per second, Hz. Range 10..=100, must divide `physics_rate_hz`; shipped 50
    /// (VIGOR's policy rate).
    pub policy_rate_hz: u32,
    /// Run seed from which every random stream is derived. Any u64; shipped 0.
    pub seed: u64,
    /// Parallel environments in the vectorised simulator. Range 1..=65536; shipped 64.
    pub num_envs: u32,
    /// Worker threads; 0 = one per core. Range 0..=1024; shipped 0. Results do not depend on it.
    pub threads: u32,
    /// Rapier solver and contacts.
    pub physics: PhysicsSection,
    /// Terrain tiles of the episodes.
    pub terrain: TerrainSection,
    /// Per-episode domain randomisation.
    pub randomisation: RandomisationSection,
    /// Sensor noise and latency.
    pub sensors: SensorSection,
}

/// `[physics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhysicsSection {
    /// Physics engine: `rapier` or `mujoco`; shipped `rapier`. Flags (`--engine`) override it.
    pub engine: EngineKind,
    /// Constraint solver iterations per step. Range 1..=16; shipped 2 (fewer is faster: see
    /// `vigor bench sim --solver-iterations`).
    pub solver_iterations: u32,
    /// Robot links collide with each other (parent-child pairs never do). Shipped false.
    pub self_collision: bool,
}

/// `[terrain]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerrainSection {
    /// Tile edge length, m. Range 3..=20; shipped 5.
    pub tile_size_m: f32,
    /// Height-field resolution, m. Range 0.02..=0.2; shipped 0.05.
    pub cell_m: f32,
}

/// `[randomisation]`: each `[lo, hi]` is sampled uniformly per episode; `lo = hi` fixes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomisationSection {
    /// Contact friction coefficient, within 0..=3; shipped [0.5, 1.25].
    pub friction: [f32; 2],
    /// Contact restitution, within 0..=1; shipped [0, 0.1].
    pub restitution: [f32; 2],
    /// Motor strength multiplier per motor, within 0..=2; shipped [0.9, 1.1].
    pub motor_strength: [f32; 2],
    /// PD gain multiplier per motor, within 0..=2; shipped [0.9, 1.1].
    pub gain_scale: [f32; 2],
    /// Command latency, physics steps, within 0..=50; shipped [0, 5] (0-10 ms at 500 Hz).
    pub latency_steps: [u32; 2],
    /// Probability that one random motor fails (no torque) for the episode, 0..=1; shipped 0.05.
    pub actuator_failure_prob: f32,
    /// Per-link mass and inertia multiplier, within 0.5..=1.5; shipped [0.9, 1.1].
    pub link_mass_scale: [f32; 2],
}

/// `[sensors]`: Gaussian noise standard deviations and latency.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorSection {
    /// Joint position noise, rad, 0..=0.5; shipped 0.01.
    pub joint_pos_rad: f32,
    /// Joint velocity noise, rad/s, 0..=5; shipped 0.15.
    pub joint_vel_rad_s: f32,
    /// Gyro noise, rad/s, 0..=2; shipped 0.05.
    pub gyro_rad_s: f32,
    /// Accelerometer noise, m/s², 0..=5; shipped 0.1.
    pub accel_m_s2: f32,
    /// Sensor latency, physics steps, 0..=50; shipped 1.
    pub latency_steps: u32,
    /// `[sensors.depth]`: the head depth camera (ranges in [`DepthCameraConfig`]).
    pub depth: DepthCameraConfig,
    /// `[sensors.height_scan]`: the teacher's height-scan grid (ranges in [`HeightScanConfig`]).
    pub height_scan: HeightScanConfig,
}

/// Checked simulator parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SimParams {
    /// Physics step, s.
    pub physics_dt_s: f64,
    /// Policy step, s.
    pub policy_dt_s: f64,
    /// Physics steps per policy step.
    pub decimation: u32,
    /// Run seed.
    pub seed: u64,
    /// Parallel environments.
    pub num_envs: usize,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Everything an environment needs (physics, decimation, terrain, randomisation, noise).
    pub env: EnvConfig,
    /// The head depth camera (checked).
    pub depth: DepthCameraConfig,
    /// The height-scan grid (checked).
    pub height_scan: HeightScanConfig,
}

/// A sensor's own range check, reported against the file and the dotted key.
fn sensor_check(
    file: &str,
    section: &str,
    result: Result<(), SensorError>,
) -> Result<(), ConfigError> {
    result.map_err(|e| match e {
        SensorError::InvalidParameter {
            name,
            value,
            allowed,
        } => ConfigError::OutOfRange {
            file: file.to_owned(),
            key: format!("{section}.{name}"),
            value,
            allowed,
        },
    })
}

impl Validate for SimConfig {
    type Checked = SimParams;

    fn validate(&self, file: &str) -> Result<SimParams, ConfigError> {
        config::check_range(file, "physics_rate_hz", self.physics_rate_hz, 200, 2000)?;
        config::check_range(file, "policy_rate_hz", self.policy_rate_hz, 10, 100)?;
        if !self.physics_rate_hz.is_multiple_of(self.policy_rate_hz) {
            return Err(config::inconsistent(
                file,
                "policy_rate_hz",
                format!(
                    "{} Hz does not divide physics_rate_hz = {} Hz (the policy acts every N physics steps)",
                    self.policy_rate_hz, self.physics_rate_hz
                ),
            ));
        }
        config::check_range(file, "num_envs", self.num_envs, 1, 65_536)?;
        config::check_range(file, "threads", self.threads, 0, 1024)?;
        config::check_range(
            file,
            "physics.solver_iterations",
            self.physics.solver_iterations,
            1,
            16,
        )?;
        config::check_range(
            file,
            "terrain.tile_size_m",
            self.terrain.tile_size_m,
            3.0,
            20.0,
        )?;
        config::check_range(file, "terrain.cell_m", self.terrain.cell_m, 0.02, 0.2)?;
        let r = &self.randomisation;
        for (key, [lo, hi], max) in [
            ("randomisation.friction", r.friction, 3.0),
            ("randomisation.restitution", r.restitution, 1.0),
            ("randomisation.motor_strength", r.motor_strength, 2.0),
            ("randomisation.gain_scale", r.gain_scale, 2.0),
        ] {
            check_pair(file, key, lo, hi, max)?;
        }
        check_pair(
            file,
            "randomisation.latency_steps",
            r.latency_steps[0] as f32,
            r.latency_steps[1] as f32,
            50.0,
        )?;
        config::check_range(
            file,
            "randomisation.actuator_failure_prob",
            r.actuator_failure_prob,
            0.0,
            1.0,
        )?;
        let [m_lo, m_hi] = r.link_mass_scale;
        config::check_range(file, "randomisation.link_mass_scale", m_lo, 0.5, 1.5)?;
        config::check_range(file, "randomisation.link_mass_scale", m_hi, m_lo, 1.5)?;
        let n = &self.sensors;
        config::check_range(file, "sensors.joint_pos_rad", n.joint_pos_rad, 0.0, 0.5)?;
        config::check_range(file, "sensors.joint_vel_rad_s", n.joint_vel_rad_s, 0.0, 5.0)?;
        config::check_range(file, "sensors.gyro_rad_s", n.gyro_rad_s, 0.0, 2.0)?;
        config::check_range(file, "sensors.accel_m_s2", n.accel_m_s2, 0.0, 5.0)?;
        config::check_range(file, "sensors.latency_steps", n.latency_steps, 0, 50)?;
        sensor_check(file, "sensors.depth", DepthCamera::new(n.depth).map(|_| ()))?;
        sensor_check(
            file,
            "sensors.height_scan",
            HeightScan::new(n.height_scan).map(|_| ()),
        )?;
        let decimation = self.physics_rate_hz / self.policy_rate_hz;
        let env = EnvConfig {
            engine: self.physics.engine,
            physics: PhysicsParams {
                dt_s: 1.0 / self.physics_rate_hz as f32,
                solver_iterations: self.physics.solver_iterations as usize,
                self_collision: self.physics.self_collision,
                ..PhysicsParams::default()
            },
            decimation,
            tile_size_m: self.terrain.tile_size_m,
            cell_m: self.terrain.cell_m,
            randomisation: Randomisation {
                friction: r.friction,
                restitution: r.restitution,
                motor_strength: r.motor_strength,
                gain_scale: r.gain_scale,
                latency_steps: r.latency_steps,
                actuator_failure_prob: r.actuator_failure_prob,
                link_mass_scale: r.link_mass_scale,
            },
            noise: SensorNoise {
                joint_pos_rad: n.joint_pos_rad,
                joint_vel_rad_s: n.joint_vel_rad_s,
                gyro_rad_s: n.gyro_rad_s,
                accel_m_s2: n.accel_m_s2,
                latency_steps: n.latency_steps,
            },
            start_pool: 0,
            push_force_n: crate::scenario::PROTOCOL_PUSH_N,
            lying_offset_m: [0.0, 0.0],
        };
        Ok(SimParams {
            physics_dt_s: 1.0 / f64::from(self.physics_rate_hz),
            policy_dt_s: 1.0 / f64::from(self.policy_rate_hz),
            decimation,
            seed: self.seed,
            num_envs: self.num_envs as usize,
            threads: self.threads as usize,
            env,
            depth: n.depth,
            height_scan: n.height_scan,
        })
    }
}

/// Checks `0 <= lo <= hi <= max` for a `[lo, hi]` range.
fn check_pair(file: &str, key: &str, lo: f32, hi: f32, max: f32) -> Result<(), ConfigError> {
    config::check_range(file, key, lo, 0.0, max)?;
    config::check_range(file, key, hi, lo, max)
}

/// Physics rates a run may use, Hz (the range of `physics_rate_hz`).
pub const PHYSICS_RATE_HZ: std::ops::RangeInclusive<u32> = 200..=2000;

impl SimParams {
    /// The physics rate, Hz.
    #[must_use]
    pub fn physics_rate_hz(&self) -> u32 {
        (1.0 / self.physics_dt_s).round() as u32
    }

    /// The same simulator stepping its physics at `hz` instead: the step, the decimation (the
    /// policy rate stays), and the latencies counted in physics steps (command and sensor)
    /// rescaled to keep their duration as nearly as whole steps allow (rounded half up: at
    /// 250 Hz the shipped 1-step sensor latency stays 1 step, 2 ms becoming 4 ms, and the
    /// command's 0-5 steps become 0-3, 0-10 ms becoming 0-12 ms).
    ///
    /// # Errors
    /// `hz` outside [`PHYSICS_RATE_HZ`], or not a multiple of the policy rate; the message names
    /// the allowed values.
    pub fn at_physics_rate(&self, hz: u32) -> Result<Self, String> {
        let policy_hz = (1.0 / self.policy_dt_s).round() as u32;
        if !PHYSICS_RATE_HZ.contains(&hz) || !hz.is_multiple_of(policy_hz) {
            return Err(format!(
                "{hz} Hz: allowed {} ..= {} Hz, a multiple of the {policy_hz} Hz policy rate",
                PHYSICS_RATE_HZ.start(),
                PHYSICS_RATE_HZ.end()
            ));
        }
        let scale = f64::from(hz) / f64::from(self.physics_rate_hz());
        let steps = |n: u32| (f64::from(n) * scale).round() as u32;
        let mut out = self.clone();
        out.physics_dt_s = 1.0 / f64::from(hz);
        out.decimation = hz / policy_hz;
        out.env.physics.dt_s = 1.0 / hz as f32;
        out.env.decimation = out.decimation;
        out.env.randomisation.latency_steps = self.env.randomisation.latency_steps.map(steps);
        out.env.noise.latency_steps = steps(self.env.noise.latency_steps);
        Ok(out)
    }
}

impl SimConfig {
    /// The embedded shipped configuration, checked.
    ///
    /// # Errors
    /// Only if the shipped file is broken (a test guards it).
    pub fn embedded() -> Result<SimParams, ConfigError> {
        let file = "<embedded configs/sim.toml>";
        config::parse::<Self>(DEFAULT_TOML, file)?.validate(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_at_another_physics_rate_keeps_the_policy_rate_and_the_latencies_durations() {
        let p = SimConfig::embedded().unwrap();
        assert_eq!(p.physics_rate_hz(), 500);
        let q = p.at_physics_rate(250).unwrap();
        assert_eq!(q.physics_rate_hz(), 250);
        assert_eq!((q.decimation, q.env.decimation), (5, 5));
        assert!((q.env.physics.dt_s - 0.004).abs() < 1e-9);
        assert!((q.policy_dt_s - p.policy_dt_s).abs() < 1e-12);
        // 0-5 steps at 500 Hz (0-10 ms) are 0-2.5 steps at 250 Hz, rounded.
        assert_eq!(q.env.randomisation.latency_steps, [0, 3]);
        assert_eq!(p.at_physics_rate(1000).unwrap().env.noise.latency_steps, 2);
        assert_eq!(p.at_physics_rate(500).unwrap(), p);
        for bad in [100, 275, 2500] {
            let e = p.at_physics_rate(bad).unwrap_err();
            assert!(e.contains("allowed 200 ..= 2000 Hz"), "{e}");
        }
    }

    #[test]
    fn shipped_config_gives_decimation_10() {
        let p = SimConfig::embedded().unwrap();
        assert_eq!(p.decimation, 10);
        assert!((p.physics_dt_s - 0.002).abs() < 1e-12);
    }

    #[test]
    fn rates_that_do_not_divide_are_rejected_naming_the_key() {
        let text = DEFAULT_TOML.replace("policy_rate_hz = 50", "policy_rate_hz = 30");
        let err = config::parse::<SimConfig>(&text, "sim.toml")
            .unwrap()
            .validate("sim.toml")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("sim.toml: `policy_rate_hz`: 30 Hz does not divide"),
            "{err}"
        );
    }

    #[test]
    fn randomisation_ranges_are_checked() {
        let text = DEFAULT_TOML.replace("friction = [0.5, 1.25]", "friction = [1.25, 0.5]");
        let err = config::parse::<SimConfig>(&text, "sim.toml")
            .unwrap()
            .validate("sim.toml")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "sim.toml: `randomisation.friction` = 0.5 is out of range: allowed 1.25 ..= 3"
        );
        let p = SimConfig::embedded().unwrap();
        assert_eq!(p.env.decimation, 10);
        assert_eq!(p.env.randomisation.latency_steps, [0, 5]);
    }

    #[test]
    fn sensor_sections_are_read_and_checked_naming_the_key() {
        let p = SimConfig::embedded().unwrap();
        assert_eq!(p.depth, DepthCameraConfig::default());
        assert_eq!(p.height_scan, HeightScanConfig::default());
        let text = DEFAULT_TOML.replace("hfov_deg = 87.0", "hfov_deg = 190.0");
        let err = config::parse::<SimConfig>(&text, "sim.toml")
            .unwrap()
            .validate("sim.toml")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("sim.toml: `sensors.depth.hfov_deg` = 190 is out of range"),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_rate_names_range() {
        let text = DEFAULT_TOML.replace("physics_rate_hz = 500", "physics_rate_hz = 100");
        let err = config::parse::<SimConfig>(&text, "sim.toml")
            .unwrap()
            .validate("sim.toml")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "sim.toml: `physics_rate_hz` = 100 is out of range: allowed 200 ..= 2000"
        );
    }
}
