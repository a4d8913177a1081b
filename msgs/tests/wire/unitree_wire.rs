//! unitree_hg wire format against ../shared/reference/unitree_hg.md: golden bytes built field by
//! field from the documented offsets (independently of the encoder's layout code), Unitree's CRC
//! test vectors, round trips, byte flips and random input.

use proptest::prelude::*;
use vigor_msgs::DecodeError;
use vigor_msgs::unitree_hg::{ImuState, LowCmd, LowState, MotorCmd, MotorState, NUM_MOTOR_SLOTS};

use crate::rng::Rng;

fn put_f32(buf: &mut [u8], at: usize, v: f32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_i16(buf: &mut [u8], at: usize, v: i16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn sample_lowcmd() -> LowCmd {
    let mut cmd = LowCmd {
        mode_pr: 1,
        mode_machine: 5,
        reserve: [11, 12, 13, 14],
        ..LowCmd::default()
    };
    for (k, m) in cmd.motor_cmd.iter_mut().enumerate() {
        let k = k as f32;
        *m = MotorCmd {
            mode: 1,
            q: 0.1 * k,
            dq: -0.01 * k,
            tau: 0.5 * k,
            kp: 100.0 + k,
            kd: 2.0 + 0.1 * k,
            reserve: 1000 + k as u32,
        };
    }
    cmd
}

/// The LowCmd body, laid out by hand from the documented offsets.
fn lowcmd_body_by_offsets(cmd: &LowCmd) -> Vec<u8> {
    let mut body = vec![0u8; 1000];
    body[0] = cmd.mode_pr;
    body[1] = cmd.mode_machine;
    for (k, m) in cmd.motor_cmd.iter().enumerate() {
        // motor_cmd[0].mode@2 (q@4); motor k >= 1 at 28k (q at 28k + 4).
        let mode_at = if k == 0 { 2 } else { 28 * k };
        body[mode_at] = m.mode;
        let q_at = 28 * k + 4;
        put_f32(&mut body, q_at, m.q);
        put_f32(&mut body, q_at + 4, m.dq);
        put_f32(&mut body, q_at + 8, m.tau);
        put_f32(&mut body, q_at + 12, m.kp);
        put_f32(&mut body, q_at + 16, m.kd);
        put_u32(&mut body, q_at + 20, m.reserve);
    }
    for (i, r) in cmd.reserve.iter().enumerate() {
        put_u32(&mut body, 980 + 4 * i, *r);
    }
    body
}

/// The LowCmd C struct (CRC input), laid out by hand: motor k at 4 + 28k, reserve@984.
fn lowcmd_c_by_offsets(cmd: &LowCmd) -> Vec<u8> {
    let mut c = vec![0u8; 1004];
    c[0] = cmd.mode_pr;
    c[1] = cmd.mode_machine;
    for (k, m) in cmd.motor_cmd.iter().enumerate() {
        let at = 4 + 28 * k;
        c[at] = m.mode;
        for (j, v) in [m.q, m.dq, m.tau, m.kp, m.kd].into_iter().enumerate() {
            put_f32(&mut c, at + 4 + 4 * j, v);
        }
        put_u32(&mut c, at + 24, m.reserve);
    }
    for (i, r) in cmd.reserve.iter().enumerate() {
        put_u32(&mut c, 984 + 4 * i, *r);
    }
    c
}

#[test]
fn lowcmd_crc_test_vectors() {
    // ../shared/reference/unitree_hg.md, "Test vectors (LowCmd)".
    assert_eq!(LowCmd::default().compute_crc(), 0xFE17_2F9F);
    let mut cmd = LowCmd {
        mode_machine: 5,
        ..LowCmd::default()
    };
    for m in &mut cmd.motor_cmd {
        m.mode = 1;
    }
    assert_eq!(cmd.compute_crc(), 0x7717_6F39);
    for m in &mut cmd.motor_cmd {
        m.kd = 8.0;
    }
    assert_eq!(cmd.compute_crc(), 0xD7E3_AB3A);
}

#[test]
fn lowcmd_golden_bytes_match_documented_offsets() {
    let cmd = sample_lowcmd();
    let wire = cmd.encode();
    assert_eq!(wire.len(), 1004);
    assert_eq!(&wire[..4], &[0x00, 0x01, 0x00, 0x00]);
    let crc = vigor_msgs::crc::crc32_words(&lowcmd_c_by_offsets(&cmd), 250);
    let mut expected = lowcmd_body_by_offsets(&cmd);
    put_u32(&mut expected, 996, crc);
    assert_eq!(
        &wire[4..],
        &expected[..],
        "body differs from the documented layout"
    );
    let decoded = LowCmd::decode(&wire).unwrap();
    assert_eq!(decoded.crc, crc);
    assert_eq!(decoded, LowCmd { crc, ..cmd });
}

#[test]
fn lowcmd_zero_frame_golden_bytes() {
    let wire = LowCmd::default().encode();
    let mut expected = vec![0x00, 0x01, 0x00, 0x00];
    expected.extend(std::iter::repeat_n(0u8, 996));
    expected.extend(0xFE17_2F9Fu32.to_le_bytes());
    assert_eq!(wire, expected);
}

fn sample_lowstate() -> LowState {
    let mut s = LowState {
        version: [0x0102_0304, 7],
        mode_pr: 0,
        mode_machine: 5,
        tick: 123_456,
        imu_state: ImuState {
            quaternion: [0.9, 0.1, -0.2, 0.3],
            gyroscope: [0.01, -0.02, 0.03],
            accelerometer: [0.1, 0.2, 9.8],
            rpy: [0.05, -0.06, 1.5],
            temperature: -7,
        },
        reserve: [21, 22, 23, 24],
        ..LowState::default()
    };
    for (k, m) in s.motor_state.iter_mut().enumerate() {
        let x = k as f32;
        *m = MotorState {
            mode: (k % 3) as u8,
            q: 0.2 * x,
            dq: -0.3 * x,
            ddq: 0.4 * x,
            tau_est: -0.5 * x,
            temperature: [30 + k as i16, -(k as i16)],
            vol: 50.0 + x,
            sensor: [k as u32, 0xFFFF_0000 | k as u32],
            motorstate: k as u32 * 3,
            reserve: [1, 2, 3, k as u32],
        };
    }
    for (i, b) in s.wireless_remote.iter_mut().enumerate() {
        *b = 200 - i as u8;
    }
    s
}

fn write_motor_state(buf: &mut [u8], mode_at: usize, q_at: usize, m: &MotorState) {
    buf[mode_at] = m.mode;
    for (j, v) in [m.q, m.dq, m.ddq, m.tau_est].into_iter().enumerate() {
        put_f32(buf, q_at + 4 * j, v);
    }
    put_i16(buf, q_at + 16, m.temperature[0]);
    put_i16(buf, q_at + 18, m.temperature[1]);
    put_f32(buf, q_at + 20, m.vol);
    put_u32(buf, q_at + 24, m.sensor[0]);
    put_u32(buf, q_at + 28, m.sensor[1]);
    put_u32(buf, q_at + 32, m.motorstate);
    for (j, r) in m.reserve.iter().enumerate() {
        put_u32(buf, q_at + 36 + 4 * j, *r);
    }
}

fn write_imu(buf: &mut [u8], at: usize, imu: &ImuState) {
    let floats = imu
        .quaternion
        .iter()
        .chain(&imu.gyroscope)
        .chain(&imu.accelerometer)
        .chain(&imu.rpy);
    for (j, v) in floats.enumerate() {
        put_f32(buf, at + 4 * j, *v);
    }
    put_i16(buf, at + 52, imu.temperature);
}

/// LowState body from the documented offsets: quaternion@16, imu temperature@68, motor 0 mode@70
/// q@72, motor k >= 1 at 124 + 56(k-1), wireless_remote@2028, reserve@2068, crc@2084.
fn lowstate_body_by_offsets(s: &LowState) -> Vec<u8> {
    let mut body = vec![0u8; 2088];
    put_u32(&mut body, 0, s.version[0]);
    put_u32(&mut body, 4, s.version[1]);
    body[8] = s.mode_pr;
    body[9] = s.mode_machine;
    put_u32(&mut body, 12, s.tick);
    write_imu(&mut body, 16, &s.imu_state);
    for (k, m) in s.motor_state.iter().enumerate() {
        let mode_at = if k == 0 { 70 } else { 124 + 56 * (k - 1) };
        let q_at = if k == 0 { 72 } else { mode_at + 4 };
        write_motor_state(&mut body, mode_at, q_at, m);
    }
    body[2028..2068].copy_from_slice(&s.wireless_remote);
    for (i, r) in s.reserve.iter().enumerate() {
        put_u32(&mut body, 2068 + 4 * i, *r);
    }
    body
}

/// LowState C struct: IMU@16 (56 bytes with padding), motor k at 72 + 56k, wireless@2032,
/// reserve@2072, crc@2088.
fn lowstate_c_by_offsets(s: &LowState) -> Vec<u8> {
    let mut c = vec![0u8; 2092];
    put_u32(&mut c, 0, s.version[0]);
    put_u32(&mut c, 4, s.version[1]);
    c[8] = s.mode_pr;
    c[9] = s.mode_machine;
    put_u32(&mut c, 12, s.tick);
    write_imu(&mut c, 16, &s.imu_state);
    for (k, m) in s.motor_state.iter().enumerate() {
        let at = 72 + 56 * k;
        write_motor_state(&mut c, at, at + 4, m);
    }
    c[2032..2072].copy_from_slice(&s.wireless_remote);
    for (i, r) in s.reserve.iter().enumerate() {
        put_u32(&mut c, 2072 + 4 * i, *r);
    }
    c
}

#[test]
fn lowstate_golden_bytes_match_documented_offsets() {
    let s = sample_lowstate();
    let wire = s.encode();
    assert_eq!(wire.len(), 2092);
    assert_eq!(&wire[..4], &[0x00, 0x01, 0x00, 0x00]);
    let crc = vigor_msgs::crc::crc32_words(&lowstate_c_by_offsets(&s), 522);
    assert_eq!(s.compute_crc(), crc);
    let mut expected = lowstate_body_by_offsets(&s);
    put_u32(&mut expected, 2084, crc);
    assert_eq!(
        &wire[4..],
        &expected[..],
        "body differs from the documented layout"
    );
    assert_eq!(LowState::decode(&wire).unwrap(), LowState { crc, ..s });
}

fn assert_every_byte_flip_fails(frame: &[u8], decode: impl Fn(&[u8]) -> Result<(), DecodeError>) {
    let mut buf = frame.to_vec();
    for i in 0..buf.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            buf[i] ^= mask;
            assert!(
                decode(&buf).is_err(),
                "flipping byte {i} with {mask:#04x} still decoded"
            );
            buf[i] ^= mask;
        }
    }
    assert!(decode(&buf).is_ok());
}

