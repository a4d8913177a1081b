//! `vigor demos ...`: import, list and show demonstration clips.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use rapier3d::na::{Isometry3, Point3, Vector3};
use vigor_record::{EpisodeRecorder, Pose};
use vigor_sim::robot::Robot;
use vigor_sim::terrain::{Terrain, TerrainKind};
use vigor_training::demos::clip::CLIP_EXTENSION;
use vigor_training::demos::kinematics::SKELETON;
use vigor_training::demos::segment::postures;
use vigor_training::demos::{
    AlignParams, AuthoredDemo, Clip, ClipKinematics, Keyframes, SegmentParams, align, read_take,
    segment_take,
};

/// `vigor demos ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import LAFAN1-G1 retargeted CSV takes (Unitree's format: no header, 36 columns at 30 fps)
    /// and cut them into fall -> lie -> get-up clips at the policy rate, one .vclip file each.
    ///
    /// Every line is validated (column count, numbers, quaternion norm, joint limits); an error
    /// names the file and line. The clips are derived from the takes and carry their licence
    /// (LAFAN1: CC BY-NC-ND 4.0): keep them out of the repository.
    Import(ImportArgs),
    /// List the clips in a folder (or, without one, the project's own shipped demonstrations):
    /// name, start posture, duration, frames and the recovery behaviour.
    List(ListArgs),
    /// Record a clip to a rerun file: the reference motion, its sparse keyframes (the next target
    /// as an orange stick figure) and, with --terrain, the reference aligned onto that terrain
    /// (the flat-ground original as a grey stick figure).
    Show(ShowArgs),
    /// Check that the demonstrations are physically feasible: play each one a teacher
    /// configuration tracks, from phases of the clip (the robot posed at rest in that frame) and
    /// from the scenarios' real starts, with HoST's upward help at several levels, either open
    /// loop (no policy: a zero residual, so the joint targets are the demonstration's own) or,
    /// with --policy, by a trained teacher. Writes feasibility.json, feasibility.md (per demonstration x start x help: the share upright when the demonstration stands, and the share still standing at the end;
    /// the least help at which half come up, head clearance and
    /// tracking error) and with --record a rerun recording per demonstration and start.
    Check(CheckArgs),
}

/// `vigor demos check` flags.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Teacher configuration whose demonstrations (`task.demos`) and task (episode length,
    /// PD gains, reference rule) are checked; it must use `task.action_mode =
    /// "reference_residual"` (default: the embedded configs/teacher-unified.toml, all eight
    /// shipped demonstrations).
    #[arg(long, conflicts_with = "policy")]
    config: Option<PathBuf>,
    /// Play the demonstrations with this trained teacher (an artifact folder, e.g. a run's
    /// `best/` or a checkpoint) instead of open loop, under the configuration it trained with:
    /// the test of a demonstration is that the trained teacher tracks it without help.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Output folder: feasibility.json, feasibility.md, and the recordings.
    #[arg(long)]
    out: PathBuf,
    /// Phases of each clip to pose the robot at, 0..=1 (0: its first frame).
    #[arg(long, value_delimiter = ',', default_value = "0,0.25,0.5")]
    phases: Vec<f64>,
    /// Scenarios whose real start is also played (comma-separated, `all`, or `none`): each
    /// tracks the demonstration the configuration's rule picks for it.
    #[arg(long, value_delimiter = ',', default_value = "supine,prone,side,push")]
    scenarios: Vec<String>,
    /// Help levels: upward force on the torso as fractions of the robot's weight, 0..=1.
    #[arg(long, value_delimiter = ',', default_value = "0,0.2,0.4,0.6,0.8")]
    assist: Vec<f32>,
    /// Seeded trials per demonstration (or scenario) x phase x help level (1..=1000).
    #[arg(long, default_value_t = 4)]
    trials: usize,
    /// Trial seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Engine: mujoco or rapier.
    #[arg(long, default_value = "mujoco")]
    engine: String,
    /// Worker threads, 0 = one per core.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Record, per demonstration and start, the first episode at the least help at which half
    /// stand (or at the most help tried), to `<demo>-<start>.rrd`.
    #[arg(long)]
    record: bool,
    /// No progress bar: a line per batch of 64 episodes (for logs).
    #[arg(long)]
    plain: bool,
}

