//! The control loop without a network: phase lock, stalls, deadline misses, the writer window,
//! status decimation, the e-stop queue and the shutdown sequence.

use super::*;
use crate::ControllerConfig;
use vigor_msgs::project::TransitionReason;

const PERIOD_NS: u64 = 2_000_000;

fn joints() -> Vec<JointSpec> {
    (0..29)
        .map(|slot| JointSpec {
            slot,
            default: 0.0,
            lower: -1.0,
            upper: 1.0,
            effort: 50.0,
            kp: 100.0,
            kd: 2.0,
            stand_kp: 100.0,
            stand_kd: 2.0,
            leg: slot < 12,
        })
        .collect()
}

fn rig() -> ControlLoop {
    let p = ControllerConfig::embedded().unwrap();
    ControlLoop::new(p, joints(), false, 0)
}

fn state(tick: u32) -> LowState {
    LowState {
        mode_machine: 5,
        tick,
        imu_state: vigor_msgs::unitree_hg::ImuState {
            quaternion: [1.0, 0.0, 0.0, 0.0],
            ..Default::default()
        },
        ..LowState::default()
    }
}

#[test]
fn ticks_lock_onto_the_phase_of_lowstate_arrivals() {
    let mut l = rig();
    // LowState arrives 1.3 ms into every period; the loop should settle PHASE_LEAD after it.
    let offset = 1_300_000;
    let mut now = l.deadline_ns();
    for k in 0..400u32 {
        let s = state(k + 1);
        let period_start = u64::from(k) * PERIOD_NS;
        let arrival = period_start + offset;
        // The tick sees the newest arrival at or before it.
        let seen = if arrival <= now {
            arrival
        } else {
            arrival - PERIOD_NS
        };
        l.step(&LoopInput {
            now_ns: now,
            lowstate: Some((&s, seen)),
            ..LoopInput::default()
        });
        now = l.deadline_ns();
    }
    let phase = (now % PERIOD_NS + PERIOD_NS - offset) % PERIOD_NS;
    let lead = (PHASE_LEAD_S * 1e9) as u64;
    assert!(
        phase.abs_diff(lead) < 20_000,
        "phase after arrival {phase} ns, wanted {lead}"
    );
}

#[test]
fn a_stall_skips_missed_ticks_counts_a_miss_and_resumes_one_period_later() {
    let mut l = rig();
    let s = state(1);
    let first = l.deadline_ns();
    l.step(&LoopInput {
        now_ns: first,
        lowstate: Some((&s, first)),
        ..LoopInput::default()
    });
    // The thread wakes 50 ms late.
    let late = first + 50_000_000;
    l.step(&LoopInput {
        now_ns: late,
        ..LoopInput::default()
    });
    assert_eq!(l.deadline_ns(), late + PERIOD_NS, "no burst to catch up");
    assert_eq!(l.core().faults().deadline_misses, 1);
    assert_eq!(l.stats().max_period_error_us, 48_000);
}

#[test]
fn another_writer_counts_for_half_a_second() {
    let mut l = rig();
    let s = state(1);
    let t0 = 1_000_000_000;
    l.step(&LoopInput {
        now_ns: t0,
        lowstate: Some((&s, t0)),
        other_writer_ns: t0 - 400_000_000,
        command: Some(Command::Arm),
        ..LoopInput::default()
    });
    assert_eq!(l.core().state(), ControllerState::Passive);
    let s2 = state(2);
    l.step(&LoopInput {
        now_ns: t0 + 200_000_000,
        lowstate: Some((&s2, t0 + 200_000_000)),
        other_writer_ns: t0 - 400_000_000,
        command: Some(Command::Arm),
        ..LoopInput::default()
    });
    assert_eq!(
        l.core().state(),
        ControllerState::Ramp,
        "0.6 s after the foreign frame"
    );
}

