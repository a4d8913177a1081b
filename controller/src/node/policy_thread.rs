//! The policy thread: observation, inference at the policy rate, action posted back.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vigor_msgs::unitree_hg::LowState;
use vigor_policy::{ObservationLayout, Policy, Proprioception};

use super::PolicySlot;
use crate::timing::{LoopStats, bin};

/// Runs until `stop`: every `period`, the newest state becomes an observation (the shared
/// builder), the policy acts, and the action is posted to `slot`.
pub(super) fn policy_loop(
    policy: &Policy,
    layout: &ObservationLayout,
    default_q: &[f32],
    slot: &PolicySlot,
    stop: &AtomicBool,
    period: Duration,
    result: &Mutex<Option<LoopStats>>,
) {
    let n = default_q.len();
    let mut obs = vec![0.0f32; layout.len()];
    let mut last_action = vec![0.0f32; n];
    let (mut q, mut dq) = (vec![0.0f32; n], vec![0.0f32; n]);
    let mut state = LowState::default();
    let mut stats = LoopStats::new();
    let mut seq = 0u64;
    let start = Instant::now();
    let mut k = 0u32;
    while !stop.load(Ordering::SeqCst) {
        k += 1;
        let next = start + period * k;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let active = match slot.state.lock() {
            Ok(s) => {
                state.clone_from(&s.0);
                s.1
            }
            Err(_) => return,
        };
        for (i, m) in state.motor_state[..n].iter().enumerate() {
            q[i] = m.q;
            dq[i] = m.dq;
        }
        if !active {
            last_action.fill(0.0);
        }
        layout.write_proprioception(
            &Proprioception {
                gyro: state.imu_state.gyroscope,
                quat_wxyz: state.imu_state.quaternion,
                q: &q,
                dq: &dq,
                default_q,
                last_action: &last_action,
            },
            &mut obs,
        );
        let t0 = Instant::now();
        let out = policy.act(&obs);
        let us = t0.elapsed().as_micros() as u64;
        bin(&mut stats.policy_us, us);
        stats.max_policy_us = stats.max_policy_us.max(us);
        stats.policy_steps += 1;
        let action = match out {
            Ok(a) if a.len() == n => a,
            // A policy that fails to run is treated like one that outputs NaN.
            _ => vec![f32::NAN; n],
        };
        last_action.copy_from_slice(&action);
        if let Ok(mut a) = slot.action.lock() {
            a.0.copy_from_slice(&action);
            seq += 1;
            a.1 = seq;
        }
    }
    if let Ok(mut r) = result.lock() {
        *r = Some(stats);
    }
}
