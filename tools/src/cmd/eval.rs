//! `vigor eval`: the paper's metrics for a policy over scenarios x terrain classes, on one or both
//! engines (sim2sim), as JSON, a markdown table and recordings of the best, median and worst
//! episodes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use vigor_policy::StudentPolicy;
use vigor_sim::engine::EngineKind;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;
use vigor_training::student::config::CameraTiming;
use vigor_training::student::{StudentTask, load_student};
use vigor_training::teacher::eval::{self, EvalPlan};
use vigor_training::teacher::{Teacher, load_artifact};

use super::eval_compare::EvalCommand;
use super::eval_flags::{camera_timing, camera_words, lying_offset, lying_words, scan_words};

/// Flags of `vigor eval`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvalArgs {
    /// Compare two evaluations instead of running one.
    #[command(subcommand)]
    pub command: Option<EvalCommand>,
    /// Policy artifact folder (`manifest.json` + `weights.safetensors`): a teacher (e.g. a run's
    /// `best/` or `policies/teacher/`) or a student with its `task.json` (e.g. a student run's
    /// `student/` or `policies/student-depth/`).
    #[arg(long, required = true)]
    pub policy: Option<PathBuf>,
    /// Seeded trials per scenario x terrain cell (1..=10000).
    #[arg(long, default_value_t = 10)]
    pub trials: usize,
    /// Output folder: eval.json, eval.md, best.rrd, median.rrd, worst.rrd.
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
    /// rapier, mujoco or both (the sim2sim table). Default: the engine the policy trained on.
    #[arg(long)]
    pub engine: Option<String>,
    /// Comma-separated scenarios (default: the ones the policy trained on).
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Comma-separated terrain classes, or `all`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "flat,rough,slope_up,stairs_down,boxes"
    )]
    pub terrains: Vec<String>,
    /// Difficulty of the non-flat terrain classes (0..=1).
    #[arg(long, default_value_t = 0.5)]
    pub difficulty: f32,
    /// Trial seed (the same seed gives the same episodes for every policy).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads, 0 = one per core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Upward help on the torso as a fraction of the robot's weight (0..=1). 0, the default, gives
    /// the real metrics; a training run's assist level compares policies at the help they trained
    /// with. Recordings replay with the same help.
    #[arg(long, default_value_t = 0.0)]
    pub assist: f32,
    /// Evaluate a student both in-process and closed-loop through the wire, on the same starts:
    /// first the in-process evaluation on flat ground (MuJoCo), then each of its episodes again
    /// with `vigor sim-robot` reset into exactly that start and `vigor control` running the
    /// artifact, as real processes on a loopback zenoh bus; each is armed and judged from the
    /// LowState stream (upright without a break for the last 0.5 s of the episode; the
    /// in-process path reports the same rule beside its own success). Writes
    /// eval-bus.json (every start on both paths) and eval-bus.md (success on each path and how
    /// often they agree).
    #[arg(long)]
    pub via_bus: bool,
    /// Evaluate on a paper's protocol instead of --scenarios, --terrains and --difficulty.
    /// `vigor`: every start of the simulator (lying, sitting, legs on a box, draped over a stair
    /// edge, pushes, pushes toward stairs and off a platform) on every terrain kind where it makes
    /// sense (all twelve for lying starts and pushes; a start that needs its own terrain on that
    /// terrain), each trial's difficulty drawn over the whole range from --seed. Also writes
    /// protocol.json and protocol.md: success and safe success for stand-up and fall recovery,
    /// overall, per terrain and per start, with 95 % intervals.
    #[arg(long, value_parser = ["vigor"])]
    pub protocol: Option<String>,
    /// Where the lying starts (supine, prone, side, sitting) lie: LOW,HIGH metres from the tile
    /// centre along the tile's axes (one value: fixed), the distance and the place on that
    /// square ring drawn from each episode's seed. Every terrain kind but rough ground keeps a
    /// level 1.5 m square at the centre, so at 0 a lying start is on level ground whatever the
    /// terrain. Default: the protocol's 1,1.6 (on the slope, the steps, the stones, across a
    /// trench) with --protocol, 0 without; `0` with --protocol reproduces the reports written
    /// before this option (2026-12-05), which lay them at the centre. Allowed 0 ..= 1.8.
    #[arg(long, value_delimiter = ',', num_args = 1..=2, value_name = "LOW,HIGH")]
    pub lying_offset_m: Vec<f32>,
    /// A depth student's camera timing: each episode's images reach the student a latency drawn
    /// uniformly from LOW,HIGH milliseconds after they were taken (one value: fixed), with the
    /// frame clock's phase against engagement drawn over one period, both from the episode's
    /// seed (the same for every policy). Default: images taken at engagement and seen at once.
    /// Allowed 0 ..= 200 ms, the controller's stale-frame limit; training draws 10 ..= 100
    /// (configs/student.toml `[timing]`). Depth students only.
    #[arg(long, value_delimiter = ',', num_args = 1..=2, value_name = "LOW,HIGH")]
    pub camera_latency_ms: Vec<f32>,
    /// Physics rate, Hz (200..=2000, a multiple of the 50 Hz policy rate). Default:
    /// configs/sim.toml's 500, whatever rate the policy trained at (`sim.physics_rate_hz`), so
    /// every policy is judged on the same physics; another rate is for studying the step's
    /// fidelity. Reports name a rate other than the default.
    #[arg(long)]
    pub physics_hz: Option<u32>,
    /// A diagnostic, teachers only: the height scan reads level ground (every sample the pelvis's
    /// height above the terrain directly beneath it), whatever the terrain around; the physics
    /// and the rest of the observation are unchanged. Against the same evaluation without it
    /// (`vigor eval compare`), how much of the teacher's success comes from what it sees of the
    /// terrain. Reports name it in their titles.
    #[arg(long)]
    pub flat_scan: bool,
    /// Skip the best/median/worst recordings.
    #[arg(long)]
    pub no_record: bool,
    /// No progress bar: one line per evaluated cell (for logs).
    #[arg(long)]
    pub plain: bool,
}

