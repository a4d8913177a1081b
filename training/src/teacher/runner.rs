//! PPO on the teacher: whole-episode rollouts of every environment, GAE, a PPO update, the
//! curriculum and the iteration's metrics, as an [`Algorithm`] that the shared loop
//! ([`crate::algorithm::run`]) drives through the run directory's metrics, `best/` and
//! checkpoints, resumable exactly.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use vigor_common::seed::derive;
use vigor_sim::SimParams;
use vigor_sim::env::{EnvConfig, Randomisation, SensorNoise};
use vigor_sim::robot::Robot;
use vigor_sim::sensors::{HeightScan, HeightScanConfig};

use super::artifact::{self, TeacherManifest, TrainState};
use super::collect::{Collector, InProcess};
use super::config::TeacherParams;
use super::curriculum::Curriculum;
use super::model::{TeacherNet, TeacherSpec};
use super::symmetry::TeacherMirror;
use super::task::obs_dims;
use crate::algorithm;
use crate::rl::{Adam, RunningNorm};
use crate::run_dir::RunDir;

pub use crate::algorithm::{IterationReport, TrainError};
pub use crate::run_dir::{BEST, CURVES, METRICS, METRICS_RRD, read_metrics};

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

/// The environment configuration of a policy trained under `p`: its engine, randomisation and
/// sensor noise. Every start settles afresh here (`start_pool` 0), as evaluation, replays and the
/// feasibility check need; the teacher's training collector adds the run's own start pool, start
/// places and push range ([`super::InProcess::new`]). A student distils without the pool.
#[must_use]
pub fn env_config(p: &TeacherParams, sim: &SimParams) -> EnvConfig {
    let mut c = sim.env.clone();
    c.engine = p.engine();
    if !p.raw.sim.randomise {
        c.randomisation = Randomisation::none();
    }
    if !p.raw.sim.sensor_noise {
        c.noise = SensorNoise::none();
    }
    c.start_pool = 0;
    c
}

/// The simulator a run trains in: `sim`, at the config's own physics rate
/// (`sim.physics_rate_hz`) when it sets one.
///
/// # Errors
/// A rate that is not a multiple of the policy rate.
pub fn training_sim(p: &TeacherParams, sim: &SimParams) -> Result<SimParams, TrainError> {
    match p.raw.sim.physics_rate_hz {
        None => Ok(sim.clone()),
        Some(hz) => sim
            .at_physics_rate(hz)
            .map_err(|e| TrainError::Invalid(format!("sim.physics_rate_hz: {e}"))),
    }
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

/// Copies every tensor of `from` whose name and shape `to` shares into `to`, and the optimiser
/// moments of those tensors from `adam` into a new optimiser for `to` (its step count kept);
/// the others keep `to`'s values and start with zero moments.
fn carry_over(from: &TeacherNet, adam: &Adam, to: &TeacherNet) -> Adam {
    let named = to.named_parameters();
    let mut out = Adam::new(&named);
    out.t = adam.t;
    let old: std::collections::HashMap<String, tch::Tensor> =
        from.named_parameters().into_iter().collect();
    tch::no_grad(|| {
        for (k, (name, dst)) in named.iter().enumerate() {
            let Some(src) = old.get(name).filter(|s| s.size() == dst.size()) else {
                continue;
            };
            dst.shallow_clone().copy_(src);
            if let Some(j) = adam.names.iter().position(|n| n == name) {
                out.m[k].copy_(&adam.m[j]);
                out.v[k].copy_(&adam.v[j]);
            }
        }
    });
    out
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
    let cfg = env_config(params, &training_sim(params, sim)?);
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
        let heads_only = opts.amend && {
            let mut same = ck.teacher.manifest.spec.clone();
            same.critic.output = spec.critic.output;
            same == spec
        };
        // `--amend` of `task.scan_*`: the networks carry over to the new grid (`widen`).
        let scan = |t: &super::config::TaskSection| (t.scan_x_m, t.scan_y_m, t.scan_spacing_m);
        let rescan = opts.amend && scan(&saved.task) != scan(&params.raw.task) && {
            let mut same = ck.teacher.manifest.spec.clone();
            same.scan = spec.scan;
            same.encoder.input = spec.encoder.input;
            same.critic.input = spec.critic.input;
            same == spec
        };
        let old_row = ck.teacher.manifest.spec.row();
        if (ck.teacher.manifest.spec != spec && !heads_only && !rescan)
            || ck.teacher.manifest.normaliser.len() != old_row
        {
            return Err(TrainError::Resume(format!(
                "{}: the checkpoint's network shapes do not match this build's observation layout",
                ck.dir.display()
            )));
        }
        norm = ck.teacher.manifest.normaliser.clone();
        if rescan {
            let grid = |t: &super::config::TaskSection| {
                HeightScan::new(HeightScanConfig {
                    x_extent_m: t.scan_x_m,
                    y_extent_m: t.scan_y_m,
                    spacing_m: t.scan_spacing_m,
                })
                .map_err(|e| TrainError::Resume(format!("{}: task.scan_*: {e}", ck.dir.display())))
            };
            let (old_scan, new_scan) = (grid(&saved.task)?, grid(&params.raw.task)?);
            let kept = super::widen::kept_points(&old_scan, &new_scan);
            if kept < old_scan.len() {
                return Err(TrainError::Resume(format!(
                    "{}: the new height scan keeps {kept} of the checkpoint's {} points (a new grid \
                     must contain every old point: the same centre and a spacing that divides the \
                     old one, e.g. 0.2 m to 0.1 m, with extents at least as large); the rest of \
                     what the networks learned from the terrain would be lost",
                    ck.dir.display(),
                    old_scan.len()
                )));
            }
            eprintln!(
                "{}: the height scan goes from {} to {} points: the {kept} already there keep \
                 their weights, the new ones start at zero weight",
                ck.dir.display(),
                old_scan.len(),
                new_scan.len()
            );
            (adam, norm) = super::widen::widen_scan(
                (&ck.teacher.net, &ck.adam, &norm),
                &old_scan,
                &net,
                &new_scan,
            );
        } else if ck.teacher.manifest.spec == spec {
            net = ck.teacher.net;
            adam = ck.adam;
        } else {
            // `--amend` of `model.critic_groups`: everything carries over but the critic's last
            // layer, which starts afresh (seeded) with its optimiser moments at zero.
            eprintln!(
                "{}: the critic's value heads go from {} to {}: its last layer starts afresh (train \
                 it alone first with ppo.critic_warmup_iterations past iteration {})",
                ck.dir.display(),
                ck.teacher.manifest.spec.critic.output,
                spec.critic.output,
                ck.state.iteration
            );
            adam = carry_over(&ck.teacher.net, &ck.adam, &net);
        }
        state = ck.state;
        state
            .curriculum
            .remap_terrains(&saved.curriculum.terrains, params.terrains());
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
    // The noise ceiling holds from the first rollout: a fresh run's `model.init_std`, or a
    // resumed run's learned noise, above it comes down to it now (a no-op on a run that trained
    // under it, so resume stays exact).
    if let Some(cap) = params.raw.ppo.max_action_std {
        crate::rl::ppo::cap_log_std(&crate::rl::GaussianPolicy::log_std(&net), cap);
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
    let mut ppo = super::iteration::Ppo {
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

/// The dotted keys whose values differ between two configurations.
fn changed_keys(a: &super::TeacherConfig, b: &super::TeacherConfig) -> Vec<String> {
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