#[test]
fn flipping_any_byte_of_a_lowcmd_fails_cleanly() {
    assert_every_byte_flip_fails(&sample_lowcmd().encode(), |b| LowCmd::decode(b).map(|_| ()));
}

#[test]
fn flipping_any_byte_of_a_lowstate_fails_cleanly() {
    assert_every_byte_flip_fails(&sample_lowstate().encode(), |b| {
        LowState::decode(b).map(|_| ())
    });
}

#[test]
fn errors_say_what_failed() {
    let mut frame = sample_lowcmd().encode();
    assert!(matches!(
        LowCmd::decode(&frame[..1003]),
        Err(DecodeError::Length {
            expected: 1004,
            got: 1003,
            ..
        })
    ));
    frame[1] = 0;
    assert!(matches!(
        LowCmd::decode(&frame),
        Err(DecodeError::Header {
            found: [0, 0, 0, 0]
        })
    ));
    frame[1] = 1;
    frame[4 + 29] = 7; // padding after motor_cmd[1].mode
    assert!(matches!(
        LowCmd::decode(&frame),
        Err(DecodeError::Padding { offset: 29, .. })
    ));
    frame[4 + 29] = 0;
    frame[4 + 8] ^= 0x40; // motor_cmd[0].dq
    let err = LowCmd::decode(&frame).unwrap_err();
    assert!(matches!(err, DecodeError::Crc { .. }));
    assert!(err.to_string().starts_with("LowCmd: CRC mismatch"), "{err}");
    assert!(matches!(
        LowState::decode(&frame),
        Err(DecodeError::Length { expected: 2092, .. })
    ));
}

