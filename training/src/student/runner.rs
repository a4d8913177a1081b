//! Distilling a student from a teacher: DAgger rollouts, supervised updates on
//! `w_z ||z_hat - z||^2 + w_a ||a - a_teacher||^2` and the iteration's metrics, as an
//! [`Algorithm`] that the shared loop ([`crate::algorithm::run`]) drives through the run
//! directory's metrics and checkpoints (exact resume), exporting the deployable artifact
//! (`run/student/`, with a probe of recorded inputs and the outputs training computed for them)
//! at each checkpoint.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};
use vigor_common::seed::{SplitMix64, derive};
use vigor_policy::student::{DepthEncoderSpec, ReferenceTrack};
use vigor_policy::{
    Manifest, Network, Normaliser, ObservationLayout, PolicyKind, StudentNetwork, StudentPolicy,
    StudentSpec,
};
use vigor_sim::SimParams;
use vigor_sim::env::EpisodeSpec;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_sim::sensors::{DepthCameraConfig, RobotGeometry};
use vigor_sim::terrain::TerrainKind;

use super::artifact::resume;
use super::config::{StudentConfig, StudentKind};
use super::dagger::Dagger;
use super::sensor::StudentSensor;
use super::symmetry::StudentMirror;
use crate::algorithm;
use crate::rl::Adam;
use crate::run_dir::RunDir;
use crate::teacher::config::{TeacherActionMode, TeacherConfig};
use crate::teacher::eval::{check_fits, params_for};
use crate::teacher::reference::ReferenceSet;
use crate::teacher::rollout::par_each;
use crate::teacher::runner::{IterationReport, TrainError, env_config};
use crate::teacher::task::ACTION_CLIP;
use crate::teacher::{TaskEnv, Teacher};

/// The deployable artifact inside a run directory.
pub const STUDENT_DIR: &str = "student";
/// Beside `manifest.json`: the task the student was trained and is evaluated in (training only).
pub const TASK_FILE: &str = "task.json";
pub use vigor_policy::student_probe::PROBE_FILE;
pub(super) const STATE: &str = "state.json";
/// Policy steps recorded in the probe.
pub(super) const PROBE_STEPS: usize = 40;

/// `task.json`: how to simulate the student's episodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentTask {
    /// Robot description name.
    pub robot: String,
    /// The teacher's configuration (task, rewards, engine).
    pub teacher: TeacherConfig,
    /// The simulated head camera.
    pub camera: DepthCameraConfig,
    /// The student's run configuration.
    pub student: StudentConfig,
    /// SHA-256 of the teacher's weights.
    pub teacher_sha256: String,
}

/// Training state besides the networks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct StudentState {
    pub(super) iteration: u64,
    pub(super) env_steps: u64,
    pub(super) adam_steps: i64,
    pub(super) wall_s: f64,
}

