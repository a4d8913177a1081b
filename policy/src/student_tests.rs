use vigor_perception::DepthPreprocessConfig;

use super::*;
use crate::StudentRuntime;
use crate::artifact::ArtifactError;
use crate::student_runtime::StudentInputs;

fn track(posture: &str, gravity: [f32; 3], value: f32) -> ReferenceTrack {
    ReferenceTrack {
        posture: posture.into(),
        gravity,
        rate_hz: 10.0,
        speed: 2.0,
        q: (0..5).map(|k| vec![value + k as f32; 29]).collect(),
    }
}

fn network(depth: bool) -> StudentNetwork {
    let observation = ObservationLayout::g1_proprioception();
    let frame = observation.len();
    let history = 8;
    let cfg = DepthPreprocessConfig {
        width_px: 16,
        height_px: 12,
        ..DepthPreprocessConfig::default()
    };
    StudentNetwork {
        observation,
        depth: depth.then(|| cfg.clone()),
        depth_rate_hz: 30.0,
        phase_period_s: 5.0,
        action_clip: 10.0,
        action_scale: 0.5,
        // Supine: gravity along -x of the body; prone: along +x.
        references: vec![
            track("supine", [-1.0, 0.0, 0.0], 0.0),
            track("prone", [1.0, 0.0, 0.0], 100.0),
        ],
        spec: StudentSpec {
            frame,
            history,
            actor_history: 3,
            depth: depth.then_some(DepthEncoderSpec {
                frames: cfg.frames,
                width: 16,
                height: 12,
                channels: [4, 4, 4],
                features: 8,
            }),
            tcn_channels: 4,
            tcn_features: 8,
            latent: 6,
            latent_hidden: vec![8],
            actor_hidden: vec![16],
            actions: 29,
        },
        teacher: "t".into(),
        fallback: None,
        reanchor: None,
    }
}

pub(crate) fn joint_names() -> Vec<String> {
    (0..29).map(|i| format!("joint{i}")).collect()
}

pub(crate) fn manifest_of(network: StudentNetwork, seed: u64) -> Manifest {
    let n = network.spec.history * network.spec.frame;
    Manifest {
        schema_version: artifact::SCHEMA_VERSION,
        kind: if network.depth.is_some() {
            PolicyKind::DepthStudent
        } else {
            PolicyKind::BlindStudent
        },
        name: "test".into(),
        robot: "g1_29dof".into(),
        joints: joint_names(),
        normaliser: crate::Normaliser::identity(n),
        network: Network::Student(network),
        weights_sha256: String::new(),
        git_hash: "test".into(),
        seed,
    }
}

pub(crate) fn manifest(depth: bool) -> Manifest {
    manifest_of(network(depth), 5)
}

fn frame(gx: f32) -> Vec<f32> {
    let mut f: Vec<f32> = (0..93).map(|i| (i as f32 * 0.11).cos() * 0.2).collect();
    f[3..6].copy_from_slice(&[gx, 0.0, 0.0]);
    f
}

#[test]
fn shapes_follow_the_convolution_arithmetic() {
    let m = network(true);
    let d = m.spec.depth.as_ref().unwrap();
    // 12 x 16 -> 6 x 8 -> 3 x 4 -> 2 x 2, 4 channels.
    assert_eq!(d.flat(), 16);
    // history 8: (8 - 4) / 2 + 1 = 3, then 3 - 3 + 1 = 1 step of 4 channels.
    assert_eq!(m.spec.tcn_flat(), 4);
    assert_eq!(m.spec.actor_mlp().input, 6 + 3 * 93 + 8);
    let mut short = m.spec.clone();
    short.history = 4;
    assert!(short.check().unwrap_err().contains("too short"));
}

