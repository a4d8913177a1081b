//! `configs/student.toml`: the distillation run (what the file says, then checked parameters).

use serde::{Deserialize, Serialize};
use vigor_common::config::{self, ConfigError, Validate, check_range};
use vigor_perception::{DepthAugmentConfig, DepthPreprocessConfig};
use vigor_sim::terrain::TerrainKind;

/// Which student.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudentKind {
    /// Depth images plus proprioception (VIGOR's student).
    Depth,
    /// Proprioception only (the paper's blind comparison).
    Blind,
}

/// `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentModel {
    /// Frames of proprioception history for the temporal convolution (8..=100; 16 = 0.32 s).
    pub history: usize,
    /// Channels of the temporal convolutions (1..=256).
    pub tcn_channels: usize,
    /// Features out of the proprioception encoder (1..=512).
    pub tcn_features: usize,
    /// Hidden layers of the latent head.
    pub latent_hidden: Vec<usize>,
    /// Output channels of the three depth convolutions.
    pub depth_channels: [usize; 3],
    /// Features out of the depth encoder (1..=512).
    pub depth_features: usize,
}

/// `[dagger]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaggerSection {
    /// beta (the chance that a step executes the teacher's action) falls linearly from 1 at the
    /// first iteration to 0 after this many (0..=100000; 0 = the student acts from the start).
    pub beta_iterations: usize,
}

/// `[optim]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimSection {
    /// Adam learning rate (1e-6..=1e-1).
    pub learning_rate: f64,
    /// Passes over each iteration's samples (1..=100).
    pub epochs: usize,
    /// Samples per minibatch (16..=65536).
    pub minibatch: usize,
    /// Weight of ||z_hat - z||^2 (0..=100).
    pub latent_weight: f64,
    /// Weight of ||a_student - a_teacher||^2 (0..=100).
    pub action_weight: f64,
    /// Global gradient-norm clip (0 = none; 0..=1000).
    pub max_grad_norm: f64,
    /// Left-right symmetry: each recorded state is also trained on as its mirror image, labelled
    /// by the teacher on its mirrored privileged row (states whose reference tracks have no
    /// mirror partner are not mirrored; [`super::symmetry`]) [false; absent in older
    /// configurations].
    #[serde(default)]
    pub symmetry: bool,
}

/// `[timing]`: when the simulated head camera takes its images and when the student sees them,
/// drawn anew for each training episode. Without the section, images are taken at engagement and
/// every period after, and seen at once (as in evaluation and the probe, always).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraTiming {
    /// Draw the frame clock's phase against engagement uniformly over one frame period: the
    /// robot's camera does not start its frames when a fall engages the policy.
    pub random_phase: bool,
    /// Seconds from an image being taken to the student seeing it, drawn uniformly per episode
    /// in `[low, high]` (each 0..=0.2, low first).
    pub latency_s: [f32; 2],
}

/// `configs/student.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentConfig {
    /// Run name, used in artifact names.
    pub name: String,
    /// `depth` or `blind`.
    pub kind: StudentKind,
    /// Run seed.
    pub seed: u64,
    /// Iterations (1..=1000000).
    pub iterations: usize,
    /// Environments per iteration, each one whole episode (1..=4096).
    pub envs: usize,
    /// Simulation threads (0 = one per core).
    pub threads: usize,
    /// libtorch threads for the supervised update (1..=64); rollouts run the networks on one.
    pub torch_threads: usize,
    /// Checkpoint every this many iterations (1..=10000).
    pub checkpoint_every: usize,
    /// Upward help on the torso during rollouts, fraction of the weight (0..=1): the help the
    /// teacher was trained at, so the teacher's labels come from states it masters.
    pub assist: f32,
    /// Terrain kinds of the training episodes (`flat`, `rough`, `slope_up`, ...), one drawn per
    /// episode; an unknown name is an error listing them.
    pub terrains: Vec<TerrainKind>,
    /// Difficulty of non-flat terrain, drawn uniformly in 0..=this per episode (0..=1).
    pub max_difficulty: f32,
    /// Depth camera rate, Hz (1..=90; the D435i streams at 30); frames are held in between.
    pub depth_rate_hz: f32,
    /// Networks.
    pub model: StudentModel,
    /// Depth preprocessing (travels in the artifact).
    pub depth: DepthPreprocessConfig,
    /// Depth domain randomisation (training only).
    pub augment: DepthAugmentConfig,
    /// Camera timing randomisation (training only).
    #[serde(default)]
    pub timing: CameraTiming,
    /// DAgger schedule.
    pub dagger: DaggerSection,
    /// Optimiser.
    pub optim: OptimSection,
}

/// The shipped configuration.
pub const SHIPPED: &str = include_str!("../../../configs/student.toml");

impl StudentConfig {
    /// beta at (0-based) iteration `it`.
    #[must_use]
    pub fn beta(&self, it: u64) -> f32 {
        let n = self.dagger.beta_iterations as f32;
        if n == 0.0 {
            0.0
        } else {
            (1.0 - it as f32 / n).max(0.0)
        }
    }
}

