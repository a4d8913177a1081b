//! The teacher's curriculum: stage 1 on flat ground; stage 2 over every configured terrain kind at
//! `levels` difficulties, each environment slot keeping a kind and a level that goes up after a
//! success and down after a failure (legged_gym's terrain curriculum), entered once an iteration's
//! success rate reaches `stage2_success` without help. Before that, HoST's exploration aid: an
//! upward force on the torso, a fraction of the robot's weight, lowered each time an iteration's
//! success rate reaches `assist_success`. Three options change where episodes start: adaptive start
//! sampling draws the scenarios that fail more often more often, reference-state starts begin a
//! share of the lying starts part-way along their demonstration, and eased own terrain runs the
//! scenarios with a terrain of their own at a difficulty that climbs with the slot's level. A
//! fourth, full-range draws, plays a share of the episodes at a difficulty drawn over the whole
//! range, as the protocol does, rather than at the slot's level. A fifth, adaptive phases, draws
//! the parts of the clip where reference-state starts fail more often more often.

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
    /// Adaptive start sampling's running failure rate per cell (terrain kind of the slot, flat
    /// first, then `curriculum.terrains`; times scenario), filled on first use. Absent in
    /// checkpoints before it existed.
    #[serde(default)]
    pub start_failure: Vec<f32>,
    /// Adaptive phases' running failure rate per cell (kind cell as for `start_failure`, times
    /// `adaptive_phase_bins` parts of the clip, pooled over the scenarios' clips), filled on
    /// first use. Absent in checkpoints before it existed.
    #[serde(default)]
    pub phase_failure: Vec<f32>,
}

/// A cell's failure rate before it has seen an episode.
const PRIOR_FAILURE: f32 = 0.5;

/// How many candidate seeds adaptive phases tries before keeping an episode's own.
const MAX_PHASE_CANDIDATES: u64 = 1 << 20;

/// A seeded draw as a uniform number in 0..1.
fn unit(draw: u64) -> f64 {
    (draw >> 11) as f64 / (1u64 << 53) as f64
}

/// The index `unit` (0..1) falls in when `weights` (summing to 1) are laid end to end.
fn pick(weights: &[f64], unit: f64) -> usize {
    let mut acc = 0.0;
    weights
        .iter()
        .position(|w| {
            acc += w;
            unit < acc
        })
        .unwrap_or(weights.len() - 1)
}

/// Which of `bins` equal parts of the clip a phase (0..1) lies in.
#[must_use]
pub fn phase_bin(phase: f64, bins: usize) -> usize {
    ((phase * bins as f64) as usize).min(bins.saturating_sub(1))
}

/// `rates` if they have `cells` entries, else none (the prior everywhere): rates kept under
/// another layout (an amended bin count or scenario list) are not read as this one's; the next
/// update starts them afresh.
fn laid_out(rates: &[f32], cells: usize) -> &[f32] {
    if rates.len() == cells { rates } else { &[] }
}

/// `floor` spread evenly over `n` options, the rest in proportion to their failure rates in
/// `failure[cell * n..]` (the prior where not filled yet; evenly while none fails).
fn floored_weights(failure: &[f32], cell: usize, n: usize, floor: f64) -> Vec<f64> {
    let fail: Vec<f64> = (0..n)
        .map(|s| f64::from(failure.get(cell * n + s).copied().unwrap_or(PRIOR_FAILURE)))
        .collect();
    let total: f64 = fail.iter().sum();
    fail.iter()
        .map(|f| {
            let share = if total > 0.0 {
                f / total
            } else {
                1.0 / n as f64
            };
            floor / n as f64 + (1.0 - floor) * share
        })
        .collect()
}

impl Curriculum {
    /// Stage 1 for `envs` slots.
    #[must_use]
    pub fn new(envs: usize, assist: f32) -> Self {
        Self {
            stage: 1,
            levels: vec![0; envs],
            assist,
            start_failure: Vec::new(),
            phase_failure: Vec::new(),
        }
    }

    /// The terrain-kind cell of slot `env` now: 0 on flat ground (stage 1), else 1 + the index
    /// of its kind in `curriculum.terrains`.
    fn kind_cell(&self, p: &TeacherParams, env: usize) -> usize {
        if self.stage >= 2 && !p.terrains().is_empty() {
            1 + env % p.terrains().len()
        } else {
            0
        }
    }

    /// The probability of each of `p.scenarios` for a slot in kind cell `cell` under adaptive
    /// start sampling: `adaptive_floor` spread evenly, the rest in proportion to the cells'
    /// failure rates (evenly while none fails).
    #[must_use]
    pub fn scenario_weights(&self, p: &TeacherParams, cell: usize) -> Vec<f64> {
        let floor = f64::from(p.raw.curriculum.adaptive_floor);
        let n = p.scenarios().len();
        let rates = laid_out(&self.start_failure, (1 + p.terrains().len()) * n);
        floored_weights(rates, cell, n, floor)
    }