/// Random bytes never panic: every length 0..=2*len, plus many frames of the right length with a
/// valid header (which reach the padding and CRC checks). 100 000 inputs per decoder.
fn random_inputs_never_decode(wire_len: usize, decode: impl Fn(&[u8]) -> Result<(), DecodeError>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ wire_len as u64);
    let mut buf = vec![0u8; 2 * wire_len + 1];
    let mut accepted = 0;
    for i in 0..100_000usize {
        let len = if i % 2 == 0 {
            wire_len
        } else {
            (rng.next() as usize) % buf.len()
        };
        let input = &mut buf[..len];
        rng.fill(input);
        if i % 4 == 0 && len >= 4 {
            input[..4].copy_from_slice(&[0, 1, 0, 0]);
        }
        if decode(input).is_ok() {
            accepted += 1;
        }
    }
    // A random frame passes the padding and CRC checks with probability far below 1e-9.
    assert_eq!(accepted, 0);
}

#[test]
fn random_lowcmd_inputs_are_rejected_without_panic() {
    random_inputs_never_decode(LowCmd::WIRE_LEN, |b| LowCmd::decode(b).map(|_| ()));
}

#[test]
fn random_lowstate_inputs_are_rejected_without_panic() {
    random_inputs_never_decode(LowState::WIRE_LEN, |b| LowState::decode(b).map(|_| ()));
}

