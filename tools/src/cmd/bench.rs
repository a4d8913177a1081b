//! `vigor bench sim` and `vigor bench train`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use vigor_sim::engine::EngineKind;
use vigor_sim::env::EnvConfig;
use vigor_sim::rapier::PhysicsParams;
use vigor_sim::robot::Robot;

/// `vigor bench ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Physics steps per second of each engine (rapier and MuJoCo): one environment in a push
    /// scenario on flat and rough ground, and the vectorised environment on all cores. Build
    /// with --release for real numbers.
    Sim(SimArgs),
    /// End-to-end teacher training throughput: a few PPO iterations of the shipped teacher
    /// config (whole-episode rollouts plus the update) in a scratch folder, with the share of time
    /// in the simulator (physics, observations, rewards), network forward passes, the update and
    /// episode resets.
    Train(TrainArgs),
    /// The student's forward pass as the controller runs it (depth preprocessing, CNN, temporal
    /// convolution, latent head, actor), one tick at a time on one core: p50 and p99 latency.
    Student(super::bench_student::StudentBenchArgs),
}

/// `vigor bench train` flags.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Teacher config to time (default: the shipped configs/teacher.toml, embedded), e.g.
    /// configs/teacher-unified.toml; the flags below override it.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// PPO iterations to time (1..=100); the first is included.
    #[arg(long, default_value_t = 3)]
    iterations: usize,
    /// Environments (default: the config's).
    #[arg(long)]
    envs: Option<usize>,
    /// Engine, rapier or mujoco (default: the config's).
    #[arg(long)]
    engine: Option<String>,
    /// libtorch threads for the update (default: the config's).
    #[arg(long)]
    torch_threads: Option<usize>,
    /// Settled lying starts kept for reuse: per scenario on flat ground, per scenario, terrain kind
    /// and difficulty (each a tile of its own) elsewhere (default: the config's `sim.start_pool`).
    #[arg(long)]
    start_pool: Option<usize>,
    /// Physics rate while training, Hz (200..=2000, a multiple of 50; default: the config's
    /// `sim.physics_rate_hz`, else configs/sim.toml's 500).
    #[arg(long)]
    physics_hz: Option<u32>,
}

/// `vigor bench sim` flags.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Print one JSON object (for scripts) instead of a table.
    #[arg(long)]
    json: bool,
    /// Simulated seconds per measurement.
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
    /// Worker threads for the vectorised run (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Physics rate, Hz.
    #[arg(long, default_value_t = 500.0)]
    physics_hz: f32,
    /// Constraint solver iterations (default: the shipped configs/sim.toml's).
    #[arg(long)]
    solver_iterations: Option<usize>,
    /// Engine: rapier, mujoco, or both (one column each, and their speed ratio).
    #[arg(long, default_value = "both", value_parser = ["rapier", "mujoco", "both"])]
    engine: String,
    /// Instead: the configuration study, speed and fidelity checks (free fall, standing 10 s,
    /// penetration, lying drift) for multibody and impulse joints, explicit PD torques and
    /// rapier's implicit joint motors, at 1 to 8 solver iterations.
    #[arg(long)]
    study: bool,
    /// Instead: the physics-rate study, for each engine chosen: at each of these rates (Hz,
    /// comma-separated, 100..=5000, multiples of the 50 Hz policy rate) the speed, the fidelity
    /// checks of --study, and how far a push fall on flat and on rough ground departs from the
    /// same fall at the highest rate listed (pelvis position, RMS over 2 s). E.g.
    /// `--rates 250,500,1000 --engine mujoco`.
    #[arg(long, value_delimiter = ',', conflicts_with = "study")]
    rates: Vec<u32>,
}

