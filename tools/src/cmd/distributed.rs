//! Training beyond one machine: one learner and rollout workers over zenoh.
//!
//! The learner (`vigor train teacher --workers N`) runs the ordinary training loop
//! ([`vigor_training::teacher::train_with`]) with a [`Learner`] as its collector. Each
//! iteration's episodes are split into chunks of `--chunk-envs` episodes; the learner answers
//! three queryables:
//!
//! - [`topics::TRAIN_WORK`]: an idle worker asks for work and gets a chunk's [`Assignment`] (or
//!   `Wait`, or `Done` at the end of the run);
//! - [`topics::TRAIN_WEIGHTS`]: a worker whose weights are not the assignment's version fetches
//!   them (the manifest, with configuration and normaliser, and every tensor), so a worker that
//!   joins late starts from the current weights;
//! - [`topics::TRAIN_CHUNK`]: a worker hands in the rollout of its chunk, and learns whether it
//!   was taken.
//!
//! Every chunk carries the weights version it ran with. The learner takes a chunk only for the
//! iteration and version it assigned (anything older is dropped as stale) and reports the
//! staleness of what it trains on: 0 when each iteration waits for the newest weights, 1 with
//! `--overlap`, where the next iteration's episodes run on the current weights while the update
//! runs and PPO's ratio against the behaviour policy's log-probabilities (carried in the chunk)
//! makes the lag safe.
//!
//! Each worker holds a zenoh liveliness token; when it disappears (the process died, its link
//! dropped) the chunks it held go back to the queue at once, and a chunk held longer than
//! `--reassign-after-s` goes back too (a hung worker). Episodes are deterministic given their
//! assignment, so a chunk run twice on the same kind of CPU and libtorch gives the same rollout,
//! and a CPU run with each iteration in one chunk and no lag equals the in-process run bit for
//! bit (smaller chunks change the forward passes' batch size, and with it the last bits).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value, json};
use vigor_common::config::Validate;
use vigor_controller::bus::{BusConfig, Mode};
use vigor_msgs::project::{
    Assignment, EpisodeRef, NamedTensor, TrainChunk, TrainWeights, TrainWork,
};
use vigor_msgs::topics;
use vigor_sim::env::EpisodeSpec;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;
use vigor_training::rl::RunningNorm;
use vigor_training::teacher::artifact::TeacherManifest;
use vigor_training::teacher::config::REWARD_COUNT;
use vigor_training::teacher::model::TeacherNet;
use vigor_training::teacher::rollout::Rollout;
use vigor_training::teacher::{Collector, InProcess, Job, Outcome, TrainError};
use zenoh::Wait;

/// The learner's default listening endpoint (the simulated robot's bus uses 7447).
pub const DEFAULT_LEARNER_ENDPOINT: &str = "tcp/127.0.0.1:7460";
/// Liveliness key prefix of the workers' tokens.
const WORKER_TOKEN: &str = "vigor/train/worker";
/// Weights versions the learner keeps answering for.
const KEPT_VERSIONS: usize = 4;

/// How the learner runs.
#[derive(Debug, Clone)]
pub struct LearnerOptions {
    /// Its bus: listen endpoints, an optional zenoh configuration file (TLS).
    pub bus: BusConfig,
    /// Rollout workers started on this machine, connected to the first listen endpoint.
    pub local_workers: usize,
    /// Worker threads of each local worker.
    pub worker_threads: usize,
    /// Episodes per chunk.
    pub chunk_envs: usize,
    /// Run the next iteration's episodes on the current weights while the update runs.
    pub overlap: bool,
    /// A chunk held this long goes back to the queue.
    pub reassign_after: Duration,
}

#[derive(Debug, Default)]
struct JobState {
    iteration: u64,
    version: u64,
    steps: usize,
    row: usize,
    act: usize,
    assignments: Vec<Assignment>,
    handed: Vec<Option<(Instant, String)>>,
    results: Vec<Option<Received>>,
}

/// A chunk as the learner took it.
#[derive(Debug)]
struct Received {
    chunk: TrainChunk,
    /// From handing the assignment out to taking the chunk, s.
    latency_s: f64,
    /// Its size on the wire.
    bytes: usize,
    /// Decoding it, s.
    decode_s: f64,
}