fn any_f32() -> impl Strategy<Value = f32> {
    // Every bit pattern, NaNs and infinities included: the wire carries bits.
    any::<u32>().prop_map(f32::from_bits)
}

prop_compose! {
    fn motor_cmd()(mode in any::<u8>(), f in prop::array::uniform5(any_f32()), reserve in any::<u32>()) -> MotorCmd {
        MotorCmd { mode, q: f[0], dq: f[1], tau: f[2], kp: f[3], kd: f[4], reserve }
    }
}

prop_compose! {
    fn lowcmd()(
        mode_pr in any::<u8>(),
        mode_machine in any::<u8>(),
        motors in prop::collection::vec(motor_cmd(), NUM_MOTOR_SLOTS),
        reserve in any::<[u32; 4]>(),
    ) -> LowCmd {
        let mut cmd = LowCmd { mode_pr, mode_machine, reserve, ..LowCmd::default() };
        cmd.motor_cmd.copy_from_slice(&motors);
        cmd
    }
}

prop_compose! {
    fn motor_state()(
        mode in any::<u8>(),
        f in prop::array::uniform5(any_f32()),
        temperature in any::<[i16; 2]>(),
        sensor in any::<[u32; 2]>(),
        motorstate in any::<u32>(),
        reserve in any::<[u32; 4]>(),
    ) -> MotorState {
        MotorState { mode, q: f[0], dq: f[1], ddq: f[2], tau_est: f[3], temperature, vol: f[4], sensor, motorstate, reserve }
    }
}

