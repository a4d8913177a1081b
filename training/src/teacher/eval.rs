//! The evaluation harness: every scenario x terrain cell, N seeded trials with the policy's mean
//! action, on one or both engines; the paper's metrics per cell as JSON and a markdown table; and
//! rerun recordings of the best, median and worst episodes (replayed: episodes are deterministic).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vigor_common::seed::{derive, label_hash};
use vigor_sim::SimParams;
use vigor_sim::engine::EngineKind;
use vigor_sim::env::{EnvConfig, EpisodeSpec};
use vigor_sim::robot::Robot;
use vigor_sim::scenario::{PROTOCOL_LYING_OFFSET_M, Scenario};
use vigor_sim::terrain::TerrainKind;

use super::artifact::Teacher;
use super::config::{TeacherConfig, TeacherParams};
use super::model::TeacherSpec;
pub use super::protocol::{ProtocolSummary, Rate, protocol_markdown, protocol_summary};
use super::reference::ReferenceSet;
use super::rollout::{Acting, run_episodes};
use super::runner::{TrainError, env_config};
use super::task::obs_dims;
use super::task::{Outcome, TaskEnv};
use crate::student::StudentTask;
use crate::student::config::CameraTiming;
use crate::student::rollout::{StudentActing, run_student};
use crate::student::sensor::StudentSensor;
use vigor_common::config::Validate;
use vigor_policy::StudentPolicy;
use vigor_sim::sensors::RobotGeometry;

/// What to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalPlan {
    /// Starts.
    pub scenarios: Vec<Scenario>,
    /// Terrain classes with their difficulty.
    pub terrains: Vec<(TerrainKind, f32)>,
    /// Trials per cell.
    pub trials: usize,
    /// Seed of the trials (the same for every policy and engine, so tables compare).
    pub seed: u64,
    /// Engines.
    pub engines: Vec<EngineKind>,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Upward help on the torso, fraction of the robot's weight (0 for the real metrics; the
    /// training curriculum's levels to compare policies at the help they trained with).
    pub assist: f32,
    /// VIGOR's protocol ([`EvalPlan::protocol`]): each trial's difficulty is drawn uniformly over
    /// 0..=1 from the plan's seed (the terrains' own values are ignored), and a start that needs
    /// its own terrain (legs on a box, draped over a stair, pushed toward stairs or off a
    /// platform) is one cell on that terrain rather than one per terrain class.
    pub drawn: bool,
    /// Where the plain lying starts lie, m from the tile centre
    /// ([`vigor_sim::env::EnvConfig::lying_offset_m`]; the protocol's
    /// [`vigor_sim::scenario::PROTOCOL_LYING_OFFSET_M`] puts them on the terrain).
    pub lying_offset_m: [f32; 2],
    /// A teacher's height scan reads level ground ([`TaskEnv::set_flat_scan`]): a diagnostic of
    /// how much its success comes from what it sees of the terrain. No effect on a student.
    pub flat_scan: bool,
}

impl EvalPlan {
    /// VIGOR's protocol: every start of the simulator on every terrain kind where it makes sense,
    /// difficulty drawn over the whole range per trial, `trials` per cell, fixed seeds.
    #[must_use]
    pub fn protocol(trials: usize, seed: u64, engines: Vec<EngineKind>, threads: usize) -> Self {
        Self {
            scenarios: Scenario::ALL.to_vec(),
            terrains: TerrainKind::ALL.iter().map(|&k| (k, 0.0)).collect(),
            trials,
            seed,
            engines,
            threads,
            assist: 0.0,
            drawn: true,
            lying_offset_m: PROTOCOL_LYING_OFFSET_M,
            flat_scan: false,
        }
    }

    /// The environments' configuration for a policy trained under `p`: the plan's starts, on
    /// `sim`'s physics.
    #[must_use]
    pub fn env_config(&self, p: &TeacherParams, sim: &SimParams) -> EnvConfig {
        let mut cfg = env_config(p, sim);
        cfg.lying_offset_m = self.lying_offset_m;
        cfg
    }

