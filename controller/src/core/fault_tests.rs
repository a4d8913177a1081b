//! The fault rules of issue 16, tick by tick: bad or frozen LowState, policy liveness, motor
//! errors, the remote's e-stop, the operator deadman, another writer while driving, shutdown,
//! NaN-safe clamps and the 23-DoF robot's motor slots.

use super::tests::{DT, Rig, joints, params, state};
use super::*;

fn damping(cmd: &LowCmd, slots: impl Iterator<Item = usize>) -> bool {
    slots.into_iter().all(|i| {
        let m = &cmd.motor_cmd[i];
        m.mode == 1 && m.kp == 0.0 && m.kd == params().damping_kd && m.q.is_finite()
    })
}

#[test]
fn nonfinite_lowstate_is_dropped_counted_and_never_panics() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut r = Rig::armed();
        let good = r.s.clone();
        for poison in 0..4 {
            r.s = good.clone();
            match poison {
                0 => r.s.motor_state[5].q = bad,
                1 => r.s.motor_state[20].dq = bad,
                2 => r.s.imu_state.quaternion[1] = bad,
                _ => r.s.imu_state.gyroscope[2] = bad,
            }
            let cmd = r.tick(None);
            assert!(
                cmd.motor_cmd[..29].iter().all(|m| m.q.is_finite()),
                "{bad} in field {poison} reached a command"
            );
        }
        assert_eq!(r.c.faults().nonfinite_states, 4, "{bad}");
        assert_eq!(
            r.c.state(),
            ControllerState::Armed,
            "one bad frame is dropped"
        );
        // A stream of them goes stale like a silent one.
        r.s.motor_state[0].q = bad;
        r.run(params().lowstate_timeout_s + 3.0 * DT);
        assert_eq!(r.c.state(), ControllerState::Damping);
        assert_eq!(r.c.status(0, 0).reason, TransitionReason::LowStateStale);
    }
}

#[test]
fn a_frozen_tick_is_stale_even_while_frames_keep_coming() {
    let mut r = Rig::armed();
    let frozen = r.s.clone();
    let start = r.t;
    let mut damped = None;
    for k in 1..100 {
        r.t += DT;
        r.c.tick(&TickInput {
            now_s: r.t,
            lowstate: Some(&frozen),
            ..TickInput::default()
        });
        if r.c.state() == ControllerState::Damping {
            damped = Some(k);
            break;
        }
    }
    let k = damped.expect("a frozen stream never went stale");
    let timeout_ticks = (params().lowstate_timeout_s / DT).round() as usize;
    assert!(k <= timeout_ticks + 2, "stale after {k} ticks");
    assert_eq!(r.c.status(0, 0).reason, TransitionReason::LowStateStale);
    assert!(r.c.faults().repeated_states as usize >= k - 1);
    // Advancing ticks again bring it back (the watchdog is not latched).
    r.tick(None);
    assert_eq!(r.c.state(), ControllerState::Passive);
    assert!(r.t - start < 1.0);
}

#[test]
fn clamps_never_panic_and_keep_targets_in_the_limits() {
    for (x, lo, hi) in [
        (f32::NAN, -1.0, 1.0),
        (0.5, f32::NAN, 1.0),
        (0.5, -1.0, f32::NAN),
        (2.0, 1.0, -1.0),
        (f32::INFINITY, -1.0, 1.0),
        (f32::NEG_INFINITY, f32::NEG_INFINITY, f32::INFINITY),
    ] {
        let y = clamp_or(x, lo, hi, 0.0);
        assert!(!y.is_nan(), "clamp_or({x}, {lo}, {hi}) = {y}");
    }
    assert_eq!(clamp_or(f32::NAN, -1.0, 1.0, 0.25), 0.25);
    assert_eq!(clamp_or(5.0, -1.0, 1.0, 0.0), 1.0);
}

#[test]
fn active_without_fresh_actions_damps_after_the_policy_watchdog() {
    // No action at all after engaging.
    let mut r = Rig::armed();
    r.tick(Some(Command::Engage));
    let engaged = r.t;
    while r.c.state() == ControllerState::Active {
        r.tick(None);
        assert!(r.t - engaged < 1.0, "never damped");
    }
    let after = r.t - engaged;
    let timeout = params().policy_timeout_s;
    assert!(after > timeout && after <= timeout + 2.0 * DT, "{after} s");
    assert_eq!(r.c.status(0, 0).reason, TransitionReason::PolicyStale);
    assert!(r.c.latched());
    assert_eq!(r.c.faults().policy_stale, 1);
    // Actions that stop mid-way: stale after the watchdog from the last one.
    let mut r = Rig::armed();
    r.tick(Some(Command::Engage));
    r.run_acting(0.5);
    assert_eq!(
        r.c.state(),
        ControllerState::Active,
        "fresh actions keep it"
    );
    r.act(0.0);
    let last = r.t;
    let cmd = r.run(timeout + 2.0 * DT);
    assert_eq!(r.c.state(), ControllerState::Damping);
    assert!(damping(&cmd, 0..29));
    assert!(r.t - last > timeout);
}

