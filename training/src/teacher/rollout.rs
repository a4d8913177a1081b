//! Running a batch of teacher environments through whole episodes with a policy: the parallel
//! loop shared by training (sampled actions) and evaluation (mean actions).

use std::time::Instant;

use vigor_common::seed::{SplitMix64, derive};

use super::config::REWARD_COUNT;
use super::model::TeacherNet;
use super::task::{Outcome, REWARD_TERMS, TaskEnv};
use crate::rl::RunningNorm;

/// `ln(2 pi) / 2`.
const HALF_LN_2PI: f32 = 0.918_938_5;

/// Runs `f(i, env)` for every environment on the persistent pool of `threads` workers
/// ([`vigor_sim::par::par_each`]; results do not depend on the thread count).
pub use vigor_sim::par::par_each;

/// One rollout, step-major (`index = t * envs + i`).
#[derive(Debug, Clone, Default)]
pub struct Rollout {
    /// Environments.
    pub envs: usize,
    /// Steps.
    pub steps: usize,
    /// Raw (unnormalised) rows, for the normaliser.
    pub raw_obs: Vec<f32>,
    /// Normalised rows, as the networks saw them.
    pub obs: Vec<f32>,
    /// Sampled actions.
    pub actions: Vec<f32>,
    /// Means.
    pub means: Vec<f32>,
    /// Log-probabilities.
    pub log_probs: Vec<f32>,
    /// Values, one per value head (row-major).
    pub values: Vec<f32>,
    /// Rewards, one per value head: the total with one head, each reward group's sum with
    /// several (`model.critic_groups`).
    pub rewards: Vec<f32>,
    /// Values of the observation after the last step, one per value head.
    pub last_values: Vec<f32>,
    /// Per environment, the episode's summed reward terms.
    pub term_sums: Vec<[f32; REWARD_COUNT]>,
    /// Per environment, the outcome.
    pub outcomes: Vec<Outcome>,
    /// Seconds in the simulator (stepping, observing, rewards).
    pub sim_s: f64,
    /// Seconds in network forward passes.
    pub forward_s: f64,
    /// Seconds resetting the environments into their episodes.
    pub reset_s: f64,
    /// The acting policy's log standard deviation per action.
    pub log_std: Vec<f32>,
}

/// One environment's share of a policy step: the environment, its action, its reward per value
/// head and its summed reward terms.
type StepView<'a> = (
    &'a mut TaskEnv,
    &'a [f32],
    &'a mut [f32],
    &'a mut [f32; REWARD_COUNT],
);

/// How actions are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Acting {
    /// Sampled around the mean, noise seeded from `(seed, iteration)` and each episode's index
    /// among the iteration's `total` (the environments given are those from `first` on, so a
    /// rollout split into chunks draws the same noise as one run whole).
    Sample {
        /// Run seed.
        seed: u64,
        /// Iteration (noise stream).
        iteration: u64,
        /// Index of the first environment among the iteration's.
        first: u64,
        /// Environments in the whole iteration.
        total: u64,
    },
    /// The mean (evaluation).
    Mean,
}

/// Runs `envs` (already reset) for `steps` policy steps with `net`, normalising rows with `norm`.
/// `on_step(t, envs)` runs after every step (recording).
pub fn run_episodes<F>(
    envs: &mut [TaskEnv],
    net: &TeacherNet,
    norm: &RunningNorm,
    steps: usize,
    threads: usize,
    acting: Acting,
    mut on_step: F,
) -> Rollout
where
    F: FnMut(usize, &[TaskEnv]),
{
    let n = envs.len();
    let row = net.spec.row();
    let act = net.spec.actor.output;
    let mut out = Rollout {
        envs: n,
        steps,
        ..Rollout::default()
    };
    let total = n * steps;
    out.raw_obs.reserve(total * row);
    out.obs.reserve(total * row);
    let log_std = net.log_std_values();
    out.log_std.clone_from(&log_std);
    let std: Vec<f32> = log_std.iter().map(|l| l.exp()).collect();
    let log_norm: f32 = log_std.iter().sum::<f32>() + HALF_LN_2PI * act as f32;
    let mut rngs: Vec<SplitMix64> = (0..n)
        .map(|i| match acting {
            Acting::Sample {
                seed,
                iteration,
                first,
                total,
            } => SplitMix64::new(derive(seed, "action", iteration * total + first + i as u64)),
            Acting::Mean => SplitMix64::new(0),
        })
        .collect();
    let mut rows = vec![0.0f32; n * row];
    let mut sums = vec![[0.0f32; REWARD_COUNT]; n];
    let heads = net.spec.critic.output.max(1);
    let head_of = envs
        .first()
        .map_or([0; REWARD_COUNT], |e| e.params.reward_heads());
    for t in 0..=steps {
        let started = Instant::now();
        {
            let mut views: Vec<(&mut TaskEnv, &mut [f32])> =
                envs.iter_mut().zip(rows.chunks_mut(row)).collect();
            par_each(&mut views, threads, |_, (env, r)| env.observe(r));
        }
        out.sim_s += started.elapsed().as_secs_f64();
        let mut normed = rows.clone();
        norm.apply_rows(&mut normed);
        let started = Instant::now();
        let (means, values) = net.act_batch(&normed);
        out.forward_s += started.elapsed().as_secs_f64();
        if t == steps {
            out.last_values = values;
            break;
        }
        let mut actions = means.clone();
        let mut log_probs = vec![0.0f32; n];
        if let Acting::Sample { .. } = acting {
            for i in 0..n {
                let mut sq = 0.0;
                for j in 0..act {
                    let u1 = 1.0 - rngs[i].next_f32();
                    let u2 = rngs[i].next_f32();
                    let eps = (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
                    actions[i * act + j] = means[i * act + j] + std[j] * eps;
                    sq += eps * eps;
                }
                log_probs[i] = -0.5 * sq - log_norm;
            }
        }
        let started = Instant::now();
        let mut rewards = vec![0.0f32; n * heads];
        {
            let mut views: Vec<StepView<'_>> = envs
                .iter_mut()
                .zip(actions.chunks(act))
                .zip(rewards.chunks_mut(heads))
                .zip(sums.iter_mut())
                .map(|(((e, a), r), s)| (e, a, r, s))
                .collect();
            par_each(&mut views, threads, |_, (env, a, r, s)| {
                let step = env.step(a);
                if heads == 1 {
                    r[0] = step.total;
                } else {
                    for (&head, v) in head_of.iter().zip(step.terms) {
                        r[head] += v;
                    }
                }
                for (acc, v) in s.iter_mut().zip(step.terms) {
                    *acc += v;
                }
            });
        }
        out.sim_s += started.elapsed().as_secs_f64();
        out.raw_obs.extend_from_slice(&rows);
        out.obs.extend_from_slice(&normed);
        out.actions.extend_from_slice(&actions);
        out.means.extend_from_slice(&means);
        out.log_probs.extend_from_slice(&log_probs);
        out.values.extend_from_slice(&values);
        out.rewards.extend_from_slice(&rewards);
        on_step(t, envs);
    }
    out.term_sums = sums;
    out.outcomes = envs.iter().map(TaskEnv::outcome).collect();
    debug_assert_eq!(REWARD_TERMS.len(), REWARD_COUNT);
    out
}
