//! `vigor train teacher` (PPO for the goal-in-context teacher) and `vigor train student`
//! (distillation with DAgger), with a progress bar, metrics, curves, atomic checkpoints and
//! `--resume`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use vigor_common::config::{self, Validate};
use vigor_training::student::config::SHIPPED;
use vigor_training::student::{StudentConfig, StudentKind, StudentRunOptions, train_student};
use vigor_training::teacher::{RunOptions, TeacherConfig, load_artifact, train_with};

/// `vigor train ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train the privileged teacher (VIGOR's goal-in-context PPO policy).
    ///
    /// Each iteration runs every environment through one whole episode (7.5 s after engagement by
    /// default), then one PPO update. The run directory gets `metrics.jsonl` (one line per
    /// iteration, every reward term on its own), `metrics.rrd` and `curves.png` (rewritten at each
    /// checkpoint), `checkpoints/iter_N/` (weights, optimiser, state; written atomically, the
    /// newest three kept), `latest`, and `best/` (the artifact with the best success rate, which
    /// `vigor eval --policy` reads). A run killed at any moment continues with `--resume` exactly
    /// where its last checkpoint was.
    Teacher(TeacherArgs),
    /// Distil a student from a teacher (VIGOR's depth student, or the blind comparison).
    ///
    /// Each iteration runs every environment through one episode with DAgger: the teacher labels
    /// every step (its latent z and its action) and acts with probability beta (1 -> 0 over
    /// `dagger.beta_iterations`), the student acts otherwise; the student then learns
    /// `||z_hat - z||^2 + ||a - a_teacher||^2`. Depth comes from the simulated head camera at
    /// 30 Hz through the robot's own preprocessing, randomised. The run directory gets
    /// `metrics.jsonl`, `metrics.rrd`, `curves.png`, `checkpoints/`, `latest` (resume with
    /// `--resume`) and `student/`, the deployable artifact (`manifest.json`, weights, `task.json`,
    /// and `probe.safetensors`: recorded inputs with the outputs training computed for them).
    Student(StudentArgs),
    /// Redraw a run's `curves.png` and `metrics.rrd` from its `metrics.jsonl` (a teacher or a
    /// student run), e.g. while it trains elsewhere or after an update of this program.
    Curves {
        /// The run directory.
        run_dir: PathBuf,
    },
    /// Compare runs side by side: prints a markdown table of each metric's mean over windows of
    /// iterations (rates in percent), and with `--out` draws each metric's rolling mean against
    /// environment steps and against wall-clock hours, a line per run. For ablations: runs of
    /// the same config that differ in one lever, compared at the same step budget (table rows are
    /// windows of iterations; a note says when the runs' steps per iteration differ).
    Compare(CompareArgs),
}

/// Flags of `vigor train compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run directories (each holds a `metrics.jsonl`); a run is named by its folder.
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Iterations per table row and per rolling mean in the picture.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub window: u64,
    /// Metrics to compare, comma-separated keys of `metrics.jsonl`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "mean_return,success,curriculum/assist"
    )]
    pub metrics: Vec<String>,
    /// Only iterations up to this many environment steps (the same budget for every run).
    #[arg(long)]
    pub until_steps: Option<f64>,
    /// Also write the picture here (PNG).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Flags of `vigor train student`.
#[derive(Debug, Args)]
pub struct StudentArgs {
    /// The teacher artifact to distil (e.g. `policies/teacher` or a run's `best/`).
    #[arg(long)]
    pub teacher: PathBuf,
    /// Student configuration (default: the embedded configs/student.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `depth` or `blind` (default: the config's `kind`).
    #[arg(long, value_parser = ["depth", "blind"])]
    pub kind: Option<String>,
    /// Run directory.
    #[arg(long, default_value = "runs/student")]
    pub run_dir: PathBuf,
    /// Continue the run in --run-dir from its latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Override the config's iteration count (1..=1e6).
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Override the config's number of environments (1..=4096).
    #[arg(long)]
    pub envs: Option<usize>,
    /// Override the config's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress bar, one line per iteration (for logs).
    #[arg(long)]
    pub plain: bool,
}

