//! PPO on the teacher: whole-episode rollouts of every environment, GAE, a PPO update, the
//! curriculum and the iteration's metrics, as an [`Algorithm`] that the shared loop
//! ([`crate::algorithm::run`]) drives through the run directory's metrics, `best/` and
//! checkpoints, resumable exactly.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value, json};
use vigor_common::seed::derive;
use vigor_sim::SimParams;
use vigor_sim::env::{EnvConfig, EnvError, EpisodeSpec, Randomisation, SensorNoise};
use vigor_sim::robot::Robot;

use super::artifact::{self, ArtifactError, TeacherManifest, TrainState};
use super::collect::{Collector, InProcess, Job};
use super::config::TeacherParams;
use super::curriculum::Curriculum;
use super::model::{TeacherNet, TeacherSpec};
use super::symmetry::TeacherMirror;
use super::task::{REWARD_TERMS, obs_dims};
use crate::algorithm::{self, Algorithm};
use crate::demos::DemoError;
use crate::rl::{Adam, Part, PpoBatch, RunningNorm, gae, ppo_update};
use crate::run_dir::{RunDir, RunDirError};

pub use crate::run_dir::{BEST, CURVES, METRICS, METRICS_RRD, read_metrics};

/// Why training stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Simulator.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// Demonstrations.
    #[error(transparent)]
    Demo(#[from] DemoError),
    /// Artifact or checkpoint.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The run directory.
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    /// A file.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `--resume` with a different configuration, or a new run over an existing one.
    #[error("{0}")]
    Resume(String),
    /// An artifact's stored configuration or an episode description is not valid here.
    #[error("{0}")]
    Invalid(String),
}

/// Options besides the configuration.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run directory.
    pub run_dir: PathBuf,
    /// Continue from `run_dir/latest`.
    pub resume: bool,
    /// With `resume`: continue the run's full state (weights, optimiser, normaliser, curriculum)
    /// under a configuration that differs from the one it started with, to measure a lever from a
    /// shared state. The network shapes must still match; the differing keys are printed.
    pub amend: bool,
    /// Commit recorded in artifacts.
    pub git_hash: String,
    /// Where the networks and the update run.
    pub device: tch::Device,
    /// A new run starts from this teacher artifact's weights and normaliser instead of fresh
    /// ones (fine-tuning on new starts, rewards or terrain; the optimiser and curriculum start
    /// anew). Ignored on `resume`, which continues its own run.
    pub init_from: Option<PathBuf>,
}

/// One iteration's headline numbers (the rest is in the metrics line).
#[derive(Debug, Clone)]
pub struct IterationReport {
    /// Iteration just finished (from 1).
    pub iteration: u64,
    /// Of how many.
    pub iterations: u64,
    /// Environment steps so far.
    pub env_steps: u64,
    /// Environment steps per second of this iteration (rollout plus update).
    pub steps_per_s: f64,
    /// Mean episode return.
    pub mean_return: f64,
    /// Success rate.
    pub success: f64,
    /// The full metrics line.
    pub metrics: Map<String, Value>,
}

/// The environment configuration the teacher trains in.
#[must_use]
pub fn env_config(p: &TeacherParams, sim: &SimParams) -> EnvConfig {
    let mut c = sim.env.clone();
    c.engine = p.engine;
    if !p.raw.sim.randomise {
        c.randomisation = Randomisation::none();
    }
    if !p.raw.sim.sensor_noise {
        c.noise = SensorNoise::none();
    }
    c.start_pool = p.raw.sim.start_pool;
    c
}

pub(super) fn threads(p: &TeacherParams) -> usize {
    if p.raw.threads == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        p.raw.threads
    }
}