/// `vigor demos import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV takes to import.
    #[arg(required = true)]
    csv: Vec<PathBuf>,
    /// Output folder for the clips (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Clip rate, Hz (the policy rate).
    #[arg(long, default_value_t = 50.0)]
    rate_hz: f64,
    /// Robot description the takes are retargeted to (shipped name or file).
    #[arg(long, default_value = "g1_29dof")]
    robot: String,
}

/// `vigor demos list` flags.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Folder of .vclip files (default: the shipped authored demonstrations).
    dir: Option<PathBuf>,
}

/// `vigor demos show` flags.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A .vclip file or the name of a shipped demonstration (see `vigor demos list`).
    clip: String,
    /// Output recording (.rrd).
    #[arg(long)]
    out: PathBuf,
    /// Align the reference onto this terrain kind: flat, rough, waves, slope_up, slope_down,
    /// inverted_slope, stairs_up, stairs_down, stepping_stones, boxes, platform, gaps.
    #[arg(long)]
    terrain: Option<String>,
    /// Terrain difficulty, 0..=1.
    #[arg(long, default_value_t = 0.5)]
    difficulty: f32,
    /// Seed of the terrain and of the alignment's random offset.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Spacing of the sparse keyframes, s.
    #[arg(long, default_value_t = 0.5)]
    keyframe_spacing_s: f64,
}

impl ShowArgs {
    /// Arguments for showing `clip` (file or shipped name), optionally on `terrain`, into `out`.
    #[must_use]
    pub fn new(clip: &str, terrain: Option<(&str, f32)>, seed: u64, out: PathBuf) -> Self {
        Self {
            clip: clip.to_owned(),
            out,
            terrain: terrain.map(|(t, _)| t.to_owned()),
            difficulty: terrain.map_or(0.5, |(_, d)| d),
            seed,
            keyframe_spacing_s: 0.5,
        }
    }
}

/// Runs a `vigor demos` subcommand.
///
/// # Errors
/// Bad input or an unwritable output, with the file named.
pub fn run(c: &Command) -> Result<()> {
    match c {
        Command::Import(a) => import(a),
        Command::List(a) => list(a),
        Command::Show(a) => show(a),
        Command::Check(a) => check(a),
    }
}

fn robot_named(name: &str) -> Result<Robot> {
    let path = Path::new(name);
    Ok(if path.is_file() {
        Robot::load(path)?
    } else {
        Robot::embedded(name)?
    })
}

fn import(a: &ImportArgs) -> Result<()> {
    if !(a.rate_hz.is_finite() && (1.0..=1000.0).contains(&a.rate_hz)) {
        bail!(
            "--rate-hz = {} is out of range: allowed 1 ..= 1000",
            a.rate_hz
        );
    }
    let robot = robot_named(&a.robot)?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let params = SegmentParams {
        rate_hz: a.rate_hz,
        ..SegmentParams::default()
    };
    let mut total = 0;
    for (i, path) in a.csv.iter().enumerate() {
        let take = read_take(path, &robot)?;
        let clips = segment_take(&take, &robot, &params)?;
        for c in &clips {
            c.save(&a.out.join(format!("{}.{CLIP_EXTENSION}", c.name)))?;
        }
        total += clips.len();
        println!(
            "[{}/{}] {}: {} frames ({:.1} s), {} clips",
            i + 1,
            a.csv.len(),
            path.display(),
            take.frames.len(),
            take.frames.len() as f64 / take.rate_hz,
            clips.len()
        );
    }
    println!("wrote {total} clips to {}", a.out.display());
    Ok(())
}