/// Flags of `vigor train teacher`.
#[derive(Debug, Args)]
pub struct TeacherArgs {
    /// Teacher configuration (default: the embedded configs/teacher.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run directory.
    #[arg(long, default_value = "runs/teacher")]
    pub run_dir: PathBuf,
    /// Continue the run in --run-dir from its latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// With --resume: continue the run's full state (weights, optimiser, normaliser,
    /// curriculum) under a --config that differs from the one it started with, to measure a
    /// lever from a shared state. The differing keys are printed; network shapes must match.
    #[arg(long, requires = "resume")]
    pub amend: bool,
    /// Start a new run from this teacher artifact's weights and normaliser (e.g.
    /// `policies/teacher`) rather than fresh ones: fine-tuning on new starts, rewards or terrain.
    /// The network shapes must match the configuration; the optimiser and curriculum start anew.
    /// Ignored with --resume.
    #[arg(long, value_name = "DIR")]
    pub init_from: Option<PathBuf>,
    /// Physics engine, rapier or mujoco (default: the config's `sim.engine`).
    #[arg(long)]
    pub engine: Option<String>,
    /// Override the config's iteration count (1..=1e6).
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Override the config's number of environments (1..=4096).
    #[arg(long)]
    pub envs: Option<usize>,
    /// Override the config's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where the networks and the PPO update run: `cpu` (the default), `cuda` (the first GPU;
    /// an error if libtorch sees none) or `auto` (CUDA when present). The simulator always runs on
    /// the CPU cores.
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda", "auto"])]
    pub device: String,
    /// No progress bar, one line per iteration (for logs).
    #[arg(long)]
    pub plain: bool,
    /// Distributed: run as the learner, with this many rollout workers started on this machine
    /// (0 = only workers that join from elsewhere with `vigor rollout-worker --connect`). The
    /// learner hands out each iteration's episodes in chunks, publishes its weights and trains on
    /// the chunks that come back; see docs/distributed.md.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Distributed: the learner's zenoh listen endpoints (default tcp/127.0.0.1:7460; use the
    /// machine's address, or tls/... with --bus-config, for workers on other hosts).
    #[arg(long, value_name = "ENDPOINT", requires = "workers")]
    pub listen: Vec<String>,
    /// Distributed: a zenoh configuration file for the learner's bus (TLS, access control).
    #[arg(long, value_name = "FILE", requires = "workers")]
    pub bus_config: Option<PathBuf>,
    /// Distributed: episodes per chunk a worker runs at a time (1..=4096).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=4096), requires = "workers")]
    pub chunk_envs: u64,
    /// Distributed: environment threads of each local worker.
    #[arg(long, default_value_t = 1, requires = "workers")]
    pub worker_threads: usize,
    /// Distributed: run the next iteration's episodes on the current weights while the update
    /// runs (one version of lag, corrected by PPO's ratio clipping against the behaviour
    /// policy). Off: every iteration waits for the newest weights, as in-process training does.
    #[arg(long, requires = "workers")]
    pub overlap: bool,
    /// Distributed: a chunk not back after this many seconds goes to another worker (a worker
    /// that leaves the bus gives its chunks back at once).
    #[arg(long, default_value_t = 300.0, requires = "workers")]
    pub reassign_after_s: f64,
}