/// An untrained teacher artifact for `params` (weights from `seed`, identity normaliser): the
/// baseline that trained teachers are measured against.
#[must_use]
pub fn untrained(
    params: &TeacherParams,
    robot: &Robot,
    seed: u64,
    git_hash: &str,
) -> (TeacherNet, TeacherManifest) {
    let spec = TeacherSpec::new(
        obs_dims(robot, params),
        robot.joints.len(),
        &params.raw.model,
    );
    let net = TeacherNet::new(
        spec.clone(),
        params.raw.model.init_std,
        derive(seed, "weights", 0),
    );
    let manifest = TeacherManifest {
        name: format!("{}-untrained-seed{seed}", params.raw.name),
        robot: robot.name.clone(),
        joints: robot.joints.iter().map(|j| j.name.clone()).collect(),
        config: params.raw.clone(),
        normaliser: RunningNorm::new(spec.row()),
        spec,
        weights_sha256: String::new(),
        git_hash: git_hash.to_owned(),
        iteration: 0,
        env_steps: 0,
    };
    (net, manifest)
}

/// Trains (or resumes) a teacher in this process; `on_iteration` sees every iteration.
///
/// # Errors
/// Simulator, file or checkpoint errors; a resume whose configuration differs.
pub fn train<F>(
    params: &TeacherParams,
    robot: &Robot,
    sim: &SimParams,
    opts: &RunOptions,
    on_iteration: F,
) -> Result<TeacherManifest, TrainError>
where
    F: FnMut(&IterationReport),
{
    let mut collector = InProcess::new(params, robot, sim)?;
    train_with(params, robot, sim, opts, &mut collector, on_iteration)
}

/// Trains (or resumes) a teacher whose episodes `collector` runs; `on_iteration` sees every
/// iteration.
///
/// # Errors
/// Simulator, file or checkpoint errors; a resume whose configuration differs.
pub fn train_with<F>(
    params: &TeacherParams,
    robot: &Robot,
    sim: &SimParams,
    opts: &RunOptions,
    collector: &mut dyn Collector,
    on_iteration: F,
) -> Result<TeacherManifest, TrainError>
where
    F: FnMut(&IterationReport),
{
    // Rollouts run their small forward passes on one libtorch thread: more would keep OpenMP
    // workers spinning between passes on the cores the environment pool steps on. The update,
    // which has the cores to itself, runs on `torch_threads`.
    tch::set_num_threads(1);
    let p = Arc::new(params.clone());
    let cfg = env_config(params, sim);
    let dims = obs_dims(robot, params);
    let spec = TeacherSpec::new(dims, robot.joints.len(), &params.raw.model);
    let mirror = if params.raw.ppo.symmetry {
        Some(
            TeacherMirror::for_teacher(robot, params)
                .map_err(|e| TrainError::Invalid(format!("ppo.symmetry: {e}")))?,
        )
    } else {
        None
    };
    let mut net = TeacherNet::on(
        spec.clone(),
        params.raw.model.init_std,
        derive(params.raw.seed, "weights", 0),
        opts.device,
    );
    let mut adam = Adam::new(&net.named_parameters());
    let mut norm = RunningNorm::new(spec.row());
    let mut state = TrainState {
        iteration: 0,
        env_steps: 0,
        learning_rate: params.raw.ppo.learning_rate,
        adam_steps: 0,
        curriculum: Curriculum::new(params.raw.envs, params.raw.curriculum.assist_start),
        best_score: -1.0,
        wall_s: 0.0,
    };
    // A new run's starting weights are read before the run directory clears a dead run's files
    // (`--init-from RUN/best` on a run that died before its first checkpoint).
    let init = match (&opts.init_from, opts.resume) {
        (Some(dir), false) => Some((dir, artifact::load_artifact_on(dir, opts.device)?)),
        _ => None,
    };
    let run = RunDir::open(&opts.run_dir, opts.resume)?;
    if opts.resume {
        let ck = artifact::load_latest(&run, opts.device)?;
        let mut saved = ck.teacher.manifest.config.clone();
        saved.iterations = params.raw.iterations;
        if saved != params.raw {
            let changed = changed_keys(&saved, &params.raw);
            if !opts.amend {
                return Err(TrainError::Resume(format!(
                    "{}: the run was started with a different configuration ({}; only `iterations` may change on --resume, or pass --amend to continue under the new one)",
                    ck.dir.display(),
                    changed.join(", ")
                )));
            }
            eprintln!(
                "{}: continuing under an amended configuration: {}",
                ck.dir.display(),
                changed.join(", ")
            );
        }
        if ck.teacher.manifest.spec != spec || ck.teacher.manifest.normaliser.len() != spec.row() {
            return Err(TrainError::Resume(format!(
                "{}: the checkpoint's network shapes do not match this build's observation layout",
                ck.dir.display()
            )));
        }
        net = ck.teacher.net;
        norm = ck.teacher.manifest.normaliser.clone();
        adam = ck.adam;
        state = ck.state;
        // `best/` may have improved after the last checkpoint; never let it get worse.
        if let Some(score) = run.best_score() {
            state.best_score = state.best_score.max(score);
        }
        run.truncate_metrics(state.iteration)?;
    } else if let Some((dir, t)) = init {
        if t.manifest.spec != spec || t.manifest.normaliser.len() != spec.row() {
            return Err(TrainError::Invalid(format!(
                "{}: --init-from needs a teacher with this configuration's network shapes \
                 (model, task.history, task.scan_* and the robot)",
                dir.display()
            )));
        }
        net = t.net;
        norm = t.manifest.normaliser;
        adam = Adam::new(&net.named_parameters());
    }
    let steps =
        (params.raw.task.episode_s / (cfg.physics.dt_s * cfg.decimation as f32)).round() as usize;
    let n = params.raw.envs;
    let manifest = TeacherManifest {
        name: params.raw.name.clone(),
        robot: robot.name.clone(),
        joints: robot.joints.iter().map(|j| j.name.clone()).collect(),
        config: params.raw.clone(),
        spec: spec.clone(),
        normaliser: norm.clone(),
        weights_sha256: String::new(),
        git_hash: opts.git_hash.clone(),
        iteration: state.iteration,
        env_steps: state.env_steps,
    };
    let mut ppo = Ppo {
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
        begun: None,
        score: f64::NEG_INFINITY,
    };
    algorithm::run(
        &mut ppo,
        &run,
        params.raw.iterations as u64,
        params.raw.checkpoint_every as u64,
        on_iteration,
    )?;
    Ok(ppo.manifest)
}

