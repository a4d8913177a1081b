//! The controller's state machine and safety rules, tick by tick, without a network.

use super::*;
use crate::ControllerConfig;

pub(super) const DT: f64 = 0.002;

pub(super) fn params() -> ControllerParams {
    ControllerConfig::embedded().unwrap()
}

pub(super) fn joints() -> Vec<JointSpec> {
    (0..29)
        .map(|i| JointSpec {
            slot: i,
            default: 0.1 * (i % 3) as f32,
            lower: -1.0,
            upper: 1.0,
            effort: 50.0,
            kp: 100.0,
            kd: 2.0,
            stand_kp: 100.0,
            stand_kd: 2.0,
            leg: i < 12,
        })
        .collect()
}

/// A LowState with all joints at `q`, tilted by `tilt` rad about x.
pub(super) fn state(q: f32, tilt: f32) -> LowState {
    let mut s = LowState {
        mode_machine: 5,
        ..LowState::default()
    };
    s.imu_state.quaternion = [(tilt / 2.0).cos(), (tilt / 2.0).sin(), 0.0, 0.0];
    for m in &mut s.motor_state[..29] {
        m.q = q;
    }
    s
}

pub(super) struct Rig {
    pub(super) c: Controller,
    pub(super) t: f64,
    pub(super) s: LowState,
    /// The robot's tick counter: advanced on every fresh state, whatever `s` is set to.
    pub(super) n: u32,
}

impl Rig {
    pub(super) fn new() -> Self {
        Self {
            c: Controller::new(params(), joints()),
            t: 0.0,
            s: state(0.3, 0.0),
            n: 0,
        }
    }

    /// One tick with the current state fresh (its `tick` advanced), and `command`.
    pub(super) fn tick(&mut self, command: Option<Command>) -> LowCmd {
        self.t += DT;
        self.n += 1;
        self.s.tick = self.n;
        let s = self.s.clone();
        let input = TickInput {
            now_s: self.t,
            lowstate: Some(&s),
            command,
            ..TickInput::default()
        };
        self.c.tick(&input).unwrap().clone()
    }

    /// Posts an all-`a` action now, as the policy thread does every policy period.
    pub(super) fn act(&mut self, a: f32) {
        self.c
            .set_action(&[a; 29], ActionMode::DefaultOffset, 0.25, self.t);
    }

    pub(super) fn run(&mut self, seconds: f64) -> LowCmd {
        let mut last = self.tick(None);
        for _ in 1..(seconds / DT).round() as usize {
            last = self.tick(None);
        }
        last
    }

    /// Like [`Rig::run`], with a zero action posted every policy period (10 ticks).
    pub(super) fn run_acting(&mut self, seconds: f64) {
        for k in 0..(seconds / DT).round() as usize {
            if k % 10 == 0 {
                self.act(0.0);
            }
            self.tick(None);
        }
    }

    pub(super) fn armed() -> Self {
        let mut r = Self::new();
        r.tick(Some(Command::Arm));
        r.run(f64::from(params().ramp_duration_s) + 0.01);
        assert_eq!(r.c.state(), ControllerState::Armed);
        r
    }
}

#[test]
fn no_command_before_the_first_lowstate_then_damping_around_the_measured_pose() {
    let mut c = Controller::new(params(), joints());
    for k in 0..10 {
        let input = TickInput {
            now_s: k as f64 * DT,
            ..TickInput::default()
        };
        assert!(c.tick(&input).is_none(), "commanded before any LowState");
    }
    let s = state(0.4, 0.0);
    let cmd = c
        .tick(&TickInput {
            now_s: 0.03,
            lowstate: Some(&s),
            ..TickInput::default()
        })
        .unwrap()
        .clone();
    assert_eq!(c.state(), ControllerState::Passive);
    assert_eq!(cmd.mode_machine, 5);
    for m in &cmd.motor_cmd[..29] {
        assert_eq!((m.mode, m.q, m.kp, m.kd), (1, 0.4, 0.0, 8.0));
    }
    assert!(cmd.motor_cmd[29..].iter().all(|m| m.mode == 0));
    assert_eq!(cmd.crc, cmd.compute_crc());
}