/// Options besides the configuration.
#[derive(Debug, Clone)]
pub struct StudentRunOptions {
    /// Run directory.
    pub run_dir: PathBuf,
    /// Continue from `run_dir/latest`.
    pub resume: bool,
    /// Commit recorded in artifacts.
    pub git_hash: String,
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn invalid(e: impl std::fmt::Display) -> TrainError {
    TrainError::Invalid(e.to_string())
}

/// The manifest of a fresh student of `cfg` distilled from `teacher`.
///
/// # Errors
/// A teacher whose layout the student cannot read.
pub fn student_manifest(
    cfg: &StudentConfig,
    teacher: &Teacher,
    refs: &ReferenceSet,
    git_hash: &str,
) -> Result<Manifest, TrainError> {
    let t = &teacher.manifest;
    if t.config.task.action_mode != TeacherActionMode::ReferenceResidual {
        return Err(TrainError::Invalid(format!(
            "teacher `{}` acts in `{:?}` mode; students distil `reference_residual` teachers (actions on the reference track)",
            t.name, t.config.task.action_mode
        )));
    }
    let frame = ObservationLayout::g1_proprioception().len();
    let actor_history = t.config.task.history;
    let spec = StudentSpec {
        frame,
        history: cfg.model.history,
        actor_history,
        depth: (cfg.kind == StudentKind::Depth).then(|| DepthEncoderSpec {
            frames: cfg.depth.frames,
            width: usize::from(cfg.depth.width_px),
            height: usize::from(cfg.depth.height_px),
            channels: cfg.model.depth_channels,
            features: cfg.model.depth_features,
        }),
        tcn_channels: cfg.model.tcn_channels,
        tcn_features: cfg.model.tcn_features,
        latent: t.spec.encoder.output,
        latent_hidden: cfg.model.latent_hidden.clone(),
        actor_hidden: t.spec.actor.hidden.clone(),
        actions: t.spec.actor.output,
    };
    // The teacher's statistics of its proprioception history; older frames reuse the newest's.
    let start = t.spec.reference + t.spec.scan;
    let (mut mean, mut var) = (Vec::new(), Vec::new());
    for k in 0..spec.history {
        let f = if k < actor_history { k } else { 0 };
        for j in 0..frame {
            mean.push(t.normaliser.mean[start + f * frame + j]);
            var.push(t.normaliser.var[start + f * frame + j]);
        }
    }
    let speed_of = |d: f64| d / f64::from(t.config.task.reference_duration_s);
    let references = refs
        .references
        .iter()
        .map(|r| ReferenceTrack {
            posture: format!("{:?}", r.posture).to_lowercase(),
            gravity: r.frames[0].gravity,
            rate_hz: r.rate_hz,
            speed: speed_of(r.duration_s),
            q: r.frames.iter().map(|f| f.q.clone()).collect(),
        })
        .collect();
    let depth = cfg.kind == StudentKind::Depth;
    let m = Manifest {
        schema_version: vigor_policy::artifact::SCHEMA_VERSION,
        kind: if depth {
            PolicyKind::DepthStudent
        } else {
            PolicyKind::BlindStudent
        },
        name: format!("{}-seed{}", cfg.name, cfg.seed),
        robot: t.robot.clone(),
        joints: t.joints.clone(),
        // The student applies it in f32, as the f32 statistics it always had.
        normaliser: Normaliser {
            mean,
            var,
            count: 0.0,
            epsilon: f64::from(t.normaliser.epsilon as f32),
            clip: f64::from(t.normaliser.clip as f32),
        },
        network: Network::Student(StudentNetwork {
            observation: ObservationLayout::g1_proprioception(),
            depth: depth.then(|| cfg.depth.clone()),
            depth_rate_hz: cfg.depth_rate_hz,
            phase_period_s: t.config.task.reference_duration_s,
            action_clip: ACTION_CLIP,
            action_scale: t.config.task.action_scale,
            references,
            spec,
            teacher: t.name.clone(),
            fallback: None,
            reanchor: t.config.task.reanchor,
        }),
        weights_sha256: String::new(),
        git_hash: git_hash.to_owned(),
        seed: cfg.seed,
    };
    m.check(Path::new("<new student>")).map_err(invalid)?;
    Ok(m)
}

/// A fresh student whose actor starts as the teacher's (depth-feature columns at zero), so a
/// student that matches z acts like the teacher.
///
/// # Errors
/// See [`student_manifest`].
pub fn init_student(manifest: Manifest, teacher: &Teacher) -> Result<StudentPolicy, TrainError> {
    let student = StudentPolicy::init(manifest, Device::Cpu).map_err(invalid)?;
    let from = teacher.net.vs.variables();
    let mut to = student.var_store().variables();
    let mut missed = Vec::new();
    tch::no_grad(|| {
        for (name, src) in from.iter().filter(|(n, _)| n.starts_with("actor.")) {
            let src = src.to(Device::Cpu);
            match to.get_mut(name) {
                Some(dst) if src.size() == dst.size() => dst.copy_(&src),
                Some(dst)
                    if name == "actor.l0.weight"
                        && src.size()[0] == dst.size()[0]
                        && src.size()[1] <= dst.size()[1] =>
                {
                    // Teacher columns (z, proprioception) first; the depth columns start at zero.
                    let _ = dst.zero_();
                    dst.narrow(1, 0, src.size()[1]).copy_(&src);
                }
                _ => missed.push(name.clone()),
            }
        }
    });
    if !missed.is_empty() {
        return Err(TrainError::Invalid(format!(
            "the teacher's actor does not fit the student's: {}",
            missed.join(", ")
        )));
    }
    Ok(student)
}

pub(super) fn episode_spec(
    cfg: &StudentConfig,
    teacher: &TeacherConfig,
    it: u64,
    env: usize,
) -> EpisodeSpec {
    let k = it * cfg.envs as u64 + env as u64;
    let scenarios: &[Scenario] = if teacher.task.scenarios.is_empty() {
        &[Scenario::Supine]
    } else {
        &teacher.task.scenarios
    };
    let kinds: &[TerrainKind] = if cfg.terrains.is_empty() {
        &[TerrainKind::Flat]
    } else {
        &cfg.terrains
    };
    let mut rng = SplitMix64::new(derive(cfg.seed, "student-episode", k));
    let scenario = scenarios[(rng.next_u64() % scenarios.len() as u64) as usize];
    let kind = kinds[(rng.next_u64() % kinds.len() as u64) as usize];
    let difficulty = if kind == TerrainKind::Flat {
        0.0
    } else {
        rng.uniform(0.0, cfg.max_difficulty)
    };
    EpisodeSpec {
        scenario,
        // A scenario's own terrain at its own difficulty, whatever the slot's kind.
        terrain: scenario.required_terrain().unwrap_or((kind, difficulty)),
        seed: rng.next_u64(),
    }
}

pub(super) fn named_params(student: &StudentPolicy) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = student.var_store().variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Builds the environments and sensors of a student run.
///
/// # Errors
/// Simulator or configuration errors.
#[allow(clippy::type_complexity)]
pub fn build_envs(
    task: &StudentTask,
    manifest: &Manifest,
    robot: &Robot,
    sim: &SimParams,
    specs: &[EpisodeSpec],
    augment: bool,
    threads: usize,
) -> Result<(Vec<TaskEnv>, Vec<StudentSensor>, usize), TrainError> {
    let engine = task.teacher.sim.engine;
    let p = Arc::new(params_for(&task.teacher, engine)?);
    let mut cfg = env_config(&p, sim);
    if augment {
        // Training episodes lie where the teacher's did; the probe keeps the centre.
        cfg.lying_offset_m = p.raw.task.lying_offset_m;
    }
    let refs = Arc::new(ReferenceSet::for_task(robot, &p.raw.task)?);
    let geometry = Arc::new(RobotGeometry::new(robot));
    let mut slots: Vec<(Option<TaskEnv>, Option<StudentSensor>, Option<String>)> =
        specs.iter().map(|_| (None, None, None)).collect();
    par_each(&mut slots, threads, |i, (env, sensor, err)| {
        let built = TaskEnv::new(robot, &cfg, Arc::clone(&p), Arc::clone(&refs), specs[i])
            .map_err(|e| e.to_string())
            .and_then(|e| {
                let s = StudentSensor::new(
                    manifest,
                    task.camera,
                    Arc::clone(&geometry),
                    task.student.depth_rate_hz,
                    augment.then(|| task.student.augment.clone()),
                    augment.then(|| task.student.timing.clone()),
                    false,
                )?;
                Ok((e, s))
            });
        match built {
            Ok((e, mut s)) => {
                s.reset(derive(task.student.seed, "augment", specs[i].seed));
                *env = Some(e);
                *sensor = Some(s);
            }
            Err(e) => *err = Some(e),
        }
    });
    let steps =
        (p.raw.task.episode_s / (cfg.physics.dt_s * cfg.decimation as f32)).round() as usize;
    let mut envs = Vec::new();
    let mut sensors = Vec::new();
    for (e, s, err) in slots {
        if let Some(err) = err {
            return Err(TrainError::Invalid(err));
        }
        envs.extend(e);
        sensors.extend(s);
    }
    Ok((envs, sensors, steps))
}

fn threads(n: usize) -> usize {
    if n == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        n
    }
}

