//! Are the demonstrations physically feasible? Every demonstration a task tracks is played from
//! chosen phases of the clip (the robot posed at rest in that frame) and from the scenarios' real
//! starts, with HoST's upward help at several levels, either open loop (no policy: a zero
//! residual under `action_mode = "reference_residual"`, so the joint targets are the
//! demonstration's own) or by a trained teacher (issue 18's test: every shipped demonstration is
//! tracked by the trained teacher without help). Per episode: whether the robot was upright
//! when the demonstration ended standing, and the outcome.
//!
//! Open loop is a weak test, measured: posed at rest in the final standing frame, the PD
//! controller alone lets the G1 tip over within about a second unless most of its weight is
//! lifted (docs/demonstrations.md, "Feasibility"), so every demonstration needs 60-80 % help
//! open loop, the lying recoveries the teacher masters included.
//!
//! Every episode derives from the plan's seed alone, so the tables repeat for any thread count.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vigor_common::seed::derive;
use vigor_record::EpisodeRecorder;
use vigor_sim::SimParams;
use vigor_sim::engine::EngineKind;
use vigor_sim::env::EpisodeSpec;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;

use super::artifact::Teacher;
use super::config::{TeacherActionMode, TeacherConfig, TeacherParams};
use super::eval::{check_fits, group_first_seen, log_frame, params_for};
use super::reference::ReferenceSet;
use super::rollout::{Acting, par_each, run_episodes};
use super::runner::{TrainError, env_config};
use super::task::{Outcome, TaskEnv};

/// What to check.
#[derive(Debug, Clone, PartialEq)]
pub struct FeasibilityPlan {
    /// Phases of each demonstration to pose the robot at (0..=1 of the clip; 0 is its first
    /// frame): the robot at rest in that frame's pose, just above flat ground.
    pub phases: Vec<f64>,
    /// Scenarios whose real start (settled lying, or standing and pushed to the 20° trigger) is
    /// also played, each tracking the demonstration the task's rule picks for it.
    pub scenarios: Vec<Scenario>,
    /// Upward help on the torso, as fractions of the robot's weight.
    pub assists: Vec<f32>,
    /// Trials per demonstration (or scenario) x phase x assist.
    pub trials: usize,
    /// Seed of the trials.
    pub seed: u64,
    /// Engine.
    pub engine: EngineKind,
    /// Worker threads (0 = one per core).
    pub threads: usize,
}

/// Where an episode began.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Start {
    /// Posed at this phase of the demonstration, at rest, on flat ground.
    Posed(f64),
    /// The scenario's own start (its terrain where it needs one, else flat ground).
    Scenario(Scenario),
}

impl Start {
    /// A short label for tables and files: `posed 0.5` (the phase as written) or the scenario's name.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Posed(p) => format!("posed {p}"),
            Self::Scenario(s) => s.name().to_owned(),
        }
    }
}

impl From<Start> for String {
    fn from(s: Start) -> Self {
        s.label()
    }
}

impl TryFrom<String> for Start {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.strip_prefix("posed ") {
            Some(p) => p
                .parse()
                .map(Self::Posed)
                .map_err(|e| format!("start `{s}`: {e}")),
            None => Scenario::from_name(&s).map(Self::Scenario),
        }
    }
}

/// One episode of the check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeasibilityEpisode {
    /// The demonstration tracked.
    pub demo: String,
    /// Where it began.
    pub start: Start,
    /// Upward help, fraction of the robot's weight.
    pub assist: f32,
    /// The episode's seed (with `start`, `assist` and the plan's engine it replays: exactly open
    /// loop; with a teacher up to the rounding of its forward pass at another batch size).
    pub seed: u64,
    /// Upright (pelvis at least 0.65 m above the terrain, tilt under 20°) at the step the
    /// demonstration reached its end, standing: the motion was followed up. The criterion of
    /// feasibility rather than standing at the end, because standing still is not a property of
    /// the motion: held by the PD controller alone, even the final standing pose tips over
    /// (measured: docs/demonstrations.md, "Feasibility").
    pub came_up: bool,
    /// What happened.
    pub outcome: Outcome,
}

