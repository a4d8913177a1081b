//! One PPO iteration on the teacher ([`Ppo`], the [`Algorithm`] that [`super::runner`] sets up
//! and the shared loop drives): whole-episode rollouts of every environment, GAE, the PPO update,
//! the curriculum, the iteration's metrics line, and the checkpoint files.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use vigor_common::seed::derive;
use vigor_sim::env::EpisodeSpec;

use super::artifact::{self, TeacherManifest, TrainState};
use super::collect::{Collector, Job};
use super::config::TeacherParams;
use super::model::TeacherNet;
use super::symmetry::TeacherMirror;
use super::task::REWARD_TERMS;
use crate::algorithm::{Algorithm, IterationReport, TrainError};
use crate::metrics::{Metrics, Series, TeacherMetrics};
use crate::rl::{Adam, Part, PpoBatch, RunningNorm, grouped_gae, ppo_update};
use crate::run_dir::RunDir;

/// PPO on the teacher: what a training run carries from one iteration to the next.
pub(super) struct Ppo<'a> {
    pub(super) params: &'a TeacherParams,
    pub(super) p: Arc<TeacherParams>,
    pub(super) collector: &'a mut dyn Collector,
    pub(super) mirror: Option<TeacherMirror>,
    pub(super) net: TeacherNet,
    pub(super) adam: Adam,
    pub(super) norm: RunningNorm,
    pub(super) state: TrainState,
    pub(super) manifest: TeacherManifest,
    /// Policy steps per episode.
    pub(super) steps: usize,
    /// Environments.
    pub(super) n: usize,
    /// The episodes begun for the next iteration while the update ran, their assist, and the
    /// normaliser they were begun with (the mirrored rows are normalised with it).
    pub(super) begun: Option<(Vec<EpisodeSpec>, f32, RunningNorm)>,
    /// The last iteration's score for `best/`: the least assist, then the best success.
    pub(super) score: f64,
}

