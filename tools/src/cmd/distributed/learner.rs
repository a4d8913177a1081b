//! The learner: hands out each iteration's episodes, serves its weights, takes back and
//! checks chunks, and assembles them into one rollout.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command as Process, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use vigor_controller::bus::{BusConfig, Mode};
use vigor_msgs::project::{Assignment, TrainChunk, TrainWork};
use vigor_msgs::topics;
use vigor_training::rl::RunningNorm;
use vigor_training::teacher::Outcome;
use vigor_training::teacher::config::REWARD_COUNT;
use zenoh::Wait;

use super::{DEFAULT_LEARNER_ENDPOINT, WORKER_TOKEN};

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
pub(super) struct JobState {
    pub(super) iteration: u64,
    pub(super) version: u64,
    pub(super) steps: usize,
    pub(super) row: usize,
    pub(super) act: usize,
    pub(super) assignments: Vec<Assignment>,
    pub(super) handed: Vec<Option<(Instant, String)>>,
    pub(super) results: Vec<Option<Received>>,
}

/// A chunk as the learner took it.
#[derive(Debug)]
pub(super) struct Received {
    pub(super) chunk: TrainChunk,
    /// From handing the assignment out to taking the chunk, s.
    pub(super) latency_s: f64,
    /// Its size on the wire.
    pub(super) bytes: usize,
    /// Decoding it, s.
    pub(super) decode_s: f64,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) reassigned: u64,
    pub(super) stale: u64,
    pub(super) duplicate: u64,
    pub(super) bad: u64,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) run_id: u64,
    pub(super) weights: BTreeMap<u64, Arc<Vec<u8>>>,
    pub(super) job: Option<JobState>,
    pub(super) done: bool,
    pub(super) live: BTreeSet<String>,
    pub(super) told_done: BTreeSet<String>,
    pub(super) counters: Counters,
}

pub(super) type Shared = Arc<(Mutex<State>, Condvar)>;

pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The distributed collector: hands each iteration's episodes to rollout workers over zenoh and
/// assembles their chunks.
pub struct Learner {
    pub(super) shared: Shared,
    _session: zenoh::Session,
    _queryables: Vec<zenoh::query::Queryable<()>>,
    _liveliness: zenoh::pubsub::Subscriber<()>,
    children: Vec<Child>,
    pub(super) options: LearnerOptions,
    pub(super) norms: BTreeMap<u64, RunningNorm>,
    /// The last iteration's `dist/…` metrics, until the loop takes them.
    pub(super) last: BTreeMap<String, f64>,
}

pub(super) fn reply_bytes(query: &zenoh::query::Query, bytes: Vec<u8>) {
    if let Err(e) = query.reply(query.key_expr().clone(), bytes).wait() {
        eprintln!("learner: a reply failed: {e}");
    }
}

pub(super) fn payload(query: &zenoh::query::Query) -> Vec<u8> {
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
            last: BTreeMap::new(),
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
pub(super) fn spawn_worker(endpoint: &str, name: &str, threads: usize) -> Result<Child> {
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

pub(super) fn hand_out(shared: &Shared, worker: &str, reassign_after: Duration) -> TrainWork {
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

pub(super) fn take_chunk(shared: &Shared, bytes: &[u8]) -> &'static str {
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
pub(super) fn fits(chunk: &TrainChunk, job: &JobState) -> bool {
    let k = chunk.envs as usize;
    k == job.assignments[chunk.chunk as usize].episodes.len()
        && chunk.steps as usize == job.steps
        && chunk.row as usize == job.row
        && chunk.act as usize == job.act
        && chunk.term_sums.len() == k * REWARD_COUNT
        && serde_json::from_str::<Vec<Outcome>>(&chunk.outcomes_json).is_ok_and(|o| o.len() == k)
}