    /// The probability of each of the `curriculum.adaptive_phase_bins` equal parts of the clip
    /// for a reference-state start in kind cell `cell` under adaptive phases, by the same rule as
    /// [`Curriculum::scenario_weights`].
    #[must_use]
    pub fn phase_weights(&self, p: &TeacherParams, cell: usize) -> Vec<f64> {
        let floor = f64::from(p.raw.curriculum.adaptive_floor);
        let bins = p.raw.curriculum.adaptive_phase_bins as usize;
        let rates = laid_out(&self.phase_failure, (1 + p.terrains().len()) * bins);
        floored_weights(rates, cell, bins, floor)
    }

    /// The mean of [`Curriculum::phase_weights`] over the kind cells the slots use now.
    #[must_use]
    pub fn mean_phase_weights(&self, p: &TeacherParams) -> Vec<f64> {
        let slots = self.levels.len().max(1);
        let mut mean = vec![0.0; p.raw.curriculum.adaptive_phase_bins as usize];
        for env in 0..slots {
            for (m, w) in mean
                .iter_mut()
                .zip(self.phase_weights(p, self.kind_cell(p, env)))
            {
                *m += w / slots as f64;
            }
        }
        mean
    }

    /// The mean of [`Curriculum::scenario_weights`] over the kind cells the slots use now.
    #[must_use]
    pub fn mean_scenario_weights(&self, p: &TeacherParams) -> Vec<f64> {
        let slots = self.levels.len().max(1);
        let mut mean = vec![0.0; p.scenarios().len()];
        for env in 0..slots {
            for (m, w) in mean
                .iter_mut()
                .zip(self.scenario_weights(p, self.kind_cell(p, env)))
            {
                *m += w / slots as f64;
            }
        }
        mean
    }

    /// The episode of slot `env` in iteration `iteration`.
    #[must_use]
    ///
    /// The scenario is drawn uniformly, or with `curriculum.adaptive_starts` by
    /// [`Curriculum::scenario_weights`] of the slot's cell, from the same seeded draw. In stage 2
    /// a start on the slot's terrain plays at the slot's level, or at a difficulty drawn over the
    /// whole range ([`full_range_difficulty`]).
    pub fn spec(&self, p: &TeacherParams, iteration: u64, env: usize) -> EpisodeSpec {
        let n = p.raw.envs as u64;
        let k = iteration * n + env as u64;
        let draw = derive(p.raw.seed, "scenario", k);
        let pick = if p.raw.curriculum.adaptive_starts {
            pick(
                &self.scenario_weights(p, self.kind_cell(p, env)),
                unit(draw),
            )
        } else {
            draw as usize % p.scenarios().len()
        };
        let scenario: Scenario = p.scenarios()[pick];
        let levels = p.raw.curriculum.levels.max(2) - 1;
        let fraction = self.levels.get(env).copied().unwrap_or(0) as f32 / levels as f32;
        let slot = if self.stage >= 2 && !p.terrains().is_empty() {
            (p.terrains()[env % p.terrains().len()], fraction)
        } else {
            (TerrainKind::Flat, 0.0)
        };
        let mut seed = derive(p.raw.seed, "episode", k);
        if p.raw.curriculum.adaptive_phase_bins > 0 {
            seed = self.phase_seed(p, k, env, scenario, seed);
        }
        let terrain = match scenario.required_terrain() {
            Some((kind, own)) if p.raw.curriculum.ease_own_terrain => {
                let fraction = if self.stage >= 2 { fraction } else { 0.0 };
                (kind, own * fraction)
            }
            Some(own) => own,
            None => match full_range_difficulty(p, slot.0, seed) {
                Some(difficulty) if self.stage >= 2 && !p.terrains().is_empty() => {
                    (slot.0, difficulty)
                }
                _ => slot,
            },
        };
        EpisodeSpec {
            scenario,
            terrain,
            seed,
        }
    }