/// Runs the subcommand.
pub fn run(cmd: &Command) -> Result<()> {
    match cmd {
        Command::Train(a) => train(a),
        Command::Student(a) => super::bench_student::run(a),
        Command::Sim(a) => {
            anyhow::ensure!(
                (100.0..=5000.0).contains(&a.physics_hz),
                "--physics-hz {} is out of range: allowed 100 ..= 5000",
                a.physics_hz
            );
            let robot = Robot::embedded("g1_29dof")?;
            // The shipped simulator config, without randomisation, at the flags' rate and solver.
            let shipped = vigor_sim::SimConfig::embedded()?.env;
            let config = EnvConfig {
                physics: PhysicsParams {
                    dt_s: 1.0 / a.physics_hz,
                    solver_iterations: a
                        .solver_iterations
                        .unwrap_or(shipped.physics.solver_iterations),
                    ..shipped.physics.clone()
                },
                decimation: (a.physics_hz / 50.0).round().max(1.0) as u32,
                randomisation: vigor_sim::env::Randomisation::none(),
                noise: vigor_sim::env::SensorNoise::none(),
                ..shipped
            };
            if a.study {
                use vigor_sim::rapier::JointModel::{Impulse, Multibody};
                let settings = [
                    (Multibody, 1, false),
                    (Multibody, 2, false),
                    (Multibody, 4, false),
                    (Multibody, 8, false),
                    (Multibody, 1, true),
                    (Multibody, 2, true),
                    (Multibody, 4, true),
                    (Impulse, 1, false),
                    (Impulse, 2, false),
                    (Impulse, 4, false),
                    (Impulse, 1, true),
                    (Impulse, 2, true),
                    (Impulse, 4, true),
                    (Impulse, 8, true),
                ];
                let rows = vigor_sim::bench::config_study(&robot, &config, &settings, a.seconds)?;
                if a.json {
                    println!("{}", serde_json::to_string(&rows)?);
                } else {
                    println!(
                        "joints     motors    iterations  steps/s  free fall err  stand tilt  penetration  lying drift  checks"
                    );
                    for r in rows {
                        println!(
                            "{:<9}  {:<8}  {:>10}  {:>7.0}  {:>12.4}%  {:>9.1}°  {:>9.1} mm  {:>8.1} mm  {}",
                            r.joints,
                            r.motors,
                            r.solver_iterations,
                            r.steps_per_s,
                            100.0 * r.free_fall_rel_error,
                            r.stand_worst_tilt_deg,
                            1e3 * r.stand_penetration_m,
                            1e3 * r.lying_drift_m,
                            if r.passes { "pass" } else { "FAIL" }
                        );
                    }
                }
                return Ok(());
            }
            let engines: Vec<EngineKind> = match a.engine.as_str() {
                "both" => EngineKind::ALL.to_vec(),
                one => vec![
                    one.parse()
                        .map_err(|e: String| anyhow::anyhow!("--engine: {e}"))?,
                ],
            };
            if !a.rates.is_empty() {
                return rate_study(a, &robot, &config, &engines);
            }
            let mut reports = Vec::new();
            for &engine in &engines {
                let config = EnvConfig {
                    engine,
                    ..config.clone()
                };
                reports.push(vigor_sim::bench::run(
                    &robot, &config, a.seconds, a.threads,
                )?);
            }
            let ratio = match (
                reports.iter().find(|r| r.engine == "rapier"),
                reports.iter().find(|r| r.engine == "mujoco"),
            ) {
                (Some(r), Some(m)) => Some(r.single_steps_per_s_flat / m.single_steps_per_s_flat),
                _ => None,
            };
            if a.json {
                // The first engine's figures at the top level (what scripts read), every engine
                // under `engines`.
                let mut top = serde_json::to_value(&reports[0])?;
                if reports.len() > 1
                    && let Some(obj) = top.as_object_mut()
                {
                    let all: serde_json::Map<String, serde_json::Value> = reports
                        .iter()
                        .map(|r| Ok((r.engine.to_owned(), serde_json::to_value(r)?)))
                        .collect::<Result<_, serde_json::Error>>()?;
                    obj.insert("engines".into(), all.into());
                    obj.insert("rapier_over_mujoco_single".into(), ratio.into());
                }
                println!("{top}");
            } else {
                println!(
                    "{:<28}{}",
                    "",
                    reports
                        .iter()
                        .map(|r| format!("{:>12}", r.engine))
                        .collect::<String>()
                );
                let row = |label: &str, f: &dyn Fn(&vigor_sim::bench::SimBench) -> String| {
                    println!(
                        "{label:<28}{}",
                        reports
                            .iter()
                            .map(|r| format!("{:>12}", f(r)))
                            .collect::<String>()
                    );
                };
                row("physics, Hz", &|r| format!("{:.0}", r.physics_hz));
                row("one env, flat, steps/s", &|r| {
                    format!("{:.0}", r.single_steps_per_s_flat)
                });
                row("one env, rough, steps/s", &|r| {
                    format!("{:.0}", r.single_steps_per_s_rough)
                });
                row("vectorised, steps/s", &|r| {
                    format!("{:.0}", r.vec_steps_per_s)
                });
                row("  envs on threads", &|r| {
                    format!("{} on {}", r.vec_envs, r.threads)
                });
                row("depth frame 64x36, ms", &|r| {
                    r.depth_frame_ms.map_or("-".into(), |ms| format!("{ms:.3}"))
                });
                if let Some(ratio) = ratio {
                    println!("rapier / MuJoCo, one env on flat ground: {ratio:.3}");
                }
            }
            Ok(())
        }
    }
}

