//! `configs/sim.toml`: simulator rates, seed and vectorisation.

use serde::Deserialize;
use vigor_common::config::{self, ConfigError, Validate};

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
        Ok(SimParams {
            physics_dt_s: 1.0 / f64::from(self.physics_rate_hz),
            policy_dt_s: 1.0 / f64::from(self.policy_rate_hz),
            decimation: self.physics_rate_hz / self.policy_rate_hz,
            seed: self.seed,
            num_envs: self.num_envs as usize,
            threads: self.threads as usize,
        })
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