    /// Adaptive phases: a reference-state start's seed gives way to the first of a seeded
    /// sequence of candidates whose phase ([`reference_start`]) lies in the part of the clip
    /// drawn by [`Curriculum::phase_weights`] of the slot's cell; a full start keeps its seed.
    /// Whether an episode starts part-way is still decided by its own seed, so their share stays
    /// `task.reference_start_share`, and the candidates are independent draws, so everything
    /// else a seed decides (tile, place, randomisation) stays as random as before.
    fn phase_seed(
        &self,
        p: &TeacherParams,
        k: u64,
        env: usize,
        scenario: Scenario,
        seed: u64,
    ) -> u64 {
        // `reference_start` reads the scenario and the seed only; the terrain is drawn later,
        // from the chosen seed.
        let phase = |seed| {
            let spec = EpisodeSpec {
                scenario,
                terrain: (TerrainKind::Flat, 0.0),
                seed,
            };
            reference_start(p, &spec)
        };
        if phase(seed).is_none() {
            return seed;
        }
        let bins = p.raw.curriculum.adaptive_phase_bins as usize;
        let weights = self.phase_weights(p, self.kind_cell(p, env));
        let bin = pick(&weights, unit(derive(p.raw.seed, "phase-bin", k)));
        // Each candidate lands in the bin with probability share / bins (at least 1 in 50 000
        // for a share of 0.001 and 50 bins), so running out is beyond any practical chance.
        (0..MAX_PHASE_CANDIDATES)
            .map(|j| derive(seed, "phase-candidate", j))
            .find(|&s| phase(s).is_some_and(|f| phase_bin(f, bins) == bin))
            .unwrap_or(seed)
    }

    /// Adaptive phases: each reference-state start of the iteration (`specs` in slot order,
    /// `successes` every episode's) moves its cell's failure rate: its slot's terrain kind before
    /// any promotion (call this before [`Curriculum::update`]) and the part of the clip it began
    /// in. Full starts do not.
    pub fn update_phases(&mut self, p: &TeacherParams, specs: &[EpisodeSpec], successes: &[bool]) {
        let bins = p.raw.curriculum.adaptive_phase_bins as usize;
        if bins == 0 {
            return;
        }
        let cells = (1 + p.terrains().len()) * bins;
        if self.phase_failure.len() != cells {
            self.phase_failure = vec![PRIOR_FAILURE; cells];
        }
        let rate = p.raw.curriculum.adaptive_rate;
        for (env, (spec, ok)) in specs.iter().zip(successes).enumerate() {
            let Some(f) = reference_start(p, spec) else {
                continue;
            };
            let cell = self.kind_cell(p, env) * bins + phase_bin(f, bins);
            let x = &mut self.phase_failure[cell];
            *x += rate * (f32::from(u8::from(!ok)) - *x);
        }
    }

    /// Moves levels and stage after an iteration with per-slot `successes`: `None` for an
    /// episode that began part-way along its demonstration ([`reference_start`]), which counts
    /// towards neither the success rate nor its slot's level. A start with a terrain of its own
    /// ([`Scenario::required_terrain`]) counts towards the rate but moves its slot's level only
    /// under `ease_own_terrain`, where its difficulty follows that level.
    ///
    /// With adaptive start sampling, each full start also moves its cell's failure rate (its
    /// slot's terrain kind before any promotion, and the scenario of `specs`, the iteration's
    /// episodes in slot order).
    pub fn update(&mut self, p: &TeacherParams, specs: &[EpisodeSpec], successes: &[Option<bool>]) {
        if p.raw.curriculum.adaptive_starts {
            let n = p.scenarios().len();
            let cells = (1 + p.terrains().len()) * n;
            if self.start_failure.len() != cells {
                self.start_failure = vec![PRIOR_FAILURE; cells];
            }
            let rate = p.raw.curriculum.adaptive_rate;
            for (env, (spec, ok)) in specs.iter().zip(successes).enumerate() {
                let (Some(ok), Some(s)) =
                    (ok, p.scenarios().iter().position(|x| *x == spec.scenario))
                else {
                    continue;
                };
                let cell = self.kind_cell(p, env) * n + s;
                let f = &mut self.start_failure[cell];
                *f += rate * (f32::from(u8::from(!ok)) - *f);
            }
        }
        let full = successes.iter().flatten().count();
        let rate = successes.iter().flatten().filter(|s| **s).count() as f32 / full.max(1) as f32;
        if full == 0 {
            return;
        }
        let c = &p.raw.curriculum;
        if self.assist > 0.0 {
            if rate >= c.assist_success {
                self.assist *= c.assist_decay;
                if self.assist < 0.02 {
                    self.assist = 0.0;
                }
            } else if rate < c.assist_raise_below && c.assist_decay > 0.0 {
                self.assist = (self.assist / c.assist_decay).min(c.assist_start);
            }
            return;
        }
        if self.stage == 1 {
            if rate >= c.stage2_success && !p.terrains().is_empty() {
                self.stage = 2;
            }
            return;
        }
        let top = p.raw.curriculum.levels.saturating_sub(1);
        let eased = p.raw.curriculum.ease_own_terrain;
        for ((level, ok), spec) in self.levels.iter_mut().zip(successes).zip(specs) {
            // A start with a terrain of its own ran neither on the slot's kind nor (unless eased)
            // at the slot's difficulty: its outcome says nothing about the slot's level. Nor
            // does a full-range draw's.
            let own = spec.scenario.required_terrain().is_some();
            if (own && !eased)
                || (!own && full_range_difficulty(p, spec.terrain.0, spec.seed).is_some())
            {
                continue;
            }
            match ok {
                Some(true) => *level = (*level + 1).min(top),
                Some(false) => *level = level.saturating_sub(1),
                None => {}
            }
        }
    }