#[derive(Debug, Default)]
struct Counters {
    reassigned: u64,
    stale: u64,
    duplicate: u64,
    bad: u64,
}

#[derive(Debug, Default)]
struct State {
    run_id: u64,
    weights: BTreeMap<u64, Arc<Vec<u8>>>,
    job: Option<JobState>,
    done: bool,
    live: BTreeSet<String>,
    told_done: BTreeSet<String>,
    counters: Counters,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The distributed collector: hands each iteration's episodes to rollout workers over zenoh and
/// assembles their chunks.
pub struct Learner {
    shared: Shared,
    _session: zenoh::Session,
    _queryables: Vec<zenoh::query::Queryable<()>>,
    _liveliness: zenoh::pubsub::Subscriber<()>,
    children: Vec<Child>,
    options: LearnerOptions,
    norms: BTreeMap<u64, RunningNorm>,
    last: Map<String, Value>,
}

fn reply_bytes(query: &zenoh::query::Query, bytes: Vec<u8>) {
    if let Err(e) = query.reply(query.key_expr().clone(), bytes).wait() {
        eprintln!("learner: a reply failed: {e}");
    }
}

fn payload(query: &zenoh::query::Query) -> Vec<u8> {
    query
        .payload()
        .map(|p| p.to_bytes().into_owned())
        .unwrap_or_default()
}

impl Learner {
    /// Opens the learner's bus, declares its queryables and starts the local workers.
    ///
    /// # Errors
    /// The bus cannot be opened, or a worker process cannot be started.
    pub fn start(options: LearnerOptions) -> Result<Self> {
        if options.local_workers > 0 && options.bus.config_file.is_some() {
            bail!(
                "--bus-config with --workers {}: local workers would not have their own zenoh \
                 configuration. Pass --workers 0 and start each worker with \
                 `vigor rollout-worker --bus-config WORKER.json5`",
                options.local_workers
            );
        }
        let mut bus = options.bus.clone();
        if bus.listen.is_empty() && bus.config_file.is_none() {
            bus.listen.push(DEFAULT_LEARNER_ENDPOINT.to_owned());
        }
        bus.mode = Some(Mode::Router);
        let session = bus.open().context("opening the learner's bus")?;
        let run_id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id());
        let shared: Shared = Arc::new((
            Mutex::new(State {
                run_id,
                ..State::default()
            }),
            Condvar::new(),
        ));
        let zerr = |e: zenoh::Error| anyhow!("zenoh: {e}");
        let reassign_after = options.reassign_after;
        let s = Arc::clone(&shared);
        let work = session
            .declare_queryable(topics::TRAIN_WORK.key)
            .callback(move |query| {
                let worker = String::from_utf8_lossy(&payload(&query)).into_owned();
                let answer = hand_out(&s, &worker, reassign_after);
                match answer.encode() {
                    Ok(bytes) => reply_bytes(&query, bytes),
                    Err(e) => eprintln!("learner: cannot encode an assignment: {e}"),
                }
            })
            .wait()
            .map_err(zerr)?;
        let s = Arc::clone(&shared);
        let weights = session
            .declare_queryable(topics::TRAIN_WEIGHTS.key)
            .callback(move |query| {
                let asked = String::from_utf8_lossy(&payload(&query))
                    .trim()
                    .parse::<u64>()
                    .ok();
                let found = {
                    let st = lock(&s);
                    match asked {
                        Some(v) => st.weights.get(&v).cloned(),
                        None => st.weights.values().next_back().cloned(),
                    }
                };
                match found {
                    Some(bytes) => reply_bytes(&query, bytes.as_ref().clone()),
                    None => {
                        let _ = query
                            .reply_err(format!("no weights of version {asked:?}"))
                            .wait();
                    }
                }
            })
            .wait()
            .map_err(zerr)?;
        let s = Arc::clone(&shared);
        let chunks = session
            .declare_queryable(topics::TRAIN_CHUNK.key)
            .callback(move |query| {
                let bytes = payload(&query);
                let verdict = take_chunk(&s, &bytes);
                reply_bytes(&query, verdict.as_bytes().to_vec());
            })
            .wait()
            .map_err(zerr)?;
        let s = Arc::clone(&shared);
        let liveliness = session
            .liveliness()
            .declare_subscriber(format!("{WORKER_TOKEN}/**"))
            .history(true)
            .callback(move |sample| {
                let name = sample
                    .key_expr()
                    .as_str()
                    .trim_start_matches(WORKER_TOKEN)
                    .trim_start_matches('/')
                    .to_owned();
                let mut st = lock(&s);
                match sample.kind() {
                    zenoh::sample::SampleKind::Put => {
                        st.live.insert(name);
                    }
                    zenoh::sample::SampleKind::Delete => {
                        st.live.remove(&name);
                        // Its chunks go back to the queue now.
                        let mut back = 0;
                        if let Some(job) = st.job.as_mut() {
                            for (h, r) in job.handed.iter_mut().zip(&job.results) {
                                if r.is_none() && h.as_ref().is_some_and(|(_, w)| *w == name) {
                                    *h = None;
                                    back += 1;
                                }
                            }
                        }
                        st.counters.reassigned += back;
                        eprintln!(
                            "learner: worker `{name}` left the bus; {back} chunk(s) back in the queue"
                        );
                    }
                }
                s.1.notify_all();
            })
            .wait()
            .map_err(zerr)?;
        let mut learner = Self {
            shared,
            _session: session,
            _queryables: vec![work, weights, chunks],
            _liveliness: liveliness,
            children: Vec::new(),
            options,
            norms: BTreeMap::new(),
            last: Map::new(),
        };
        let endpoint = bus
            .listen
            .first()
            .cloned()
            .unwrap_or_else(|| DEFAULT_LEARNER_ENDPOINT.to_owned());
        for i in 0..learner.options.local_workers {
            let child = spawn_worker(
                &endpoint,
                &format!("local-{i}"),
                learner.options.worker_threads,
            )?;
            learner.children.push(child);
        }
        Ok(learner)
    }

