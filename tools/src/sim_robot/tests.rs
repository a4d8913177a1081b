//! The simulated robot's logic without a network.

use vigor_msgs::project::SimRequestKind;
use vigor_msgs::unitree_hg::{LowCmd, MotorCmd};

use super::*;

fn make(params: impl FnOnce(&mut SimRobotParams)) -> SimRobot {
    let mut p = SimRobotConfig::embedded().unwrap();
    p.depth_rate_hz = 0;
    params(&mut p);
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    SimRobot::new(Robot::embedded("g1_29dof").unwrap(), p, &sim).unwrap()
}

fn cmd(kp: f32, kd: f32, q: &[f32]) -> Vec<u8> {
    let mut c = LowCmd {
        mode_machine: 5,
        ..LowCmd::default()
    };
    for (i, m) in c.motor_cmd.iter_mut().take(29).enumerate() {
        *m = MotorCmd {
            mode: 1,
            q: q[i],
            kp,
            kd,
            ..MotorCmd::default()
        };
    }
    c.with_crc().encode()
}

fn height(r: &SimRobot) -> f32 {
    r.engine().state().base_pos[2]
}

#[test]
fn the_gantry_holds_the_robot_until_position_control_has_held_it() {
    let mut r = make(|_| {});
    let zeros = vec![0.0; 29];
    // Damping only: the limbs go limp but the gantry keeps the torso up.
    for _ in 0..1000 {
        r.on_lowcmd(&cmd(0.0, 8.0, &zeros)).unwrap();
        r.step();
    }
    assert!(!r.taken_over());
    assert_eq!(r.gantry_strength(), 1.0);
    assert!(height(&r) > 0.6, "held by the gantry: {}", height(&r));
    // Position control takes over; the gantry lowers 3.5 s later, over 1 s.
    let stand: Vec<f32> = r
        .engine()
        .robot()
        .joints
        .iter()
        .map(|j| j.default as f32)
        .collect();
    let mut strengths = Vec::new();
    for k in 0..2500 {
        r.on_lowcmd(&cmd(500.0, 20.0, &stand)).unwrap();
        r.step();
        if k % 500 == 499 {
            strengths.push(r.gantry_strength());
        }
    }
    assert!(r.taken_over());
    assert_eq!(&strengths[..3], &[1.0, 1.0, 1.0]);
    assert_eq!(strengths[4], 0.0, "{strengths:?}");
    assert!(
        height(&r) > 0.7,
        "stands on its own after the gantry: {}",
        height(&r)
    );
    // Damping alone now lets it sink.
    for _ in 0..1500 {
        r.on_lowcmd(&cmd(0.0, 8.0, &zeros)).unwrap();
        r.step();
    }
    assert!(height(&r) < 0.6, "damping only: {}", height(&r));
}

#[test]
fn bad_frames_and_wrong_mode_machine_are_rejected_and_counted() {
    let mut r = make(|_| {});
    let mut bytes = cmd(10.0, 1.0, &[0.0; 29]);
    bytes[100] ^= 0xFF;
    assert_eq!(r.on_lowcmd(&bytes), Err(Rejected::Frame));
    assert_eq!(r.on_lowcmd(&bytes[..10]), Err(Rejected::Frame));
    let mut c = LowCmd::decode(&cmd(10.0, 1.0, &[0.0; 29])).unwrap();
    c.mode_machine = 4;
    assert_eq!(
        r.on_lowcmd(&c.with_crc().encode()),
        Err(Rejected::ModeMachine)
    );
    assert_eq!(
        (
            r.counters.bad_frames,
            r.counters.wrong_mode_machine,
            r.counters.accepted
        ),
        (2, 1, 0)
    );
    assert!(!r.taken_over(), "rejected frames never take over");
}

#[test]
fn lowstate_is_a_valid_frame_with_a_running_tick() {
    let mut r = make(|_| {});
    let a = r.step().unwrap();
    let b = r.step().unwrap();
    assert_eq!(b.tick, a.tick + 1);
    assert_eq!(a.mode_machine, 5);
    let back = LowState::decode(&a.encode()).unwrap();
    assert_eq!(back, a);
    let s = r.engine().state();
    for (i, j) in r.engine().robot().joints.iter().enumerate() {
        assert_eq!(b.motor_state[j.slot].q, s.q[i]);
    }
    let tilt = vigor_controller::core::tilt_rad(b.imu_state.quaternion);
    assert!(tilt < 0.05, "standing upright: tilt {tilt}");
}

#[test]
fn latency_delays_commands_and_states() {
    // 10 ms of command latency: a takeover command applies 5 steps (2 ms each) later.
    let mut r = make(|p| p.command_latency_s = 0.010);
    let q: Vec<f32> = r.lowstate().motor_state[..29].iter().map(|m| m.q).collect();
    r.on_lowcmd(&cmd(100.0, 2.0, &q)).unwrap();
    let mut took_over_at = None;
    for k in 1..=10 {
        r.step();
        if r.taken_over() && took_over_at.is_none() {
            took_over_at = Some(k);
        }
    }
    assert_eq!(took_over_at, Some(6));
    // 6 ms of state latency: the frame of step 1 (2 ms) is published at step 4 (8 ms).
    let mut r = make(|p| p.state_latency_s = 0.006);
    let got: Vec<Option<u32>> = (0..6).map(|_| r.step().map(|s| s.tick)).collect();
    assert_eq!(got, [None, None, None, Some(1), Some(2), Some(3)]);
}