/// The episodes of one demonstration x start x assist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeasibilityRow {
    /// Demonstration.
    pub demo: String,
    /// Start label ([`Start::label`]).
    pub start: String,
    /// Upward help.
    pub assist: f32,
    /// Episodes.
    pub trials: usize,
    /// Share upright when the demonstration stands ([`FeasibilityEpisode::came_up`]).
    pub came_up: f64,
    /// Share standing still at the end.
    pub success: f64,
    /// Share of successes whose head never came within 5 cm of the terrain after it was clear.
    pub safe_success: f64,
    /// Median over the episodes of the lowest head clearance after the start, m.
    pub min_head_m: f64,
    /// Median tracking RMS against the demonstration, m.
    pub tracking_rms_m: f64,
}

/// Refuses a task whose zero action is not the demonstration's own joint targets.
///
/// # Errors
/// [`TrainError::Invalid`] naming `task.action_mode`.
pub fn check_open_loop(config: &TeacherConfig) -> Result<(), TrainError> {
    if config.task.action_mode == TeacherActionMode::ReferenceResidual {
        return Ok(());
    }
    Err(TrainError::Invalid(format!(
        "task.action_mode is {:?}: the open-loop check needs \"reference_residual\", where a zero \
         action sets the joint targets to the demonstration's",
        config.task.action_mode
    )))
}

/// One episode to run.
#[derive(Debug, Clone, Copy)]
struct Job {
    reference: Option<usize>,
    start: Start,
    assist: f32,
    spec: EpisodeSpec,
}

fn jobs(plan: &FeasibilityPlan, refs: &ReferenceSet) -> Vec<Job> {
    let mut out = Vec::new();
    for (i, r) in refs.references.iter().enumerate() {
        for &phase in &plan.phases {
            for &assist in &plan.assists {
                for k in 0..plan.trials {
                    out.push(Job {
                        reference: Some(i),
                        start: Start::Posed(phase),
                        assist,
                        spec: EpisodeSpec {
                            scenario: Scenario::Supine,
                            terrain: (TerrainKind::Flat, 0.0),
                            seed: derive(plan.seed, &format!("feasibility/{}", r.name), k as u64),
                        },
                    });
                }
            }
        }
    }
    for &scenario in &plan.scenarios {
        let terrain = scenario
            .required_terrain()
            .unwrap_or((TerrainKind::Flat, 0.0));
        for &assist in &plan.assists {
            for k in 0..plan.trials {
                out.push(Job {
                    reference: None,
                    start: Start::Scenario(scenario),
                    assist,
                    spec: EpisodeSpec {
                        scenario,
                        terrain,
                        seed: derive(
                            plan.seed,
                            &format!("feasibility/{}", scenario.name()),
                            k as u64,
                        ),
                    },
                });
            }
        }
    }
    out
}

/// Prepared simulation inputs shared by every episode.
struct Setup {
    p: Arc<TeacherParams>,
    cfg: vigor_sim::env::EnvConfig,
    refs: Arc<ReferenceSet>,
    steps: usize,
}

fn setup(
    config: &TeacherConfig,
    teacher: Option<&Teacher>,
    robot: &Robot,
    sim: &SimParams,
    engine: EngineKind,
) -> Result<Setup, TrainError> {
    if teacher.is_none() {
        check_open_loop(config)?;
    }
    let mut p = params_for(config, engine)?;
    // The check asks whether each demonstration can be tracked to its end: no hand-over to
    // another one part-way (`task.reanchor`), even for a teacher trained with it.
    p.raw.task.reanchor = None;
    let p = Arc::new(p);
    if let Some(t) = teacher {
        check_fits(t, robot, &p)?;
    }
    let cfg = env_config(&p, sim);
    let refs = Arc::new(ReferenceSet::for_task(robot, &p.raw.task)?);
    let steps =
        (p.raw.task.episode_s / (cfg.physics.dt_s * cfg.decimation as f32)).round() as usize;
    Ok(Setup {
        p,
        cfg,
        refs,
        steps,
    })
}

