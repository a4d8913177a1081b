//! DAgger as an [`Algorithm`]: one distillation iteration (the student's episodes with the teacher
//! labelling every step and acting with probability beta, then a supervised update), its
//! metrics, and the checkpoint and export it writes.

use std::path::Path;
use std::time::Instant;

use tch::{Kind, Tensor};
use vigor_common::seed::{SplitMix64, derive};
use vigor_policy::StudentPolicy;
use vigor_sim::SimParams;
use vigor_sim::env::EpisodeSpec;
use vigor_sim::robot::Robot;

use super::artifact::{export, write_checkpoint};
use super::config::StudentConfig;
use super::rollout::{StudentActing, StudentBatch, run_student};
use super::symmetry::StudentMirror;
use crate::algorithm::Algorithm;
use crate::algorithm::{IterationReport, TrainError};
use crate::metrics::{Metrics, Series, StudentMetrics};
use crate::rl::Adam;
use crate::run_dir::RunDir;
use crate::teacher::Teacher;

use super::runner::{
    STUDENT_DIR, STUDENT_PANELS, StudentState, StudentTask, build_envs, episode_spec,
};

/// Supervised update over `batch`; returns the mean loss.
fn update(
    student: &StudentPolicy,
    adam: &mut Adam,
    cfg: &StudentConfig,
    batch: &StudentBatch,
    seed: u64,
) -> f64 {
    let n = batch.len as i64;
    if n == 0 {
        return 0.0;
    }
    let depth = (!batch.depth.is_empty()).then(|| Tensor::from_slice(&batch.depth).view([n, -1]));
    let hist = Tensor::from_slice(&batch.history).view([n, -1]);
    let phase = Tensor::from_slice(&batch.phase).view([n, 1]);
    let z = Tensor::from_slice(&batch.latent).view([n, -1]);
    let a = Tensor::from_slice(&batch.action).view([n, -1]);
    let mut vars: Vec<(String, Tensor)> = student.var_store().variables().into_iter().collect();
    vars.sort_by(|x, y| x.0.cmp(&y.0));
    let mut params: Vec<Tensor> = vars.into_iter().map(|(_, t)| t).collect();
    let mut order: Vec<i64> = (0..n).collect();
    let mut rng = SplitMix64::new(seed);
    let (mut total, mut count) = (0.0, 0);
    for _ in 0..cfg.optim.epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for chunk in order.chunks(cfg.optim.minibatch) {
            let idx = Tensor::from_slice(chunk);
            let d = depth.as_ref().map(|d| d.index_select(0, &idx));
            let (zh, ah) = student.net().forward(
                d.as_ref(),
                &hist.index_select(0, &idx),
                &phase.index_select(0, &idx),
            );
            let loss = (zh - z.index_select(0, &idx)).square().mean(Kind::Float)
                * cfg.optim.latent_weight
                + (ah - a.index_select(0, &idx)).square().mean(Kind::Float)
                    * cfg.optim.action_weight;
            loss.backward();
            Adam::clip_grad_norm(&params, cfg.optim.max_grad_norm);
            adam.step(&mut params, cfg.optim.learning_rate);
            total += loss.double_value(&[]);
            count += 1;
        }
    }
    total / f64::from(count.max(1))
}

/// DAgger on a student: what a distillation run carries from one iteration to the next.
pub(super) struct Dagger<'a> {
    pub(super) cfg: &'a StudentConfig,
    pub(super) teacher: &'a Teacher,
    pub(super) robot: &'a Robot,
    pub(super) sim: &'a SimParams,
    pub(super) task: StudentTask,
    pub(super) student: StudentPolicy,
    pub(super) adam: Adam,
    pub(super) state: StudentState,
    /// Environment worker threads.
    pub(super) workers: usize,
    /// The mirror maps, with `[optim] symmetry`.
    pub(super) mirror: Option<StudentMirror>,
}

