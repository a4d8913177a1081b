//! `vigor perception run`: the depth process that runs on the robot's Jetson. It reads a depth
//! source (the simulated head camera, an Intel RealSense D435i, or a recording) and publishes
//! every frame on the project's depth topic over zenoh at the camera's rate; it can also save the
//! frames to a recording that `--source file` replays.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use vigor_controller::cli::BusArgs;
use vigor_msgs::topics;
use vigor_perception::{DepthSource, FrameWriter, RecordedSource, SimDepthSource};
use vigor_sim::env::EpisodeSpec;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;
use zenoh::Wait;

/// `vigor perception ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Publish depth frames on `vigor/perception/depth` at the camera's rate.
    ///
    /// Sources: `sim` (the simulated D435i on the G1's torso, in a seeded scenario on seeded
    /// terrain, the robot holding its pose), `realsense` (a D435i through librealsense; needs a
    /// build with `--features realsense`, see the README), `file` (a recording made with
    /// `--save`, replayed at `--rate-hz`). Frames go out as vigor `DepthFrame`s; the controller and
    /// `vigor topic echo` read them.
    Run(RunArgs),
}

/// Flags of `vigor perception run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// sim, realsense or file.
    #[arg(long, value_parser = ["sim", "realsense", "file"])]
    pub source: String,
    /// The recording to replay (`--source file`).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Replay the recording in a loop.
    #[arg(long = "loop")]
    pub looping: bool,
    /// Frames per second published (1..=90; the D435i streams depth at 30).
    #[arg(long, default_value_t = 30.0)]
    pub rate_hz: f64,
    /// Stop after this many frames (default: never, or the end of a recording).
    #[arg(long)]
    pub frames: Option<u64>,
    /// Also write every frame to this recording.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// RealSense depth stream width and height, px: a D435i depth mode (424 x 240 keeps the
    /// policy's preprocessing cheap; 848 x 480 and 640 x 480 also work).
    #[arg(long, num_args = 2, default_values_t = [424u16, 240])]
    pub resolution: Vec<u16>,
    /// Simulated scenario (`--source sim`).
    #[arg(long, default_value = "push")]
    pub scenario: String,
    /// Simulated terrain kind (`--source sim`).
    #[arg(long, default_value = "stairs_down")]
    pub terrain: String,
    /// Simulated terrain difficulty, 0..=1.
    #[arg(long, default_value_t = 0.5)]
    pub difficulty: f32,
    /// Simulation seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Publish as fast as the source gives frames instead of at `--rate-hz` (tests, benchmarks).
    #[arg(long)]
    pub no_pace: bool,
    #[command(flatten)]
    bus: BusArgs,
}

/// Runs the subcommand.
///
/// # Errors
/// Bad flags, an unavailable source, or bus errors.
pub fn run(c: &Command) -> Result<()> {
    match c {
        Command::Run(a) => run_source(a),
    }
}

fn open_source(a: &RunArgs) -> Result<Box<dyn DepthSource>> {
    Ok(match a.source.as_str() {
        "sim" => {
            let robot = vigor_sim::robot::Robot::embedded("g1_29dof")?;
            let sim = vigor_sim::SimConfig::embedded()?;
            let spec = EpisodeSpec {
                scenario: Scenario::from_name(&a.scenario)
                    .map_err(|e| anyhow!("--scenario: {e}"))?,
                terrain: (
                    TerrainKind::from_name(&a.terrain).map_err(|e| anyhow!("--terrain: {e}"))?,
                    a.difficulty,
                ),
                seed: a.seed,
            };
            Box::new(SimDepthSource::new(
                &robot, &sim.env, spec, sim.depth, a.rate_hz,
            )?)
        }
        "file" => {
            let path = a
                .file
                .as_ref()
                .ok_or_else(|| anyhow!("--source file needs --file PATH"))?;
            Box::new(RecordedSource::open(path, a.looping)?)
        }
        _ => realsense(a)?,
    })
}

#[cfg(feature = "realsense")]
fn realsense(a: &RunArgs) -> Result<Box<dyn DepthSource>> {
    let (w, h) = (a.resolution[0], a.resolution[1]);
    Ok(Box::new(vigor_perception::RealSenseSource::open(
        w,
        h,
        a.rate_hz.round() as u16,
    )?))
}

#[cfg(not(feature = "realsense"))]
fn realsense(_: &RunArgs) -> Result<Box<dyn DepthSource>> {
    bail!(
        "this vigor was built without RealSense support: on the robot, install librealsense2 and \
         build with `cargo build --release --features realsense` (see the README)"
    )
}

fn run_source(a: &RunArgs) -> Result<()> {
    if !(1.0..=90.0).contains(&a.rate_hz) {
        bail!("--rate-hz {}: allowed 1 ..= 90", a.rate_hz);
    }
    let mut source = open_source(a)?;
    let mut writer = a
        .save
        .as_ref()
        .map(|p| FrameWriter::create(p).with_context(|| format!("creating {}", p.display())))
        .transpose()?;
    let session = a
        .bus
        .bus(&[vigor_controller::bus::DEFAULT_ENDPOINT], &[])
        .open()?;
    let key = topics::DEPTH.scoped(a.bus.scope.as_deref());
    let publisher = session
        .declare_publisher(key.as_str())
        .congestion_control(zenoh::qos::CongestionControl::Drop)
        .wait()
        .map_err(|e| anyhow!("zenoh: {e}"))?;
    eprintln!(
        "publishing {} on {key} at {} Hz",
        source.describe(),
        a.rate_hz
    );
    let period = Duration::from_secs_f64(1.0 / a.rate_hz);
    let start = Instant::now();
    let mut sent = 0u64;
    while a.frames.is_none_or(|n| sent < n) {
        let Some(frame) = source.next_frame()? else {
            break;
        };
        if !a.no_pace {
            let due = start + period.mul_f64(sent as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let bytes = frame
            .encode()
            .map_err(|e| anyhow!("encoding frame {}: {e}", frame.seq))?;
        publisher
            .put(bytes)
            .wait()
            .map_err(|e| anyhow!("zenoh: {e}"))?;
        if let Some(w) = writer.as_mut() {
            w.write(&frame)?;
        }
        sent += 1;
        if sent.is_multiple_of(150) {
            eprintln!(
                "{sent} frames, {:.1} Hz",
                sent as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    if let Some(w) = writer {
        let n = w.finish()?;
        eprintln!(
            "saved {n} frames to {}",
            a.save
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        );
    }
    println!(
        "published {sent} frames in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
