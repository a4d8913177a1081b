//! vigor's own messages: golden header bytes, round trips, truncation, random input.

use proptest::prelude::*;
use vigor_msgs::DecodeError;
use vigor_msgs::project::{
    ActingPolicy, Command, ControllerCommand, ControllerState, ControllerStatus, DepthData,
    DepthFrame, FaultCounters, Intrinsics, MAX_LATENT, PolicyTrace, SCHEMA_VERSION, SimRequest,
    SimRequestKind, TransitionReason,
};

fn status() -> ControllerStatus {
    ControllerStatus {
        seq: 9,
        stamp_ns: 1_000_000_007,
        state: ControllerState::Active,
        reason: TransitionReason::TiltEngaged,
        since_ns: 999,
        latched: false,
        tilt_rad: 0.4,
        faults: FaultCounters {
            bad_frames: 1,
            deadline_misses: 2,
            ..FaultCounters::default()
        },
    }
}

fn depth(w: u16, h: u16, mm: bool) -> DepthFrame {
    let n = usize::from(w) * usize::from(h);
    DepthFrame {
        seq: 3,
        stamp_ns: 42,
        width: w,
        height: h,
        intrinsics: Intrinsics {
            fx_px: 40.0,
            fy_px: 41.0,
            cx_px: 32.0,
            cy_px: 24.0,
        },
        depth: if mm {
            DepthData::Millimetres((0..n).map(|i| i as u16).collect())
        } else {
            DepthData::Metres((0..n).map(|i| i as f32 * 0.01).collect())
        },
    }
}

#[test]
fn controller_command_golden_bytes() {
    let cmd = ControllerCommand {
        seq: 1,
        stamp_ns: 2,
        command: Command::EStop,
    };
    let mut expected = vec![b'V', b'G', 3, SCHEMA_VERSION];
    expected.extend(1u64.to_le_bytes());
    expected.extend(2u64.to_le_bytes());
    expected.push(3);
    assert_eq!(cmd.encode(), expected);
    assert_eq!(ControllerCommand::decode(&expected).unwrap(), cmd);
}

