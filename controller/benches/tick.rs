//! One controller tick (state machine, clamps, LowCmd with CRC) and the wire encoding it feeds,
//! the work the control thread does every 2 ms.
// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use vigor_controller::ControllerConfig;
use vigor_controller::core::{Controller, JointSpec, TickInput};
use vigor_msgs::project::Command;
use vigor_msgs::unitree_hg::{LowCmd, LowState};

fn joints() -> Vec<JointSpec> {
    (0..29)
        .map(|i| JointSpec {
            slot: i,
            default: 0.1,
            lower: -1.0,
            upper: 1.0,
            effort: 50.0,
            kp: 100.0,
            kd: 2.0,
            stand_kp: 500.0,
            stand_kd: 20.0,
            leg: i < 12,
        })
        .collect()
}

fn tick(c: &mut Criterion) {
    let params = ControllerConfig::embedded().expect("shipped controller config");
    let mut controller = Controller::new(params, joints());
    let mut state = LowState {
        mode_machine: 5,
        ..LowState::default()
    };
    state.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0];
    let mut t = 0.0;
    let mut step = |command| {
        t += 0.002;
        // A live stream: the robot's tick advances (a frozen one would go stale).
        state.tick = state.tick.wrapping_add(1);
        controller
            .tick(&TickInput {
                now_s: t,
                lowstate: Some(&state),
                command,
                ..TickInput::default()
            })
            .map(|c| c.crc)
    };
    step(Some(Command::Arm));
    for _ in 0..2000 {
        step(None);
    }
    c.bench_function("controller tick (Armed, 29 joints, CRC)", |b| {
        b.iter(|| black_box(step(None)));
    });
    let cmd = LowCmd::default().with_crc();
    let mut buf = [0u8; LowCmd::WIRE_LEN];
    c.bench_function("LowCmd encode_into (1004 bytes, CRC)", |b| {
        b.iter(|| black_box(black_box(&cmd).encode_into(&mut buf)));
    });
}

criterion_group!(benches, tick);
criterion_main!(benches);
