//! The demo's teacher step: the shipped teacher (`policies/teacher/`, embedded in the binary)
//! evaluated on flat ground from supine, prone and side starts on both engines, with its best
//! episode recorded.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use vigor_sim::engine::EngineKind;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;
use vigor_training::teacher::artifact::{TEACHER_MANIFEST, WEIGHTS};
use vigor_training::teacher::eval::{self, EvalPlan};
use vigor_training::teacher::load_artifact;

/// The shipped teacher's manifest.
pub const TEACHER_JSON: &[u8] = include_bytes!("../../../policies/teacher/manifest.json");
/// The shipped teacher's weights.
pub const TEACHER_WEIGHTS: &[u8] = include_bytes!("../../../policies/teacher/weights.safetensors");

/// Writes the shipped teacher's artifact into `dir`.
///
/// # Errors
/// File errors.
pub fn write_teacher(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, bytes) in [(TEACHER_MANIFEST, TEACHER_JSON), (WEIGHTS, TEACHER_WEIGHTS)] {
        let path = dir.join(name);
        vigor_common::fsutil::write_atomic(&path, bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Writes the shipped teacher into `dir`, evaluates it (`trials` per start and engine), records
/// its best episode to `rrd` and returns the markdown table.
///
/// # Errors
/// File, artifact or simulator errors.
pub fn run(dir: &Path, rrd: &Path, trials: usize) -> Result<String> {
    write_teacher(dir)?;
    let teacher = load_artifact(dir)?;
    let robot = vigor_sim::robot::Robot::embedded(&teacher.manifest.robot)?;
    let sim = vigor_sim::SimConfig::embedded()?;
    let plan = EvalPlan {
        scenarios: vec![Scenario::Supine, Scenario::Prone, Scenario::Side],
        terrains: vec![(TerrainKind::Flat, 0.0)],
        trials,
        seed: 0,
        engines: EngineKind::ALL.to_vec(),
        threads: 0,
        assist: 0.0,
        drawn: false,
        lying_offset_m: [0.0, 0.0],
        flat_scan: false,
    };
    let results = eval::evaluate(
        eval::Evaluee::Teacher(&teacher),
        &robot,
        &sim,
        &plan,
        |_, _| {},
    )?;
    let [(_, best), _, _] = eval::best_median_worst(&results);
    eval::record_episode(
        eval::Evaluee::Teacher(&teacher),
        &robot,
        &sim,
        (&plan, &results),
        best,
        rrd,
    )?;
    let mut table = String::new();
    writeln!(
        table,
        "Teacher `{}` (iteration {}, {} env steps), {trials} trials per start, no assist:\n",
        teacher.manifest.name, teacher.manifest.iteration, teacher.manifest.env_steps
    )?;
    table.push_str(&eval::markdown(&eval::summarise(&results)));
    Ok(table)
}