/// Trains (or resumes) a student of `cfg` from `teacher`; `on_iteration` sees every iteration.
///
/// # Errors
/// Simulator, file or checkpoint errors; a resume whose configuration differs.
pub fn train_student<F>(
    cfg: &StudentConfig,
    teacher: &Teacher,
    robot: &Robot,
    sim: &SimParams,
    opts: &StudentRunOptions,
    on_iteration: F,
) -> Result<Manifest, TrainError>
where
    F: FnMut(&IterationReport),
{
    // Rollouts run the teacher and the student on the environment workers' cores: one libtorch
    // thread (its idle pool would spin on them); the update raises it to `torch_threads`.
    tch::set_num_threads(1);
    let refs = ReferenceSet::for_task(robot, &teacher.manifest.config.task)?;
    let task = StudentTask {
        robot: robot.name.clone(),
        teacher: teacher.manifest.config.clone(),
        camera: sim.depth,
        student: cfg.clone(),
        teacher_sha256: teacher.manifest.weights_sha256.clone(),
    };
    let engine = task.teacher.sim.engine;
    check_fits(teacher, robot, &params_for(&task.teacher, engine)?)?;
    let manifest = student_manifest(cfg, teacher, &refs, &opts.git_hash)?;
    let mut student = init_student(manifest, teacher)?;
    let mut adam = Adam::new(&named_params(&student));
    let mut state = StudentState {
        iteration: 0,
        env_steps: 0,
        adam_steps: 0,
        wall_s: 0.0,
    };
    let run = RunDir::open(&opts.run_dir, opts.resume)?;
    if opts.resume {
        (student, adam, state) = resume(&run, &task)?;
    }
    let mirror = if cfg.optim.symmetry {
        Some(
            StudentMirror::new(
                robot,
                &params_for(&task.teacher, engine)?,
                student.student(),
            )
            .map_err(|e| TrainError::Invalid(format!("optim.symmetry: {e}")))?,
        )
    } else {
        None
    };
    let mut dagger = Dagger {
        cfg,
        teacher,
        robot,
        sim,
        task,
        student,
        adam,
        state,
        workers: threads(cfg.threads),
        mirror,
    };
    algorithm::run(
        &mut dagger,
        &run,
        cfg.iterations as u64,
        cfg.checkpoint_every as u64,
        on_iteration,
    )?;
    Ok(dagger.student.manifest().clone())
}

/// The panels of a student run's `curves.png`.
pub const STUDENT_PANELS: [(&str, &[&str]); 6] = [
    ("latent mse", &["latent_mse"]),
    ("action mse", &["action_mse"]),
    ("success", &["success", "safe_success"]),
    ("dagger beta", &["beta", "teacher_share"]),
    ("tracking rms (m)", &["tracking_rms_m"]),
    ("env steps/s", &["steps_per_s"]),
];