#[test]
fn an_arm_before_the_first_lowstate_is_refused_with_its_reason_and_an_estop_latches() {
    let before = |c: &mut Controller, k: u32, command| {
        let input = TickInput {
            now_s: f64::from(k) * DT,
            command,
            ..TickInput::default()
        };
        assert!(c.tick(&input).is_none(), "commanded before any LowState");
    };
    let s = state(0.4, 0.0);
    let with_state = |c: &mut Controller, k: u32, command| {
        let mut s = s.clone();
        s.tick = k;
        c.tick(&TickInput {
            now_s: f64::from(k) * DT,
            lowstate: Some(&s),
            command,
            ..TickInput::default()
        })
        .unwrap()
        .clone()
    };

    // An Arm with nothing to command: refused, and the status says why.
    let mut c = Controller::new(params(), joints());
    before(&mut c, 1, Some(Command::Arm));
    let t = c.take_transition().expect("the refusal is a transition");
    assert_eq!(
        (t.from, t.to, t.reason),
        (
            ControllerState::Passive,
            ControllerState::Passive,
            TransitionReason::NoLowState
        )
    );
    assert_eq!(c.status(0, 0).reason, TransitionReason::NoLowState);
    // The refused Arm is not remembered: the first state finds the controller Passive, and an
    // Arm then ramps.
    with_state(&mut c, 2, None);
    assert_eq!(c.state(), ControllerState::Passive);
    with_state(&mut c, 3, Some(Command::Arm));
    assert_eq!(c.state(), ControllerState::Ramp);

    // An e-stop with nothing to command latches: the first frames are damping, and an Arm does
    // not undo it.
    let mut c = Controller::new(params(), joints());
    before(&mut c, 1, Some(Command::EStop));
    assert_eq!(c.state(), ControllerState::Damping);
    let cmd = with_state(&mut c, 2, Some(Command::Arm));
    assert_eq!(
        (c.state(), c.status(0, 0).reason, c.status(0, 0).latched),
        (ControllerState::Damping, TransitionReason::EStop, true)
    );
    for m in &cmd.motor_cmd[..29] {
        assert_eq!((m.kp, m.kd), (0.0, 8.0));
    }
}

#[test]
fn arming_a_robot_that_is_already_down_engages_the_policy_without_a_ramp() {
    let mut r = Rig::new();
    r.s = state(0.3, 80f32.to_radians());
    r.tick(None);
    r.tick(Some(Command::Arm));
    assert_eq!(r.c.state(), ControllerState::Active);
    let t = r.c.take_transition().unwrap();
    assert_eq!(
        (t.from, t.to, t.reason),
        (
            ControllerState::Passive,
            ControllerState::Active,
            TransitionReason::TiltEngaged
        )
    );
    // The policy's targets drive it from its first step, with the policy's gains.
    r.act(0.0);
    let cmd = r.tick(None);
    for (i, j) in joints().iter().enumerate() {
        assert_eq!(
            (cmd.motor_cmd[i].kp, cmd.motor_cmd[i].kd),
            (j.kp, j.kd),
            "joint {i}"
        );
    }
    // Upright, the same command ramps as before.
    let mut r = Rig::new();
    r.tick(Some(Command::Arm));
    assert_eq!(r.c.state(), ControllerState::Ramp);
}

#[test]
fn arm_ramps_linearly_from_the_measured_pose_then_holds_the_stand() {
    let mut r = Rig::new();
    r.tick(Some(Command::Arm));
    assert_eq!(r.c.state(), ControllerState::Ramp);
    let half = f64::from(params().ramp_duration_s) / 2.0;
    let cmd = r.run(half - DT);
    // Halfway between 0.3 (measured) and the stand pose.
    for (i, j) in joints().iter().enumerate() {
        let expected = 0.3 + (j.default - 0.3) * 0.5;
        assert!(
            (cmd.motor_cmd[i].q - expected).abs() < 0.01,
            "joint {i}: {}",
            cmd.motor_cmd[i].q
        );
        assert_eq!(cmd.motor_cmd[i].kp, 100.0);
    }
    r.run(half + 0.01);
    assert_eq!(r.c.state(), ControllerState::Armed);
    let t = r.c.take_transition().unwrap();
    assert_eq!(
        (t.to, t.reason),
        (ControllerState::Armed, TransitionReason::RampComplete)
    );
    let cmd = r.tick(None);
    for (i, j) in joints().iter().enumerate() {
        assert_eq!(cmd.motor_cmd[i].q, j.default);
    }
}