prop_compose! {
    fn lowstate()(
        version in any::<[u32; 2]>(),
        mode_pr in any::<u8>(),
        mode_machine in any::<u8>(),
        tick in any::<u32>(),
        imu in prop::array::uniform13(any_f32()),
        temperature in any::<i16>(),
        motors in prop::collection::vec(motor_state(), NUM_MOTOR_SLOTS),
        remote in prop::collection::vec(any::<u8>(), 40),
        reserve in any::<[u32; 4]>(),
    ) -> LowState {
        let mut s = LowState { version, mode_pr, mode_machine, tick, reserve, ..LowState::default() };
        s.imu_state = ImuState {
            quaternion: [imu[0], imu[1], imu[2], imu[3]],
            gyroscope: [imu[4], imu[5], imu[6]],
            accelerometer: [imu[7], imu[8], imu[9]],
            rpy: [imu[10], imu[11], imu[12]],
            temperature,
        };
        s.motor_state.copy_from_slice(&motors);
        s.wireless_remote.copy_from_slice(&remote);
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lowcmd_round_trips_bit_exactly(cmd in lowcmd()) {
        let wire = cmd.encode();
        let decoded = LowCmd::decode(&wire).unwrap();
        prop_assert_eq!(decoded.crc, cmd.compute_crc());
        prop_assert_eq!(decoded.encode(), wire);
    }

    #[test]
    fn lowstate_round_trips_bit_exactly(s in lowstate()) {
        let wire = s.encode();
        let decoded = LowState::decode(&wire).unwrap();
        prop_assert_eq!(decoded.crc, s.compute_crc());
        prop_assert_eq!(decoded.encode(), wire);
    }

    #[test]
    fn lowcmd_json_round_trips_to_the_same_bytes(cmd in lowcmd()) {
        let wire = cmd.encode();
        let json = serde_json::to_string(&LowCmd::decode(&wire).unwrap()).unwrap();
        let back: LowCmd = serde_json::from_str(&json).unwrap();
        // NaN payloads become the canonical NaN in JSON; everything else is bit-exact.
        let canonical = |c: &LowCmd| {
            let mut c = c.clone();
            for m in &mut c.motor_cmd {
                for v in [&mut m.q, &mut m.dq, &mut m.tau, &mut m.kp, &mut m.kd] {
                    if v.is_nan() { *v = f32::NAN; }
                }
            }
            c.encode()
        };
        prop_assert_eq!(back.encode(), canonical(&cmd));
    }

    #[test]
    fn lowstate_json_round_trips_for_finite_values(s in lowstate()) {
        let mut s = s;
        for v in s.imu_state.quaternion.iter_mut().chain(&mut s.imu_state.rpy) {
            if !v.is_finite() { *v = 0.5; }
        }
        for m in &mut s.motor_state {
            for v in [&mut m.q, &mut m.dq, &mut m.ddq, &mut m.tau_est, &mut m.vol] {
                if !v.is_finite() { *v = -1.25; }
            }
        }
        for v in s.imu_state.gyroscope.iter_mut().chain(&mut s.imu_state.accelerometer) {
            if !v.is_finite() { *v = 3.0; }
        }
        let wire = s.encode();
        let json = serde_json::to_string(&LowState::decode(&wire).unwrap()).unwrap();
        let back: LowState = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.encode(), wire);
    }
}

#[test]
fn partial_json_fills_zeros_and_rejects_unknown_keys() {
    let cmd: LowCmd =
        serde_json::from_str(r#"{"mode_machine":5,"motor_cmd":[{"mode":1,"kd":8}]}"#).unwrap();
    assert_eq!(cmd.motor_cmd[0].kd, 8.0);
    assert_eq!(cmd.motor_cmd[1], MotorCmd::default());
    assert!(serde_json::from_str::<LowCmd>(r#"{"mode_machin":5}"#).is_err());
    let too_many = format!(r#"{{"motor_cmd":[{}]}}"#, vec!["{}"; 36].join(","));
    assert!(serde_json::from_str::<LowCmd>(&too_many).is_err());
    let nan: LowCmd = serde_json::from_str(r#"{"motor_cmd":[{"q":"NaN","dq":"-inf"}]}"#).unwrap();
    assert!(nan.motor_cmd[0].q.is_nan() && nan.motor_cmd[0].dq == f32::NEG_INFINITY);
}
