//! The learner as the training loop's collector: publishing each job's weights and assignments,
//! waiting for the chunks and assembling them into one step-major rollout.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use vigor_msgs::project::{Assignment, EpisodeRef, NamedTensor, TrainWeights};
use vigor_sim::env::EpisodeSpec;
use vigor_training::metrics::Metrics;
use vigor_training::rl::RunningNorm;
use vigor_training::teacher::config::REWARD_COUNT;
use vigor_training::teacher::model::TeacherNet;
use vigor_training::teacher::rollout::Rollout;
use vigor_training::teacher::{Collector, Job, Outcome, TrainError};

use super::KEPT_VERSIONS;
use super::learner::*;

/// The network's variables, on the CPU, by name.
fn tensors_of(net: &TeacherNet) -> Result<Vec<NamedTensor>> {
    net.named_parameters()
        .into_iter()
        .map(|(name, t)| {
            let t = t.detach().to(tch::Device::Cpu).contiguous();
            let shape = t
                .size()
                .iter()
                .map(|&d| u32::try_from(d).map_err(|_| anyhow!("{name}: dimension {d}")))
                .collect::<Result<Vec<_>>>()?;
            let data =
                Vec::<f32>::try_from(t.flatten(0, -1)).map_err(|e| anyhow!("{name}: {e}"))?;
            Ok(NamedTensor { name, shape, data })
        })
        .collect()
}

fn episode_ref(spec: &EpisodeSpec) -> EpisodeRef {
    EpisodeRef {
        scenario: spec.scenario.name().to_owned(),
        terrain: spec.terrain.0.name().to_owned(),
        difficulty: spec.terrain.1.clamp(0.0, 1.0),
        seed: spec.seed,
    }
}

fn train_error(e: impl std::fmt::Display) -> TrainError {
    TrainError::Invalid(e.to_string())
}

impl Collector for Learner {
    fn begin(&mut self, job: &Job<'_>) -> Result<(), TrainError> {
        let mut manifest = job.manifest.clone();
        manifest.normaliser = job.norm.clone();
        let policy = manifest.to_policy().map_err(train_error)?;
        let manifest_json = serde_json::to_string(&policy).map_err(train_error)?;
        let run_id = lock(&self.shared).run_id;
        let weights = TrainWeights {
            run_id,
            version: job.version,
            manifest_json,
            tensors: tensors_of(job.net).map_err(train_error)?,
        }
        .encode()
        .map_err(train_error)?;
        let total = job.specs.len();
        let per = self.options.chunk_envs.max(1);
        let assignments: Vec<Assignment> = job
            .specs
            .chunks(per)
            .enumerate()
            .map(|(c, specs)| Assignment {
                run_id,
                version: job.version,
                iteration: job.iteration,
                chunk: c as u32,
                first_env: (c * per) as u32,
                total_envs: total as u32,
                steps: job.steps as u32,
                seed: job.seed,
                assist: job.assist.clamp(0.0, 1.0),
                episodes: specs.iter().map(episode_ref).collect(),
            })
            .collect();
        self.norms.insert(job.version, job.norm.clone());
        while self.norms.len() > KEPT_VERSIONS {
            self.norms.pop_first();
        }
        let mut st = lock(&self.shared);
        st.weights.insert(job.version, Arc::new(weights));
        while st.weights.len() > KEPT_VERSIONS {
            st.weights.pop_first();
        }
        let n = assignments.len();
        st.job = Some(JobState {
            iteration: job.iteration,
            version: job.version,
            steps: job.steps,
            row: job.net.spec.row(),
            act: job.net.spec.actor.output,
            assignments,
            handed: vec![None; n],
            results: (0..n).map(|_| None).collect(),
        });
        drop(st);
        self.shared.1.notify_all();
        Ok(())
    }