impl Validate for StudentConfig {
    type Checked = Self;

    fn validate(&self, file: &str) -> Result<Self, ConfigError> {
        check_range(file, "iterations", self.iterations, 1, 1_000_000)?;
        check_range(file, "envs", self.envs, 1, 4096)?;
        check_range(file, "threads", self.threads, 0, 1024)?;
        check_range(file, "torch_threads", self.torch_threads, 1, 64)?;
        check_range(file, "checkpoint_every", self.checkpoint_every, 1, 10_000)?;
        check_range(file, "assist", self.assist, 0.0, 1.0)?;
        check_range(file, "max_difficulty", self.max_difficulty, 0.0, 1.0)?;
        if self.terrains.is_empty() {
            return Err(config::inconsistent(
                file,
                "terrains",
                "list at least one terrain kind",
            ));
        }
        check_range(file, "depth_rate_hz", self.depth_rate_hz, 1.0, 90.0)?;
        let m = &self.model;
        check_range(file, "model.history", m.history, 8, 100)?;
        check_range(file, "model.tcn_channels", m.tcn_channels, 1, 256)?;
        check_range(file, "model.tcn_features", m.tcn_features, 1, 512)?;
        check_range(file, "model.depth_features", m.depth_features, 1, 512)?;
        for (k, c) in m.depth_channels.iter().enumerate() {
            check_range(file, &format!("model.depth_channels[{k}]"), *c, 1, 256)?;
        }
        for (k, h) in m.latent_hidden.iter().enumerate() {
            check_range(file, &format!("model.latent_hidden[{k}]"), *h, 1, 4096)?;
        }
        self.depth
            .validate()
            .map_err(|e| config::inconsistent(file, "depth", e.to_string()))?;
        self.augment
            .validate()
            .map_err(|e| config::inconsistent(file, "augment", e.to_string()))?;
        let [low, high] = self.timing.latency_s;
        check_range(file, "timing.latency_s[0]", low, 0.0, 0.2)?;
        check_range(file, "timing.latency_s[1]", high, low, 0.2)?;
        check_range(
            file,
            "dagger.beta_iterations",
            self.dagger.beta_iterations,
            0,
            100_000,
        )?;
        let o = &self.optim;
        check_range(file, "optim.learning_rate", o.learning_rate, 1e-6, 1e-1)?;
        check_range(file, "optim.epochs", o.epochs, 1, 100)?;
        check_range(file, "optim.minibatch", o.minibatch, 16, 65_536)?;
        check_range(file, "optim.latent_weight", o.latent_weight, 0.0, 100.0)?;
        check_range(file, "optim.action_weight", o.action_weight, 0.0, 100.0)?;
        check_range(file, "optim.max_grad_norm", o.max_grad_norm, 0.0, 1000.0)?;
        Ok(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_validates_and_beta_falls_to_zero() {
        let c: StudentConfig = config::parse(SHIPPED, "configs/student.toml").unwrap();
        let c = c.validate("configs/student.toml").unwrap();
        assert_eq!(c.beta(0), 1.0);
        let n = c.dagger.beta_iterations as u64;
        assert!((c.beta(n / 2) - 0.5).abs() < 0.05, "{}", c.beta(n / 2));
        assert_eq!(c.beta(n), 0.0);
        assert_eq!(c.beta(n + 10), 0.0);
    }

    #[test]
    fn camera_timing_is_checked_and_optional() {
        let mut c: StudentConfig = config::parse(SHIPPED, "student.toml").unwrap();
        c.timing.latency_s = [0.05, 0.3];
        let e = c.validate("student.toml").unwrap_err().to_string();
        assert!(e.contains("`timing.latency_s[1]` = 0.3"), "{e}");
        c.timing.latency_s = [0.05, 0.01];
        let e = c.validate("student.toml").unwrap_err().to_string();
        assert!(e.contains("allowed 0.05 ..= 0.2"), "{e}");
        // Files and task.json written before the section read as no randomisation.
        let start = SHIPPED
            .find("\n[timing]")
            .expect("the shipped file has [timing]")
            + 1;
        let end = SHIPPED[start..]
            .find("\n[")
            .map_or(SHIPPED.len(), |e| start + e + 1);
        let old = format!("{}{}", &SHIPPED[..start], &SHIPPED[end..]);
        assert!(!old.contains("latency_s"));
        let old: StudentConfig = config::parse(&old, "old.toml").unwrap();
        assert_eq!(old.timing, CameraTiming::default());
        assert!(old.validate("old.toml").is_ok());
    }

    #[test]
    fn out_of_range_fields_are_named() {
        let mut c: StudentConfig = config::parse(SHIPPED, "student.toml").unwrap();
        c.model.history = 3;
        let e = c.validate("student.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("student.toml: `model.history` = 3 is out of range: allowed 8 ..= 100"),
            "{e}"
        );
    }
}