/// `vigor rollout-worker`: runs a learner's episodes.
#[derive(Debug, clap::Args)]
pub struct RolloutWorkerArgs {
    /// The learner's endpoint (default tcp/127.0.0.1:7460).
    #[arg(long, value_name = "ENDPOINT")]
    pub connect: Vec<String>,
    /// A zenoh configuration file (TLS, as in deploy/).
    #[arg(long, value_name = "FILE")]
    pub bus_config: Option<PathBuf>,
    /// This worker's name, unique on the bus (default: host name and process id).
    #[arg(long)]
    pub name: Option<String>,
    /// Environment threads (0 = one per core; results do not depend on it).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Stop after this many chunks (0 = when the learner says the run is over).
    #[arg(long, default_value_t = 0)]
    pub max_chunks: usize,
}

/// Runs a rollout worker.
///
/// # Errors
/// The bus cannot be opened, or the learner's configuration does not work here.
pub fn rollout_worker(a: &RolloutWorkerArgs) -> Result<()> {
    let name = a.name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "host".into());
        format!("{host}-{}", std::process::id())
    });
    super::distributed::run_worker(&super::distributed::WorkerOptions {
        bus: vigor_controller::bus::BusConfig {
            config_file: a.bus_config.clone(),
            connect: a.connect.clone(),
            listen: Vec::new(),
            mode: None,
        },
        name,
        threads: a.threads,
        max_chunks: a.max_chunks,
    })
}

/// Runs the subcommand.
///
/// # Errors
/// Bad configuration, simulator or file errors.
pub fn run(c: &Command) -> Result<()> {
    match c {
        Command::Teacher(a) => teacher(a),
        Command::Student(a) => student(a),
        Command::Compare(a) => compare(a),
        Command::Curves { run_dir } => {
            let metrics = run_dir.join(vigor_training::teacher::runner::METRICS);
            let rows = vigor_training::teacher::runner::read_metrics(&metrics)
                .with_context(|| format!("reading {}", metrics.display()))?;
            let student = rows.iter().any(|m| m.student.is_some());
            if student {
                vigor_training::teacher::curves::write_panels(
                    run_dir,
                    &vigor_training::student::runner::STUDENT_PANELS,
                )?;
            } else {
                vigor_training::teacher::curves::write_all(run_dir)?;
            }
            println!(
                "wrote {} ({} iterations, {} run)",
                run_dir.join("curves.png").display(),
                rows.len(),
                if student { "student" } else { "teacher" }
            );
            Ok(())
        }
    }
}