    /// Tells the workers the run is over: waits (at most 10 s) until every worker on the bus has
    /// asked for work and heard it, and for the local ones to exit.
    pub fn shutdown(&mut self) {
        lock(&self.shared).done = true;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let st = lock(&self.shared);
            if st.live.iter().all(|w| st.told_done.contains(w)) {
                break;
            }
            drop(st);
            std::thread::sleep(Duration::from_millis(20));
        }
        for child in &mut self.children {
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Learner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts `vigor rollout-worker` as a child process.
fn spawn_worker(endpoint: &str, name: &str, threads: usize) -> Result<Child> {
    let exe = std::env::current_exe().context("finding the vigor executable")?;
    Process::new(exe)
        .args([
            "rollout-worker",
            "--connect",
            endpoint,
            "--name",
            name,
            "--threads",
            &threads.to_string(),
        ])
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("starting rollout worker `{name}`"))
}

fn hand_out(shared: &Shared, worker: &str, reassign_after: Duration) -> TrainWork {
    let mut st = lock(shared);
    if st.done {
        st.told_done.insert(worker.to_owned());
        return TrainWork::Done;
    }
    let Some(job) = st.job.as_mut() else {
        return TrainWork::Wait;
    };
    // A worker runs one chunk at a time: one that asks has given up any chunk it still held
    // (its weights did not arrive, or handing in failed), so that chunk is free again.
    for (h, r) in job.handed.iter_mut().zip(&job.results) {
        if r.is_none() && h.as_ref().is_some_and(|(_, w)| w == worker) {
            *h = None;
        }
    }
    // A chunk is free when nobody holds it, or its holder has held it too long. A holder that
    // left the bus gave its chunks back when its liveliness token went (see `start`).
    let free = (0..job.assignments.len()).find(|&c| {
        job.results[c].is_none()
            && job.handed[c]
                .as_ref()
                .is_none_or(|(at, _)| at.elapsed() > reassign_after)
    });
    let Some(c) = free else {
        return TrainWork::Wait;
    };
    let again = job.handed[c].is_some();
    job.handed[c] = Some((Instant::now(), worker.to_owned()));
    let a = job.assignments[c].clone();
    if again {
        st.counters.reassigned += 1;
    }
    TrainWork::Chunk(a)
}

fn take_chunk(shared: &Shared, bytes: &[u8]) -> &'static str {
    let started = Instant::now();
    let chunk = match TrainChunk::decode(bytes) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("learner: a chunk that does not decode: {e}");
            lock(shared).counters.bad += 1;
            return "bad";
        }
    };
    let mut st = lock(shared);
    let run_id = st.run_id;
    let verdict = match st.job.as_mut() {
        Some(job)
            if chunk.run_id == run_id
                && chunk.iteration == job.iteration
                && (chunk.chunk as usize) < job.assignments.len()
                && chunk.version == job.assignments[chunk.chunk as usize].version =>
        {
            let c = chunk.chunk as usize;
            if !fits(&chunk, job) {
                eprintln!(
                    "learner: chunk {c} from `{}` does not fit this run's episodes and networks",
                    chunk.worker
                );
                "bad"
            } else if job.results[c].is_some() {
                "duplicate"
            } else {
                let latency = job.handed[c]
                    .as_ref()
                    .map_or(0.0, |(at, _)| at.elapsed().as_secs_f64());
                job.results[c] = Some(Received {
                    chunk,
                    latency_s: latency,
                    bytes: bytes.len(),
                    decode_s: started.elapsed().as_secs_f64(),
                });
                "taken"
            }
        }
        _ => "stale",
    };
    match verdict {
        "duplicate" => st.counters.duplicate += 1,
        "stale" => st.counters.stale += 1,
        "bad" => st.counters.bad += 1,
        _ => {}
    }
    drop(st);
    shared.1.notify_all();
    verdict
}