    /// [`EvalPlan::threads`], with 0 resolved to one per core.
    #[must_use]
    pub fn worker_threads(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            self.threads
        }
    }

    /// The cells, in order: scenario x terrain, each with the difficulty of each trial.
    #[must_use]
    pub fn cells(&self) -> Vec<(Scenario, TerrainKind, Vec<f32>)> {
        let mut out = Vec::new();
        for &scenario in &self.scenarios {
            let own = if self.drawn {
                scenario.required_terrain()
            } else {
                None
            };
            let terrains: Vec<(TerrainKind, f32)> = match own {
                Some(t) => vec![t],
                None => self.terrains.clone(),
            };
            for (terrain, difficulty) in terrains {
                let difficulties = (0..self.trials)
                    .map(|k| {
                        if !self.drawn || own.is_some() {
                            difficulty
                        } else if terrain == TerrainKind::Flat {
                            0.0
                        } else {
                            drawn_difficulty(self.seed, scenario, terrain, k)
                        }
                    })
                    .collect();
                out.push((scenario, terrain, difficulties));
            }
        }
        out
    }
}

/// A trial's difficulty under the protocol: uniform over 0..=1, from the plan's seed, the cell
/// and the trial (the same for every policy and engine).
fn drawn_difficulty(plan_seed: u64, scenario: Scenario, terrain: TerrainKind, trial: usize) -> f32 {
    let bits = derive(
        plan_seed ^ label_hash(scenario.name()),
        &format!("difficulty/{}", terrain.name()),
        trial as u64,
    );
    (bits >> 40) as f32 / (1u64 << 24) as f32
}

/// The policy under evaluation.
#[derive(Debug, Clone, Copy)]
pub enum Evaluee<'a> {
    /// A teacher (privileged observations).
    Teacher(&'a Teacher),
    /// A student (depth or blind) with the task it was trained in, and its camera's timing in
    /// this evaluation: the frame clock's phase and the image latency, drawn from each episode's
    /// seed (the same for every policy). `None`: each image is taken at engagement and every
    /// period after, and seen at once, as before this option. A blind student reads no images.
    Student(&'a StudentPolicy, &'a StudentTask, Option<&'a CameraTiming>),
}

impl Evaluee<'_> {
    /// The task configuration (the teacher's).
    #[must_use]
    pub fn config(&self) -> &TeacherConfig {
        match self {
            Self::Teacher(t) => &t.manifest.config,
            Self::Student(_, task, _) => &task.teacher,
        }
    }

    /// Runs `envs` (already reset) for `steps` steps; `on_step` after each.
    ///
    /// # Errors
    /// A student whose sensors cannot be built.
    pub fn run<F: FnMut(usize, &[TaskEnv])>(
        &self,
        robot: &Robot,
        envs: &mut [TaskEnv],
        steps: usize,
        threads: usize,
        on_step: F,
    ) -> Result<Vec<Outcome>, TrainError> {
        match self {
            Self::Teacher(t) => Ok(run_episodes(
                envs,
                &t.net,
                &t.manifest.normaliser,
                steps,
                threads,
                Acting::Mean,
                on_step,
            )
            .outcomes),
            Self::Student(s, task, camera) => {
                let geometry = Arc::new(RobotGeometry::new(robot));
                let mut sensors = envs
                    .iter()
                    .map(|e| {
                        let mut sensor = StudentSensor::new(
                            s.manifest(),
                            task.camera,
                            Arc::clone(&geometry),
                            task.student.depth_rate_hz,
                            None,
                            camera.cloned(),
                            false,
                        )
                        .map_err(TrainError::Invalid)?;
                        sensor.reset(e.env().spec().seed);
                        Ok(sensor)
                    })
                    .collect::<Result<Vec<_>, TrainError>>()?;
                Ok(run_student(
                    envs,
                    &mut sensors,
                    s,
                    StudentActing {
                        teacher: None,
                        beta: 0.0,
                        seed: 0,
                        record: false,
                        probe: false,
                        mirror: None,
                    },
                    steps,
                    threads,
                    on_step,
                )
                .outcomes)
            }
        }
    }

    pub(super) fn check(&self, robot: &Robot, p: &TeacherParams) -> Result<(), TrainError> {
        match self {
            Self::Teacher(t) => check_fits(t, robot, p),
            Self::Student(s, _, _) => {
                if s.student().spec.actions == robot.joints.len() {
                    Ok(())
                } else {
                    Err(TrainError::Invalid(format!(
                        "student `{}` drives {} joints, {} has {}",
                        s.manifest().name,
                        s.student().spec.actions,
                        robot.name,
                        robot.joints.len()
                    )))
                }
            }
        }
    }
}