#[test]
fn loss_is_seeded() {
    let run = |seed| {
        let mut r = make(|p| {
            p.loss = 0.3;
            p.loss_seed = seed;
        });
        (0..1000).map(|_| r.step().is_some()).collect::<Vec<_>>()
    };
    let a = run(1);
    assert_eq!(a, run(1));
    assert_ne!(a, run(2));
    let kept = a.iter().filter(|k| **k).count();
    assert!(
        (620..=780).contains(&kept),
        "{kept} of 1000 kept at 30 % loss"
    );
}

#[test]
fn a_push_request_topples_the_held_robot_and_reset_stands_it_up() {
    let mut r = make(|_| {});
    let stand: Vec<f32> = r
        .engine()
        .robot()
        .joints
        .iter()
        .map(|j| j.default as f32)
        .collect();
    for _ in 0..2500 {
        r.on_lowcmd(&cmd(500.0, 20.0, &stand)).unwrap();
        r.step();
    }
    assert_eq!(r.gantry_strength(), 0.0);
    r.request(&SimRequestKind::Push {
        link: "torso_link".into(),
        force_n: [400.0, 0.0, 0.0],
        duration_s: 0.2,
    })
    .unwrap();
    for _ in 0..1500 {
        r.on_lowcmd(&cmd(500.0, 20.0, &stand)).unwrap();
        r.step();
    }
    let s = r.lowstate();
    assert!(
        vigor_controller::core::tilt_rad(s.imu_state.quaternion) > 0.5,
        "pushed over"
    );
    r.request(&SimRequestKind::Reset {
        scenario: "stand".into(),
        seed: 0,
    })
    .unwrap();
    r.step();
    assert!(height(&r) > 0.7);
    assert_eq!(r.gantry_strength(), 1.0, "back in the gantry");
    let err = r
        .request(&SimRequestKind::Reset {
            scenario: "cartwheel".into(),
            seed: 0,
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("supine") && err.contains("stand"), "{err}");
    let err = r
        .request(&SimRequestKind::Push {
            link: "tail".into(),
            force_n: [1.0, 0.0, 0.0],
            duration_s: 0.1,
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("no link `tail`"), "{err}");
}

/// The controller core and the simulated robot in lockstep (no network): 3 s in Passive in the
/// gantry, arm, ramp, the gantry lowers, and the stand holds on its own.
#[test]
fn controller_core_ramps_and_holds_the_simulated_robot() {
    use vigor_controller::core::{Controller, TickInput};
    use vigor_msgs::project::{Command, ControllerState};
    let mut r = make(|_| {});
    let params = vigor_controller::ControllerConfig::embedded().unwrap();
    let robot = Robot::embedded("g1_29dof").unwrap();
    let joints = crate::cmd::control::joint_specs(&robot, &params);
    let mut c = Controller::new(params, joints);
    let mut worst_tilt = 0f32;
    const ARM_AT: usize = 1500;
    for k in 0..ARM_AT + 4500 {
        let state = r.step();
        let now = r.time_s();
        let command = (k == ARM_AT).then_some(Command::Arm);
        let input = TickInput {
            now_s: now,
            lowstate: state.as_ref(),
            command,
            ..TickInput::default()
        };
        if let Some(cmd) = c.tick(&input) {
            let bytes = cmd.encode();
            r.on_lowcmd(&bytes).unwrap();
        }
        if k > ARM_AT && r.gantry_strength() == 0.0 {
            worst_tilt = worst_tilt.max(vigor_controller::core::tilt_rad(
                r.lowstate().imu_state.quaternion,
            ));
        }
    }
    assert_eq!(c.state(), ControllerState::Armed);
    assert_eq!(r.gantry_strength(), 0.0, "the gantry is down");
    assert!(
        worst_tilt < 0.1,
        "tilted {worst_tilt} rad standing on its own"
    );
    assert!(height(&r) > 0.7);
}

/// An episode reset plays the evaluation's episode even where the simulator's configuration
/// names a start pool (training's alone), and keeps the tile's seed for later resets.
#[test]
fn an_episode_reset_plays_the_evaluations_start_not_a_pooled_one() {
    use vigor_sim::engine::EngineKind;
    let mut p = SimRobotConfig::embedded().unwrap();
    p.depth_rate_hz = 0;
    p.engine = EngineKind::Mujoco;
    let mut sim = vigor_sim::SimConfig::embedded().unwrap();
    sim.env.start_pool = 4;
    let robot = Robot::embedded("g1_29dof").unwrap();
    let mut r = SimRobot::new(robot.clone(), p, &sim).unwrap();
    r.request(&SimRequestKind::Episode {
        scenario: "supine".into(),
        terrain: "rough".into(),
        difficulty: 0.5,
        seed: 3,
    })
    .unwrap();
    // The episode `vigor eval` runs in-process: no randomisation, no noise, no pool.
    let evaluation = EnvConfig {
        engine: EngineKind::Mujoco,
        randomisation: Randomisation::none(),
        noise: SensorNoise::none(),
        start_pool: 0,
        ..sim.env.clone()
    };
    let spec = EpisodeSpec {
        scenario: Scenario::Supine,
        terrain: (TerrainKind::Rough, 0.5),
        seed: 3,
    };
    let env = Env::new(&robot, &evaluation, spec).unwrap();
    assert_eq!(
        r.engine().state(),
        env.sim().state(),
        "not the evaluation's start"
    );
    assert_eq!(r.params.terrain_seed, env.terrain().seed());
    assert_eq!(r.params.terrain, TerrainKind::Rough);
}
