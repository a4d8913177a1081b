//! A rollout worker: asks the learner for work, fetches the weights of the assignment's
//! version, runs the episodes and hands the chunk in.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use vigor_common::config::Validate;
use vigor_controller::bus::{BusConfig, Mode};
use vigor_msgs::project::{Assignment, TrainChunk, TrainWeights, TrainWork};
use vigor_msgs::topics;
use vigor_sim::env::EpisodeSpec;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;
use vigor_training::rl::RunningNorm;
use vigor_training::teacher::InProcess;
use vigor_training::teacher::artifact::TeacherManifest;
use vigor_training::teacher::model::TeacherNet;
use zenoh::Wait;

use super::{DEFAULT_LEARNER_ENDPOINT, WORKER_TOKEN};

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