/// One evaluated episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeResult {
    /// Engine name.
    pub engine: String,
    /// Scenario name.
    pub scenario: String,
    /// Terrain kind name.
    pub terrain: String,
    /// Terrain difficulty.
    pub difficulty: f32,
    /// Episode seed.
    pub seed: u64,
    /// Upward help on the torso, fraction of the weight (0 in real evaluations).
    #[serde(default)]
    pub assist: f32,
    /// Metrics.
    pub outcome: Outcome,
}

/// One cell of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Engine name.
    pub engine: String,
    /// Scenario name.
    pub scenario: String,
    /// Terrain kind name.
    pub terrain: String,
    /// Trials.
    pub trials: usize,
    /// Success rate.
    pub success: f64,
    /// Safe success rate (head never within 5 cm of the terrain).
    pub safe_success: f64,
    /// Mean time to recover over successes, s (NaN-free: 0 when none).
    pub time_to_recover_s: f64,
    /// Mean keypoint tracking RMS, m.
    pub tracking_rms_m: f64,
    /// Mean energy, J.
    pub energy_j: f64,
    /// Mean pelvis drift, m.
    pub drift_m: f64,
}

fn cell_seed(plan_seed: u64, scenario: Scenario, terrain: TerrainKind, trial: usize) -> u64 {
    derive(
        plan_seed ^ label_hash(scenario.name()),
        terrain.name(),
        trial as u64,
    )
}

/// The checked parameters of an artifact's training configuration, with `engine`.
///
/// # Errors
/// The stored configuration no longer validates.
pub fn params_for(config: &TeacherConfig, engine: EngineKind) -> Result<TeacherParams, TrainError> {
    let mut p = config
        .validate("<artifact manifest.json network.teacher.config>")
        .map_err(|e| TrainError::Invalid(e.to_string()))?;
    p.raw.sim.engine = engine;
    Ok(p)
}

/// `Err` unless `teacher`'s networks and normaliser fit the observation rows this build makes for
/// `robot` under `p` (an artifact from code with another layout would misread its inputs).
///
/// # Errors
/// [`TrainError::Invalid`] naming the mismatch.
pub fn check_fits(teacher: &Teacher, robot: &Robot, p: &TeacherParams) -> Result<(), TrainError> {
    let want = TeacherSpec::new(obs_dims(robot, p), robot.joints.len(), &p.raw.model);
    if teacher.manifest.spec != want {
        return Err(TrainError::Invalid(format!(
            "teacher `{}` has rows of {} values and {} actions; this build makes {} and {} for {}",
            teacher.manifest.name,
            teacher.manifest.spec.row(),
            teacher.manifest.spec.actor.output,
            want.row(),
            want.actor.output,
            robot.name
        )));
    }
    if teacher.manifest.normaliser.len() != want.row() {
        return Err(TrainError::Invalid(format!(
            "teacher `{}`: normaliser has {} values for rows of {}",
            teacher.manifest.name,
            teacher.manifest.normaliser.len(),
            want.row()
        )));
    }
    Ok(())
}