#[test]
fn status_and_depth_round_trip_and_reject_every_truncation() {
    let s = status().encode();
    assert_eq!(ControllerStatus::decode(&s).unwrap(), status());
    for cut in 0..s.len() {
        assert!(ControllerStatus::decode(&s[..cut]).is_err(), "cut at {cut}");
    }
    for mm in [false, true] {
        let d = depth(8, 6, mm).encode().unwrap();
        assert_eq!(DepthFrame::decode(&d).unwrap(), depth(8, 6, mm));
        for cut in 0..d.len() {
            assert!(DepthFrame::decode(&d[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = d.clone();
        longer.push(0);
        assert!(matches!(
            DepthFrame::decode(&longer),
            Err(DecodeError::TrailingBytes { extra: 1, .. })
        ));
    }
}

#[test]
fn wrong_kind_schema_and_codes_are_named() {
    let s = status().encode();
    assert!(matches!(
        ControllerCommand::decode(&s),
        Err(DecodeError::Kind { .. })
    ));
    let mut v2 = s.clone();
    v2[3] = SCHEMA_VERSION + 1;
    let err = ControllerStatus::decode(&v2).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "ControllerStatus: schema version {}, this build reads {SCHEMA_VERSION}",
            SCHEMA_VERSION + 1
        )
    );
    let mut bad_state = s.clone();
    bad_state[20] = 200; // state code after header (4) + seq (8) + stamp (8)
    assert_eq!(
        ControllerStatus::decode(&bad_state)
            .unwrap_err()
            .to_string(),
        "ControllerStatus: invalid `state`: unknown code"
    );
}

#[test]
fn encoders_refuse_what_decoders_would_reject() {
    let mut d = depth(4, 4, false);
    d.width = 5;
    assert!(d.encode().is_err());
    let push = SimRequest {
        seq: 0,
        stamp_ns: 0,
        request: SimRequestKind::Push {
            link: "torso_link".into(),
            force_n: [f32::NAN, 0.0, 0.0],
            duration_s: 0.2,
        },
    };
    assert!(push.encode().is_err());
    let long = SimRequest {
        seq: 0,
        stamp_ns: 0,
        request: SimRequestKind::Reset {
            scenario: "x".repeat(65),
            seed: 0,
        },
    };
    assert!(long.encode().is_err());
    let episode = |terrain: &str, difficulty: f32| SimRequest {
        seq: 0,
        stamp_ns: 0,
        request: SimRequestKind::Episode {
            scenario: "supine".into(),
            terrain: terrain.into(),
            difficulty,
            seed: 7,
        },
    };
    assert!(episode("flat", 0.0).encode().is_ok());
    assert!(episode(&"x".repeat(65), 0.0).encode().is_err());
    assert!(episode("rough", 1.5).encode().is_err());
    assert!(episode("rough", f32::NAN).encode().is_err());
}

/// Random payloads, some with a valid header for each kind, never panic. 100 000 per decoder.
#[test]
fn random_inputs_never_panic() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut buf = vec![0u8; 256];
    type Decoder = fn(&[u8]) -> bool;
    let decoders: [(u8, Decoder); 4] = [
        (1, |b| DepthFrame::decode(b).is_ok()),
        (2, |b| ControllerStatus::decode(b).is_ok()),
        (3, |b| ControllerCommand::decode(b).is_ok()),
        (4, |b| SimRequest::decode(b).is_ok()),
    ];
    for (kind, decode) in decoders {
        let mut ok = 0usize;
        for i in 0..100_000 {
            let len = (next() % 256) as usize;
            for b in &mut buf[..len] {
                *b = next() as u8;
            }
            if i % 2 == 0 && len >= 4 {
                buf[..4].copy_from_slice(&[b'V', b'G', kind, SCHEMA_VERSION]);
            }
            ok += usize::from(decode(&buf[..len]));
        }
        // Commands are short and dense: random ones can be valid. The point is: no panic.
        assert!(ok < 100_000, "kind {kind}");
    }
}

fn finite() -> impl Strategy<Value = f32> {
    -1e6f32..1e6
}

fn sim_request() -> impl Strategy<Value = SimRequest> {
    let kind = prop_oneof![
        (
            "[a-z_]{0,64}",
            prop::array::uniform3(finite()),
            0.001f32..10.0
        )
            .prop_map(|(link, force_n, duration_s)| {
                SimRequestKind::Push {
                    link,
                    force_n,
                    duration_s,
                }
            }),
        ("[a-z_]{0,64}", any::<u64>())
            .prop_map(|(scenario, seed)| SimRequestKind::Reset { scenario, seed }),
        ("[a-z_]{0,64}", 0f32..=1.0, any::<u64>()).prop_map(|(name, difficulty, seed)| {
            SimRequestKind::Terrain {
                name,
                difficulty,
                seed,
            }
        }),
        ("[a-z_]{0,64}", "[a-z_]{0,64}", 0f32..=1.0, any::<u64>()).prop_map(
            |(scenario, terrain, difficulty, seed)| SimRequestKind::Episode {
                scenario,
                terrain,
                difficulty,
                seed,
            }
        ),
    ];
    (any::<u64>(), any::<u64>(), kind).prop_map(|(seq, stamp_ns, request)| SimRequest {
        seq,
        stamp_ns,
        request,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sim_requests_round_trip(r in sim_request()) {
        let bytes = r.encode().unwrap();
        prop_assert_eq!(SimRequest::decode(&bytes).unwrap(), r.clone());
        let json = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(serde_json::from_str::<SimRequest>(&json).unwrap(), r);
    }

    #[test]
    fn statuses_round_trip(
        seq in any::<u64>(), stamp in any::<u64>(), since in any::<u64>(),
        state in prop::sample::select(ControllerState::ALL), reason in prop::sample::select(TransitionReason::ALL),
        latched in any::<bool>(), tilt in finite(), counters in any::<[u32; 13]>(),
    ) {
        let s = ControllerStatus {
            seq, stamp_ns: stamp, state, reason, since_ns: since, latched, tilt_rad: tilt,
            faults: FaultCounters {
                bad_frames: counters[0], wrong_mode_machine: counters[1], lowstate_stale: counters[2],
                depth_stale: counters[3], nonfinite_actions: counters[4], deadline_misses: counters[5],
                other_writers: counters[6], nonfinite_states: counters[7], repeated_states: counters[8],
                policy_stale: counters[9], policy_overruns: counters[10], motor_errors: counters[11],
                operator_lost: counters[12],
            },
        };
        prop_assert_eq!(ControllerStatus::decode(&s.encode()).unwrap(), s);
    }

    #[test]
    fn depth_frames_round_trip(w in 1u16..20, h in 1u16..20, mm in any::<bool>(), seed in any::<u64>()) {
        let mut f = depth(w, h, mm);
        f.seq = seed;
        prop_assert_eq!(DepthFrame::decode(&f.encode().unwrap()).unwrap(), f);
    }

    #[test]
    fn commands_round_trip(seq in any::<u64>(), stamp in any::<u64>(), c in prop::sample::select(Command::ALL)) {
        let cmd = ControllerCommand { seq, stamp_ns: stamp, command: c };
        prop_assert_eq!(ControllerCommand::decode(&cmd.encode()).unwrap(), cmd);
    }

    #[test]
    fn policy_traces_round_trip(
        seq in any::<u64>(), stamp in any::<u64>(), engaged in any::<bool>(), engaged_s in finite(),
        fallback in any::<bool>(), track in prop::option::of(any::<u8>()),
        age in prop::option::of(finite()), latent in prop::collection::vec(finite(), 0..=64),
    ) {
        let t = PolicyTrace {
            seq, stamp_ns: stamp, engaged, engaged_s,
            acting: if fallback { ActingPolicy::Fallback } else { ActingPolicy::Primary },
            track, depth_age_ms: age, latent,
        };
        let bytes = t.encode().unwrap();
        prop_assert_eq!(PolicyTrace::decode(&bytes).unwrap(), t.clone());
        for cut in [0, 4, 20, 33, bytes.len() - 1] {
            prop_assert!(PolicyTrace::decode(&bytes[..cut]).is_err());
        }
        let json = serde_json::to_string(&t).unwrap();
        prop_assert_eq!(serde_json::from_str::<PolicyTrace>(&json).unwrap(), t);
    }
}

#[test]
fn a_policy_trace_longer_than_allowed_is_refused_both_ways() {
    let t = PolicyTrace {
        seq: 0,
        stamp_ns: 0,
        engaged: true,
        engaged_s: 0.0,
        acting: ActingPolicy::Primary,
        track: None,
        depth_age_ms: None,
        latent: vec![0.0; MAX_LATENT + 1],
    };
    assert!(t.encode().is_err());
    let mut ok = t.clone();
    ok.latent.truncate(MAX_LATENT);
    let mut bytes = ok.encode().unwrap();
    // Claim one more value than allowed.
    bytes[33..35].copy_from_slice(&((MAX_LATENT + 1) as u16).to_le_bytes());
    let err = PolicyTrace::decode(&bytes).unwrap_err().to_string();
    assert!(err.contains("latent"), "{err}");
}