#[test]
fn the_stand_pose_is_held_within_the_torque_band_but_policy_targets_are_not() {
    let mut r = Rig::armed();
    // Armed, joints pushed 0.9 rad from the stand pose: the stand target is q + effort / kp.
    r.s = state(-0.9, 0.0);
    let cmd = r.tick(None);
    assert_eq!(r.c.state(), ControllerState::Armed);
    assert!(
        (cmd.motor_cmd[0].q - (-0.9 + 0.5)).abs() < 1e-6,
        "{}",
        cmd.motor_cmd[0].q
    );
    // Engaged, the policy's target 0.9 rad away reaches the motor unchanged.
    r.s = state(-0.9, 25f32.to_radians());
    r.tick(None);
    assert_eq!(r.c.state(), ControllerState::Active);
    r.c.set_targets(&[0.0; 29], r.t);
    let cmd = r.tick(None);
    assert_eq!(cmd.motor_cmd[0].q, 0.0);
}

#[test]
fn tilt_engages_the_policy_and_recovery_hands_back() {
    let mut r = Rig::armed();
    r.s = state(0.3, 15f32.to_radians());
    r.tick(None);
    assert_eq!(
        r.c.state(),
        ControllerState::Armed,
        "15° is under the 20° threshold"
    );
    r.s = state(0.3, 25f32.to_radians());
    r.tick(None);
    assert_eq!(r.c.state(), ControllerState::Active);
    assert_eq!(r.c.status(0, 0).reason, TransitionReason::TiltEngaged);
    // The policy's targets: default + 0.25 · a, clamped to the limits.
    let mut action = vec![0.4; 29];
    action[0] = 100.0;
    r.c.set_action(&action, ActionMode::DefaultOffset, 0.25, r.t);
    let cmd = r.tick(None);
    assert!((cmd.motor_cmd[1].q - (joints()[1].default + 0.1)).abs() < 1e-6);
    assert_eq!(
        cmd.motor_cmd[0].q, 1.0,
        "the policy's targets are clamped to the joint limits only, as in training"
    );
    // Upright and still but sitting (knees far from the stand pose): not recovered.
    r.s = state(1.5, 5f32.to_radians());
    r.run_acting(f64::from(params().recovered_hold_s) + 0.1);
    assert_eq!(
        r.c.state(),
        ControllerState::Active,
        "sitting upright is not standing"
    );
    // Upright and still for less than the hold time: still Active; then Armed.
    r.s = state(0.3, 5f32.to_radians());
    r.run_acting(f64::from(params().recovered_hold_s) * 0.5);
    assert_eq!(r.c.state(), ControllerState::Active);
    r.run_acting(f64::from(params().recovered_hold_s) * 0.5 + 0.01);
    assert_eq!(r.c.state(), ControllerState::Armed);
    assert_eq!(r.c.status(0, 0).reason, TransitionReason::Recovered);
}

#[test]
fn targets_are_clamped_to_joint_limits() {
    let mut r = Rig::armed();
    r.tick(Some(Command::Engage));
    assert_eq!(r.c.state(), ControllerState::Active);
    r.s = state(0.9, 0.0);
    r.c.set_action(&[40.0; 29], ActionMode::CurrentDelta, 0.25, r.t);
    let cmd = r.tick(None);
    assert!(
        cmd.motor_cmd[..29].iter().all(|m| m.q == 1.0),
        "upper limit 1.0"
    );
}

#[test]
fn stale_lowstate_damps_within_the_watchdog_and_returns_to_passive() {
    let mut r = Rig::armed();
    let timeout = params().lowstate_timeout_s;
    // Frames stop: Damping once the watchdog expires, not before.
    let stopped = r.t;
    let mut damped_at = None;
    for k in 1..100 {
        let now = stopped + k as f64 * DT;
        let cmd =
            r.c.tick(&TickInput {
                now_s: now,
                ..TickInput::default()
            })
            .unwrap()
            .clone();
        if r.c.state() == ControllerState::Damping {
            assert!(
                cmd.motor_cmd[..29]
                    .iter()
                    .all(|m| m.kp == 0.0 && m.kd == 8.0)
            );
            damped_at = Some(now - stopped);
            break;
        }
    }
    let damped_at = damped_at.expect("never damped");
    assert!(
        damped_at > timeout && damped_at <= timeout + 2.0 * DT,
        "after {damped_at} s"
    );
    assert!(!r.c.latched());
    assert_eq!(r.c.faults().lowstate_stale, 1);
    r.t = stopped + 0.5;
    r.tick(None);
    assert_eq!(r.c.state(), ControllerState::Passive);
}

