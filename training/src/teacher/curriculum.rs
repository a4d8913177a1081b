//! The teacher's curriculum: stage 1 on flat ground; stage 2 over every configured terrain kind at
//! `levels` difficulties, each environment slot keeping a kind and a level that goes up after a
//! success and down after a failure (legged_gym's terrain curriculum), entered once an iteration's
//! success rate reaches `stage2_success` without help. Before that, HoST's exploration aid: an
//! upward force on the torso, a fraction of the robot's weight, lowered each time an iteration's
//! success rate reaches `assist_success`.

use serde::{Deserialize, Serialize};
use vigor_common::seed::derive;
use vigor_sim::env::EpisodeSpec;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;

use super::config::TeacherParams;

/// Curriculum state (saved in checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curriculum {
    /// 1 (flat) or 2 (terrain).
    pub stage: u8,
    /// Difficulty level per environment slot (stage 2).
    pub levels: Vec<usize>,
    /// Upward assist on the torso, fraction of the robot's weight.
    pub assist: f32,
}

impl Curriculum {
    /// Stage 1 for `envs` slots.
    #[must_use]
    pub fn new(envs: usize, assist: f32) -> Self {
        Self {
            stage: 1,
            levels: vec![0; envs],
            assist,
        }
    }

    /// The episode of slot `env` in iteration `iteration`.
    #[must_use]
    pub fn spec(&self, p: &TeacherParams, iteration: u64, env: usize) -> EpisodeSpec {
        let n = p.raw.envs as u64;
        let k = iteration * n + env as u64;
        let pick = derive(p.raw.seed, "scenario", k) as usize % p.scenarios.len();
        let scenario: Scenario = p.scenarios[pick];
        let terrain = if self.stage >= 2 && !p.terrains.is_empty() {
            let kind = p.terrains[env % p.terrains.len()];
            let levels = p.raw.curriculum.levels.max(2) - 1;
            (kind, self.levels[env] as f32 / levels as f32)
        } else {
            (TerrainKind::Flat, 0.0)
        };
        EpisodeSpec {
            scenario,
            terrain,
            seed: derive(p.raw.seed, "episode", k),
        }
    }

    /// Moves levels and stage after an iteration with per-slot `successes`.
    pub fn update(&mut self, p: &TeacherParams, successes: &[bool]) {
        let rate = successes.iter().filter(|s| **s).count() as f32 / successes.len().max(1) as f32;
        let c = &p.raw.curriculum;
        if self.assist > 0.0 {
            if rate >= c.assist_success {
                self.assist *= c.assist_decay;
                if self.assist < 0.02 {
                    self.assist = 0.0;
                }
            }
            return;
        }
        if self.stage == 1 {
            if rate >= c.stage2_success && !p.terrains.is_empty() {
                self.stage = 2;
            }
            return;
        }
        let top = p.raw.curriculum.levels.saturating_sub(1);
        for (level, ok) in self.levels.iter_mut().zip(successes) {
            *level = if *ok {
                (*level + 1).min(top)
            } else {
                level.saturating_sub(1)
            };
        }
    }

    /// Mean level over slots.
    #[must_use]
    pub fn mean_level(&self) -> f32 {
        self.levels.iter().sum::<usize>() as f32 / self.levels.len().max(1) as f32
    }
}
