//! Distributed training: the learner hands out work ([`TrainWork`]), serves its weights
//! ([`TrainWeights`]) and takes back rollout chunks ([`TrainChunk`]); rollout workers on any host
//! of the bus ask, run and send. Every exchange is a zenoh query (`get` with a payload, answered by
//! the learner's queryable), so a sender learns whether the learner took it.

use serde::{Deserialize, Serialize};

use super::{Dec, Enc, Kind};
use crate::DecodeError;

/// Longest scenario, terrain, worker or tensor name accepted, bytes.
pub const MAX_TRAIN_NAME_LEN: usize = 128;
/// Most episodes in one assignment or chunk.
pub const MAX_CHUNK_ENVS: usize = 4096;
/// Most values in one float array of a message (256 MiB of f32).
pub const MAX_TRAIN_FLOATS: usize = 64 << 20;
/// Longest JSON text in a message (a manifest, the outcomes), bytes.
pub const MAX_TRAIN_JSON: usize = 16 << 20;
/// Most value heads (reward groups of a multi-critic) per step of a chunk.
pub const MAX_VALUE_HEADS: usize = 8;
/// Most tensors in a weights message, and most dimensions of one.
pub const MAX_TENSORS: usize = 1024;
const MAX_DIMS: usize = 8;

/// One episode of an assignment: a start on a terrain, with its seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRef {
    /// Scenario name (e.g. `supine`, `push`).
    pub scenario: String,
    /// Terrain kind name (e.g. `flat`, `stairs_down`).
    pub terrain: String,
    /// Difficulty in 0..=1.
    pub difficulty: f32,
    /// Episode seed.
    pub seed: u64,
}

/// Episodes to run with a given weights version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The learner's id for this run (changes when a learner restarts).
    pub run_id: u64,
    /// Weights version the episodes must run with ([`TrainWeights::version`]).
    pub version: u64,
    /// Training iteration the episodes belong to.
    pub iteration: u64,
    /// Chunk index within the iteration.
    pub chunk: u32,
    /// Index of the first episode among the iteration's (its action-noise stream).
    pub first_env: u32,
    /// Episodes in the whole iteration.
    pub total_envs: u32,
    /// Policy steps per episode.
    pub steps: u32,
    /// Run seed (action noise derives from it, the iteration and the episode index).
    pub seed: u64,
    /// Upward help on the torso, fraction of the robot's weight (0..=1).
    pub assist: f32,
    /// The episodes, in order from `first_env`.
    pub episodes: Vec<EpisodeRef>,
}

/// The learner's answer to a request for work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TrainWork {
    /// Nothing to do now: ask again shortly.
    Wait,
    /// The run is over: exit.
    Done,
    /// Run these episodes.
    Chunk(Assignment),
}

/// One named tensor, row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedTensor {
    /// Variable name in the network.
    pub name: String,
    /// Shape.
    pub shape: Vec<u32>,
    /// Values.
    pub data: Vec<f32>,
}

/// The learner's weights at a version, with the manifest (configuration, network shapes,
/// observation normaliser) a worker builds its environments and networks from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainWeights {
    /// The learner's id for this run.
    pub run_id: u64,
    /// Weights version (the number of updates behind them).
    pub version: u64,
    /// The teacher manifest as JSON.
    pub manifest_json: String,
    /// Every network variable.
    pub tensors: Vec<NamedTensor>,
}

/// A worker's rollout of one assignment, step-major within the chunk (`t * envs + i`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainChunk {
    /// The run it was assigned by.
    pub run_id: u64,
    /// The worker's name.
    pub worker: String,
    /// Weights version it ran with.
    pub version: u64,
    /// Iteration and chunk of the assignment.
    pub iteration: u64,
    /// Chunk index.
    pub chunk: u32,
    /// Episodes.
    pub envs: u32,
    /// Steps per episode.
    pub steps: u32,
    /// Values per observation row.
    pub row: u32,
    /// Values per action.
    pub act: u32,
    /// The acting policy's log standard deviation per action (behaviour policy).
    pub log_std: Vec<f32>,
    /// Unnormalised observation rows, `steps * envs * row`.
    pub raw_obs: Vec<f32>,
    /// Sampled actions, `steps * envs * act`.
    pub actions: Vec<f32>,
    /// Action means.
    pub means: Vec<f32>,
    /// Log-probabilities of the actions under the behaviour policy, `steps * envs`.
    pub log_probs: Vec<f32>,
    /// Critic values, `steps * envs * heads` (one value head, or one per reward group of a
    /// multi-critic; at most [`MAX_VALUE_HEADS`]).
    pub values: Vec<f32>,
    /// Rewards, as `values`: the total, or each reward group's.
    pub rewards: Vec<f32>,
    /// Per episode, the summed reward terms (`envs * terms`).
    pub term_sums: Vec<f32>,
    /// Per episode, the outcome, as a JSON array.
    pub outcomes_json: String,
    /// Seconds spent in the simulator and in forward passes.
    pub sim_s: f64,
    /// Seconds in forward passes.
    pub forward_s: f64,
    /// Seconds resetting the environments into their episodes.
    pub reset_s: f64,
}