fn start_env(s: &Setup, robot: &Robot, job: &Job) -> Result<TaskEnv, TrainError> {
    let mut env = TaskEnv::new(
        robot,
        &s.cfg,
        Arc::clone(&s.p),
        Arc::clone(&s.refs),
        job.spec,
    )?;
    if let (Some(i), Start::Posed(phase)) = (job.reference, job.start) {
        env.reset_posed_on(job.spec, i, phase)?;
    }
    env.set_assist(job.assist);
    Ok(env)
}

/// Marks, for each environment not yet marked, whether it is upright at the step its
/// demonstration ended.
fn mark(came_up: &mut [Option<bool>], envs: &[TaskEnv]) {
    for (c, e) in came_up.iter_mut().zip(envs) {
        if c.is_none() && e.reference_done() {
            *c = Some(e.upright());
        }
    }
}

/// Runs `envs` (already reset) for `steps` policy steps, with `teacher`'s mean action or, without
/// one, a zero residual (the demonstration's joints open loop); `on_step` after each step.
/// Returns per environment whether it was upright when its demonstration ended (or at the end,
/// if the episode ended first), and the outcomes.
fn drive(
    envs: &mut [TaskEnv],
    teacher: Option<&Teacher>,
    steps: usize,
    threads: usize,
    mut on_step: impl FnMut(&[TaskEnv]),
) -> (Vec<bool>, Vec<Outcome>) {
    let mut came_up = vec![None; envs.len()];
    let outcomes = match teacher {
        Some(t) => {
            run_episodes(
                envs,
                &t.net,
                &t.manifest.normaliser,
                steps,
                threads,
                Acting::Mean,
                |_, es| {
                    mark(&mut came_up, es);
                    on_step(es);
                },
            )
            .outcomes
        }
        None => {
            let zero = vec![0.0; envs.first().map_or(0, |e| e.env().robot().joints.len())];
            for _ in 0..steps {
                par_each(envs, threads, |_, e| {
                    if !e.done() {
                        e.step(&zero);
                    }
                });
                mark(&mut came_up, envs);
                on_step(envs);
            }
            envs.iter().map(TaskEnv::outcome).collect()
        }
    };
    let came_up = came_up
        .into_iter()
        .zip(envs.iter())
        .map(|(c, e)| c.unwrap_or_else(|| e.upright()))
        .collect();
    (came_up, outcomes)
}

/// Environments built and run at a time (each holds an engine).
const BATCH: usize = 64;