#[test]
fn a_motor_error_code_latches_damping() {
    let mut r = Rig::armed();
    r.s.motor_state[9].motorstate = 0x20;
    let cmd = r.tick(None);
    assert_eq!(r.c.state(), ControllerState::Damping);
    assert_eq!(r.c.status(0, 0).reason, TransitionReason::MotorFault);
    assert!(damping(&cmd, 0..29));
    assert_eq!(r.c.faults().motor_errors, 1);
    r.s.motor_state[9].motorstate = 0;
    r.run(0.2);
    assert_eq!(r.c.state(), ControllerState::Damping, "latched");
    r.tick(Some(Command::Clear));
    assert_eq!(r.c.state(), ControllerState::Passive);
    // An error on an unused slot is not this robot's motor.
    let mut r = Rig::armed();
    r.s.motor_state[31].motorstate = 1;
    r.tick(None);
    assert_eq!(r.c.state(), ControllerState::Armed);
}

#[test]
fn the_remotes_select_button_is_an_estop_until_released_and_cleared() {
    let mut r = Rig::armed();
    r.s.wireless_remote[2] = 0x08;
    let cmd = r.tick(None);
    assert_eq!(r.c.state(), ControllerState::Damping);
    assert_eq!(r.c.status(0, 0).reason, TransitionReason::RemoteEStop);
    assert!(r.c.latched() && damping(&cmd, 0..29));
    r.tick(Some(Command::Clear));
    assert_eq!(r.c.state(), ControllerState::Damping, "still pressed");
    // Other buttons (A = bit 8) are not e-stops.
    r.s.wireless_remote[2] = 0x00;
    r.s.wireless_remote[3] = 0x01;
    r.tick(Some(Command::Clear));
    assert_eq!(r.c.state(), ControllerState::Passive);
}

#[test]
fn the_operator_deadman_refuses_arming_and_damps_when_heartbeats_stop() {
    let mut p = params();
    p.operator_timeout_s = Some(0.3);
    let mut c = Controller::new(p, joints());
    let mut s = state(0.3, 0.0);
    let mut t = 0.0;
    let mut tick = |c: &mut Controller, command, heartbeat_s| {
        t += DT;
        s.tick += 1;
        c.tick(&TickInput {
            now_s: t,
            lowstate: Some(&s),
            command,
            heartbeat_s,
            ..TickInput::default()
        });
        t
    };
    tick(&mut c, Some(Command::Arm), None);
    assert_eq!(c.state(), ControllerState::Passive, "no operator, no arm");
    assert_eq!(c.status(0, 0).reason, TransitionReason::OperatorLost);
    let hb = tick(&mut c, None, None);
    tick(&mut c, Some(Command::Arm), Some(hb));
    assert_eq!(c.state(), ControllerState::Ramp);
    // Heartbeats every 0.1 s through the ramp keep it going.
    let (mut last, mut now) = (hb, hb);
    for k in 0..1500 {
        if k % 50 == 0 {
            last = now + DT;
        }
        now = tick(&mut c, None, Some(last));
    }
    assert_eq!(c.state(), ControllerState::Armed);
    // They stop: Damping once 0.3 s have passed since the last one.
    let stopped = last;
    let mut when = None;
    for _ in 0..400 {
        let now = tick(&mut c, None, Some(stopped));
        if c.state() == ControllerState::Damping {
            when = Some(now - stopped);
            break;
        }
    }
    let when = when.expect("never damped");
    assert!(when > 0.3 && when <= 0.3 + 2.0 * DT, "{when}");
    assert_eq!(c.status(0, 0).reason, TransitionReason::OperatorLost);
    assert!(c.latched());
    assert_eq!(c.faults().operator_lost, 1);
}