fn floats(e: &mut Enc, v: &[f32]) {
    e.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
    let buf = e.bytes_mut();
    buf.reserve(v.len() * 4);
    for x in v {
        buf.extend_from_slice(&x.to_le_bytes());
    }
}

fn read_floats(d: &mut Dec<'_>, field: &'static str) -> Result<Vec<f32>, DecodeError> {
    let n = d.u32(field)? as usize;
    if n > MAX_TRAIN_FLOATS {
        return Err(d.invalid(field, "array longer than allowed"));
    }
    // The slice is taken (bounds-checked) before anything is allocated.
    let raw = d.take(n * 4, field)?;
    Ok(raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn check_len(
    message: &'static str,
    field: &'static str,
    got: usize,
    max: usize,
) -> Result<(), DecodeError> {
    if got > max {
        return Err(DecodeError::Invalid {
            message,
            field,
            reason: "longer than allowed",
        });
    }
    Ok(())
}

impl TrainWork {
    const NAME: &'static str = "TrainWork";

    /// Encodes the answer.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] for names or episode lists longer than allowed, or a difficulty
    /// or assist outside 0..=1.
    pub fn encode(&self) -> Result<Vec<u8>, DecodeError> {
        let mut e = Enc::new(Kind::TrainWork, 64);
        match self {
            Self::Wait => e.u8(0),
            Self::Done => e.u8(1),
            Self::Chunk(a) => {
                check_len(Self::NAME, "episodes", a.episodes.len(), MAX_CHUNK_ENVS)?;
                if !(0.0..=1.0).contains(&a.assist) {
                    return Err(DecodeError::Invalid {
                        message: Self::NAME,
                        field: "assist",
                        reason: "outside 0..=1",
                    });
                }
                e.u8(2);
                e.u64(a.run_id);
                e.u64(a.version);
                e.u64(a.iteration);
                e.u32(a.chunk);
                e.u32(a.first_env);
                e.u32(a.total_envs);
                e.u32(a.steps);
                e.u64(a.seed);
                e.f32(a.assist);
                e.u32(a.episodes.len() as u32);
                for ep in &a.episodes {
                    check_len(
                        Self::NAME,
                        "scenario",
                        ep.scenario.len(),
                        MAX_TRAIN_NAME_LEN,
                    )?;
                    check_len(Self::NAME, "terrain", ep.terrain.len(), MAX_TRAIN_NAME_LEN)?;
                    if !(0.0..=1.0).contains(&ep.difficulty) {
                        return Err(DecodeError::Invalid {
                            message: Self::NAME,
                            field: "difficulty",
                            reason: "outside 0..=1",
                        });
                    }
                    e.str(&ep.scenario);
                    e.str(&ep.terrain);
                    e.f32(ep.difficulty);
                    e.u64(ep.seed);
                }
            }
        }
        Ok(e.finish())
    }

    /// Decodes an answer.
    ///
    /// # Errors
    /// [`DecodeError`] naming the field; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::open(bytes, Kind::TrainWork, Self::NAME)?;
        let out = match d.u8("work")? {
            0 => Self::Wait,
            1 => Self::Done,
            2 => {
                let run_id = d.u64("run_id")?;
                let version = d.u64("version")?;
                let iteration = d.u64("iteration")?;
                let chunk = d.u32("chunk")?;
                let first_env = d.u32("first_env")?;
                let total_envs = d.u32("total_envs")?;
                let steps = d.u32("steps")?;
                let seed = d.u64("seed")?;
                let assist = d.f32("assist")?;
                if !(0.0..=1.0).contains(&assist) {
                    return Err(d.invalid("assist", "outside 0..=1"));
                }
                let n = d.u32("episodes")? as usize;
                // An episode takes at least 20 bytes (two empty names, difficulty, seed): a count
                // the payload cannot hold is refused before anything is reserved for it.
                if n > MAX_CHUNK_ENVS || n.saturating_mul(20) > d.remaining() {
                    return Err(
                        d.invalid("episodes", "more than allowed or than the payload holds")
                    );
                }
                let mut episodes = Vec::with_capacity(n);
                for _ in 0..n {
                    let scenario = d.str("scenario", MAX_TRAIN_NAME_LEN)?;
                    let terrain = d.str("terrain", MAX_TRAIN_NAME_LEN)?;
                    let difficulty = d.f32("difficulty")?;
                    if !(0.0..=1.0).contains(&difficulty) {
                        return Err(d.invalid("difficulty", "outside 0..=1"));
                    }
                    episodes.push(EpisodeRef {
                        scenario,
                        terrain,
                        difficulty,
                        seed: d.u64("seed")?,
                    });
                }
                Self::Chunk(Assignment {
                    run_id,
                    version,
                    iteration,
                    chunk,
                    first_env,
                    total_envs,
                    steps,
                    seed,
                    assist,
                    episodes,
                })
            }
            _ => return Err(d.invalid("work", "unknown code")),
        };
        d.finish()?;
        Ok(out)
    }
}

impl TrainWeights {
    const NAME: &'static str = "TrainWeights";

    /// Encodes the weights.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] for a manifest, a name, a shape or a tensor list larger than
    /// allowed, or a shape that does not match its data.
    pub fn encode(&self) -> Result<Vec<u8>, DecodeError> {
        check_len(
            Self::NAME,
            "manifest_json",
            self.manifest_json.len(),
            MAX_TRAIN_JSON,
        )?;
        check_len(Self::NAME, "tensors", self.tensors.len(), MAX_TENSORS)?;
        let size: usize = self.tensors.iter().map(|t| t.data.len() * 4 + 64).sum();
        let mut e = Enc::new(Kind::TrainWeights, size + self.manifest_json.len() + 32);
        e.u64(self.run_id);
        e.u64(self.version);
        e.str(&self.manifest_json);
        e.u32(self.tensors.len() as u32);
        for t in &self.tensors {
            check_len(Self::NAME, "name", t.name.len(), MAX_TRAIN_NAME_LEN)?;
            check_len(Self::NAME, "shape", t.shape.len(), MAX_DIMS)?;
            check_len(Self::NAME, "data", t.data.len(), MAX_TRAIN_FLOATS)?;
            if t.shape.iter().map(|&d| d as usize).product::<usize>() != t.data.len() {
                return Err(DecodeError::Invalid {
                    message: Self::NAME,
                    field: "shape",
                    reason: "does not match the data's length",
                });
            }
            e.str(&t.name);
            e.u8(t.shape.len() as u8);
            for &dim in &t.shape {
                e.u32(dim);
            }
            floats(&mut e, &t.data);
        }
        Ok(e.finish())
    }

    /// Decodes weights.
    ///
    /// # Errors
    /// [`DecodeError`] naming the field; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::open(bytes, Kind::TrainWeights, Self::NAME)?;
        let run_id = d.u64("run_id")?;
        let version = d.u64("version")?;
        let manifest_json = d.str("manifest_json", MAX_TRAIN_JSON)?;
        let n = d.u32("tensors")? as usize;
        // A tensor takes at least 9 bytes (an empty name, no dimension, no data).
        if n > MAX_TENSORS || n.saturating_mul(9) > d.remaining() {
            return Err(d.invalid("tensors", "more than allowed or than the payload holds"));
        }
        let mut tensors = Vec::with_capacity(n);
        for _ in 0..n {
            let name = d.str("name", MAX_TRAIN_NAME_LEN)?;
            let dims = d.u8("shape")? as usize;
            if dims > MAX_DIMS {
                return Err(d.invalid("shape", "more dimensions than allowed"));
            }
            let shape = (0..dims)
                .map(|_| d.u32("shape"))
                .collect::<Result<Vec<_>, _>>()?;
            let data = read_floats(&mut d, "data")?;
            let count = shape
                .iter()
                .try_fold(1usize, |acc, &x| acc.checked_mul(x as usize));
            if count != Some(data.len()) {
                return Err(d.invalid("shape", "does not match the data's length"));
            }
            tensors.push(NamedTensor { name, shape, data });
        }
        d.finish()?;
        Ok(Self {
            run_id,
            version,
            manifest_json,
            tensors,
        })
    }
}

#[path = "train_chunk.rs"]
mod chunk;

#[cfg(test)]
#[path = "train_tests.rs"]
mod tests;