/// Plays every episode of `plan`, with `teacher` (its own configuration; the test of a
/// demonstration: the trained policy tracks it unaided) or, without one, open loop under
/// `config`; `progress(done, total)` after each batch of episodes.
///
/// # Errors
/// A task that is not `reference_residual`, a teacher that does not fit this build, or
/// simulator errors.
pub fn check_demos<F: FnMut(usize, usize)>(
    config: &TeacherConfig,
    teacher: Option<&Teacher>,
    robot: &Robot,
    sim: &SimParams,
    plan: &FeasibilityPlan,
    mut progress: F,
) -> Result<Vec<FeasibilityEpisode>, TrainError> {
    let s = setup(config, teacher, robot, sim, plan.engine)?;
    let jobs = jobs(plan, &s.refs);
    let mut out = Vec::with_capacity(jobs.len());
    for batch in jobs.chunks(BATCH) {
        let mut slots: Vec<(&Job, Option<Result<TaskEnv, TrainError>>)> =
            batch.iter().map(|j| (j, None)).collect();
        par_each(&mut slots, plan.threads, |_, (job, env)| {
            *env = Some(start_env(&s, robot, job));
        });
        let mut envs = slots
            .into_iter()
            .map(|(_, e)| e.expect("every environment was built"))
            .collect::<Result<Vec<_>, _>>()?;
        let (came_up, outcomes) = drive(&mut envs, teacher, s.steps, plan.threads, |_| {});
        for (((job, env), came_up), outcome) in batch.iter().zip(&envs).zip(came_up).zip(outcomes) {
            out.push(FeasibilityEpisode {
                demo: s.refs.references[env.reference_index()].name.clone(),
                start: job.start,
                assist: job.assist,
                seed: job.spec.seed,
                came_up,
                outcome,
            });
        }
        progress(out.len(), jobs.len());
    }
    Ok(out)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// One row per demonstration x start x assist, in the order first met.
#[must_use]
pub fn summarise(episodes: &[FeasibilityEpisode]) -> Vec<FeasibilityRow> {
    group_first_seen(episodes, |e| {
        (e.demo.clone(), e.start.label(), e.assist.to_bits())
    })
    .into_iter()
    .map(|((demo, start, assist), es)| {
        let n = es.len().max(1) as f64;
        let share =
            |f: &dyn Fn(&FeasibilityEpisode) -> bool| es.iter().filter(|e| f(e)).count() as f64 / n;
        let median_of = |f: &dyn Fn(&Outcome) -> f32| {
            median(es.iter().map(|e| f64::from(f(&e.outcome))).collect())
        };
        FeasibilityRow {
            trials: es.len(),
            came_up: share(&|e| e.came_up),
            success: share(&|e| e.outcome.success),
            safe_success: share(&|e| e.outcome.safe_success),
            min_head_m: median_of(&|o| o.min_head_m),
            tracking_rms_m: median_of(&|o| o.tracking_rms_m),
            demo,
            start,
            assist: f32::from_bits(assist),
        }
    })
    .collect()
}

/// The least help at which at least half of a row's episodes come up with the demonstration
/// ([`FeasibilityEpisode::came_up`]), or `None`.
#[must_use]
pub fn least_assist(rows: &[&FeasibilityRow]) -> Option<f32> {
    rows.iter()
        .filter(|r| r.came_up >= 0.5)
        .map(|r| r.assist)
        .min_by(f32::total_cmp)
}

/// The markdown report: per demonstration x start and help level, the share that came up with
/// the demonstration and the share still standing at the end; the least help at which half come
/// up; the head clearance and tracking error at the least help tried.
#[must_use]
pub fn markdown(rows: &[FeasibilityRow], plan: &FeasibilityPlan, who: &str) -> String {
    let mut assists: Vec<f32> = rows.iter().map(|r| r.assist).collect();
    assists.sort_by(f32::total_cmp);
    assists.dedup();
    let groups = group_first_seen(rows, |r| (r.demo.clone(), r.start.clone()));
    let mut s = format!(
        "# Feasibility of the demonstrations: {who}\n\n\
         Each demonstration played by {who}, {} trials per demonstration (or scenario), phase and \
         help level, seed {}, {}; under the gravity rule a scenario's trials split over the \
         demonstrations they track (the episodes column). \
         `posed P`: the robot at rest in \
         the frame at phase P of the clip, on flat ground; a scenario: its real start, tracking \
         the demonstration the task's rule picks. Cells, with that share of the robot's weight \
         lifted at the torso: the share upright (pelvis at least 0.65 m up, tilt under 20°) when \
         the demonstration stands, then in brackets the share still standing at the end of the \
         episode. Feasibility is the first: held by the PD controller alone, even the final \
         standing pose tips over unless most of the weight is lifted (docs/demonstrations.md, \
         \"Feasibility\"); standing still is the policy's job. Head clearance (the lowest after \
         the start) and tracking RMS are \
         medians.\n\n",
        plan.trials,
        plan.seed,
        plan.engine.name()
    );
    s.push_str("| demonstration | start | episodes per help level |");
    for a in &assists {
        s.push_str(&format!(" help {:.0} % |", a * 100.0));
    }
    s.push_str(
        " least help at which half come up | head clearance, least help tried | tracking RMS, least help tried |\n|---|---|",
    );
    s.push_str(&"---|".repeat(assists.len() + 4));
    s.push('\n');
    for ((demo, start), mine) in &groups {
        let episodes: Vec<String> = {
            let mut n: Vec<usize> = mine.iter().map(|r| r.trials).collect();
            n.dedup();
            n.iter().map(usize::to_string).collect()
        };
        s.push_str(&format!("| {demo} | {start} | {} |", episodes.join("/")));
        for a in &assists {
            match mine.iter().find(|r| r.assist.to_bits() == a.to_bits()) {
                Some(r) => s.push_str(&format!(
                    " {:.0} % ({:.0} %) |",
                    r.came_up * 100.0,
                    r.success * 100.0
                )),
                None => s.push_str(" - |"),
            }
        }
        let lowest = mine
            .iter()
            .min_by(|a, b| a.assist.total_cmp(&b.assist))
            .expect("a group has rows");
        let most = mine.iter().map(|r| r.assist).fold(0.0, f32::max);
        s.push_str(&match least_assist(mine) {
            Some(a) => format!(" {:.0} % |", a * 100.0),
            None => format!(" over {:.0} % |", most * 100.0),
        });
        s.push_str(&format!(
            " {:.2} m | {:.2} m |\n",
            lowest.min_head_m, lowest.tracking_rms_m
        ));
    }
    s
}

/// Replays `episode` (open loop exactly; with a teacher, whose forward pass may round differently
/// in a batch of one, nearly) and records it to `path`: the robot, its contacts and the
/// demonstration's target pose beside it.
///
/// # Errors
/// Simulator or recording errors.
#[allow(clippy::too_many_arguments)]
pub fn record(
    config: &TeacherConfig,
    teacher: Option<&Teacher>,
    who: &str,
    robot: &Robot,
    sim: &SimParams,
    engine: EngineKind,
    episode: &FeasibilityEpisode,
    path: &Path,
) -> Result<(), TrainError> {
    let s = setup(config, teacher, robot, sim, engine)?;
    let reference = s
        .refs
        .references
        .iter()
        .position(|r| r.name == episode.demo)
        .ok_or_else(|| TrainError::Invalid(format!("`{}` is not in task.demos", episode.demo)))?;
    let (scenario, terrain) = match episode.start {
        Start::Posed(_) => (Scenario::Supine, (TerrainKind::Flat, 0.0)),
        Start::Scenario(sc) => (
            sc,
            sc.required_terrain().unwrap_or((TerrainKind::Flat, 0.0)),
        ),
    };
    let job = Job {
        reference: Some(reference),
        start: episode.start,
        assist: episode.assist,
        spec: EpisodeSpec {
            scenario,
            terrain,
            seed: episode.seed,
        },
    };
    let mut env = start_env(&s, robot, &job)?;
    let rec_err = |e: vigor_record::RecordError| TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let line = format!(
        "{} played by {who} from {}, help {:.0} %, seed {}: success {}",
        episode.demo,
        episode.start.label(),
        episode.assist * 100.0,
        episode.seed,
        episode.outcome.success
    );
    let recorder =
        EpisodeRecorder::create(path, robot, Some(env.env().terrain()), &line).map_err(rec_err)?;
    let mut failure = None;
    drive(std::slice::from_mut(&mut env), teacher, s.steps, 1, |es| {
        if let Err(err) = log_frame(&recorder, &es[0]) {
            failure.get_or_insert(err);
        }
    });
    if let Some(e) = failure {
        return Err(rec_err(e));
    }
    recorder.finish().map_err(rec_err)
}