impl EvalArgs {
    /// `--terrains` when not given.
    const DEFAULT_TERRAINS: [&'static str; 5] =
        ["flat", "rough", "slope_up", "stairs_down", "boxes"];
}

/// `--scenarios`, or the ones the policy trained on (`trained`): names and scenarios.
fn scenarios(a: &EvalArgs, trained: &[Scenario]) -> Result<(Vec<String>, Vec<Scenario>)> {
    if a.scenarios.is_empty() {
        let names = trained.iter().map(|s| s.name().to_owned()).collect();
        return Ok((names, trained.to_vec()));
    }
    let scenarios = a
        .scenarios
        .iter()
        .map(|s| Scenario::from_name(s).map_err(|e| anyhow::anyhow!("--scenarios: {e}")))
        .collect::<Result<Vec<_>>>()?;
    Ok((a.scenarios.clone(), scenarios))
}

/// `--via-bus`: the in-process evaluation of flat lying starts, then the same starts through the
/// bus, paired.
fn via_bus(a: &EvalArgs, (policy, out): (&Path, &Path), loaded: &Loaded) -> Result<()> {
    use super::eval_bus::{self, BusEpisode, Paired};
    let config = loaded.evaluee().config().clone();
    anyhow::ensure!(
        loaded.student.is_some(),
        "--via-bus runs a student in the controller; `{}` is a {}",
        loaded.name,
        loaded.kind
    );
    anyhow::ensure!(
        a.terrains.iter().all(|t| t == "flat") || a.terrains == EvalArgs::DEFAULT_TERRAINS,
        "--via-bus evaluates on flat ground (the pelvis height comes from the robot's own \
         sensors, resting on a flat floor): give --terrains flat"
    );
    anyhow::ensure!(
        !config.sim.randomise && a.assist == 0.0,
        "--via-bus runs the simulated robot without randomisation or assist, as the in-process \
         evaluation of `{}` would not: its training configuration has `sim.randomise = true` \
         or --assist is set",
        loaded.name
    );
    anyhow::ensure!(
        a.physics_hz.is_none(),
        "--via-bus runs the simulated robot at configs/sim.toml's physics rate: drop --physics-hz"
    );
    anyhow::ensure!(
        a.engine.as_deref().is_none_or(|e| e == "mujoco"),
        "--via-bus runs on MuJoCo (the simulated robot's engine): drop --engine"
    );
    let (names, scenarios) = scenarios(a, &config.task.scenarios)?;
    if let Some(s) = scenarios.iter().find(|s| s.is_fall()) {
        anyhow::bail!(
            "--via-bus takes lying starts; `{}` is a fall start",
            s.name()
        );
    }
    let plan = EvalPlan {
        scenarios,
        terrains: vec![(TerrainKind::Flat, 0.0)],
        trials: a.trials,
        seed: a.seed,
        engines: vec![EngineKind::Mujoco],
        threads: a.threads,
        assist: 0.0,
        drawn: false,
        lying_offset_m: [0.0, 0.0],
        flat_scan: false,
    };
    let robot = vigor_sim::robot::Robot::embedded(&loaded.robot)?;
    let sim = vigor_sim::SimConfig::embedded()?;
    eprintln!(
        "evaluating {} on {} flat lying starts: in-process, then the same starts through the bus",
        loaded.name,
        names.len() * a.trials
    );
    let results = eval::evaluate(loaded.evaluee(), &robot, &sim, &plan, |_, _| {})?;
    let episodes: Vec<BusEpisode> = results
        .iter()
        .map(|r| BusEpisode {
            scenario: r.scenario.clone(),
            seed: r.seed,
        })
        .collect();
    let outcomes = eval_bus::run(policy, &episodes, config.task.episode_s, &robot)?;
    let pairs: Vec<Paired> = results
        .iter()
        .zip(outcomes)
        .map(|(r, bus)| Paired {
            in_process: r.outcome.success,
            in_process_upright_s: r.outcome.upright_s,
            bus,
        })
        .collect();
    let table = eval_bus::paired_table(&pairs, &names);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        vigor_common::fsutil::write_atomic(&path, bytes)
            .with_context(|| format!("writing {}", path.display()))
    };
    write(
        "eval-bus.json",
        serde_json::to_string_pretty(&serde_json::json!({
            "policy": policy.display().to_string(),
            "name": loaded.name,
            "trials": a.trials,
            "seed": a.seed,
            "starts": pairs,
        }))?
        .as_bytes(),
    )?;
    write(
        "eval-bus.md",
        format!(
            "# `{}` in-process and through the bus, the same flat lying starts, seed {}\n\n{table}",
            loaded.name, a.seed
        )
        .as_bytes(),
    )?;
    print!("{table}");
    println!(
        "wrote {} and {}",
        out.join("eval-bus.json").display(),
        out.join("eval-bus.md").display()
    );
    Ok(())
}

