//! `vigor demo`: runs what vigor has built so far, end to end, on the embedded default configs.
//!
//! Today: checks the shipped configs; builds a standing G1 LowState as the robot would send it and
//! round-trips it through the wire format; turns it into the policy's observation; initialises a
//! seeded policy, acts, saves it as an artifact and reloads it; builds the controller's damping
//! LowCmd; records a simulated push off a platform edge to rerun; draws the terrain grid; and writes
//! every frame (bytes and JSON), the artifact, the recording, the picture and a summary into `--out`.
//! Later issues grow this into the full demo (simulated robot, controller, pushes, recordings).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use clap::Args as ClapArgs;
use vigor_common::fsutil::write_atomic;
use vigor_msgs::unitree_hg::{G1_29DOF_SLOT_NAMES, LowCmd, LowState, NUM_G1_29DOF_MOTORS};
use vigor_policy::{
    ActionMode, ActionSpec, Activation, Manifest, MlpSpec, Normaliser, ObservationLayout, Policy,
    Proprioception,
};

/// `vigor demo` flags.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Folder to write the demo's outputs into (created if needed).
    #[arg(long, default_value = "demo-out")]
    out: PathBuf,
    /// Seed of the demo policy's initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// A standing G1 as it reports itself: upright, still, knees slightly bent, running tick.
fn standing_lowstate(mode_machine: u8, tick: u32) -> LowState {
    let mut s = LowState {
        mode_machine,
        tick,
        ..LowState::default()
    };
    s.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0];
    s.imu_state.accelerometer = [0.0, 0.0, 9.81];
    s.imu_state.temperature = 38;
    // Slightly bent legs (hip pitch, knee, ankle pitch on both sides), arms at the sides.
    let pose: [(usize, f32); 6] = [
        (0, -0.1),
        (3, 0.3),
        (4, -0.2),
        (6, -0.1),
        (9, 0.3),
        (10, -0.2),
    ];
    for (m, motor) in s
        .motor_state
        .iter_mut()
        .enumerate()
        .take(NUM_G1_29DOF_MOTORS)
    {
        motor.mode = 1;
        motor.q = pose.iter().find(|(i, _)| *i == m).map_or(0.0, |(_, q)| *q);
        motor.temperature = [35, 40];
        motor.vol = 52.0;
    }
    s.with_crc()
}

fn observation(
    layout: &ObservationLayout,
    robot_default: &[f32],
    state: &LowState,
    last_action: &[f32],
) -> Vec<f32> {
    let motors = &state.motor_state[..NUM_G1_29DOF_MOTORS];
    let q: Vec<f32> = motors.iter().map(|m| m.q).collect();
    let dq: Vec<f32> = motors.iter().map(|m| m.dq).collect();
    let mut obs = vec![0.0; layout.len()];
    layout.write_proprioception(
        &Proprioception {
            gyro: state.imu_state.gyroscope,
            quat_wxyz: state.imu_state.quaternion,
            q: &q,
            dq: &dq,
            default_q: robot_default,
            last_action,
        },
        &mut obs,
    );
    obs
}

fn write(out: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    write_atomic(&out.join(name), bytes).with_context(|| format!("writing {name}"))
}

/// The manifest of a freshly initialised proprioceptive policy for `robot` (the shape the
/// teacher and student fill): for the G1 29-DoF 93 observations, a 256-128-64 ELU actor and 29
/// actions as offsets from the default pose scaled by 0.25 rad.
#[must_use]
pub fn untrained_manifest_for(name: &str, seed: u64, robot: &vigor_sim::robot::Robot) -> Manifest {
    let joints = robot.joints.len();
    let layout = ObservationLayout::proprioception(joints);
    let n = layout.len();
    Manifest {
        schema_version: vigor_policy::artifact::SCHEMA_VERSION,
        kind: vigor_policy::PolicyKind::Mlp,
        name: name.to_owned(),
        robot: robot.name.clone(),
        joints: robot.joints.iter().map(|j| j.name.clone()).collect(),
        normaliser: Normaliser::identity(n),
        network: vigor_policy::Network::Mlp(vigor_policy::MlpNetwork {
            observation: layout,
            action: ActionSpec {
                dim: joints,
                mode: ActionMode::DefaultOffset,
                scale: 0.25,
            },
            actor: MlpSpec {
                input: n,
                hidden: vec![256, 128, 64],
                output: joints,
                activation: Activation::Elu,
            },
        }),
        weights_sha256: String::new(),
        git_hash: env!("VIGOR_GIT_HASH").to_owned(),
        seed,
    }
}