#[test]
fn the_track_is_picked_by_gravity_and_held_after_its_end() {
    let m = network(false);
    assert_eq!(pick_track(&m.references, [-0.9, 0.1, -0.3]), 0);
    assert_eq!(pick_track(&m.references, [0.8, -0.2, -0.5]), 1);
    // A side track serves either side.
    let mut side = m.references.clone();
    side.push(track("side", [0.1, 0.95, -0.2], 200.0));
    assert_eq!(pick_track(&side, [0.05, -0.9, -0.3]), 2);
    assert_eq!(pick_track(&side, [0.05, 0.9, -0.3]), 2);
    // With a track for each side (a mirror image), each side gets its own.
    side.push(track("side_left", [0.1, -0.95, -0.2], 200.0));
    assert_eq!(pick_track(&side, [0.05, 0.9, -0.3]), 2);
    assert_eq!(pick_track(&side, [0.05, -0.9, -0.3]), 3);
    // Small tilts to either side, as a push engages, go the same way.
    side.push(track("tip_right", [0.0, 0.34, -0.94], 200.0));
    side.push(track("tip_left", [0.0, -0.34, -0.94], 200.0));
    assert_eq!(pick_track(&side, [0.02, 0.33, -0.94]), 4);
    assert_eq!(pick_track(&side, [0.02, -0.33, -0.94]), 5);
    // speed 2, 10 Hz: 0.1 s after engagement is clip 0.2 s, frame 2; then held at the last.
    assert_eq!(m.references[0].at(0.1)[0], 2.0);
    assert_eq!(m.references[0].at(100.0)[0], 4.0);
}

#[test]
fn runtime_targets_are_the_track_plus_the_scaled_action_and_reload_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = StudentPolicy::init(manifest(true), Device::Cpu).unwrap();
    p.save(dir.path()).unwrap();
    let mut a = StudentRuntime::new(p).unwrap();
    let mut b = StudentRuntime::new(StudentPolicy::load(dir.path(), Device::Cpu).unwrap()).unwrap();
    let depth: Vec<f32> = (0..32 * 24).map(|i| 0.5 + (i % 7) as f32 * 0.2).collect();
    for (k, rt) in [&mut a, &mut b].into_iter().enumerate() {
        rt.push_depth_m(32, 24, &depth).unwrap();
        let out = rt.step(&frame(1.0), 0.1).unwrap();
        // Prone track (gravity +x), frame 2 = 102 rad, plus 0.5 clip(a).
        for (t, x) in out.targets.iter().zip(&out.action) {
            assert!(
                (t - (102.0 + 0.5 * x.clamp(-10.0, 10.0))).abs() < 1e-4,
                "runtime {k}"
            );
        }
        assert_eq!(out.latent.len(), 6);
    }
    let (oa, ob) = (
        a.step(&frame(1.0), 0.12).unwrap(),
        b.step(&frame(1.0), 0.12).unwrap(),
    );
    assert_eq!(oa, ob);
    assert!(matches!(
        a.step(&[0.0; 10], 0.1),
        Err(ArtifactError::ObservationSize {
            expected: 93,
            got: 10
        })
    ));
}

#[test]
fn depth_changes_a_depth_students_action_but_not_a_blind_ones() {
    let near: Vec<f32> = vec![0.4; 16 * 12];
    let far: Vec<f32> = vec![2.5; 16 * 12];
    for (depth, differs) in [(true, true), (false, false)] {
        let mk = || {
            StudentRuntime::new(StudentPolicy::init(manifest(depth), Device::Cpu).unwrap()).unwrap()
        };
        let (mut a, mut b) = (mk(), mk());
        a.push_depth_m(16, 12, &near).unwrap();
        b.push_depth_m(16, 12, &far).unwrap();
        let (oa, ob) = (
            a.step(&frame(-1.0), 0.0).unwrap(),
            b.step(&frame(-1.0), 0.0).unwrap(),
        );
        assert_eq!(oa.latent != ob.latent, differs, "depth student: {depth}");
    }
}

#[test]
fn inconsistent_manifests_are_refused_naming_the_field() {
    let mut m = network(true);
    m.depth = None;
    let err = StudentPolicy::init(manifest_of(m, 1), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`network.student`: depth preprocessing without spec.depth"),
        "{err}"
    );
    let mut m = network(false);
    m.references[1].q[0].pop();
    let err = StudentPolicy::init(manifest_of(m, 1), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("references: every track needs frames of 29"),
        "{err}"
    );
    let mut m = manifest(true);
    m.kind = PolicyKind::BlindStudent;
    let err = StudentPolicy::init(m, Device::Cpu).unwrap_err().to_string();
    assert!(
        err.contains("`network.student.depth`: a blind_student has no depth preprocessing"),
        "{err}"
    );
}