/// A loaded policy of either kind.
struct Loaded {
    teacher: Option<Teacher>,
    student: Option<(StudentPolicy, StudentTask)>,
    /// `--camera-latency-ms`.
    camera: Option<CameraTiming>,
    name: String,
    kind: &'static str,
    trained: String,
    robot: String,
}

impl Loaded {
    /// A teacher or a student (with its `task.json`) in `dir`.
    fn open(dir: &Path) -> Result<Self> {
        let what = || format!("loading policy {}", dir.display());
        let manifest = vigor_policy::artifact::read_manifest(dir).with_context(what)?;
        if manifest.student().is_some() {
            let (s, task) = load_student(dir).with_context(what)?;
            let kind = if s.student().depth.is_some() {
                "depth student"
            } else {
                "blind student"
            };
            return Ok(Self {
                name: s.manifest().name.clone(),
                kind,
                trained: format!("distilled from {}", s.student().teacher),
                robot: task.robot.clone(),
                teacher: None,
                student: Some((s, task)),
                camera: None,
            });
        }
        let t = load_artifact(dir).with_context(what)?;
        Ok(Self {
            name: t.manifest.name.clone(),
            kind: "teacher",
            trained: format!(
                "iteration {}, {} env steps",
                t.manifest.iteration, t.manifest.env_steps
            ),
            robot: t.manifest.robot.clone(),
            teacher: Some(t),
            student: None,
            camera: None,
        })
    }

    fn evaluee(&self) -> eval::Evaluee<'_> {
        match (&self.teacher, &self.student) {
            (Some(t), _) => eval::Evaluee::Teacher(t),
            (None, Some((s, task))) => eval::Evaluee::Student(s, task, self.camera.as_ref()),
            (None, None) => unreachable!("a loaded policy is a teacher or a student"),
        }
    }
}