impl Algorithm for Ppo<'_> {
    fn done(&self) -> u64 {
        self.state.iteration
    }

    fn iterate(&mut self) -> Result<IterationReport, TrainError> {
        let Self {
            params,
            p,
            collector,
            mirror,
            net,
            adam,
            norm,
            state,
            manifest,
            steps,
            n,
            begun,
            score,
        } = self;
        let (params, steps, n) = (*params, *steps, *n);
        let it = state.iteration;
        let started = Instant::now();
        // Episodes run on the weights and normaliser as they are now (version: this iteration).
        let base = Job {
            iteration: it,
            specs: &[],
            assist: 0.0,
            net,
            version: it,
            norm,
            manifest,
            steps,
            seed: params.raw.seed,
        };
        let (specs, assist, job_norm) = match begun.take() {
            Some(b) => b,
            None => {
                let specs: Vec<_> = (0..n).map(|i| state.curriculum.spec(p, it, i)).collect();
                let assist = state.curriculum.assist;
                collector.begin(&Job {
                    specs: &specs,
                    assist,
                    ..base
                })?;
                (specs, assist, norm.clone())
            }
        };
        let ro = collector.finish()?;
        let reset_s = ro.reset_s;
        // Episodes begun part-way along their demonstration are practice: the curriculum and
        // the success metrics count only full starts.
        let successes: Vec<Option<bool>> = ro
            .outcomes
            .iter()
            .map(|o| (!o.reference_start).then_some(o.success))
            .collect();
        let stage = state.curriculum.stage;
        let level = state.curriculum.mean_level();
        let kind_levels = state.curriculum.mean_level_per_kind(p);
        let every: Vec<bool> = ro.outcomes.iter().map(|o| o.success).collect();
        state.curriculum.update_phases(p, &specs, &every);
        state.curriculum.update(p, &specs, &successes);
        if collector.overlaps() && it + 1 < params.raw.iterations as u64 {
            // The next iteration's episodes run on these weights while the update runs.
            let next: Vec<_> = (0..n)
                .map(|i| state.curriculum.spec(p, it + 1, i))
                .collect();
            let next_assist = state.curriculum.assist;
            collector.begin(&Job {
                iteration: it + 1,
                specs: &next,
                assist: next_assist,
                ..base
            })?;
            *begun = Some((next, next_assist, norm.clone()));
        }
        let update_started = Instant::now();
        // Episodes end at the time limit and the critic sees the episode phase, so the state after
        // the last step is terminal (value 0), not bootstrapped.
        // With HoST's multi-critic, per reward group, each group's advantages normalised.
        let heads = net.spec.critic.output.max(1);
        let adv = grouped_gae(
            &ro.rewards,
            &ro.values,
            &vec![0.0; ro.rewards.len() / heads],
            &vec![0.0; n * heads],
            (n, heads),
            params.raw.ppo.gamma as f32,
            params.raw.ppo.lambda as f32,
        );
        let rows = ro.log_probs.len();
        let batch = PpoBatch {
            obs_dim: net.spec.row(),
            act_dim: net.spec.actor.output,
            obs: ro.obs,
            actions: ro.actions,
            old_mean: ro.means,
            old_log_std: ro.log_std.clone(),
            old_log_prob: ro.log_probs,
            old_values: ro.values,
            advantages: adv.advantages,
            returns: adv.returns,
            sampled: rows,
        };
        let batch = match &mirror {
            Some(m) => {
                let mut obs = m.row.apply_rows(&ro.raw_obs);
                job_norm.apply_rows(&mut obs);
                let actions = m.action.apply_rows(&batch.actions);
                let means = m.action.apply_rows(&batch.old_mean);
                batch.with_mirror_image(&obs, &actions, &means)
            }
            None => batch,
        };
        let mut lr = state.learning_rate;
        tch::set_num_threads(params.raw.torch_threads as i32);
        let part = if it < params.raw.ppo.critic_warmup_iterations as u64 {
            Part::CriticOnly
        } else {
            Part::Both
        };
        let stats = ppo_update(
            &*net,
            adam,
            &params.raw.ppo,
            &batch,
            &mut lr,
            (derive(params.raw.seed, "minibatch", it), part),
        );
        tch::set_num_threads(1);
        norm.update(&ro.raw_obs);
        let update_s = update_started.elapsed().as_secs_f64();
        let elapsed = started.elapsed().as_secs_f64();
        state.iteration += 1;
        state.env_steps += (n * steps) as u64;
        state.learning_rate = lr;
        state.adam_steps = adam.t;
        state.wall_s += elapsed;

        let full: Vec<&super::task::Outcome> =
            ro.outcomes.iter().filter(|o| !o.reference_start).collect();
        let mean = |f: &dyn Fn(&super::task::Outcome) -> f64| {
            full.iter().map(|o| f(o)).sum::<f64>() / full.len().max(1) as f64
        };
        let success = mean(&|o| f64::from(u8::from(o.success)));
        let mut m = Metrics {
            iteration: state.iteration,
            env_steps: state.env_steps,
            wall_s: state.wall_s,
            steps_per_s: (n * steps) as f64 / elapsed,
            success,
            safe_success: mean(&|o| f64::from(u8::from(o.safe_success))),
            tracking_rms_m: mean(&|o| f64::from(o.tracking_rms_m)),
            // Means over the full starts; `handed_over` is the share whose fall demonstration
            // handed over to a lying recovery.
            teacher: Some(TeacherMetrics {
                mean_return: mean(&|o| f64::from(o.reward)),
                left_terrain: mean(&|o| f64::from(u8::from(o.left_terrain))),
                min_head_m: mean(&|o| f64::from(o.min_head_m)),
                handed_over: mean(&|o| f64::from(u8::from(o.handed_over_s.is_some()))),
            }),
            student: None,
            series: Series::default(),
        };
        for s in p.scenarios() {
            let picked: Vec<bool> = specs
                .iter()
                .zip(&successes)
                .filter(|(sp, _)| sp.scenario == *s)
                .filter_map(|(_, ok)| *ok)
                .collect();
            if !picked.is_empty() {
                let rate = picked.iter().filter(|x| **x).count() as f64 / picked.len() as f64;
                m.set(format!("success/{s}"), rate);
            }
        }
        // Per terrain kind the episodes ran on (a start with its own terrain counts there).
        let mut kinds: Vec<_> = specs.iter().map(|sp| sp.terrain.0).collect();
        kinds.sort_by_key(|k| k.name());
        kinds.dedup();
        for kind in kinds {
            let picked: Vec<bool> = specs
                .iter()
                .zip(&successes)
                .filter(|(sp, _)| sp.terrain.0 == kind)
                .filter_map(|(_, ok)| *ok)
                .collect();
            if !picked.is_empty() {
                let rate = picked.iter().filter(|x| **x).count() as f64 / picked.len() as f64;
                m.set(format!("success/terrain/{}", kind.name()), rate);
            }
        }
        for (k, name) in REWARD_TERMS.iter().enumerate() {
            let v = ro
                .term_sums
                .iter()
                .zip(&ro.outcomes)
                .filter(|(_, o)| !o.reference_start)
                .map(|(t, _)| f64::from(t[k]))
                .sum::<f64>()
                / full.len().max(1) as f64;
            m.set(format!("reward/{name}"), v);
        }
        // Every field by name, so a new statistic does not go unlogged.
        let crate::rl::PpoStats {
            policy_loss,
            value_loss,
            entropy,
            kl,
            clip_fraction,
            learning_rate,
            grad_norm,
        } = stats;
        for (k, v) in [
            ("policy_loss", policy_loss),
            ("value_loss", value_loss),
            ("entropy", entropy),
            ("kl", kl),
            ("clip_fraction", clip_fraction),
            ("learning_rate", learning_rate),
            ("grad_norm", grad_norm),
        ] {
            m.set(format!("ppo/{k}"), v);
        }
        let log_std = net.log_std_values();
        m.set(
            "ppo/action_std",
            log_std.iter().map(|l| f64::from(l.exp())).sum::<f64>() / log_std.len() as f64,
        );
        if params.raw.task.reference_start_share > 0.0 {
            let posed: Vec<&super::task::Outcome> =
                ro.outcomes.iter().filter(|o| o.reference_start).collect();
            m.set("reference_start/share", posed.len() as f64 / n as f64);
            if !posed.is_empty() {
                let k = posed.len() as f64;
                let ok = posed.iter().filter(|o| o.success).count() as f64;
                let ret = posed.iter().map(|o| f64::from(o.reward)).sum::<f64>();
                m.set("reference_start/success", ok / k);
                m.set("reference_start/mean_return", ret / k);
            }
        }
        if params.raw.task.fall_reference_start_share > 0.0 {
            // Fall starts posed along a fall demonstration: all of them, and those posed in the
            // clip's first quarter (the landing, which the feasibility check poses at phase 0).
            let posed: Vec<(f64, bool)> = specs
                .iter()
                .zip(&ro.outcomes)
                .filter(|(sp, o)| o.reference_start && sp.scenario.is_fall())
                .filter_map(|(sp, o)| {
                    super::curriculum::reference_start(params, sp).map(|f| (f, o.success))
                })
                .collect();
            m.set("reference_start/fall_share", posed.len() as f64 / n as f64);
            let rate =
                |v: &[&(f64, bool)]| v.iter().filter(|x| x.1).count() as f64 / v.len() as f64;
            let all: Vec<&(f64, bool)> = posed.iter().collect();
            if !all.is_empty() {
                m.set("reference_start/fall_success", rate(&all));
            }
            let landing: Vec<&(f64, bool)> = posed.iter().filter(|x| x.0 < 0.25).collect();
            if !landing.is_empty() {
                m.set("reference_start/fall_landing_success", rate(&landing));
            }
        }
        let curriculum = &params.raw.curriculum;
        if (curriculum.full_range_share > 0.0 || !curriculum.full_range_kinds.is_empty())
            && stage >= 2
        {
            // The full starts on the slot's terrain at a difficulty drawn over the whole range:
            // the closest a training iteration comes to the protocol's draws.
            let drawn: Vec<bool> = specs
                .iter()
                .zip(&successes)
                .filter(|(sp, _)| {
                    sp.scenario.required_terrain().is_none()
                        && super::curriculum::full_range_difficulty(params, sp.terrain.0, sp.seed)
                            .is_some()
                })
                .filter_map(|(_, ok)| *ok)
                .collect();
            m.set("full_range/share", drawn.len() as f64 / n as f64);
            if !drawn.is_empty() {
                let ok = drawn.iter().filter(|x| **x).count() as f64;
                m.set("full_range/success", ok / drawn.len() as f64);
            }
        }
        m.set("time/reset_s", reset_s);
        m.set("time/sim_s", ro.sim_s);
        m.set("time/forward_s", ro.forward_s);
        m.set("time/update_s", update_s);
        m.set("curriculum/stage", f64::from(stage));
        m.set("curriculum/mean_level", f64::from(level));
        for (kind, l) in kind_levels {
            m.set(format!("curriculum/level/{}", kind.name()), f64::from(l));
        }
        m.set("curriculum/assist", f64::from(assist));
        if params.raw.curriculum.adaptive_starts {
            let weights = state.curriculum.mean_scenario_weights(p);
            for (s, w) in p.scenarios().iter().zip(weights) {
                m.set(format!("curriculum/start_p/{s}"), w);
            }
        }
        if params.raw.curriculum.adaptive_phase_bins > 0 {
            let weights = state.curriculum.mean_phase_weights(p);
            for (bin, w) in weights.iter().enumerate() {
                m.set(format!("curriculum/phase_p/{bin}"), *w);
            }
        }
        collector.report(&mut m);
        manifest.normaliser = norm.clone();
        manifest.iteration = state.iteration;
        manifest.env_steps = state.env_steps;
        *score = 10.0 * (1.0 - f64::from(assist)) + success;
        Ok(IterationReport {
            iteration: state.iteration,
            iterations: params.raw.iterations as u64,
            env_steps: state.env_steps,
            steps_per_s: (n * steps) as f64 / elapsed,
            mean_return: mean(&|o| f64::from(o.reward)),
            success,
            metrics: m,
        })
    }

    fn after_iteration(&mut self, run: &RunDir) -> Result<(), TrainError> {
        if self.score > self.state.best_score {
            self.state.best_score = self.score;
            let (net, manifest) = (&self.net, &self.manifest);
            run.replace_best(self.score, |tmp| {
                artifact::save_artifact(tmp, net, &mut manifest.clone())
            })?;
        }
        Ok(())
    }

    fn write_checkpoint(&mut self, dir: &Path) -> Result<(), TrainError> {
        artifact::write_checkpoint(dir, &self.net, &mut self.manifest, &self.adam, &self.state)?;
        Ok(())
    }

    fn after_checkpoint(&mut self, run: &RunDir) -> Result<(), TrainError> {
        super::curves::write_all(run.path())
    }
}