/// PPO on the teacher: what a training run carries from one iteration to the next.
struct Ppo<'a> {
    params: &'a TeacherParams,
    p: Arc<TeacherParams>,
    collector: &'a mut dyn Collector,
    mirror: Option<TeacherMirror>,
    net: TeacherNet,
    adam: Adam,
    norm: RunningNorm,
    state: TrainState,
    manifest: TeacherManifest,
    /// Policy steps per episode.
    steps: usize,
    /// Environments.
    n: usize,
    /// The episodes begun for the next iteration while the update ran, their assist, and the
    /// normaliser they were begun with (the mirrored rows are normalised with it).
    begun: Option<(Vec<EpisodeSpec>, f32, RunningNorm)>,
    /// The last iteration's score for `best/`: the least assist, then the best success.
    score: f64,
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
        let (specs, assist, job_norm) = match begun.take() {
            Some(b) => b,
            None => {
                let specs: Vec<_> = (0..n).map(|i| state.curriculum.spec(p, it, i)).collect();
                let assist = state.curriculum.assist;
                collector.begin(&Job {
                    iteration: it,
                    specs: &specs,
                    assist,
                    net,
                    version: state.iteration,
                    norm,
                    manifest,
                    steps,
                    seed: params.raw.seed,
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
                net,
                version: state.iteration,
                norm,
                manifest,
                steps,
                seed: params.raw.seed,
            })?;
            *begun = Some((next, next_assist, norm.clone()));
        }
        let update_started = Instant::now();
        // Episodes end at the time limit and the critic sees the episode phase, so the state after
        // the last step is terminal (value 0), not bootstrapped.
        let adv = gae(
            &ro.rewards,
            &ro.values,
            &vec![0.0; ro.rewards.len()],
            &vec![0.0; n],
            n,
            params.raw.ppo.gamma as f32,
            params.raw.ppo.lambda as f32,
        );
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
        let mut m = Map::new();
        m.insert("iteration".into(), json!(state.iteration));
        m.insert("env_steps".into(), json!(state.env_steps));
        m.insert("wall_s".into(), json!(state.wall_s));
        m.insert("steps_per_s".into(), json!((n * steps) as f64 / elapsed));
        m.insert("mean_return".into(), json!(mean(&|o| f64::from(o.reward))));
        m.insert("success".into(), json!(success));
        m.insert(
            "safe_success".into(),
            json!(mean(&|o| f64::from(u8::from(o.safe_success)))),
        );
        m.insert(
            "tracking_rms_m".into(),
            json!(mean(&|o| f64::from(o.tracking_rms_m))),
        );
        m.insert(
            "left_terrain".into(),
            json!(mean(&|o| f64::from(u8::from(o.left_terrain)))),
        );
        m.insert(
            "min_head_m".into(),
            json!(mean(&|o| f64::from(o.min_head_m))),
        );
        // Share of episodes whose fall demonstration handed over to a lying recovery.
        m.insert(
            "handed_over".into(),
            json!(mean(&|o| f64::from(u8::from(o.handed_over_s.is_some())))),
        );
        for s in &p.scenarios {
            let picked: Vec<bool> = specs
                .iter()
                .zip(&successes)
                .filter(|(sp, _)| sp.scenario == *s)
                .filter_map(|(_, ok)| *ok)
                .collect();
            if !picked.is_empty() {
                let rate = picked.iter().filter(|x| **x).count() as f64 / picked.len() as f64;
                m.insert(format!("success/{s}"), json!(rate));
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
            m.insert(format!("reward/{name}"), json!(v));
        }
        for (k, v) in serde_json::to_value(&stats)
            .unwrap_or_default()
            .as_object()
            .cloned()
            .unwrap_or_default()
        {
            m.insert(format!("ppo/{k}"), v);
        }
        let log_std = net.log_std_values();
        m.insert(
            "ppo/action_std".into(),
            json!(log_std.iter().map(|l| f64::from(l.exp())).sum::<f64>() / log_std.len() as f64),
        );
        if params.raw.task.reference_start_share > 0.0 {
            let posed: Vec<&super::task::Outcome> =
                ro.outcomes.iter().filter(|o| o.reference_start).collect();
            m.insert(
                "reference_start/share".into(),
                json!(posed.len() as f64 / n as f64),
            );
            if !posed.is_empty() {
                let k = posed.len() as f64;
                let ok = posed.iter().filter(|o| o.success).count() as f64;
                let ret = posed.iter().map(|o| f64::from(o.reward)).sum::<f64>();
                m.insert("reference_start/success".into(), json!(ok / k));
                m.insert("reference_start/mean_return".into(), json!(ret / k));
            }
        }
        m.insert("time/reset_s".into(), json!(reset_s));
        m.insert("time/sim_s".into(), json!(ro.sim_s));
        m.insert("time/forward_s".into(), json!(ro.forward_s));
        m.insert("time/update_s".into(), json!(update_s));
        m.insert("curriculum/stage".into(), json!(stage));
        m.insert("curriculum/mean_level".into(), json!(level));
        m.insert("curriculum/assist".into(), json!(assist));
        if params.raw.curriculum.adaptive_starts {
            let weights = state.curriculum.mean_scenario_weights(p);
            for (s, w) in p.scenarios.iter().zip(weights) {
                m.insert(format!("curriculum/start_p/{s}"), json!(w));
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

/// The dotted keys whose values differ between two configurations.
fn changed_keys(a: &super::TeacherConfig, b: &super::TeacherConfig) -> Vec<String> {
    use serde_json::Value;
    fn walk(prefix: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, x.get(k), y.get(k), out);
                }
            }
            (x, y) if x != y => out.push(prefix.to_owned()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(
        "",
        serde_json::to_value(a).ok().as_ref(),
        serde_json::to_value(b).ok().as_ref(),
        &mut out,
    );
    out
}