/// Runs the demo.
pub fn run(args: &Args) -> Result<()> {
    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut summary = String::from("# vigor demo\n\n");
    let step = |n: u32, text: &str| println!("[{n}/10] {text}");

    step(1, "checking the embedded configs");
    let controller = vigor_controller::ControllerConfig::embedded()?;
    let sim = vigor_sim::SimConfig::embedded()?;
    writeln!(
        summary,
        "Configs: controller at {:.0} Hz (policy every {} ticks, LowState watchdog {:.0} ms, engage at {:.0}°); \
         simulator at {:.0} Hz physics, decimation {}.\n",
        1.0 / controller.control_dt_s,
        controller.policy_decimation,
        controller.lowstate_timeout_s * 1e3,
        controller.engage_tilt_rad.to_degrees(),
        1.0 / sim.physics_dt_s,
        sim.decimation
    )?;

    step(
        2,
        "round-tripping a standing G1's LowState through the unitree_hg wire format",
    );
    let state = standing_lowstate(controller.mode_machine, 1);
    let state_bytes = state.encode();
    let decoded = LowState::decode(&state_bytes).context("decoding our own LowState")?;
    ensure!(
        decoded.encode() == state_bytes,
        "LowState did not round-trip"
    );
    write(out, "lowstate_standing.bin", &state_bytes)?;
    write(
        out,
        "lowstate_standing.json",
        serde_json::to_string_pretty(&decoded)?.as_bytes(),
    )?;

    step(
        3,
        "initialising a seeded policy, acting on the LowState, saving and reloading the artifact",
    );
    let robot = vigor_sim::robot::Robot::embedded("g1_29dof")?;
    let mut policy = Policy::init(untrained_manifest_for(
        &format!("demo-untrained-seed{}", args.seed),
        args.seed,
        &robot,
    ))?;
    let default_q: Vec<f32> = robot.joints.iter().map(|j| j.default as f32).collect();
    let obs = observation(
        &policy.network().observation,
        &default_q,
        &state,
        &[0.0; NUM_G1_29DOF_MOTORS],
    );
    let action = policy.act(&obs)?;
    let policy_dir = out.join("policy");
    policy.save(&policy_dir)?;
    let reloaded = Policy::load(&policy_dir)?;
    ensure!(
        reloaded.act(&obs)? == action,
        "reloaded policy acts differently"
    );
    let max = action.iter().fold(0f32, |m, a| m.max(a.abs()));
    let n = policy.network().observation.len();
    writeln!(
        summary,
        "Policy: untrained actor {n} -> 256 -> 128 -> 64 -> 29 (seed {}), saved to `policy/` and reloaded \
         with identical actions; max |action| on the standing observation = {max:.4}.\n",
        args.seed
    )?;

    step(
        4,
        "building the controller's damping LowCmd and round-tripping it",
    );
    let damping = vigor_controller::commands::damping(
        controller.mode_machine,
        controller.damping_kd,
        NUM_G1_29DOF_MOTORS,
    );
    let cmd_bytes = damping.encode();
    let cmd_back = LowCmd::decode(&cmd_bytes).context("decoding our own LowCmd")?;
    ensure!(cmd_back == damping, "LowCmd did not round-trip");
    write(out, "lowcmd_damping.bin", &cmd_bytes)?;
    write(
        out,
        "lowcmd_damping.json",
        serde_json::to_string_pretty(&cmd_back)?.as_bytes(),
    )?;

    step(
        5,
        "recording a push off a platform edge in the simulator (episode.rrd)",
    );
    crate::cmd::sim::record(&crate::cmd::sim::RecordArgs::new(
        "push_off_platform",
        3.0,
        args.seed,
        out.join("episode.rrd"),
    ))?;
    writeln!(
        summary,
        "Simulator: the G1 (rapier3d multibody, {:.0} Hz physics) standing on a platform, pushed off its edge; \
         recorded to `episode.rrd` (open it with `vigor replay demo-out/episode.rrd`).\n",
        1.0 / sim.physics_dt_s
    )?;

    step(6, "drawing the procedural terrain grid (terrain.png)");
    let terrain =
        vigor_sim::terrain::Terrain::generate(&vigor_sim::terrain::TerrainConfig::embedded()?)?;
    vigor_sim::terrain::preview::write_png(&terrain, 20.0, &out.join("terrain.png"))?;
    summary.push_str("Terrain: `terrain.png` shows the shipped tile grid (kinds by column, difficulty by row).\n\n");

    step(
        7,
        "recording the shipped supine recovery aligned onto stairs (demonstration.rrd)",
    );
    crate::cmd::demos::show(&crate::cmd::demos::ShowArgs::new(
        "supine_roll_kneel",
        Some(("stairs_up", 0.5)),
        args.seed,
        out.join("demonstration.rrd"),
    ))?;
    summary.push_str(
        "Demonstrations: `demonstration.rrd` plays the project's own supine recovery (roll, hands and \
         knees, kneel, squat, stand), its sparse keyframes and its alignment onto a stairs tile.\n\n",
    );

    step(
        8,
        "running vigor sim-robot and vigor control with the depth student on a loopback bus: pushes on flat, rough and stairs, then supine and prone starts (controller.rrd)",
    );
    let student = crate::cmd::demo_live::write_students(out)?;
    let outcome = crate::cmd::demo_live::run(&student, &out.join("controller.rrd"))?;
    let story = outcome.describe();
    print!("{story}");
    writeln!(
        summary,
        "Controller: `vigor sim-robot` (MuJoCo, 500 Hz LowState and 30 Hz head depth over zenoh) \
         and `vigor control` running the unified depth student (`policies/student-depth-unified`, \
         written to `student-depth/`, with the unified blind student in `student-blind/` as its \
         fallback when depth stops): armed, stood up and pushed with 450 N \
         on the torso on flat ground, rough ground and toward stairs, then armed lying on its back \
         and on its front. Recorded to `controller.rrd` (the robot, the depth stream, z_hat and \
         the reference track under `policy/`, every transition). The controller ran \
         `controller.toml`: the shipped config with a 100 ms LowState watchdog instead of 20 ms, \
         because the simulated robot shares this computer's cores. Transitions:\n\n{story}"
    )?;

    step(
        9,
        "evaluating the shipped teacher from supine, prone and side starts on rapier and MuJoCo (teacher.rrd)",
    );
    let table = crate::cmd::demo_teacher::run(&out.join("teacher"), &out.join("teacher.rrd"), 2)?;
    print!("{table}");
    writeln!(
        summary,
        "Teacher: the shipped goal-in-context teacher (`policies/teacher/`, trained with `vigor train \
         teacher`), evaluated on flat ground with `vigor eval`'s harness on both engines; its best \
         episode is in `teacher.rrd` with the reference drawn beside the robot.\n\n{table}"
    )?;

    step(10, "writing the summary");
    summary.push_str("| frame | file | bytes | CRC |\n|---|---|---|---|\n");
    writeln!(
        summary,
        "| LowState (standing) | lowstate_standing.bin | {} | {:#010x} |",
        state_bytes.len(),
        decoded.crc
    )?;
    writeln!(
        summary,
        "| LowCmd (damping, kd {}) | lowcmd_damping.bin | {} | {:#010x} |\n",
        controller.damping_kd,
        cmd_bytes.len(),
        damping.crc
    )?;
    summary.push_str("| slot | joint | q (rad) | action |\n|---|---|---|---|\n");
    for (i, name) in G1_29DOF_SLOT_NAMES.iter().enumerate() {
        writeln!(
            summary,
            "| {i} | {name} | {:.2} | {:+.4} |",
            state.motor_state[i].q, action[i]
        )?;
    }
    summary.push_str(
        "\nInspect the frames with `vigor msgs decode --type lowcmd < lowcmd_damping.bin` and the policy \
         with its `policy/manifest.json`.\n",
    );
    write(out, "summary.md", summary.as_bytes())?;
    println!(
        "wrote {} (summary.md, 4 frames, policy/, teacher/, episode.rrd, demonstration.rrd, controller.rrd, teacher.rrd, terrain.png)",
        out.display()
    );
    Ok(())
}