fn train(a: &TrainArgs) -> Result<()> {
    use vigor_common::config::Validate;
    use vigor_training::teacher::{RunOptions, TeacherConfig};
    anyhow::ensure!(
        (1..=100).contains(&a.iterations),
        "--iterations {}: allowed 1 ..= 100",
        a.iterations
    );
    let (text, file) = match &a.config {
        None => (
            vigor_training::teacher::config::DEFAULT_TOML.to_owned(),
            "<embedded configs/teacher.toml>".to_owned(),
        ),
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            path.display().to_string(),
        ),
    };
    let file = file.as_str();
    let mut raw: TeacherConfig = vigor_common::config::parse(&text, file)?;
    raw.iterations = a.iterations;
    raw.checkpoint_every = 1000;
    if let Some(n) = a.envs {
        raw.envs = n;
    }
    if let Some(e) = &a.engine {
        raw.sim.engine = e
            .parse()
            .map_err(|m: String| anyhow::anyhow!("--engine: {m}"))?;
    }
    if let Some(t) = a.torch_threads {
        raw.torch_threads = t;
    }
    if let Some(n) = a.start_pool {
        raw.sim.start_pool = n;
    }
    if a.physics_hz.is_some() {
        raw.sim.physics_rate_hz = a.physics_hz;
    }
    let params = raw.validate(file)?;
    let dir = std::env::temp_dir().join(format!("vigor-bench-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let robot = Robot::embedded("g1_29dof")?;
    let sim = vigor_sim::SimConfig::embedded()?;
    let opts = RunOptions {
        run_dir: dir.clone(),
        resume: false,
        amend: false,
        git_hash: "bench".into(),
        device: tch::Device::Cpu,
        init_from: None,
    };
    let mut rows = Vec::new();
    let result = vigor_training::teacher::train(&params, &robot, &sim, &opts, |r| {
        rows.push(r.metrics.clone())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    let sum = |k: &str| {
        rows.iter()
            .filter_map(|m| m.get(k).filter(|v| v.is_finite()))
            .sum::<f64>()
    };
    let (sim_s, fwd, upd, reset) = (
        sum("time/sim_s"),
        sum("time/forward_s"),
        sum("time/update_s"),
        sum("time/reset_s"),
    );
    let total = sim_s + fwd + upd + reset;
    let steps = rows.last().map_or(0.0, |m| m.env_steps as f64);
    println!(
        "teacher training, {} envs x {} steps per iteration, {} iterations, engine {}, {} \
         threads, {} libtorch threads, start pool {}, physics at {} Hz:",
        params.raw.envs,
        (params.raw.task.episode_s * 50.0).round(),
        a.iterations,
        params.engine(),
        vigor_sim::par::resolve(params.raw.threads),
        params.raw.torch_threads,
        params.raw.sim.start_pool,
        vigor_training::teacher::training_sim(&params, &sim)?.physics_rate_hz()
    );
    let rate = steps / total.max(1e-9);
    // The ceiling: every core stepping physics alone, one environment per core, flat ground.
    let mut env = vigor_training::teacher::training_sim(&params, &sim)?.env;
    env.engine = params.engine();
    let cores = vigor_sim::par::resolve(0);
    let physics = vigor_sim::bench::single(
        &robot,
        &env,
        (vigor_sim::terrain::TerrainKind::Flat, 0.0),
        4.0,
    )?;
    let limit = cores as f64 * physics / f64::from(env.decimation);
    println!("  env steps/s (rollout + update): {rate:.0}");
    println!(
        "  physics limit: {limit:.0} env steps/s ({cores} cores x {physics:.0} physics steps/s \
         on one thread / {} per policy step); this run reached {:.2} of it",
        env.decimation,
        rate / limit
    );
    for (name, t) in [
        ("simulator (physics, observations, rewards)", sim_s),
        ("network forward", fwd),
        ("PPO update", upd),
        ("episode resets", reset),
    ] {
        println!(
            "  {name:<44} {:>6.1} %  ({t:.2} s)",
            100.0 * t / total.max(1e-9)
        );
    }
    Ok(())
}

/// `vigor bench sim --rates`: one table per engine.
fn rate_study(
    a: &SimArgs,
    robot: &Robot,
    config: &EnvConfig,
    engines: &[EngineKind],
) -> Result<()> {
    for &hz in &a.rates {
        anyhow::ensure!(
            (100..=5000).contains(&hz) && hz % 50 == 0,
            "--rates: {hz} Hz: allowed 100 ..= 5000 Hz, a multiple of the 50 Hz policy rate"
        );
    }
    let reference = *a.rates.iter().max().unwrap_or(&500);
    let mut all = Vec::new();
    for &engine in engines {
        let base = EnvConfig {
            engine,
            ..config.clone()
        };
        let rows = vigor_sim::bench::rate_study(robot, &base, &a.rates, reference, a.seconds)?;
        if !a.json {
            println!(
                "{} (push falls compared with {reference} Hz):\n  rate Hz  physics steps/s  env steps/s  free fall err  stand tilt  penetration  lying drift  checks  push flat  push rough",
                engine.name()
            );
            for r in &rows {
                println!(
                    "  {:>7}  {:>15.0}  {:>11.0}  {:>12.2}%  {:>9.1}°  {:>8.1} mm  {:>8.1} mm  {:<6}  {:>7.1} cm  {:>8.1} cm",
                    r.physics_hz,
                    r.steps_per_s,
                    r.env_steps_per_s,
                    100.0 * r.free_fall_rel_error,
                    r.stand_worst_tilt_deg,
                    1e3 * r.stand_penetration_m,
                    1e3 * r.lying_drift_m,
                    if r.passes { "pass" } else { "FAIL" },
                    1e2 * r.push_flat_rms_m,
                    1e2 * r.push_rough_rms_m
                );
            }
        }
        all.push(
            serde_json::json!({ "engine": engine.name(), "reference_hz": reference, "rows": rows }),
        );
    }
    if a.json {
        println!("{}", serde_json::Value::Array(all));
    }
    Ok(())
}
