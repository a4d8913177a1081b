//! Where a training iteration's episodes run: the [`Collector`] the training loop hands each
//! [`Job`] to, and [`InProcess`], the one that runs every environment in this process.

use std::sync::Arc;
use std::time::Instant;

use vigor_sim::SimParams;
use vigor_sim::env::{EnvConfig, EnvError, EpisodeSpec};
use vigor_sim::robot::Robot;

use super::artifact::TeacherManifest;
use super::config::TeacherParams;
use super::curriculum::reference_start;
use super::model::TeacherNet;
use super::reference::ReferenceSet;
use super::rollout::{Acting, Rollout, par_each, run_episodes};
use super::runner::{TrainError, env_config, threads, training_sim};
use super::task::TaskEnv;
use crate::metrics::Metrics;
use crate::rl::RunningNorm;

/// One iteration's episodes, as a [`Collector`] gets them.
pub struct Job<'a> {
    /// The iteration they belong to.
    pub iteration: u64,
    /// One episode per environment slot.
    pub specs: &'a [EpisodeSpec],
    /// Upward help on the torso, fraction of the robot's weight.
    pub assist: f32,
    /// The acting networks.
    pub net: &'a TeacherNet,
    /// Their version: the number of updates behind them.
    pub version: u64,
    /// The observation normaliser, frozen for the job.
    pub norm: &'a RunningNorm,
    /// The run's manifest (configuration and network shapes; its normaliser may be older than
    /// `norm`).
    pub manifest: &'a TeacherManifest,
    /// Policy steps per episode.
    pub steps: usize,
    /// Run seed (action noise).
    pub seed: u64,
}

/// Where an iteration's episodes run: in this process ([`InProcess`]) or elsewhere (the
/// distributed learner of `vigor train teacher --workers`).
pub trait Collector {
    /// Starts `job`. A collector that runs episodes elsewhere hands them out and returns; one in
    /// this process may run them here.
    ///
    /// # Errors
    /// The episodes cannot be started.
    fn begin(&mut self, job: &Job<'_>) -> Result<(), TrainError>;
    /// The rollout of the job begun last: step-major over all its episodes in slot order, rows
    /// normalised with the job's normaliser, log-probabilities and values of the acting networks.
    ///
    /// # Errors
    /// The episodes failed.
    fn finish(&mut self) -> Result<Rollout, TrainError>;
    /// Whether the next iteration's episodes may run on the current weights while the update
    /// runs (one version of lag, which PPO's ratio against the acting policy's log-probabilities
    /// corrects); otherwise every iteration runs on the newest weights.
    fn overlaps(&self) -> bool {
        false
    }
    /// Adds the collector's own numbers to an iteration's metrics.
    fn report(&mut self, _metrics: &mut Metrics) {}
}

/// The in-process collector: every environment in this process on a pool of worker threads.
/// Its episodes may begin part-way along their demonstration (`task.reference_start_share`), and
/// its fall starts are pushed with the training range (`task.push_force_n`).
pub struct InProcess<'r> {
    robot: &'r Robot,
    cfg: EnvConfig,
    params: Arc<TeacherParams>,
    refs: Arc<ReferenceSet>,
    threads: usize,
    envs: Vec<Option<TaskEnv>>,
    done: Option<Rollout>,
}

impl<'r> InProcess<'r> {
    /// The environments' configuration (training's: `task.push_force_n` for the pushes).
    #[must_use]
    pub fn env_config(&self) -> &EnvConfig {
        &self.cfg
    }

    /// Environments for `params` on `robot` under `sim`'s physics.
    ///
    /// # Errors
    /// A shipped demonstration does not fit the robot.
    pub fn new(
        params: &TeacherParams,
        robot: &'r Robot,
        sim: &SimParams,
    ) -> Result<Self, TrainError> {
        // Training's pushes may come from a wider range than evaluation's (`task.push_force_n`).
        let mut cfg = env_config(params, &training_sim(params, sim)?);
        cfg.push_force_n = params.raw.task.push_force_n;
        cfg.lying_offset_m = params.raw.task.lying_offset_m;
        cfg.start_pool = params.raw.sim.start_pool;
        Ok(Self {
            robot,
            cfg,
            params: Arc::new(params.clone()),
            refs: Arc::new(ReferenceSet::for_task(robot, &params.raw.task)?),
            threads: threads(params),
            envs: Vec::new(),
            done: None,
        })
    }

    /// Runs `specs` (episodes `first..first + specs.len()` of `total` in the run seeded `seed`'s
    /// `iteration`, for the action noise) with `net` and `norm` and returns their rollout.
    ///
    /// # Errors
    /// Simulator errors.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        specs: &[EpisodeSpec],
        assist: f32,
        net: &TeacherNet,
        norm: &RunningNorm,
        steps: usize,
        (seed, iteration): (u64, u64),
        first: u64,
        total: u64,
    ) -> Result<Rollout, TrainError> {
        let started = Instant::now();
        self.envs.resize_with(specs.len(), || None);
        // Reset (or build) every environment into its episode.
        let (robot, cfg, p, refs) = (self.robot, &self.cfg, &self.params, &self.refs);
        let errors: Vec<Option<EnvError>> = {
            let mut slots: Vec<(&mut Option<TaskEnv>, Option<EnvError>)> =
                self.envs.iter_mut().map(|e| (e, None)).collect();
            par_each(&mut slots, self.threads, |i, (slot, err)| {
                let r = match slot.as_mut() {
                    Some(env) => env.reset(specs[i]),
                    None => TaskEnv::new(robot, cfg, Arc::clone(p), Arc::clone(refs), specs[i])
                        .and_then(|mut e| {
                            e.set_reference_starts(true);
                            if reference_start(p, &specs[i]).is_some() {
                                // Built at the scenario's start; this one begins posed.
                                e.reset(specs[i])?;
                            }
                            **slot = Some(e);
                            Ok(())
                        }),
                };
                if let Some(env) = slot.as_mut() {
                    env.set_assist(assist);
                }
                *err = r.err();
            });
            slots.into_iter().map(|(_, e)| e).collect()
        };
        if let Some(e) = errors.into_iter().flatten().next() {
            return Err(e.into());
        }
        let mut live: Vec<TaskEnv> = self
            .envs
            .iter_mut()
            .map(|e| e.take().expect("built"))
            .collect();
        let reset_s = started.elapsed().as_secs_f64();
        let mut ro = run_episodes(
            &mut live,
            net,
            norm,
            steps,
            self.threads,
            Acting::Sample {
                seed,
                iteration,
                first,
                total,
            },
            |_, _| {},
        );
        for (slot, env) in self.envs.iter_mut().zip(live) {
            *slot = Some(env);
        }
        ro.reset_s = reset_s;
        Ok(ro)
    }
}

impl Collector for InProcess<'_> {
    fn begin(&mut self, job: &Job<'_>) -> Result<(), TrainError> {
        let total = job.specs.len() as u64;
        let ro = self.run(
            job.specs,
            job.assist,
            job.net,
            job.norm,
            job.steps,
            (job.seed, job.iteration),
            0,
            total,
        )?;
        self.done = Some(ro);
        Ok(())
    }

    fn finish(&mut self) -> Result<Rollout, TrainError> {
        self.done
            .take()
            .ok_or_else(|| TrainError::Invalid("finish without a begun job".into()))
    }
}
