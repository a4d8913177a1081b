//! Encode/decode cost of the 500 Hz wire messages (the controller's per-tick codec work).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use vigor_msgs::unitree_hg::{LowCmd, LowState};

fn lowcmd() -> LowCmd {
    let mut cmd = LowCmd {
        mode_machine: 5,
        ..LowCmd::default()
    };
    for (i, m) in cmd.motor_cmd.iter_mut().enumerate().take(29) {
        m.mode = 1;
        m.q = 0.01 * i as f32;
        m.kp = 100.0;
        m.kd = 2.0;
    }
    cmd
}

fn codec(c: &mut Criterion) {
    let cmd = lowcmd();
    let mut wire = [0u8; LowCmd::WIRE_LEN];
    cmd.encode_into(&mut wire);
    c.bench_function("lowcmd_encode_into", |b| {
        b.iter(|| black_box(&cmd).encode_into(&mut wire))
    });
    c.bench_function("lowcmd_decode", |b| {
        b.iter(|| LowCmd::decode(black_box(&wire)))
    });

    let state = LowState {
        mode_machine: 5,
        tick: 7,
        ..LowState::default()
    };
    let mut wire = [0u8; LowState::WIRE_LEN];
    state.encode_into(&mut wire);
    c.bench_function("lowstate_encode_into", |b| {
        b.iter(|| black_box(&state).encode_into(&mut wire))
    });
    c.bench_function("lowstate_decode", |b| {
        b.iter(|| LowState::decode(black_box(&wire)))
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
