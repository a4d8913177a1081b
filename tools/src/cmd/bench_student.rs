//! `vigor bench student`: the student's forward pass as the controller runs it, one tick at a time
//! on one CPU core: depth preprocessing of a new camera frame, the depth CNN, the temporal
//! convolution, the latent head and the actor, with p50 and p99 latency.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use vigor_common::config::{self, Validate};
use vigor_policy::{StudentPolicy, StudentRuntime};
use vigor_training::student::config::SHIPPED;
use vigor_training::student::runner::{init_student, student_manifest};
use vigor_training::student::{StudentConfig, StudentKind};
use vigor_training::teacher::load_artifact;
use vigor_training::teacher::reference::ReferenceSet;

/// `vigor bench student` flags.
#[derive(Debug, Args)]
pub struct StudentBenchArgs {
    /// A student artifact (default: a fresh student of the shipped configs/student.toml distilled
    /// from the shipped teacher's shapes).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Ticks to time (100..=1000000), after 50 warm-up ticks.
    #[arg(long, default_value_t = 5000)]
    ticks: usize,
    /// Time the blind student (no depth) instead of the depth student (default student only).
    #[arg(long)]
    blind: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the benchmark.
///
/// # Errors
/// An unreadable artifact.
pub fn run(a: &StudentBenchArgs) -> Result<()> {
    anyhow::ensure!(
        (100..=1_000_000).contains(&a.ticks),
        "--ticks {}: allowed 100 ..= 1000000",
        a.ticks
    );
    // One core, as on the robot's controller thread.
    tch::set_num_threads(1);
    let policy = match &a.policy {
        Some(dir) => StudentPolicy::load(dir, tch::Device::Cpu)
            .with_context(|| format!("loading {}", dir.display()))?,
        None => {
            let dir = tempfile_dir()?;
            super::demo_teacher::write_teacher(&dir)?;
            let teacher = load_artifact(&dir)?;
            let robot = vigor_sim::robot::Robot::embedded(&teacher.manifest.robot)?;
            let mut cfg: StudentConfig = config::parse(SHIPPED, "<embedded configs/student.toml>")?;
            if a.blind {
                cfg.kind = StudentKind::Blind;
            }
            let cfg = cfg.validate("<embedded configs/student.toml>")?;
            let refs = ReferenceSet::for_task(&robot, &teacher.manifest.config.task)?;
            let _ = std::fs::remove_dir_all(&dir);
            init_student(student_manifest(&cfg, &teacher, &refs, "bench")?, &teacher)?
        }
    };
    let m = policy.student().clone();
    let name = policy.manifest().name.clone();
    let mut rt = StudentRuntime::new(policy)?;
    let frame: Vec<f32> = (0..m.spec.frame)
        .map(|i| (i as f32 * 0.37).sin() * 0.3)
        .collect();
    // A frame of the D435i's 424 x 240 depth mode (`vigor perception run`'s default) of ground
    // seen from 0.7 m, resized by the pipeline.
    let (w, h) = (424usize, 240usize);
    let depth: Vec<f32> = (0..w * h)
        .map(|i| {
            let row = (i / w) as f32 / h as f32;
            if row < 0.3 {
                0.0
            } else {
                0.7 / (row - 0.2).max(0.05)
            }
        })
        .collect();
    let (mut times, mut nets, mut pushes) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..a.ticks + 50 {
        let started = Instant::now();
        // The camera delivers 30 frames per second against 50 policy ticks: 3 in 5 ticks.
        if m.depth.is_some() && (k * 3) % 5 < 3 {
            rt.push_depth_m(w, h, &depth)?;
            if k >= 50 {
                pushes.push(started.elapsed().as_secs_f64() * 1e6);
            }
        }
        let net = Instant::now();
        let out = rt.step(&frame, k as f32 * 0.02)?;
        std::hint::black_box(&out);
        if k >= 50 {
            times.push(started.elapsed().as_secs_f64() * 1e6);
            nets.push(net.elapsed().as_secs_f64() * 1e6);
        }
    }
    let q = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v.get(((v.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let (p50, p99) = (q(&mut times, 0.5), q(&mut times, 0.99));
    let max = times.last().copied().unwrap_or(0.0);
    let (net50, net99) = (q(&mut nets, 0.5), q(&mut nets, 0.99));
    let (push50, push99) = (q(&mut pushes, 0.5), q(&mut pushes, 0.99));
    let kind = if m.depth.is_some() { "depth" } else { "blind" };
    if a.json {
        println!(
            "{}",
            serde_json::json!({"student": kind, "ticks": a.ticks, "p50_us": p50, "p99_us": p99, "max_us": max,
                "networks_p50_us": net50, "networks_p99_us": net99, "preprocess_p50_us": push50, "preprocess_p99_us": push99})
        );
    } else {
        println!(
            "{kind} student `{}`, one core, {} ticks (a new 424x240 depth frame on 3 of 5 ticks):",
            name, a.ticks
        );
        println!(
            "  tick:          p50 {p50:.0} us   p99 {p99:.0} us   max {max:.0} us   (target p99 <= 1000 us)"
        );
        println!("  networks:      p50 {net50:.0} us   p99 {net99:.0} us");
        if m.depth.is_some() {
            println!(
                "  preprocessing: p50 {push50:.0} us   p99 {push99:.0} us   (per camera frame)"
            );
        }
    }
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("vigor-bench-student-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