#[test]
fn a_fall_track_hands_over_once_to_the_lying_track_the_body_ends_in() {
    let rule = Reanchor {
        after_s: 0.6,
        lying_tilt_rad: 1.2,
        settled_rad_s: 1.0,
        again: false,
        sitting_tilt_rad: None,
    };
    assert_eq!(rule.check(), Ok(()));
    let bad = Reanchor {
        lying_tilt_rad: 2.0,
        ..rule
    };
    assert!(bad.check().unwrap_err().starts_with("lying_tilt_rad"));
    // supine, prone, then a forward fall (tilted 20° forward) and a backward one.
    let s = [
        [-0.95, 0.0, -0.3],
        [0.95, 0.0, -0.3],
        [0.34, 0.0, -0.94],
        [-0.34, 0.0, -0.94],
    ];
    let prone = [0.99, 0.05, -0.1];
    let still = [0.1, -0.2, 0.3];
    // Lying still on the front while tracking the forward fall: the prone recovery.
    assert_eq!(
        rule.hand_over(&s, 2, 0.8, false, prone, still, 0.0),
        Some(1)
    );
    // The backward fall ending on the back: the supine one.
    assert_eq!(
        rule.hand_over(&s, 3, 0.8, false, [-0.99, 0.0, -0.1], still, 0.0),
        Some(0)
    );
    // Too early, still turning, or not lying (kneeling, 30° tilt): no hand-over.
    assert_eq!(rule.hand_over(&s, 2, 0.5, false, prone, still, 0.0), None);
    assert_eq!(
        rule.hand_over(&s, 2, 0.8, false, prone, [0.0, 1.5, 0.0], 0.0),
        None
    );
    assert_eq!(
        rule.hand_over(&s, 2, 0.8, false, [0.5, 0.0, -0.87], still, 0.0),
        None
    );
    // A lying track never hands over (lying starts are unchanged), so it happens once, even
    // when its clip has ended with the body lying: that takes `again`.
    assert_eq!(
        rule.hand_over(&s, 1, 3.0, false, [-0.99, 0.0, -0.1], still, 0.0),
        None
    );
    assert_eq!(
        rule.hand_over(&s, 1, 3.0, true, [-0.99, 0.0, -0.1], still, 0.0),
        None
    );
    // Tilt: upright 0, lying pi/2, upside down pi, no gravity 0.
    assert!(tilt_rad([0.0, 0.0, -1.0]).abs() < 1e-6);
    assert!((tilt_rad([1.0, 0.0, 0.0]) - std::f32::consts::FRAC_PI_2).abs() < 1e-6);
    assert!((tilt_rad([0.0, 0.0, 2.0]) - std::f32::consts::PI).abs() < 1e-6);
    assert_eq!(tilt_rad([0.0; 3]), 0.0);
}

/// A blind network with a forward-fall track (index 2) and the hand-over rule.
fn with_fall_track(again: bool) -> StudentNetwork {
    let mut m = network(false);
    m.references
        .push(track("fall_forward", [0.34, 0.0, -0.94], 200.0));
    m.reanchor = Some(Reanchor {
        after_s: 0.6,
        lying_tilt_rad: 1.2,
        settled_rad_s: 1.0,
        again,
        sitting_tilt_rad: None,
    });
    m
}

/// Empty inputs for `m` (identity normaliser), and its proprioceptive frames from a gravity and a
/// rotation rate about y (rad/s), everything else 0.
fn imu_inputs(m: &StudentNetwork) -> (StudentInputs, impl Fn([f32; 3], f32) -> Vec<f32> + use<>) {
    let n = m.spec.history * m.spec.frame;
    let inputs = StudentInputs::new(m, &crate::Normaliser::identity(n)).unwrap();
    let g = m.observation.offset("projected_gravity").unwrap();
    let w = m.observation.offset("base_ang_vel").unwrap();
    let len = m.spec.frame;
    let frame = move |gravity: [f32; 3], gyro: f32| {
        let mut f = vec![0.0; len];
        f[g..g + 3].copy_from_slice(&gravity);
        f[w + 1] = gyro;
        f
    };
    (inputs, frame)
}