#[test]
fn status_every_decimation_ticks_and_on_transitions() {
    let mut l = rig();
    let p = ControllerConfig::embedded().unwrap();
    let mut statuses = Vec::new();
    let mut now = 0;
    for k in 0..200u32 {
        now += PERIOD_NS;
        let s = state(k + 1);
        let command = (k == 120).then_some(Command::Arm);
        let out = l.step(&LoopInput {
            now_ns: now,
            lowstate: Some((&s, now)),
            command,
            ..LoopInput::default()
        });
        if let Some(st) = out.status {
            statuses.push((k, st));
        }
    }
    let ticks: Vec<u32> = statuses.iter().map(|(k, _)| *k).collect();
    let every = p.status_decimation;
    // A transition at tick 0 (the first state: no, Passive stays Passive) and the arm at 120.
    assert!(ticks.contains(&120), "{ticks:?}");
    assert!(
        ticks.contains(&(every - 1)) && ticks.contains(&(2 * every - 1)),
        "{ticks:?}"
    );
    let seqs: Vec<u64> = statuses.iter().map(|(_, s)| s.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

#[test]
fn an_estop_empties_the_command_queue() {
    let mut q = CommandQueue::new();
    assert!(q.push(Command::Clear));
    assert!(q.push(Command::Arm));
    assert!(q.push(Command::EStop));
    assert_eq!(q.pop(), Some(Command::EStop));
    assert_eq!(q.pop(), None, "a queued clear or arm survived the e-stop");
    // Heartbeats are never queued; the queue is bounded but an e-stop always gets in.
    assert!(!q.push(Command::Heartbeat));
    for _ in 0..COMMAND_QUEUE {
        assert!(q.push(Command::Disarm));
    }
    assert!(!q.push(Command::Arm));
    assert!(q.push(Command::EStop));
    assert_eq!(q.pop(), Some(Command::EStop));
    assert_eq!(q.pop(), None);
}

#[test]
fn stop_damps_for_the_exit_time_then_finishes() {
    let mut l = rig();
    let p = ControllerConfig::embedded().unwrap();
    let mut now = 0;
    let mut tick = 0;
    let mut step = |l: &mut ControlLoop, command, stop| {
        now += PERIOD_NS;
        tick += 1;
        let s = state(tick);
        l.step(&LoopInput {
            now_ns: now,
            lowstate: Some((&s, now)),
            command,
            stop,
            ..LoopInput::default()
        })
    };
    step(&mut l, Some(Command::Arm), false);
    for _ in 0..1500 {
        step(&mut l, None, false);
    }
    assert_eq!(l.core().state(), ControllerState::Armed);
    let out = step(&mut l, None, true);
    assert_eq!(l.core().state(), ControllerState::Damping);
    assert_eq!(
        out.transition.map(|t| t.reason),
        Some(TransitionReason::Shutdown)
    );
    let cmd = l.command().unwrap();
    assert!(
        cmd.motor_cmd[..29]
            .iter()
            .all(|m| m.kp == 0.0 && m.kd == p.damping_kd)
    );
    let mut frames = 1u32;
    loop {
        let out = step(&mut l, Some(Command::Clear), true);
        assert!(out.send);
        assert_eq!(
            l.core().state(),
            ControllerState::Damping,
            "a clear while stopping"
        );
        if out.finished {
            break;
        }
        frames += 1;
        assert!(frames < 1000);
    }
    let expected = (p.exit_damping_s / p.control_dt_s).round() as u32;
    assert!(frames.abs_diff(expected) <= 1, "{frames} damping frames");
}

#[test]
fn a_dead_thread_damps_and_finishes() {
    let mut l = rig();
    let s = state(1);
    let out = l.step(&LoopInput {
        now_ns: PERIOD_NS,
        lowstate: Some((&s, PERIOD_NS)),
        thread_died: true,
        ..LoopInput::default()
    });
    assert!(out.send);
    assert_eq!(l.core().state(), ControllerState::Damping);
    assert_eq!(
        out.transition.map(|t| t.reason),
        Some(TransitionReason::ThreadDied)
    );
}

#[test]
fn stale_depth_matters_only_to_policies_that_read_it() {
    for (reads, expected) in [
        (false, ControllerState::Active),
        (true, ControllerState::Active),
    ] {
        let p = ControllerConfig::embedded().unwrap();
        let mut l = ControlLoop::new(p, joints(), reads, 0);
        let mut now = 0;
        for k in 0..1500u32 {
            now += PERIOD_NS;
            let s = state(k + 1);
            let command = match k {
                0 => Some(Command::Arm),
                1499 => Some(Command::Engage),
                _ => None,
            };
            l.step(&LoopInput {
                now_ns: now,
                lowstate: Some((&s, now)),
                command,
                depth_ns: now,
                ..LoopInput::default()
            });
        }
        assert_eq!(l.core().state(), expected);
        let s = state(5000);
        now += PERIOD_NS;
        l.step(&LoopInput {
            now_ns: now,
            lowstate: Some((&s, now)),
            targets: Some(&[0.0; 29]),
            depth_ns: now - 1_000_000_000,
            ..LoopInput::default()
        });
        assert_eq!(
            l.core().faults().depth_stale,
            u32::from(reads),
            "reads depth: {reads}"
        );
    }
}

#[test]
fn frames_the_node_dropped_as_non_finite_are_counted_once_each() {
    let mut l = rig();
    let s = state(5000);
    let mut now = l.deadline_ns();
    for (dropped, expected) in [(3, 3), (3, 3), (5, 5)] {
        l.step(&LoopInput {
            now_ns: now,
            lowstate: Some((&s, now)),
            nonfinite_states: dropped,
            ..LoopInput::default()
        });
        assert_eq!(l.core().faults().nonfinite_states, expected);
        now = l.deadline_ns();
    }
}