/// Writes the clip table; a closed pipe (`| head`) ends it quietly.
fn print_table(clips: &[Clip], notes: &[String]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let mut write = || -> std::io::Result<()> {
        writeln!(
            out,
            "{:<28} {:<9} {:>7} {:>7}  behaviour",
            "clip", "start", "time_s", "frames"
        )?;
        for c in clips {
            writeln!(
                out,
                "{:<28} {:<9} {:>7.2} {:>7}  {}",
                c.name,
                c.posture.name(),
                c.duration_s(),
                c.frames.len(),
                c.behaviour
            )?;
        }
        for n in notes {
            writeln!(out, "{n}")?;
        }
        Ok(())
    };
    match write() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn list(a: &ListArgs) -> Result<()> {
    match &a.dir {
        Some(dir) => {
            if !dir.is_dir() {
                bail!("{}: no such folder", dir.display());
            }
            let clips = Clip::load_dir(dir)?;
            if clips.is_empty() {
                bail!(
                    "{}: no .{CLIP_EXTENSION} clips (make some with `vigor demos import`)",
                    dir.display()
                );
            }
            print_table(&clips, &[])
        }
        None => {
            let robot = Robot::embedded("g1_29dof")?;
            let demos = AuthoredDemo::shipped(&robot)?;
            let clips: Vec<Clip> = demos.iter().map(|d| d.to_clip(&robot, 50.0)).collect();
            let mut notes = vec![String::new(), "shipped (configs/demos/):".to_owned()];
            notes.extend(demos.iter().map(|d| {
                format!(
                    "  {}: {} ({} keyframes, {} static)",
                    d.name,
                    d.description,
                    d.keys.len(),
                    d.keys.iter().filter(|k| k.is_static).count()
                )
            }));
            print_table(&clips, &notes)
        }
    }
}

/// A shipped demonstration by name or a clip file.
fn load_clip(spec: &str) -> Result<Clip> {
    let path = Path::new(spec);
    if path.is_file() {
        return Ok(Clip::load(path)?);
    }
    let robot = Robot::embedded("g1_29dof")?;
    let demos = AuthoredDemo::shipped(&robot)?;
    match demos.iter().find(|d| d.name == spec) {
        Some(d) => Ok(d.to_clip(&robot, 50.0)),
        None => {
            let names: Vec<&str> = demos.iter().map(|d| d.name.as_str()).collect();
            bail!(
                "`{spec}` is neither a clip file nor a shipped demonstration ({})",
                names.join(", ")
            )
        }
    }
}

fn pose_of(poses: &[Isometry3<f64>]) -> Vec<Pose> {
    poses
        .iter()
        .map(|iso| {
            let t = iso.translation.vector;
            let r = iso.rotation;
            Pose {
                pos: [t.x as f32, t.y as f32, t.z as f32],
                quat_wxyz: [r.w as f32, r.i as f32, r.j as f32, r.k as f32],
            }
        })
        .collect()
}

fn points(p: &[Point3<f64>]) -> Vec<[f32; 3]> {
    p.iter()
        .map(|p| [p.x as f32, p.y as f32, p.z as f32])
        .collect()
}

/// Records a clip (see [`Command::Show`]).
///
/// # Errors
/// Bad arguments, an unreadable clip or an unwritable recording.
pub fn show(a: &ShowArgs) -> Result<()> {
    if !(a.keyframe_spacing_s.is_finite() && (0.05..=10.0).contains(&a.keyframe_spacing_s)) {
        bail!(
            "--keyframe-spacing-s = {} is out of range: allowed 0.05 ..= 10",
            a.keyframe_spacing_s
        );
    }
    if !(0.0..=1.0).contains(&a.difficulty) {
        bail!(
            "--difficulty = {} is out of range: allowed 0 ..= 1",
            a.difficulty
        );
    }
    let clip = load_clip(&a.clip)?;
    let robot = robot_named(&clip.robot)?;
    clip.check_against(&robot, 1e-3)?;
    let sim = vigor_sim::SimConfig::embedded()?.env;
    let terrain = match &a.terrain {
        Some(name) => Some(Terrain::single(
            TerrainKind::from_name(name)?,
            a.difficulty,
            a.seed,
            sim.tile_size_m,
            sim.cell_m,
        )?),
        None => None,
    };
    let kin = ClipKinematics::new(&robot, &clip)?;
    // On terrain: a seeded placement near the tile centre, starting from the clip's beginning.
    let (shown, alignment) = match &terrain {
        Some(t) => {
            let height = |x: f64, y: f64| f64::from(t.height(x as f32, y as f32));
            let params = AlignParams {
                phase: [0.0, 0.0],
                ..AlignParams::default()
            };
            let mut rng = vigor_common::seed::SplitMix64::new(vigor_common::seed::derive(
                a.seed,
                "demo-align",
                0,
            ));
            let al = align(
                std::slice::from_ref(&clip),
                std::slice::from_ref(&kin),
                [0.0, 0.0],
                &height,
                &params,
                &mut rng,
            );
            (al.apply(&clip), Some(al))
        }
        None => (clip.clone(), None),
    };
    let shown_kin = if alignment.is_some() {
        ClipKinematics::new(&robot, &shown)?
    } else {
        kin.clone()
    };
    let keys = Keyframes::uniform(&shown, a.keyframe_spacing_s);
    let key_kin = ClipKinematics::new(
        &robot,
        &Clip {
            frames: keys.frames.clone(),
            ..shown.clone()
        },
    )?;
    let mut line = format!(
        "demonstration {} ({}): starts {}, {}; {:.2} s at {} Hz, {} keyframes every {:.2} s",
        clip.name,
        clip.source,
        clip.posture,
        clip.behaviour,
        clip.duration_s(),
        clip.rate_hz,
        keys.len(),
        keys.times_s.first().copied().unwrap_or(0.0)
    );
    if let (Some(al), Some(name)) = (&alignment, &a.terrain) {
        let t = al.placement.translation.vector;
        line += &format!(
            "; aligned on {name} (difficulty {:.2}, seed {}): offset ({:.3}, {:.3}) m, lifted {:.3} m",
            a.difficulty, a.seed, t.x, t.y, al.dz_m
        );
    }
    let rec = EpisodeRecorder::create(&a.out, &robot, terrain.as_ref(), &line)?;
    // Every keyframe, faint, for an overview; the next target, bright, over time.
    for (k, kp) in key_kin.keypoints_world.iter().enumerate() {
        rec.log_skeleton(
            None,
            &format!("world/keyframes/all/k{k:02}"),
            &points(kp),
            &SKELETON,
            [120, 110, 90],
        )?;
    }
    let classes = postures(&robot, &shown.frames);
    let mut last_class = None;
    let mut last_key = usize::MAX;
    for (i, f) in shown.frames.iter().enumerate() {
        let t = i as f64 / shown.rate_hz;
        let root = f.root();
        let up = (root.rotation * Vector3::z()).z.clamp(-1.0, 1.0);
        rec.log_step(
            t,
            &pose_of(&shown_kin.link_poses[i]),
            &[],
            f.root_pos_m[2] as f32,
            up.acos().to_degrees() as f32,
        )?;
        let target = keys.next_at(t);
        rec.log_skeleton(
            Some(t),
            "world/keyframes/next",
            &points(&key_kin.keypoints_world[target.index]),
            &SKELETON,
            [255, 140, 0],
        )?;
        rec.log_scalar(t, "plots/phase", t / shown.duration_s().max(1e-9))?;
        if target.index != last_key {
            last_key = target.index;
            rec.log_text(
                t,
                "events",
                &format!("next keyframe {} at {:.2} s", target.index, target.time_s),
            )?;
        }
        if last_class != Some(classes[i]) {
            last_class = Some(classes[i]);
            rec.log_text(t, "events", &format!("posture: {}", classes[i]))?;
        }
        if alignment.is_some() {
            rec.log_skeleton(
                Some(t),
                "world/reference_flat",
                &points(&kin.keypoints_world[i]),
                &SKELETON,
                [150, 150, 150],
            )?;
        }
    }
    rec.finish()?;
    println!("{line}");
    println!(
        "wrote {} ({} frames); open it with `vigor replay {}`",
        a.out.display(),
        shown.frames.len(),
        a.out.display()
    );
    Ok(())
}

fn check(a: &CheckArgs) -> Result<()> {
    use vigor_training::teacher::TeacherConfig;
    use vigor_training::teacher::feasibility::{self, FeasibilityPlan};

    if let Some(p) = a.phases.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        bail!("--phases: {p} is out of range: allowed 0 ..= 1");
    }
    if let Some(h) = a.assist.iter().find(|h| !(0.0..=1.0).contains(*h)) {
        bail!("--assist: {h} is out of range: allowed 0 ..= 1");
    }
    if !(1..=1000).contains(&a.trials) {
        bail!(
            "--trials = {} is out of range: allowed 1 ..= 1000",
            a.trials
        );
    }
    let engine: vigor_sim::engine::EngineKind = a
        .engine
        .parse()
        .map_err(|m| anyhow::anyhow!("--engine: {m}"))?;
    let scenarios = match a.scenarios.as_slice() {
        [one] if one == "all" => vigor_sim::scenario::Scenario::ALL.to_vec(),
        [one] if one == "none" => Vec::new(),
        names => names
            .iter()
            .map(|n| {
                vigor_sim::scenario::Scenario::from_name(n)
                    .map_err(|e| anyhow::anyhow!("--scenarios: {e}"))
            })
            .collect::<Result<Vec<_>>>()?,
    };
    let teacher = match &a.policy {
        Some(dir) => Some(
            vigor_training::teacher::load_artifact(dir)
                .with_context(|| format!("--policy {}", dir.display()))?,
        ),
        None => None,
    };
    let config = match (&teacher, &a.config) {
        (Some(t), _) => t.manifest.config.clone(),
        (None, Some(path)) => vigor_common::config::load::<TeacherConfig>(path)?,
        (None, None) => vigor_common::config::parse::<TeacherConfig>(
            vigor_training::teacher::config::UNIFIED_TOML,
            "<embedded configs/teacher-unified.toml>",
        )?,
    };
    let who = match &a.policy {
        Some(dir) => format!("the teacher {}", dir.display()),
        None => "the PD controller, open loop".to_owned(),
    };
    if teacher.is_none() {
        feasibility::check_open_loop(&config)?;
    }
    let robot = Robot::embedded("g1_29dof")?;
    let sim = vigor_sim::SimConfig::embedded()?;
    let mut phases = a.phases.clone();
    phases.sort_by(f64::total_cmp);
    phases.dedup();
    let plan = FeasibilityPlan {
        phases,
        scenarios,
        assists: a.assist.clone(),
        trials: a.trials,
        seed: a.seed,
        engine,
        threads: a.threads,
    };
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let mut bar = None::<crate::progress::Progress>;
    let episodes = feasibility::check_demos(
        &config,
        teacher.as_ref(),
        &robot,
        &sim,
        &plan,
        |done, total| {
            let p =
                bar.get_or_insert_with(|| crate::progress::Progress::new(total as u64, a.plain));
            p.set(done as u64, &format!("{done}/{total} episodes"));
        },
    )?;
    if let Some(p) = &bar {
        p.finish();
    }
    let rows = feasibility::summarise(&episodes);
    let md = feasibility::markdown(&rows, &plan, &who);
    let json = serde_json::json!({ "rows": rows, "episodes": episodes });
    let write = |name: &str, text: String| -> Result<()> {
        let path = a.out.join(name);
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))
    };
    write("feasibility.json", serde_json::to_string_pretty(&json)?)?;
    write("feasibility.md", md.clone())?;
    print!("{md}");
    if a.record {
        let groups = vigor_training::teacher::eval::group_first_seen(&rows, |r| {
            (r.demo.clone(), r.start.clone())
        });
        for ((demo, start), mine) in groups {
            let help = feasibility::least_assist(&mine)
                .unwrap_or_else(|| mine.iter().map(|r| r.assist).fold(0.0, f32::max));
            let Some(e) = episodes.iter().find(|e| {
                e.demo == demo && e.start.label() == start && e.assist.to_bits() == help.to_bits()
            }) else {
                continue;
            };
            let path = a
                .out
                .join(format!("{demo}-{}.rrd", start.replace(' ', "-")));
            feasibility::record(
                &config,
                teacher.as_ref(),
                &who,
                &robot,
                &sim,
                engine,
                e,
                &path,
            )?;
            println!("recorded {}", path.display());
        }
    }
    println!("wrote {}", a.out.join("feasibility.md").display());
    Ok(())
}