fn compare(a: &CompareArgs) -> Result<()> {
    use vigor_training::teacher::curves::{compare_table, render_compare};
    let mut runs = Vec::new();
    for dir in &a.runs {
        let metrics = dir.join(vigor_training::teacher::runner::METRICS);
        let mut rows = vigor_training::teacher::runner::read_metrics(&metrics)
            .with_context(|| format!("reading {}", metrics.display()))?;
        if let Some(limit) = a.until_steps {
            rows.retain(|m| m.env_steps as f64 <= limit);
        }
        let missing: Vec<&String> = a
            .metrics
            .iter()
            .filter(|k| !rows.iter().any(|m| m.has(k)))
            .collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "{}: no iteration has {}",
                metrics.display(),
                missing
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let name = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        runs.push((name, rows));
    }
    // Rows are windows of iterations: they are one step budget only if every run takes the same
    // environment steps per iteration.
    let per_iteration: Vec<(String, f64)> = runs
        .iter()
        .filter_map(|(name, rows)| {
            let m = rows.first()?;
            Some((
                name.clone(),
                m.env_steps as f64 / (m.iteration as f64).max(1.0),
            ))
        })
        .collect();
    if per_iteration.windows(2).any(|w| w[0].1 != w[1].1) {
        eprintln!(
            "note: the runs take different env steps per iteration ({}), so a row is not one step \
             budget for all of them; compare the picture against env steps",
            per_iteration
                .iter()
                .map(|(n, s)| format!("{n}: {s:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let window = usize::try_from(a.window).unwrap_or(usize::MAX);
    print!(
        "{}",
        compare_table(&runs, &a.metrics, window, a.until_steps)
    );
    if let Some(out) = &a.out {
        vigor_common::fsutil::write_atomic(out, &render_compare(&runs, &a.metrics, window))
            .with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn student(a: &StudentArgs) -> Result<()> {
    let (mut raw, file) = match &a.config {
        Some(path) => (
            config::load::<StudentConfig>(path)?,
            path.display().to_string(),
        ),
        None => (
            config::parse::<StudentConfig>(SHIPPED, "<embedded configs/student.toml>")?,
            "<embedded configs/student.toml>".to_owned(),
        ),
    };
    match a.kind.as_deref() {
        Some("depth") => raw.kind = StudentKind::Depth,
        Some("blind") => raw.kind = StudentKind::Blind,
        _ => {}
    }
    if a.kind.is_some() && raw.name.starts_with("student-") {
        raw.name = format!("student-{}", a.kind.as_deref().unwrap_or("depth"));
    }
    if let Some(n) = a.iterations {
        raw.iterations = n;
    }
    if let Some(n) = a.envs {
        raw.envs = n;
    }
    if let Some(s) = a.seed {
        raw.seed = s;
    }
    let cfg = raw.validate(&file)?;
    let teacher = load_artifact(&a.teacher)
        .with_context(|| format!("loading teacher {}", a.teacher.display()))?;
    let robot = vigor_sim::robot::Robot::embedded(&teacher.manifest.robot)?;
    let sim = vigor_sim::SimConfig::embedded()?;
    let opts = StudentRunOptions {
        run_dir: a.run_dir.clone(),
        resume: a.resume,
        git_hash: env!("VIGOR_GIT_HASH").to_owned(),
    };
    eprintln!(
        "distilling {:?} student `{}` from `{}`: {} envs, {} iterations, seed {} -> {}",
        cfg.kind,
        cfg.name,
        teacher.manifest.name,
        cfg.envs,
        cfg.iterations,
        cfg.seed,
        a.run_dir.display()
    );
    let started = Instant::now();
    let mut first: Option<u64> = None;
    let bar = crate::progress::Progress::new(cfg.iterations as u64, a.plain);
    let manifest = train_student(&cfg, &teacher, &robot, &sim, &opts, |r| {
        let done_before = *first.get_or_insert(r.iteration - 1);
        let per_it = started.elapsed().as_secs_f64() / (r.iteration - done_before) as f64;
        let eta = per_it * (r.iterations - r.iteration) as f64;
        let get = |k: &str| r.metrics.get(k).filter(|v| v.is_finite()).unwrap_or(0.0);
        let line = format!(
            "it {}/{} | {:.0} steps/s | beta {:.2} | z mse {:.4} | action mse {:.4} | success {:.0}% | ETA {}",
            r.iteration,
            r.iterations,
            r.steps_per_s,
            get("beta"),
            get("latent_mse"),
            get("action_mse"),
            r.success * 100.0,
            hms(eta)
        );
        bar.set(r.iteration, &line);
    })
    .with_context(|| format!("training in {}", a.run_dir.display()))?;
    bar.finish();
    println!(
        "done: `{}` in {}; artifact: {}; curves: {}",
        manifest.name,
        hms(started.elapsed().as_secs_f64()),
        a.run_dir.join("student").display(),
        a.run_dir.join("curves.png").display()
    );
    Ok(())
}

fn teacher(a: &TeacherArgs) -> Result<()> {
    let device = match a.device.as_str() {
        "cuda" if !tch::Cuda::is_available() => anyhow::bail!(
            "--device cuda: libtorch sees no CUDA device (is this the CUDA build of libtorch, and is a GPU visible?)"
        ),
        "cuda" => tch::Device::Cuda(0),
        "auto" => tch::Device::cuda_if_available(),
        _ => tch::Device::Cpu,
    };
    let (mut raw, file) = match &a.config {
        Some(path) => (
            config::load::<TeacherConfig>(path)?,
            path.display().to_string(),
        ),
        None => (
            config::parse::<TeacherConfig>(
                vigor_training::teacher::config::DEFAULT_TOML,
                "<embedded configs/teacher.toml>",
            )?,
            "<embedded configs/teacher.toml>".to_owned(),
        ),
    };
    if let Some(e) = &a.engine {
        raw.sim.engine = e
            .parse()
            .map_err(|m: String| anyhow::anyhow!("--engine: {m}"))?;
    }
    if let Some(n) = a.iterations {
        raw.iterations = n;
    }
    if let Some(n) = a.envs {
        raw.envs = n;
    }
    if let Some(s) = a.seed {
        raw.seed = s;
    }
    let params = raw.validate(&file)?;
    let robot = vigor_sim::robot::Robot::embedded("g1_29dof")?;
    let sim = vigor_sim::SimConfig::embedded()?;
    let opts = RunOptions {
        run_dir: a.run_dir.clone(),
        resume: a.resume,
        amend: a.amend,
        git_hash: env!("VIGOR_GIT_HASH").to_owned(),
        device,
        init_from: a.init_from.clone(),
    };
    eprintln!(
        "training teacher `{}`: {} envs, {} iterations, engine {}, seed {}, networks on {:?} -> {}",
        params.raw.name,
        params.raw.envs,
        params.raw.iterations,
        params.engine(),
        params.raw.seed,
        device,
        a.run_dir.display()
    );
    let started = Instant::now();
    let mut first: Option<u64> = None;
    let bar = crate::progress::Progress::new(params.raw.iterations as u64, a.plain);
    let mut learner = match a.workers {
        Some(local) => {
            let l = super::distributed::Learner::start(super::distributed::learner_options(
                &a.listen,
                a.bus_config.clone(),
                local,
                a.worker_threads,
                a.chunk_envs as usize,
                a.overlap,
                a.reassign_after_s,
            ))?;
            eprintln!(
                "learner: {local} local rollout worker(s), chunks of {} episodes{}; more may join with \
                 `vigor rollout-worker --connect {}`",
                a.chunk_envs,
                if a.overlap {
                    ", the next iteration's episodes on the current weights while the update runs"
                } else {
                    ""
                },
                a.listen
                    .first()
                    .map_or(super::distributed::DEFAULT_LEARNER_ENDPOINT, String::as_str)
            );
            Some(l)
        }
        None => None,
    };
    let mut in_process;
    let collector: &mut dyn vigor_training::teacher::Collector = match learner.as_mut() {
        Some(l) => l,
        None => {
            in_process = vigor_training::teacher::InProcess::new(&params, &robot, &sim)?;
            &mut in_process
        }
    };
    let manifest = train_with(&params, &robot, &sim, &opts, collector, |r| {
        let done_before = *first.get_or_insert(r.iteration - 1);
        let per_it = started.elapsed().as_secs_f64() / (r.iteration - done_before) as f64;
        let eta = per_it * (r.iterations - r.iteration) as f64;
        let line = format!(
            "it {}/{} | {:.0} steps/s | return {:.3} | success {:.0}% | ETA {}",
            r.iteration,
            r.iterations,
            r.steps_per_s,
            r.mean_return,
            r.success * 100.0,
            hms(eta)
        );
        bar.set(r.iteration, &line);
    })
    .with_context(|| format!("training in {}", a.run_dir.display()))?;
    if let Some(l) = learner.as_mut() {
        l.shutdown();
    }
    bar.finish();
    println!(
        "done: iteration {}, {} env steps in {}; best artifact: {}; curves: {}",
        manifest.iteration,
        manifest.env_steps,
        hms(started.elapsed().as_secs_f64()),
        a.run_dir.join("best").display(),
        a.run_dir.join("curves.png").display()
    );
    Ok(())
}

/// `1h02m03s`-style duration.
#[must_use]
pub fn hms(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