    fn finish(&mut self) -> Result<Rollout, TrainError> {
        let started = Instant::now();
        let mut warned = Instant::now();
        let mut st = lock(&self.shared);
        loop {
            let job = st
                .job
                .as_ref()
                .ok_or_else(|| train_error("finish without a begun job"))?;
            if job.results.iter().all(Option::is_some) {
                break;
            }
            if warned.elapsed() > Duration::from_secs(30) {
                let left = job.results.iter().filter(|r| r.is_none()).count();
                eprintln!(
                    "learner: iteration {} waits for {left} chunk(s); {} worker(s) on the bus",
                    job.iteration + 1,
                    st.live.len()
                );
                warned = Instant::now();
            }
            st = self
                .shared
                .1
                .wait_timeout(st, Duration::from_millis(200))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        let job = st.job.take().expect("checked above");
        let live = st.live.len();
        let counters = std::mem::take(&mut st.counters);
        drop(st);
        let wait_s = started.elapsed().as_secs_f64();
        let norm = self
            .norms
            .get(&job.version)
            .ok_or_else(|| train_error("no normaliser for the job's version"))?;
        let chunks: Vec<Received> = job.results.into_iter().flatten().collect();
        let assembling = Instant::now();
        let ro = assemble(&chunks, norm)?;
        let assemble_s = assembling.elapsed().as_secs_f64();
        let n = chunks.len() as f64;
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: f64| m.insert(format!("dist/{k}"), v);
        put("workers", live as f64);
        put("chunks", n);
        put(
            "staleness",
            job.iteration.saturating_sub(job.version) as f64,
        );
        put("wait_s", wait_s);
        put(
            "chunk_mb",
            chunks.iter().map(|c| c.bytes as f64).sum::<f64>() / n / 1e6,
        );
        put(
            "chunk_latency_s",
            chunks.iter().map(|c| c.latency_s).sum::<f64>() / n,
        );
        put("decode_s", chunks.iter().map(|c| c.decode_s).sum::<f64>());
        put("assemble_s", assemble_s);
        put("reassigned", counters.reassigned as f64);
        put(
            "dropped",
            (counters.stale + counters.duplicate + counters.bad) as f64,
        );
        self.last = m;
        Ok(ro)
    }

    fn overlaps(&self) -> bool {
        self.options.overlap
    }

    fn report(&mut self, metrics: &mut Metrics) {
        metrics.series.0.append(&mut self.last);
    }
}

/// The chunks' rollouts as one, step-major over every episode in slot order, rows normalised
/// with `norm` (the one the workers acted with).
pub(super) fn assemble(chunks: &[Received], norm: &RunningNorm) -> Result<Rollout, TrainError> {
    let first = &chunks
        .first()
        .ok_or_else(|| train_error("no chunks"))?
        .chunk;
    let (steps, row, act) = (first.steps as usize, first.row as usize, first.act as usize);
    let total: usize = chunks.iter().map(|c| c.chunk.envs as usize).sum();
    // Values and rewards per value head (one, or one per reward group).
    let heads = first.values.len() / (steps * first.envs as usize).max(1);
    let mut ro = Rollout {
        envs: total,
        steps,
        raw_obs: vec![0.0; steps * total * row],
        actions: vec![0.0; steps * total * act],
        means: vec![0.0; steps * total * act],
        log_probs: vec![0.0; steps * total],
        values: vec![0.0; steps * total * heads],
        rewards: vec![0.0; steps * total * heads],
        log_std: first.log_std.clone(),
        ..Rollout::default()
    };
    let mut at = 0;
    for Received { chunk: c, .. } in chunks {
        let k = c.envs as usize;
        let per_head = steps * k * heads;
        if c.steps as usize != steps
            || c.row as usize != row
            || c.act as usize != act
            || heads == 0
            || c.values.len() != per_head
            || c.rewards.len() != per_head
        {
            return Err(train_error("chunks of one iteration disagree in shape"));
        }
        let copy = |dst: &mut [f32], src: &[f32], width: usize| {
            for t in 0..steps {
                let from = &src[t * k * width..(t + 1) * k * width];
                let to = (t * total + at) * width;
                dst[to..to + k * width].copy_from_slice(from);
            }
        };
        copy(&mut ro.raw_obs, &c.raw_obs, row);
        copy(&mut ro.actions, &c.actions, act);
        copy(&mut ro.means, &c.means, act);
        copy(&mut ro.log_probs, &c.log_probs, 1);
        copy(&mut ro.values, &c.values, heads);
        copy(&mut ro.rewards, &c.rewards, heads);
        let outcomes: Vec<Outcome> = serde_json::from_str(&c.outcomes_json).map_err(train_error)?;
        if outcomes.len() != k || c.term_sums.len() != k * REWARD_COUNT {
            return Err(train_error(
                "a chunk's outcomes or reward terms do not match it",
            ));
        }
        ro.outcomes.extend(outcomes);
        for t in c.term_sums.chunks_exact(REWARD_COUNT) {
            let mut a = [0.0f32; REWARD_COUNT];
            a.copy_from_slice(t);
            ro.term_sums.push(a);
        }
        ro.sim_s += c.sim_s;
        ro.forward_s += c.forward_s;
        ro.reset_s += c.reset_s;
        at += k;
    }
    ro.obs.clone_from(&ro.raw_obs);
    norm.apply_rows(&mut ro.obs);
    Ok(ro)
}