#[test]
fn another_writer_while_driving_latches_damping_and_is_counted_once_per_appearance() {
    let mut r = Rig::armed();
    for _ in 0..3 {
        r.t += DT;
        r.n += 1;
        r.s.tick = r.n;
        let s = r.s.clone();
        r.c.tick(&TickInput {
            now_s: r.t,
            lowstate: Some(&s),
            other_writer: true,
            ..TickInput::default()
        });
    }
    assert_eq!(r.c.state(), ControllerState::Damping);
    assert_eq!(r.c.status(0, 0).reason, TransitionReason::OtherWriter);
    assert!(r.c.latched());
    assert_eq!(r.c.faults().other_writers, 1, "one appearance");
}

#[test]
fn shutdown_sends_damping_from_the_same_tick() {
    let mut r = Rig::armed();
    r.tick(Some(Command::Engage));
    r.act(0.3);
    r.tick(None);
    r.c.shutdown(r.t);
    let cmd = r.tick(Some(Command::Clear));
    assert_eq!(r.c.state(), ControllerState::Damping);
    assert_eq!(r.c.status(0, 0).reason, TransitionReason::Shutdown);
    assert!(damping(&cmd, 0..29));
}

/// The G1 23-DoF's joints by slot: the 29-DoF's without 13, 14, 20, 21, 27, 28.
fn joints_23dof() -> Vec<JointSpec> {
    let skip = [13, 14, 20, 21, 27, 28];
    let all = joints();
    (0..29)
        .filter(|s| !skip.contains(s))
        .map(|slot| JointSpec {
            slot,
            default: 0.01 * slot as f32,
            ..all[slot]
        })
        .collect()
}

#[test]
fn a_23_dof_robot_is_commanded_by_motor_slot() {
    let mut p = params();
    p.mode_machine = 4;
    let joints = joints_23dof();
    assert_eq!(joints.len(), 23);
    check_joint_table(&p, 4, &joints).unwrap();
    let mut c = Controller::new(p, joints.clone());
    let mut s = state(0.0, 0.0);
    s.mode_machine = 4;
    for (k, m) in s.motor_state.iter_mut().enumerate() {
        m.q = k as f32 * 0.001;
    }
    let mut t = 0.0;
    let mut cmd = LowCmd::default();
    for k in 0..2000 {
        t += DT;
        s.tick += 1;
        let command = (k == 0).then_some(Command::Arm);
        cmd = c
            .tick(&TickInput {
                now_s: t,
                lowstate: Some(&s),
                command,
                ..TickInput::default()
            })
            .unwrap()
            .clone();
    }
    assert_eq!(c.state(), ControllerState::Armed);
    assert_eq!(cmd.mode_machine, 4);
    for j in &joints {
        let m = &cmd.motor_cmd[j.slot];
        assert_eq!((m.mode, m.q), (1, j.default), "slot {}", j.slot);
    }
    for slot in [13, 14, 20, 21, 27, 28, 29, 34] {
        assert_eq!(
            cmd.motor_cmd[slot],
            MotorCmd::default(),
            "slot {slot} driven"
        );
    }
    // The policy's action i goes to joint i's slot.
    c.tick(&TickInput {
        now_s: t + DT,
        lowstate: None,
        command: Some(Command::Engage),
        ..TickInput::default()
    });
    let mut action = [0.0f32; 23];
    action[13] = 0.4; // joint 13 is slot 15, the left shoulder pitch
    c.set_action(&action, ActionMode::DefaultOffset, 0.25, t + DT);
    s.tick += 1;
    let cmd = c
        .tick(&TickInput {
            now_s: t + 2.0 * DT,
            lowstate: Some(&s),
            ..TickInput::default()
        })
        .unwrap();
    assert_eq!(joints[13].slot, 15);
    assert!((cmd.motor_cmd[15].q - (joints[13].default + 0.1)).abs() < 1e-6);
    assert_eq!(cmd.motor_cmd[13], MotorCmd::default());
}

#[test]
fn a_joint_table_that_disagrees_with_the_config_is_refused() {
    let p = params();
    assert_eq!(
        check_joint_table(&p, 4, &joints()),
        Err(JointTableError::ModeMachine {
            config: 5,
            robot: 4
        })
    );
    let mut bad = joints();
    bad[3].slot = 2;
    assert_eq!(
        check_joint_table(&p, 5, &bad),
        Err(JointTableError::Slot { index: 3, slot: 2 })
    );
    bad[3].slot = 35;
    assert!(check_joint_table(&p, 5, &bad).is_err());
    assert_eq!(check_joint_table(&p, 5, &[]), Err(JointTableError::Empty));
    check_joint_table(&p, 5, &joints()).unwrap();
}