    /// Carries the levels over to a new slot-to-kind map after `curriculum.terrains` went from
    /// `old` to `new` (`--resume --amend`): slot `env` has kind `list[env % list.len()]`, so a
    /// list that names a kind more than once gives it more slots. Each slot takes the levels
    /// the old map's slots of its new kind had, in slot order and round again where the kind now
    /// has more slots; a kind the old list lacked starts at level 0. The adaptive failure rates
    /// are kept per kind cell, which the new list renumbers, so they start afresh.
    pub fn remap_terrains(&mut self, old: &[TerrainKind], new: &[TerrainKind]) {
        if old == new || self.stage < 2 || old.is_empty() || new.is_empty() {
            return;
        }
        let envs = self.levels.len();
        let mut taken = vec![0usize; envs];
        let levels = (0..envs)
            .map(|env| {
                let kind = new[env % new.len()];
                let had: Vec<usize> = (0..envs)
                    .filter(|&e| old[e % old.len()] == kind)
                    .map(|e| self.levels[e])
                    .collect();
                if had.is_empty() {
                    return 0;
                }
                let k = new.iter().position(|x| *x == kind).unwrap_or(0);
                let level = had[taken[k] % had.len()];
                taken[k] += 1;
                level
            })
            .collect();
        self.levels = levels;
        self.start_failure.clear();
        self.phase_failure.clear();
    }

    /// Mean level of each terrain kind's slots in stage 2, in `curriculum.terrains` order (a kind
    /// named twice appears once); empty in stage 1.
    #[must_use]
    pub fn mean_level_per_kind(&self, p: &TeacherParams) -> Vec<(TerrainKind, f32)> {
        let terrains = p.terrains();
        if self.stage < 2 || terrains.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<(TerrainKind, f32)> = Vec::new();
        for &kind in terrains {
            if out.iter().any(|(k, _)| *k == kind) {
                continue;
            }
            let levels: Vec<usize> = (0..self.levels.len())
                .filter(|e| terrains[e % terrains.len()] == kind)
                .map(|e| self.levels[e])
                .collect();
            if !levels.is_empty() {
                let mean = levels.iter().sum::<usize>() as f32 / levels.len() as f32;
                out.push((kind, mean));
            }
        }
        out
    }

    /// Mean level over slots.
    #[must_use]
    pub fn mean_level(&self) -> f32 {
        self.levels.iter().sum::<usize>() as f32 / self.levels.len().max(1) as f32
    }
}

/// The difficulty of a stage-2 episode on its slot's terrain `kind` drawn over the whole range
/// (0..1, the protocol's draw) instead of the slot's level, or `None` for one at its level: every
/// episode of a kind in `curriculum.full_range_kinds`, a share `curriculum.full_range_share` of
/// the others, the draw and the difficulty derived from the episode's seed alone. Starts with a
/// terrain of their own never take it ([`Curriculum::spec`]).
#[must_use]
pub fn full_range_difficulty(
    p: &TeacherParams,
    kind: TerrainKind,
    episode_seed: u64,
) -> Option<f32> {
    let c = &p.raw.curriculum;
    let share = if c.full_range_kinds.contains(&kind) {
        1.0
    } else {
        f64::from(c.full_range_share)
    };
    if share <= 0.0 {
        return None;
    }
    let unit = |tag: &str| (derive(episode_seed, tag, 0) >> 11) as f64 / (1u64 << 53) as f64;
    (unit("full-range") < share).then(|| unit("full-range-difficulty") as f32)
}

/// Where along its demonstration a training episode of `spec` begins, as a fraction of the clip
/// (0..1), or `None` for a full start: a share `task.reference_start_share` of the lying starts
/// and `task.fall_reference_start_share` of the fall starts, the draw and the phase derived from
/// the episode's seed alone, so every collector and thread count agrees.
#[must_use]
pub fn reference_start(p: &TeacherParams, spec: &EpisodeSpec) -> Option<f64> {
    let t = &p.raw.task;
    let share = f64::from(if spec.scenario.is_fall() {
        t.fall_reference_start_share
    } else {
        t.reference_start_share
    });
    if share <= 0.0 {
        return None;
    }
    let unit = |tag: &str| (derive(spec.seed, tag, 0) >> 11) as f64 / (1u64 << 53) as f64;
    let span = if spec.scenario.is_fall() {
        f64::from(t.fall_reference_phase_max).min(1.0)
    } else {
        1.0
    };
    (unit("reference-start") < share).then(|| unit("reference-phase") * span)
}
