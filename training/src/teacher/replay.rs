//! Recordings of evaluated episodes: the best, median and worst by return, each replayed with its
//! whole cell (so the replay is the episode evaluated, checked) and logged to rerun.

use std::path::Path;
use std::sync::Arc;

use vigor_record::{EpisodeRecorder, Pose};
use vigor_sim::SimParams;
use vigor_sim::engine::EngineKind;
use vigor_sim::env::{EpisodeSpec, tilt_rad};
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_sim::sensors::link_pose_from_rapier;
use vigor_sim::terrain::TerrainKind;

use super::eval::{EpisodeResult, EvalPlan, Evaluee, params_for};
use super::reference::ReferenceSet;
use super::runner::TrainError;
use super::task::TaskEnv;
use crate::demos::kinematics::SKELETON;

/// Indices of the best, median and worst episodes by return.
#[must_use]
pub fn best_median_worst(results: &[EpisodeResult]) -> [(&'static str, usize); 3] {
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&a, &b| {
        results[b]
            .outcome
            .reward
            .total_cmp(&results[a].outcome.reward)
    });
    let last = order.len().saturating_sub(1);
    [
        ("best", order.first().copied().unwrap_or(0)),
        ("median", order.get(last / 2).copied().unwrap_or(0)),
        ("worst", order.get(last).copied().unwrap_or(0)),
    ]
}

/// Replays episode `k` of `results` (what [`evaluate`] returned for `plan`) with `agent` and
/// records it to `path`: the robot, contacts, the reference's target pose as a stick figure beside
/// it, reward, head height and tilt.
///
/// The policy's forward pass runs on a cell's trials together, and its floating-point results
/// depend on how many rows a batch has (measured: a prone start on rough ground returned 11.59
/// evaluated among 4 trials and 12.63 alone). So the replay runs the episode's whole cell again, as
/// the evaluation did, and records episode `k` among them; it then checks that the replayed
/// outcome is the evaluated one.
///
/// # Errors
/// Simulator or recording errors; `k` outside `results`; a replay whose outcome differs from the
/// evaluated one (the recording would show another episode).
pub fn record_episode(
    agent: Evaluee<'_>,
    robot: &Robot,
    sim: &SimParams,
    (plan, results): (&EvalPlan, &[EpisodeResult]),
    k: usize,
    path: &Path,
) -> Result<(), TrainError> {
    let trials = plan.trials.max(1);
    let first = k / trials * trials;
    let cell = results
        .get(first..(first + trials).min(results.len()))
        .filter(|c| k - first < c.len())
        .ok_or_else(|| {
            TrainError::Invalid(format!(
                "episode {k} is not among the {} evaluated",
                results.len()
            ))
        })?;
    let r = &cell[k - first];
    let engine: EngineKind = r.engine.parse().map_err(TrainError::Invalid)?;
    let p = Arc::new(params_for(agent.config(), engine)?);
    agent.check(robot, &p)?;
    let cfg = plan.env_config(&p, sim);
    let refs = Arc::new(ReferenceSet::for_task(robot, &p.raw.task)?);
    let mut envs = cell
        .iter()
        .map(|e| {
            let scenario = Scenario::from_name(&e.scenario).map_err(TrainError::Invalid)?;
            let terrain = TerrainKind::from_name(&e.terrain)
                .map_err(|err| TrainError::Invalid(err.to_string()))?;
            let spec = EpisodeSpec {
                scenario,
                terrain: (terrain, e.difficulty),
                seed: e.seed,
            };
            let mut env = TaskEnv::new(robot, &cfg, Arc::clone(&p), Arc::clone(&refs), spec)?;
            env.set_assist(e.assist);
            env.set_flat_scan(plan.flat_scan);
            Ok(env)
        })
        .collect::<Result<Vec<_>, TrainError>>()?;
    let mine = k - first;
    let line = format!(
        "{} on {} ({:.2}), seed {}, {}: success {}, return {:.2}",
        r.scenario, r.terrain, r.difficulty, r.seed, r.engine, r.outcome.success, r.outcome.reward
    );
    let rec_err = |e: vigor_record::RecordError| TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let recorder = EpisodeRecorder::create(path, robot, Some(envs[mine].env().terrain()), &line)
        .map_err(rec_err)?;
    let steps =
        (p.raw.task.episode_s / (cfg.physics.dt_s * cfg.decimation as f32)).round() as usize;
    let threads = plan.worker_threads();
    let mut failure: Option<vigor_record::RecordError> = None;
    let outcomes = agent.run(robot, &mut envs, steps, threads, |_, es| {
        if let Err(err) = log_frame(&recorder, &es[mine]) {
            failure.get_or_insert(err);
        }
    })?;
    if let Some(e) = failure {
        return Err(rec_err(e));
    }
    recorder.finish().map_err(rec_err)?;
    if outcomes.get(mine) != Some(&r.outcome) {
        return Err(TrainError::Invalid(format!(
            "the replay of {} on {} (seed {}) for {} differs from its evaluation (return {:.3}, \
             evaluated {:.3}): is `results` what `evaluate` returned for this plan and policy?",
            r.scenario,
            r.terrain,
            r.seed,
            path.display(),
            outcomes.get(mine).map_or(f32::NAN, |o| o.reward),
            r.outcome.reward
        )));
    }
    Ok(())
}

/// Logs one policy step of `e` to `recorder`: the robot's links and contacts, pelvis height and
/// tilt, the reference's target pose as an orange stick figure, the return so far and the lowest
/// head clearance.
///
/// # Errors
/// Recording errors.
pub fn log_frame(recorder: &EpisodeRecorder, e: &TaskEnv) -> Result<(), vigor_record::RecordError> {
    let env = e.env();
    let poses: Vec<Pose> = env
        .sim()
        .link_poses()
        .iter()
        .map(|p| {
            let l = link_pose_from_rapier(p);
            Pose {
                pos: l.pos,
                quat_wxyz: l.quat_wxyz,
            }
        })
        .collect();
    let s = env.state();
    let t = f64::from(e.since_engaged_s());
    let target = e.target_keypoints_world();
    recorder.log_step(
        t,
        &poses,
        &env.sim().contacts(),
        e.pelvis_height_m(),
        tilt_rad(s.base_quat).to_degrees(),
    )?;
    recorder.log_skeleton(
        Some(t),
        "world/reference",
        &target,
        &SKELETON,
        [255, 140, 0],
    )?;
    recorder.log_scalar(t, "plots/reward", f64::from(e.outcome().reward))?;
    recorder.log_scalar(t, "plots/min_head_m", f64::from(e.outcome().min_head_m))
}