#[test]
fn the_inputs_hand_a_fall_track_over_and_restart_its_clock() {
    let mut m = with_fall_track(false);
    assert_eq!(m.check(), Ok(()));
    let (mut inputs, frame) = imu_inputs(&m);
    // Engaged tipping forward: the fall track.
    inputs.observe(&m, &frame([0.34, 0.0, -0.94], 2.0), 0.0);
    assert_eq!(inputs.track(), Some(2));
    // Face down but still turning, then still: handed over to prone at 0.8 s.
    inputs.observe(&m, &frame([0.99, 0.0, -0.1], 2.0), 0.7);
    assert_eq!(inputs.track(), Some(2));
    inputs.observe(&m, &frame([0.99, 0.0, -0.1], 0.2), 0.8);
    assert_eq!(inputs.track(), Some(1));
    assert!((inputs.track_time_s(1.0) - 0.2).abs() < 1e-6);
    let (mut d, mut h) = (vec![], vec![0.0; m.spec.history * m.spec.frame]);
    assert!((inputs.write(1.0, &mut d, &mut h) - 0.2 / 5.0).abs() < 1e-6);
    // Rolled over onto the back later: the lying track stays.
    inputs.observe(&m, &frame([-0.99, 0.0, -0.1], 0.0), 2.0);
    assert_eq!(inputs.track(), Some(1));
    // A new engagement starts the clock at engagement again.
    inputs.restart();
    inputs.observe(&m, &frame([0.99, 0.0, -0.1], 0.0), 0.0);
    assert_eq!((inputs.track(), inputs.track_time_s(1.0)), (Some(1), 1.0));
    // Without the rule nothing hands over.
    m.reanchor = None;
    inputs.restart();
    inputs.observe(&m, &frame([0.34, 0.0, -0.94], 2.0), 0.0);
    inputs.observe(&m, &frame([0.99, 0.0, -0.1], 0.0), 1.0);
    assert_eq!(inputs.track(), Some(2));
}