impl Algorithm for Dagger<'_> {
    fn done(&self) -> u64 {
        self.state.iteration
    }

    fn iterate(&mut self) -> Result<IterationReport, TrainError> {
        let Self {
            cfg,
            teacher,
            robot,
            sim,
            task,
            student,
            adam,
            state,
            workers,
            mirror,
        } = self;
        let (cfg, teacher, robot, sim, workers) = (*cfg, *teacher, *robot, *sim, *workers);
        let it = state.iteration;
        let started = Instant::now();
        let specs: Vec<EpisodeSpec> = (0..cfg.envs)
            .map(|i| episode_spec(cfg, &task.teacher, it, i))
            .collect();
        let (mut envs, mut sensors, steps) =
            build_envs(task, student.manifest(), robot, sim, &specs, true, workers)?;
        for e in &mut envs {
            e.set_assist(cfg.assist);
        }
        let beta = cfg.beta(it);
        let ro = run_student(
            &mut envs,
            &mut sensors,
            student,
            StudentActing {
                teacher: Some(teacher),
                beta,
                seed: derive(cfg.seed, "dagger", it),
                record: true,
                probe: false,
                mirror: mirror.as_ref(),
            },
            steps,
            workers,
            |_, _| {},
        );
        let rollout_s = started.elapsed().as_secs_f64();
        let update_started = Instant::now();
        tch::set_num_threads(cfg.torch_threads as i32);
        let loss = update(
            student,
            adam,
            cfg,
            &ro.batch,
            derive(cfg.seed, "minibatch", it),
        );
        tch::set_num_threads(1);
        let update_s = update_started.elapsed().as_secs_f64();
        let elapsed = started.elapsed().as_secs_f64();
        state.iteration += 1;
        state.env_steps += (cfg.envs * steps) as u64;
        state.adam_steps = adam.t;
        state.wall_s += elapsed;
        let n = ro.outcomes.len().max(1) as f64;
        let success = ro.outcomes.iter().filter(|o| o.success).count() as f64 / n;
        let mut m = Metrics {
            iteration: state.iteration,
            env_steps: state.env_steps,
            wall_s: state.wall_s,
            steps_per_s: (cfg.envs * steps) as f64 / elapsed,
            success,
            safe_success: ro.outcomes.iter().filter(|o| o.safe_success).count() as f64 / n,
            tracking_rms_m: ro
                .outcomes
                .iter()
                .map(|o| f64::from(o.tracking_rms_m))
                .sum::<f64>()
                / n,
            teacher: None,
            student: Some(StudentMetrics {
                beta: f64::from(beta),
                teacher_share: ro.teacher_share,
                track_match: ro.track_match,
                latent_mse: ro.latent_mse,
                action_mse: ro.action_mse,
                loss,
            }),
            series: Series::default(),
        };
        m.set("time/rollout_s", rollout_s);
        m.set("time/sim_s", ro.sim_s);
        m.set("time/forward_s", ro.forward_s);
        m.set("time/update_s", update_s);
        if mirror.is_some() {
            m.set(
                "mirrored_share",
                ro.mirrored as f64 / (ro.batch.len - ro.mirrored).max(1) as f64,
            );
        }
        Ok(IterationReport {
            iteration: state.iteration,
            iterations: cfg.iterations as u64,
            env_steps: state.env_steps,
            steps_per_s: (cfg.envs * steps) as f64 / elapsed,
            mean_return: ro.action_mse,
            success,
            metrics: m,
        })
    }

    fn write_checkpoint(&mut self, dir: &Path) -> Result<(), TrainError> {
        write_checkpoint(dir, &mut self.student, &self.adam, &self.state, &self.task)
    }

    fn after_checkpoint(&mut self, run: &RunDir) -> Result<(), TrainError> {
        export(
            &mut self.student,
            &self.task,
            self.robot,
            self.sim,
            &run.join(STUDENT_DIR),
        )?;
        crate::teacher::curves::write_panels(run.path(), &STUDENT_PANELS)
    }
}