/// Runs `vigor eval`.
///
/// # Errors
/// Bad flags, an unreadable artifact, simulator or file errors.
pub fn run(a: &EvalArgs) -> Result<()> {
    if let Some(EvalCommand::Compare(c)) = &a.command {
        return super::eval_compare::run(c);
    }
    let (Some(policy), Some(out)) = (&a.policy, &a.out) else {
        anyhow::bail!("vigor eval needs --policy and --out (or a subcommand: compare)");
    };
    if !(1..=10_000).contains(&a.trials) {
        anyhow::bail!("--trials {}: allowed 1 ..= 10000", a.trials);
    }
    if !(0.0..=1.0).contains(&a.assist) {
        anyhow::bail!("--assist {}: allowed 0 ..= 1", a.assist);
    }
    if !(0.0..=1.0).contains(&a.difficulty) {
        anyhow::bail!("--difficulty {}: allowed 0 ..= 1", a.difficulty);
    }
    let mut loaded = Loaded::open(policy)?;
    loaded.camera = camera_timing(&a.camera_latency_ms)?;
    anyhow::ensure!(
        loaded.camera.is_none() || loaded.kind == "depth student",
        "--camera-latency-ms times a depth camera; `{}` is a {} and reads no images",
        loaded.name,
        loaded.kind
    );
    anyhow::ensure!(
        !a.flat_scan || loaded.kind == "teacher",
        "--flat-scan flattens a teacher's height scan; `{}` is a {} and has none",
        loaded.name,
        loaded.kind
    );
    let config = loaded.evaluee().config().clone();
    if a.via_bus {
        anyhow::ensure!(!a.flat_scan, "--flat-scan is for in-process evaluation");
        anyhow::ensure!(
            loaded.camera.is_none(),
            "--via-bus runs the real camera path; --camera-latency-ms is for in-process evaluation"
        );
        anyhow::ensure!(
            a.lying_offset_m.is_empty(),
            "--via-bus runs flat lying starts at the tile centre, as `vigor sim-robot` resets them; \
             --lying-offset-m is for in-process evaluation"
        );
        return via_bus(a, (policy, out), &loaded);
    }
    let trained = config.sim.engine;
    let engines = match a.engine.as_deref() {
        None => vec![trained],
        Some("both") => EngineKind::ALL.to_vec(),
        Some(e) => vec![
            e.parse::<EngineKind>()
                .map_err(|m| anyhow::anyhow!("--engine: {m} (or `both`)"))?,
        ],
    };
    let (_, scenarios) = scenarios(a, &config.task.scenarios)?;
    let kinds: Vec<TerrainKind> = if a.terrains.iter().any(|t| t == "all") {
        TerrainKind::ALL.to_vec()
    } else {
        a.terrains
            .iter()
            .map(|t| TerrainKind::from_name(t).map_err(|e| anyhow::anyhow!("--terrains: {e}")))
            .collect::<Result<Vec<_>>>()?
    };
    let terrains = kinds
        .into_iter()
        .map(|k| {
            (
                k,
                if k == TerrainKind::Flat {
                    0.0
                } else {
                    a.difficulty
                },
            )
        })
        .collect();
    let plan = if a.protocol.is_some() {
        anyhow::ensure!(
            a.scenarios.is_empty() && a.assist == 0.0,
            "--protocol chooses the starts and gives no assist: drop --scenarios and --assist"
        );
        EvalPlan {
            lying_offset_m: lying_offset(&a.lying_offset_m, true)?,
            flat_scan: a.flat_scan,
            ..EvalPlan::protocol(a.trials, a.seed, engines, a.threads)
        }
    } else {
        EvalPlan {
            scenarios,
            terrains,
            trials: a.trials,
            seed: a.seed,
            engines,
            threads: a.threads,
            assist: a.assist,
            drawn: false,
            lying_offset_m: lying_offset(&a.lying_offset_m, false)?,
            flat_scan: a.flat_scan,
        }
    };
    let lying = lying_words(plan.lying_offset_m);
    // Millimetres, so the reports read 1.6 and not its f32 widened to 1.600000023841858.
    let lying_json = plan
        .lying_offset_m
        .map(|m| (f64::from(m) * 1e3).round() / 1e3);
    let robot = vigor_sim::robot::Robot::embedded(&loaded.robot)?;
    let shipped = vigor_sim::SimConfig::embedded()?;
    let sim = match a.physics_hz {
        None => shipped.clone(),
        Some(hz) => shipped
            .at_physics_rate(hz)
            .map_err(|e| anyhow::anyhow!("--physics-hz {e}"))?,
    };
    // Named in every report when it is not the shipped rate.
    let rate_words = if sim.physics_rate_hz() == shipped.physics_rate_hz() {
        String::new()
    } else {
        format!(", physics at {} Hz", sim.physics_rate_hz())
    } + scan_words(a.flat_scan);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let plan_cells = plan.cells().len();
    eprintln!(
        "evaluating {} ({}{}{rate_words}) on {}: {} cells (scenario x terrain){} x {} trials",
        loaded.name,
        loaded.trained,
        camera_words(loaded.camera.as_ref()),
        plan.engines
            .iter()
            .map(|e| e.name())
            .collect::<Vec<_>>()
            .join(" and "),
        plan_cells,
        if plan.drawn {
            ", difficulty drawn per trial"
        } else {
            ""
        },
        plan.trials
    );
    let cells = (plan.engines.len() * plan_cells) as u64;
    let bar = crate::progress::Progress::new(cells, a.plain);
    let results = eval::evaluate(loaded.evaluee(), &robot, &sim, &plan, |done, total| {
        bar.set(done as u64, &format!("cell {done}/{total}"));
    })?;
    bar.finish();
    let cells = eval::summarise(&results);
    let table = eval::markdown(&cells);
    let json = serde_json::json!({
        "policy": policy.display().to_string(),
        "name": loaded.name,
        "kind": loaded.kind,
        "trained": loaded.trained,
        "trials": a.trials,
        "seed": a.seed,
        "assist": a.assist,
        "camera": loaded.camera,
        "physics_hz": sim.physics_rate_hz(),
        "lying_offset_m": lying_json,
        "flat_scan": a.flat_scan,
        "cells": cells,
        "episodes": results,
    });
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        vigor_common::fsutil::write_atomic(&path, bytes)
            .with_context(|| format!("writing {}", path.display()))
    };
    write("eval.json", serde_json::to_string_pretty(&json)?.as_bytes())?;
    write(
        "eval.md",
        format!(
            "# Evaluation of {} `{}` ({}{}{rate_words}), {}, seed {}{lying}\n\n{table}",
            loaded.kind,
            loaded.name,
            loaded.trained,
            camera_words(loaded.camera.as_ref()),
            if a.assist > 0.0 {
                format!(
                    "with an upward assist of {:.1} % of the weight",
                    a.assist * 100.0
                )
            } else {
                "no assist".to_owned()
            },
            a.seed
        )
        .as_bytes(),
    )?;
    print!("{table}");
    if let Some(protocol) = &a.protocol {
        let summary = eval::protocol_summary(&results);
        write(
            "protocol.json",
            serde_json::to_string_pretty(&serde_json::json!({
                "protocol": protocol,
                "policy": policy.display().to_string(),
                "name": loaded.name,
                "kind": loaded.kind,
                "trials_per_cell": a.trials,
                "seed": a.seed,
                "camera": loaded.camera,
                "physics_hz": sim.physics_rate_hz(),
                "lying_offset_m": lying_json,
                "flat_scan": a.flat_scan,
                "summary": summary,
            }))?
            .as_bytes(),
        )?;
        let text = eval::protocol_markdown(&summary);
        write(
            "protocol.md",
            format!(
                "# {} `{}` on the {protocol} protocol, seed {}, {} trials per cell{}{rate_words}{lying}\n\n{text}",
                loaded.kind,
                loaded.name,
                a.seed,
                a.trials,
                camera_words(loaded.camera.as_ref())
            )
            .as_bytes(),
        )?;
        print!("{text}");
    }
    if !a.no_record {
        for (label, k) in eval::best_median_worst(&results) {
            let path = out.join(format!("{label}.rrd"));
            eval::record_episode(loaded.evaluee(), &robot, &sim, (&plan, &results), k, &path)?;
            let r = &results[k];
            println!(
                "{label}: {} on {} ({}), seed {}, return {:.2} -> {}",
                r.scenario,
                r.terrain,
                r.engine,
                r.seed,
                r.outcome.reward,
                path.display()
            );
        }
    }
    println!(
        "wrote {} and {}",
        out.join("eval.json").display(),
        out.join("eval.md").display()
    );
    Ok(())
}