/// Runs every episode of `plan` with `teacher`; `progress(done, total)` after each cell.
///
/// # Errors
/// Simulator errors.
pub fn evaluate<F: FnMut(usize, usize)>(
    agent: Evaluee<'_>,
    robot: &Robot,
    sim: &SimParams,
    plan: &EvalPlan,
    mut progress: F,
) -> Result<Vec<EpisodeResult>, TrainError> {
    let threads = plan.worker_threads();
    let cells = plan.cells();
    let total = plan.engines.len() * cells.len();
    let mut done = 0;
    let mut out = Vec::new();
    for &engine in &plan.engines {
        let p = Arc::new(params_for(agent.config(), engine)?);
        agent.check(robot, &p)?;
        let cfg = plan.env_config(&p, sim);
        let refs = Arc::new(ReferenceSet::for_task(robot, &p.raw.task)?);
        let steps =
            (p.raw.task.episode_s / (cfg.physics.dt_s * cfg.decimation as f32)).round() as usize;
        for (scenario, terrain, difficulties) in &cells {
            let (scenario, terrain) = (*scenario, *terrain);
            {
                let specs: Vec<EpisodeSpec> = difficulties
                    .iter()
                    .enumerate()
                    .map(|(k, &difficulty)| EpisodeSpec {
                        scenario,
                        terrain: (terrain, difficulty),
                        seed: cell_seed(plan.seed, scenario, terrain, k),
                    })
                    .collect();
                let mut envs = specs
                    .iter()
                    .map(|s| TaskEnv::new(robot, &cfg, Arc::clone(&p), Arc::clone(&refs), *s))
                    .collect::<Result<Vec<_>, _>>()?;
                for env in &mut envs {
                    env.set_assist(plan.assist);
                    env.set_flat_scan(plan.flat_scan);
                }
                let outcomes = agent.run(robot, &mut envs, steps, threads, |_, _| {})?;
                for (s, o) in specs.iter().zip(outcomes) {
                    // The tile built: a start with its own terrain replaces the cell's.
                    let (built, difficulty) = scenario.terrain_for(s.terrain);
                    out.push(EpisodeResult {
                        engine: engine.name().to_owned(),
                        scenario: scenario.name().to_owned(),
                        terrain: built.name().to_owned(),
                        difficulty,
                        seed: s.seed,
                        assist: plan.assist,
                        outcome: o,
                    });
                }
                done += 1;
                progress(done, total);
            }
        }
    }
    Ok(out)
}

/// `items` grouped by `key`, the groups in the order their keys are first met and each group's
/// items in their order.
pub fn group_first_seen<T, K: PartialEq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<(K, Vec<&T>)> {
    let mut groups: Vec<(K, Vec<&T>)> = Vec::new();
    for item in items {
        let k = key(item);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, members)) => members.push(item),
            None => groups.push((k, vec![item])),
        }
    }
    groups
}

/// The table: one cell per engine x scenario x terrain, in first-seen order.
#[must_use]
pub fn summarise(results: &[EpisodeResult]) -> Vec<Cell> {
    group_first_seen(results, |r| {
        (r.engine.clone(), r.scenario.clone(), r.terrain.clone())
    })
    .into_iter()
    .map(|((engine, scenario, terrain), members)| {
        let rs: Vec<&Outcome> = members.iter().map(|r| &r.outcome).collect();
        let n = rs.len().max(1) as f64;
        let mean = |f: &dyn Fn(&Outcome) -> f64| rs.iter().map(|o| f(o)).sum::<f64>() / n;
        let wins: Vec<&&Outcome> = rs.iter().filter(|o| o.success).collect();
        Cell {
            trials: rs.len(),
            success: mean(&|o| f64::from(u8::from(o.success))),
            safe_success: mean(&|o| f64::from(u8::from(o.safe_success))),
            time_to_recover_s: if wins.is_empty() {
                0.0
            } else {
                wins.iter()
                    .map(|o| f64::from(o.time_to_recover_s))
                    .sum::<f64>()
                    / wins.len() as f64
            },
            tracking_rms_m: mean(&|o| f64::from(o.tracking_rms_m)),
            energy_j: mean(&|o| f64::from(o.energy_j)),
            drift_m: mean(&|o| f64::from(o.drift_m)),
            engine,
            scenario,
            terrain,
        }
    })
    .collect()
}

/// The markdown table of `cells`.
#[must_use]
pub fn markdown(cells: &[Cell]) -> String {
    let mut s = String::from(
        "| engine | scenario | terrain | trials | success | safe success | time to recover (s) | tracking RMS (m) | energy (J) | drift (m) |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in cells {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.0} % | {:.0} % | {} | {:.3} | {:.0} | {:.2} |\n",
            c.engine,
            c.scenario,
            c.terrain,
            c.trials,
            c.success * 100.0,
            c.safe_success * 100.0,
            if c.success > 0.0 {
                format!("{:.2}", c.time_to_recover_s)
            } else {
                "-".to_owned()
            },
            c.tracking_rms_m,
            c.energy_j,
            c.drift_m
        ));
    }
    s
}

pub use super::replay::{best_median_worst, log_frame, record_episode};