/// Whether `chunk` is the rollout its assignment in `job` asks for: its episode count, steps,
/// row and action sizes, reward terms and outcomes. A chunk that is not is refused, and its
/// assignment stays in the queue.
fn fits(chunk: &TrainChunk, job: &JobState) -> bool {
    let k = chunk.envs as usize;
    k == job.assignments[chunk.chunk as usize].episodes.len()
        && chunk.steps as usize == job.steps
        && chunk.row as usize == job.row
        && chunk.act as usize == job.act
        && chunk.term_sums.len() == k * REWARD_COUNT
        && serde_json::from_str::<Vec<Outcome>>(&chunk.outcomes_json).is_ok_and(|o| o.len() == k)
}

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
        let mut m = Map::new();
        m.insert("dist/workers".into(), json!(live));
        m.insert("dist/chunks".into(), json!(chunks.len()));
        m.insert(
            "dist/staleness".into(),
            json!(job.iteration.saturating_sub(job.version)),
        );
        m.insert("dist/wait_s".into(), json!(wait_s));
        m.insert(
            "dist/chunk_mb".into(),
            json!(chunks.iter().map(|c| c.bytes as f64).sum::<f64>() / n / 1e6),
        );
        m.insert(
            "dist/chunk_latency_s".into(),
            json!(chunks.iter().map(|c| c.latency_s).sum::<f64>() / n),
        );
        m.insert(
            "dist/decode_s".into(),
            json!(chunks.iter().map(|c| c.decode_s).sum::<f64>()),
        );
        m.insert("dist/assemble_s".into(), json!(assemble_s));
        m.insert("dist/reassigned".into(), json!(counters.reassigned));
        m.insert(
            "dist/dropped".into(),
            json!(counters.stale + counters.duplicate + counters.bad),
        );
        self.last = m;
        Ok(ro)
    }

    fn overlaps(&self) -> bool {
        self.options.overlap
    }

    fn report(&mut self, metrics: &mut Map<String, Value>) {
        metrics.append(&mut self.last);
    }
}