#[test]
fn estop_damps_in_the_same_tick_and_latches_until_cleared() {
    let mut r = Rig::armed();
    let cmd = r.tick(Some(Command::EStop));
    assert_eq!(r.c.state(), ControllerState::Damping);
    assert!(cmd.motor_cmd[..29].iter().all(|m| m.kp == 0.0));
    assert!(r.c.latched());
    r.tick(Some(Command::Arm));
    assert_eq!(
        r.c.state(),
        ControllerState::Damping,
        "arm must not clear an e-stop"
    );
    r.run(1.0);
    assert_eq!(r.c.state(), ControllerState::Damping);
    r.tick(Some(Command::Clear));
    assert_eq!(r.c.state(), ControllerState::Passive);
    assert!(!r.c.latched());
}

#[test]
fn a_nonfinite_action_latches_damping() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut r = Rig::armed();
        r.tick(Some(Command::Engage));
        let mut action = vec![0.0; 29];
        action[7] = bad;
        r.c.set_action(&action, ActionMode::DefaultOffset, 0.25, r.t);
        let cmd = r.tick(None);
        assert_eq!(r.c.state(), ControllerState::Damping, "{bad}");
        assert!(
            cmd.motor_cmd[..29]
                .iter()
                .all(|m| m.kp == 0.0 && m.q.is_finite())
        );
        assert_eq!(r.c.faults().nonfinite_actions, 1);
        assert_eq!(r.c.status(0, 0).reason, TransitionReason::NonFiniteAction);
        assert!(r.c.latched());
    }
}

#[test]
fn arming_is_refused_while_another_writer_is_active() {
    let mut r = Rig::new();
    r.t += DT;
    let s = r.s.clone();
    r.c.tick(&TickInput {
        now_s: r.t,
        lowstate: Some(&s),
        command: Some(Command::Arm),
        other_writer: true,
        ..TickInput::default()
    });
    assert_eq!(r.c.state(), ControllerState::Passive);
    assert_eq!(r.c.status(0, 0).reason, TransitionReason::OtherWriter);
    r.tick(Some(Command::Arm));
    assert_eq!(
        r.c.state(),
        ControllerState::Ramp,
        "arms once the other writer is gone"
    );
}

#[test]
fn motor_overheat_damps_and_latches() {
    let mut r = Rig::armed();
    r.s.motor_state[3].temperature = [params().max_winding_c, 40];
    r.tick(None);
    assert_eq!(r.c.state(), ControllerState::Damping);
    assert_eq!(r.c.status(0, 0).reason, TransitionReason::MotorFault);
    assert!(r.c.latched());
}

#[test]
fn stale_depth_follows_the_configured_action() {
    for (action, expected) in [
        (DepthStaleAction::Blind, ControllerState::Active),
        (DepthStaleAction::Damping, ControllerState::Damping),
    ] {
        let mut p = params();
        p.depth_stale_action = action;
        let mut c = Controller::new(p, joints());
        let mut s = state(0.3, 0.0);
        let mut t = 0.0;
        let mut tick = |c: &mut Controller, command, depth_stale| {
            t += DT;
            s.tick += 1;
            c.tick(&TickInput {
                now_s: t,
                lowstate: Some(&s),
                command,
                depth_stale,
                ..TickInput::default()
            });
        };
        tick(&mut c, Some(Command::Arm), false);
        for _ in 0..2000 {
            tick(&mut c, None, false);
        }
        tick(&mut c, Some(Command::Engage), false);
        assert_eq!(c.state(), ControllerState::Active);
        tick(&mut c, None, true);
        assert_eq!(c.state(), expected, "{action:?}");
        assert_eq!(c.faults().depth_stale, 1);
    }
}

#[test]
fn tilt_is_the_angle_from_vertical() {
    assert_eq!(tilt_rad([1.0, 0.0, 0.0, 0.0]), 0.0);
    let a = 0.7f32;
    assert!((tilt_rad([(a / 2.0).cos(), 0.0, (a / 2.0).sin(), 0.0]) - a).abs() < 1e-5);
    // Yaw does not tilt.
    assert!(tilt_rad([(a / 2.0).cos(), 0.0, 0.0, (a / 2.0).sin()]).abs() < 1e-3);
}