#[test]
fn with_again_a_recovery_that_ended_lying_starts_over_from_the_track_the_body_lies_in() {
    let rule = Reanchor {
        after_s: 0.6,
        lying_tilt_rad: 1.2,
        settled_rad_s: 1.0,
        again: true,
        sitting_tilt_rad: None,
    };
    let s = [[-0.95, 0.0, -0.3], [0.95, 0.0, -0.3], [0.34, 0.0, -0.94]];
    let (supine, prone, still) = ([-0.99, 0.0, -0.1], [0.99, 0.05, -0.1], [0.1, -0.2, 0.3]);
    // The prone recovery ended and the body lies on its back: the supine one, from its start.
    assert_eq!(
        rule.hand_over(&s, 1, 6.0, true, supine, still, 0.0),
        Some(0)
    );
    // Lying on the front again: prone again (a restart of the same track).
    assert_eq!(rule.hand_over(&s, 1, 6.0, true, prone, still, 0.0), Some(1));
    // Not while the clip plays, not while turning, not when it stands (kneeling, 30°).
    assert_eq!(rule.hand_over(&s, 1, 6.0, false, supine, still, 0.0), None);
    assert_eq!(
        rule.hand_over(&s, 1, 6.0, true, supine, [0.0, 1.5, 0.0], 0.0),
        None
    );
    assert_eq!(
        rule.hand_over(&s, 1, 6.0, true, [0.5, 0.0, -0.87], still, 0.0),
        None
    );
    // A fall track hands over as before, clip ended or not.
    assert_eq!(
        rule.hand_over(&s, 2, 0.8, false, prone, still, 0.0),
        Some(1)
    );
    // Written without the field, it reads as one try; written with it off, it leaves no trace.
    let old: Reanchor =
        serde_json::from_str(r#"{"after_s":0.6,"lying_tilt_rad":1.2,"settled_rad_s":1.0}"#)
            .unwrap();
    assert!(!old.again);
    assert!(!serde_json::to_string(&old).unwrap().contains("again"));
    assert!(
        serde_json::to_string(&rule)
            .unwrap()
            .contains(r#""again":true"#)
    );
}

#[test]
fn with_a_sitting_tilt_a_body_still_on_its_seat_after_its_clip_starts_over() {
    let rule = Reanchor {
        after_s: 0.6,
        lying_tilt_rad: 1.1,
        settled_rad_s: 1.5,
        again: true,
        sitting_tilt_rad: Some(0.35),
    };
    assert_eq!(rule.check(), Ok(()));
    for bad in [0.1, 1.2] {
        let r = Reanchor {
            sitting_tilt_rad: Some(bad),
            ..rule
        };
        assert!(r.check().unwrap_err().starts_with("sitting_tilt_rad"));
    }
    // Both sides lying, then a forward fall.
    let [supine, prone] = [[-0.95, 0.0, -0.3], [0.95, 0.0, -0.3]];
    let s = [
        supine,
        prone,
        [0.0, 0.95, -0.3],
        [0.0, -0.95, -0.3],
        [0.34, 0.0, -0.94],
    ];
    let still = [0.1, -0.2, 0.3];
    let hold = Reanchor::SITTING_STILL_S;
    // Sitting at the foot of the stairs, leaning 22° onto its left hand (a recorded ending of
    // the stairs-down diagnosis): the left-side recovery, once its clip has ended and it has
    // been still long enough.
    let on_hand = [-0.02, 0.38, -0.93];
    assert_eq!(
        rule.hand_over(&s, 0, 8.0, true, on_hand, still, hold),
        Some(2)
    );
    assert_eq!(
        rule.hand_over(&s, 0, 8.0, true, on_hand, still, hold - 0.1),
        None
    );
    assert_eq!(
        rule.hand_over(&s, 0, 8.0, false, on_hand, still, hold),
        None
    );
    // Sitting back on its seat (30° backward): the supine one.
    let seat = [-0.5, 0.0, -0.87];
    assert_eq!(rule.hand_over(&s, 1, 8.0, true, seat, still, hold), Some(0));
    // Leaning forward 30° over its feet, as a rising crouch does: never.
    let crouch = [0.5, 0.0, -0.87];
    assert_eq!(rule.hand_over(&s, 0, 8.0, true, crouch, still, 10.0), None);
    // Upright, or turning: no. Without `again`, or without the field: no.
    assert_eq!(
        rule.hand_over(&s, 0, 8.0, true, [0.0, 0.1, -0.99], still, 10.0),
        None
    );
    assert_eq!(
        rule.hand_over(&s, 0, 8.0, true, seat, [0.0, 2.0, 0.0], hold),
        None
    );
    let once = Reanchor {
        again: false,
        ..rule
    };
    assert_eq!(once.hand_over(&s, 0, 8.0, true, seat, still, hold), None);
    let lying_only = Reanchor {
        sitting_tilt_rad: None,
        ..rule
    };
    assert_eq!(
        lying_only.hand_over(&s, 0, 8.0, true, seat, still, hold),
        None
    );
    // A fall track hands over only to a lying body, as before: a sitting one keeps falling.
    assert_eq!(rule.hand_over(&s, 4, 2.0, false, seat, still, hold), None);
    // The lean leaves forward out: 30° forward and 20° sideways lean 20°.
    let f = [0.5, 0.34, -0.8];
    let side = (0.34f32).atan2(0.8);
    assert!((lean_back_or_side_rad(f) - side).abs() < 1e-5);
    assert!((lean_back_or_side_rad(seat) - 0.5f32.atan2(0.87)).abs() < 1e-5);
    // The stillness clock: adds while settled, restarts at the first turn.
    assert!((rule.still_s(0.4, 0.02, still) - 0.42).abs() < 1e-6);
    assert_eq!(rule.still_s(0.4, 0.02, [0.0, 2.0, 0.0]), 0.0);
    // Written without the field, it reads as lying only; absent, it leaves no trace.
    let old: Reanchor = serde_json::from_str(
        r#"{"after_s":0.6,"lying_tilt_rad":1.2,"settled_rad_s":1.0,"again":true}"#,
    )
    .unwrap();
    assert_eq!(old.sitting_tilt_rad, None);
    assert!(!serde_json::to_string(&old).unwrap().contains("sitting"));
}

#[test]
fn the_inputs_start_a_sitting_body_over_only_once_it_has_been_still() {
    let mut m = with_fall_track(true);
    m.reanchor = m.reanchor.map(|r| Reanchor {
        sitting_tilt_rad: Some(0.35),
        ..r
    });
    let (mut inputs, frame) = imu_inputs(&m);
    let (prone, seat) = ([0.99, 0.0, -0.1], [-0.5, 0.0, -0.87]);
    // A prone start; its 0.2 s clip ends, and the body sits back, turning, then still.
    inputs.observe(&m, &frame(prone, 0.0), 0.0);
    inputs.observe(&m, &frame(seat, 3.0), 0.3);
    inputs.observe(&m, &frame(seat, 0.0), 0.4);
    inputs.observe(&m, &frame(seat, 0.0), 0.6);
    assert_eq!(inputs.track(), Some(1), "still for 0.3 s: it holds");
    inputs.observe(&m, &frame(seat, 0.0), 0.95);
    assert_eq!(
        inputs.track(),
        Some(0),
        "still for 0.65 s: the supine recovery"
    );
    assert!(inputs.track_time_s(0.95).abs() < 1e-6);
}

#[test]
fn the_inputs_start_a_recovery_over_once_its_clip_has_ended_with_the_body_lying() {
    let mut m = with_fall_track(true);
    // The test tracks play 4 frames at 10 Hz twice as fast: 0.2 s.
    assert!((m.references[1].played_s() - 0.2).abs() < 1e-6);
    let n = m.spec.history * m.spec.frame;
    let mut inputs = StudentInputs::new(&m, &crate::Normaliser::identity(n)).unwrap();
    let g = m.observation.offset("projected_gravity").unwrap();
    let frame = |gravity: [f32; 3]| {
        let mut f = vec![0.0; m.spec.frame];
        f[g..g + 3].copy_from_slice(&gravity);
        f
    };
    let (prone, supine) = ([0.99, 0.0, -0.1], [-0.99, 0.0, -0.1]);
    // A lying start on the front: the prone track; while it plays, nothing changes.
    inputs.observe(&m, &frame(prone), 0.0);
    inputs.observe(&m, &frame(supine), 0.1);
    assert_eq!((inputs.track(), inputs.track_time_s(0.1)), (Some(1), 0.1));
    // Its clip has ended and the body lies on its back: the supine track from its start.
    inputs.observe(&m, &frame(supine), 0.25);
    assert_eq!(inputs.track(), Some(0));
    assert!((inputs.track_time_s(0.3) - 0.05).abs() < 1e-6);
    // Standing (upright) after its clip: it holds.
    inputs.observe(&m, &frame([0.0, 0.0, -1.0]), 0.6);
    assert_eq!(inputs.track(), Some(0));
    // Without `again`, the same frames keep the first track.
    m.reanchor = m.reanchor.map(|r| Reanchor { again: false, ..r });
    inputs.restart();
    inputs.observe(&m, &frame(prone), 0.0);
    inputs.observe(&m, &frame(supine), 0.25);
    assert_eq!(inputs.track(), Some(1));
}

#[test]
fn set_again_turns_restarts_on_and_off_in_the_manifest_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = network(false);
    n.reanchor = Some(Reanchor {
        after_s: 0.6,
        lying_tilt_rad: 1.2,
        settled_rad_s: 1.0,
        again: false,
        sitting_tilt_rad: None,
    });
    let mut p = StudentPolicy::init(manifest_of(n, 1), Device::Cpu).unwrap();
    p.save(dir.path()).unwrap();
    let weights = std::fs::read(dir.path().join("weights.safetensors")).unwrap();
    let rule = |dir: &Path| match artifact::read_manifest(dir).unwrap().network {
        Network::Student(s) => s.reanchor.unwrap(),
        _ => unreachable!(),
    };
    crate::set_again(dir.path(), true, None).unwrap();
    assert!(rule(dir.path()).again);
    assert!(StudentPolicy::load(dir.path(), Device::Cpu).is_ok());
    crate::set_again(dir.path(), true, Some(0.35)).unwrap();
    assert_eq!(rule(dir.path()).sitting_tilt_rad, Some(0.35));
    assert!(StudentPolicy::load(dir.path(), Device::Cpu).is_ok());
    // A sitting tilt out of range, or without `again`, is refused and changes nothing.
    for (again, tilt) in [(true, 1.3), (false, 0.35)] {
        let err = crate::set_again(dir.path(), again, Some(tilt))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sitting_tilt_rad"), "{err}");
        if again {
            // In degrees too, as `vigor policy again --sitting-deg` takes it.
            assert!(err.contains("(74.5°)") && err.contains("11.5°..="), "{err}");
        }
        assert_eq!(rule(dir.path()).sitting_tilt_rad, Some(0.35));
    }
    crate::set_again(dir.path(), false, None).unwrap();
    assert!(!rule(dir.path()).again);
    assert_eq!(rule(dir.path()).sitting_tilt_rad, None);
    assert_eq!(
        std::fs::read(dir.path().join("weights.safetensors")).unwrap(),
        weights
    );
    // A student without the rule has nothing to start over: the error names the field.
    let plain = tempfile::tempdir().unwrap();
    StudentPolicy::init(manifest(false), Device::Cpu)
        .unwrap()
        .save(plain.path())
        .unwrap();
    let err = crate::set_again(plain.path(), true, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`network.student.reanchor`: absent"), "{err}");
}