/// The chunks' rollouts as one, step-major over every episode in slot order, rows normalised
/// with `norm` (the one the workers acted with).
fn assemble(chunks: &[Received], norm: &RunningNorm) -> Result<Rollout, TrainError> {
    let first = &chunks
        .first()
        .ok_or_else(|| train_error("no chunks"))?
        .chunk;
    let (steps, row, act) = (first.steps as usize, first.row as usize, first.act as usize);
    let total: usize = chunks.iter().map(|c| c.chunk.envs as usize).sum();
    let mut ro = Rollout {
        envs: total,
        steps,
        raw_obs: vec![0.0; steps * total * row],
        actions: vec![0.0; steps * total * act],
        means: vec![0.0; steps * total * act],
        log_probs: vec![0.0; steps * total],
        values: vec![0.0; steps * total],
        rewards: vec![0.0; steps * total],
        log_std: first.log_std.clone(),
        ..Rollout::default()
    };
    let mut at = 0;
    for Received { chunk: c, .. } in chunks {
        let k = c.envs as usize;
        if c.steps as usize != steps || c.row as usize != row || c.act as usize != act {
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
        copy(&mut ro.values, &c.values, 1);
        copy(&mut ro.rewards, &c.rewards, 1);
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

/// What a rollout worker holds between chunks.
struct WorkerState {
    run_id: u64,
    version: u64,
    net: TeacherNet,
    norm: RunningNorm,
    manifest: TeacherManifest,
}

fn fetch_weights(session: &zenoh::Session, version: u64) -> Result<TrainWeights> {
    let replies = session
        .get(topics::TRAIN_WEIGHTS.key)
        .payload(version.to_string())
        .timeout(Duration::from_secs(30))
        .wait()
        .map_err(|e| anyhow!("zenoh: {e}"))?;
    let reply = replies
        .recv()
        .map_err(|_| anyhow!("no answer to a request for weights of version {version}"))?;
    match reply.result() {
        Ok(sample) => TrainWeights::decode(&sample.payload().to_bytes())
            .context("decoding the learner's weights"),
        Err(e) => bail!(
            "the learner has no weights of version {version}: {}",
            String::from_utf8_lossy(&e.payload().to_bytes())
        ),
    }
}

fn load_weights(w: &TrainWeights) -> Result<WorkerState> {
    let policy: vigor_policy::Manifest =
        serde_json::from_str(&w.manifest_json).context("the learner's manifest")?;
    let manifest = TeacherManifest::from_policy(policy, std::path::Path::new("<learner>"))?;
    let net = TeacherNet::on(manifest.spec.clone(), 1.0, 0, tch::Device::Cpu);
    let mut vars = net.vs.variables();
    if vars.len() != w.tensors.len() {
        bail!(
            "the learner sent {} tensors for a network of {}",
            w.tensors.len(),
            vars.len()
        );
    }
    tch::no_grad(|| -> Result<()> {
        for t in &w.tensors {
            let var = vars
                .get_mut(&t.name)
                .ok_or_else(|| anyhow!("the learner sent an unknown tensor `{}`", t.name))?;
            let shape: Vec<i64> = t.shape.iter().map(|&d| i64::from(d)).collect();
            if var.size() != shape {
                bail!(
                    "tensor `{}`: shape {:?}, expected {:?}",
                    t.name,
                    shape,
                    var.size()
                );
            }
            var.copy_(&tch::Tensor::from_slice(&t.data).view(shape.as_slice()));
        }
        Ok(())
    })?;
    Ok(WorkerState {
        run_id: w.run_id,
        version: w.version,
        norm: manifest.normaliser.clone(),
        net,
        manifest,
    })
}

fn specs_of(a: &Assignment) -> Result<Vec<EpisodeSpec>> {
    a.episodes
        .iter()
        .map(|e| {
            Ok(EpisodeSpec {
                scenario: Scenario::from_name(&e.scenario).map_err(|m| anyhow!(m))?,
                terrain: (TerrainKind::from_name(&e.terrain)?, e.difficulty),
                seed: e.seed,
            })
        })
        .collect()
}

/// Options of `vigor rollout-worker`.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The learner's bus.
    pub bus: BusConfig,
    /// This worker's name (unique on the bus).
    pub name: String,
    /// Environment threads (0 = one per core).
    pub threads: usize,
    /// Exit after this many chunks (0 = until the learner says the run is over).
    pub max_chunks: usize,
}

/// Runs a rollout worker until the learner says the run is over.
///
/// # Errors
/// The bus cannot be opened; the learner's weights or assignments make no sense here.
pub fn run_worker(opts: &WorkerOptions) -> Result<()> {
    let mut bus = opts.bus.clone();
    if bus.connect.is_empty() && bus.config_file.is_none() {
        bus.connect.push(DEFAULT_LEARNER_ENDPOINT.to_owned());
    }
    if bus.mode.is_none() {
        bus.mode = Some(Mode::Client);
    }
    let session = bus.open().context("opening the bus to the learner")?;
    let _token = session
        .liveliness()
        .declare_token(format!("{WORKER_TOKEN}/{}", opts.name))
        .wait()
        .map_err(|e| anyhow!("zenoh: {e}"))?;
    tch::set_num_threads(1);
    let robot = vigor_sim::robot::Robot::embedded("g1_29dof")?;
    let sim = vigor_sim::SimConfig::embedded()?;
    let mut held: Option<WorkerState> = None;
    let mut collector: Option<InProcess<'_>> = None;
    let mut chunks = 0usize;
    let (mut encode_s, mut hand_in_s) = (0.0f64, 0.0f64);
    let mut quiet = Instant::now();
    eprintln!("rollout worker `{}`: asking for work", opts.name);
    loop {
        let work = match ask(&session, &opts.name) {
            Ok(w) => w,
            Err(e) => {
                if quiet.elapsed() > Duration::from_secs(10) {
                    eprintln!("rollout worker `{}`: no learner yet ({e})", opts.name);
                    quiet = Instant::now();
                }
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        let a = match work {
            TrainWork::Done => {
                let per = 1e3 / chunks.max(1) as f64;
                eprintln!(
                    "rollout worker `{}`: the run is over after {chunks} chunk(s); per chunk, \
                     encoding {:.1} ms and handing in {:.1} ms",
                    opts.name,
                    encode_s * per,
                    hand_in_s * per
                );
                return Ok(());
            }
            TrainWork::Wait => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            TrainWork::Chunk(a) => a,
        };
        let current = held
            .as_ref()
            .is_some_and(|h| h.run_id == a.run_id && h.version == a.version);
        if !current {
            let w = match fetch_weights(&session, a.version) {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("rollout worker `{}`: {e:#}", opts.name);
                    continue;
                }
            };
            let state = load_weights(&w)?;
            let rebuild = held.as_ref().is_none_or(|h| {
                h.run_id != state.run_id || h.manifest.config != state.manifest.config
            });
            if rebuild {
                let mut raw = state.manifest.config.clone();
                raw.threads = opts.threads;
                let params = raw.validate("<the learner's configuration>")?;
                collector = Some(InProcess::new(&params, &robot, &sim)?);
            }
            held = Some(state);
        }
        let (Some(h), Some(c)) = (held.as_ref(), collector.as_mut()) else {
            continue;
        };
        let specs = specs_of(&a)?;
        let ro = c.run(
            &specs,
            a.assist,
            &h.net,
            &h.norm,
            a.steps as usize,
            (a.seed, a.iteration),
            u64::from(a.first_env),
            u64::from(a.total_envs),
        )?;
        let chunk = TrainChunk {
            run_id: a.run_id,
            worker: opts.name.clone(),
            version: a.version,
            iteration: a.iteration,
            chunk: a.chunk,
            envs: ro.envs as u32,
            steps: ro.steps as u32,
            row: h.net.spec.row() as u32,
            act: h.net.spec.actor.output as u32,
            log_std: ro.log_std,
            raw_obs: ro.raw_obs,
            actions: ro.actions,
            means: ro.means,
            log_probs: ro.log_probs,
            values: ro.values,
            rewards: ro.rewards,
            term_sums: ro.term_sums.iter().flatten().copied().collect(),
            outcomes_json: serde_json::to_string(&ro.outcomes)?,
            sim_s: ro.sim_s,
            forward_s: ro.forward_s,
            reset_s: ro.reset_s,
        };
        let encoding = Instant::now();
        let bytes = chunk.encode()?;
        encode_s += encoding.elapsed().as_secs_f64();
        let sending = Instant::now();
        let sent = hand_in(&session, bytes);
        hand_in_s += sending.elapsed().as_secs_f64();
        match sent {
            Ok(verdict) if verdict != "taken" => {
                eprintln!(
                    "rollout worker `{}`: chunk {} of iteration {} was {verdict}",
                    opts.name,
                    a.chunk,
                    a.iteration + 1
                );
            }
            Ok(_) => {}
            Err(e) => eprintln!("rollout worker `{}`: handing in a chunk: {e:#}", opts.name),
        }
        chunks += 1;
        if opts.max_chunks > 0 && chunks >= opts.max_chunks {
            eprintln!(
                "rollout worker `{}`: stopping after {chunks} chunk(s)",
                opts.name
            );
            return Ok(());
        }
    }
}

fn ask(session: &zenoh::Session, name: &str) -> Result<TrainWork> {
    let replies = session
        .get(topics::TRAIN_WORK.key)
        .payload(name.to_owned())
        .timeout(Duration::from_secs(5))
        .wait()
        .map_err(|e| anyhow!("zenoh: {e}"))?;
    let reply = replies.recv().map_err(|_| anyhow!("no learner answered"))?;
    let sample = reply
        .result()
        .map_err(|e| anyhow!("{}", String::from_utf8_lossy(&e.payload().to_bytes())))?;
    Ok(TrainWork::decode(&sample.payload().to_bytes())?)
}

fn hand_in(session: &zenoh::Session, bytes: Vec<u8>) -> Result<String> {
    let replies = session
        .get(topics::TRAIN_CHUNK.key)
        .payload(bytes)
        .timeout(Duration::from_secs(60))
        .wait()
        .map_err(|e| anyhow!("zenoh: {e}"))?;
    let reply = replies
        .recv()
        .map_err(|_| anyhow!("the learner did not answer"))?;
    let sample = reply
        .result()
        .map_err(|e| anyhow!("{}", String::from_utf8_lossy(&e.payload().to_bytes())))?;
    Ok(String::from_utf8_lossy(&sample.payload().to_bytes()).into_owned())
}

/// The learner's options from the command line's.
#[must_use]
pub fn learner_options(
    listen: &[String],
    bus_config: Option<PathBuf>,
    local_workers: usize,
    worker_threads: usize,
    chunk_envs: usize,
    overlap: bool,
    reassign_after_s: f64,
) -> LearnerOptions {
    LearnerOptions {
        bus: BusConfig {
            config_file: bus_config,
            connect: Vec::new(),
            listen: listen.to_vec(),
            mode: Some(Mode::Router),
        },
        local_workers,
        worker_threads,
        chunk_envs,
        overlap,
        reassign_after: Duration::from_secs_f64(reassign_after_s.max(0.1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(chunks: usize) -> JobState {
        let assignment = |c: usize| Assignment {
            run_id: 1,
            version: 4,
            iteration: 4,
            chunk: c as u32,
            first_env: (2 * c) as u32,
            total_envs: (2 * chunks) as u32,
            steps: 3,
            seed: 1,
            assist: 0.0,
            episodes: (0..2)
                .map(|k| EpisodeRef {
                    scenario: "supine".into(),
                    terrain: "flat".into(),
                    difficulty: 0.0,
                    seed: k,
                })
                .collect(),
        };
        JobState {
            iteration: 4,
            version: 4,
            steps: 3,
            row: 5,
            act: 2,
            assignments: (0..chunks).map(assignment).collect(),
            handed: vec![None; chunks],
            results: (0..chunks).map(|_| None).collect(),
        }
    }

    fn chunk(c: u32) -> TrainChunk {
        let (k, steps, row, act) = (2usize, 3usize, 5usize, 2usize);
        TrainChunk {
            run_id: 1,
            worker: "w".into(),
            version: 4,
            iteration: 4,
            chunk: c,
            envs: k as u32,
            steps: steps as u32,
            row: row as u32,
            act: act as u32,
            log_std: vec![0.0; act],
            raw_obs: vec![1.0; k * steps * row],
            actions: vec![0.0; k * steps * act],
            means: vec![0.0; k * steps * act],
            log_probs: vec![0.0; k * steps],
            values: vec![0.0; k * steps],
            rewards: vec![0.0; k * steps],
            term_sums: vec![0.0; k * REWARD_COUNT],
            outcomes_json: serde_json::to_string(&vec![Outcome::default(); k]).unwrap(),
            sim_s: 0.0,
            forward_s: 0.0,
            reset_s: 0.0,
        }
    }

    fn shared(job: JobState) -> Shared {
        Arc::new((
            Mutex::new(State {
                run_id: 1,
                job: Some(job),
                ..State::default()
            }),
            Condvar::new(),
        ))
    }

    fn handed(work: TrainWork) -> Option<u32> {
        match work {
            TrainWork::Chunk(a) => Some(a.chunk),
            _ => None,
        }
    }

    #[test]
    fn chunks_go_out_once_and_come_back_when_their_holder_asks_again_or_is_late() {
        let s = shared(job(2));
        let long = Duration::from_secs(60);
        assert_eq!(handed(hand_out(&s, "a", long)), Some(0));
        assert_eq!(handed(hand_out(&s, "b", long)), Some(1));
        // Both held: nothing for a third worker.
        assert_eq!(hand_out(&s, "c", long), TrainWork::Wait);
        // `a` asks again without handing in: it gave chunk 0 up, and gets it back.
        assert_eq!(handed(hand_out(&s, "a", long)), Some(0));
        // A holder past the deadline loses its chunk to the next asker.
        assert_eq!(handed(hand_out(&s, "c", Duration::ZERO)), Some(0));
        lock(&s).done = true;
        assert_eq!(hand_out(&s, "a", long), TrainWork::Done);
        assert!(lock(&s).told_done.contains("a"));
    }

    #[test]
    fn a_chunk_that_does_not_fit_its_assignment_is_refused_and_stays_queued() {
        let s = shared(job(2));
        let long = Duration::from_secs(60);
        assert_eq!(handed(hand_out(&s, "w", long)), Some(0));
        let encode = |c: &TrainChunk| c.encode().unwrap();
        let mut wrong_row = chunk(0);
        wrong_row.row = 4;
        wrong_row.raw_obs.truncate(2 * 3 * 4);
        assert_eq!(take_chunk(&s, &encode(&wrong_row)), "bad");
        let mut wrong_outcomes = chunk(0);
        wrong_outcomes.outcomes_json = "[{}]".into();
        assert_eq!(take_chunk(&s, &encode(&wrong_outcomes)), "bad");
        let mut old = chunk(0);
        old.version = 3;
        assert_eq!(take_chunk(&s, &encode(&old)), "stale");
        assert_eq!(take_chunk(&s, b"not a chunk"), "bad");
        assert!(lock(&s).job.as_ref().unwrap().results[0].is_none());
        assert_eq!(take_chunk(&s, &encode(&chunk(0))), "taken");
        assert_eq!(take_chunk(&s, &encode(&chunk(0))), "duplicate");
        let st = lock(&s);
        assert_eq!(
            (st.counters.bad, st.counters.stale, st.counters.duplicate),
            (3, 1, 1)
        );
    }

    #[test]
    fn chunks_assemble_step_major_in_slot_order() {
        let norm = RunningNorm::new(5);
        let mut a = chunk(0);
        let mut b = chunk(1);
        // Rewards tell (chunk, step, episode) apart.
        for t in 0..3 {
            for i in 0..2 {
                a.rewards[t * 2 + i] = (100 * t + i) as f32;
                b.rewards[t * 2 + i] = (100 * t + 2 + i) as f32;
            }
        }
        let received = |c: TrainChunk| Received {
            chunk: c,
            latency_s: 0.0,
            bytes: 0,
            decode_s: 0.0,
        };
        let ro = assemble(&[received(a), received(b)], &norm).unwrap();
        assert_eq!(ro.envs, 4);
        let want: Vec<f32> = (0..3)
            .flat_map(|t| (0..4).map(move |i| (100 * t + i) as f32))
            .collect();
        assert_eq!(ro.rewards, want);
        assert_eq!(ro.outcomes.len(), 4);
        assert_eq!(ro.obs.len(), 3 * 4 * 5);
    }
}
