use std::f32::consts::FRAC_1_SQRT_2;

use tch::Device;
use vigor_msgs::project::DepthFrame;

use super::*;
use crate::artifact::{Network, SCHEMA_VERSION};
use crate::student::tests::{joint_names, manifest};
use crate::{Normaliser, StudentPolicy};

fn saved_student(depth: bool, dir: &Path) {
    let mut m = manifest(depth);
    m.name = if depth { "depth" } else { "blind" }.into();
    StudentPolicy::init(m, Device::Cpu)
        .unwrap()
        .save(dir)
        .unwrap();
}

fn robot() -> (Vec<String>, Vec<f32>) {
    (joint_names(), (0..29).map(|i| i as f32 * 0.01).collect())
}

fn depth_frame(value_m: f32) -> DepthFrame {
    DepthFrame {
        seq: 0,
        stamp_ns: 0,
        width: 16,
        height: 12,
        intrinsics: vigor_msgs::project::Intrinsics::default(),
        depth: vigor_msgs::project::DepthData::Metres(vec![value_m; 16 * 12]),
    }
}

fn state<'a>(q: &'a [f32], dq: &'a [f32], k: usize) -> RobotState<'a> {
    let t = k as f32 * 0.1;
    RobotState {
        gyro: [t.sin(), 0.1, -0.2],
        // Lying on the back: gravity along the body's -x.
        quat_wxyz: [FRAC_1_SQRT_2, 0.0, -FRAC_1_SQRT_2, 0.0],
        q,
        dq,
    }
}

#[test]
fn a_teacher_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Manifest {
        schema_version: SCHEMA_VERSION,
        kind: PolicyKind::Teacher,
        name: "teacher".into(),
        robot: "g1_29dof".into(),
        joints: joint_names(),
        normaliser: Normaliser::new(4),
        network: Network::Teacher(serde_json::json!({"config": {}})),
        weights_sha256: String::new(),
        git_hash: "test".into(),
        seed: 0,
    };
    artifact::save(dir.path(), &tch::nn::VarStore::new(Device::Cpu), &mut m).unwrap();
    let (names, q0) = robot();
    let err = load_runtime(
        dir.path(),
        RobotJoints {
            names: &names,
            default_q: &q0,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("manifest.json: a policy of kind `teacher`"),
        "{err}"
    );
    assert!(err.contains("cannot run on the robot"), "{err}");
}

#[test]
fn joints_that_are_not_the_robots_are_refused_by_slot() {
    let dir = tempfile::tempdir().unwrap();
    saved_student(false, dir.path());
    let (mut names, q0) = robot();
    names[4] = "left_knee_joint".into();
    let err = load_runtime(
        dir.path(),
        RobotJoints {
            names: &names,
            default_q: &q0,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "`joints`: joints[4] is `joint4`; the robot's joint in slot 4 is `left_knee_joint`"
        ),
        "{err}"
    );
    let err = load_runtime(
        dir.path(),
        RobotJoints {
            names: &names[..23],
            default_q: &q0[..23],
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("29 joints; the robot has 23"), "{err}");
}

#[test]
fn the_fallback_takes_over_on_the_tick_depth_goes_stale_with_a_current_history() {
    let (d, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    saved_student(true, d.path());
    saved_student(false, b.path());
    let (names, q0) = robot();
    let joints = RobotJoints {
        names: &names,
        default_q: &q0,
    };
    let mut dep = Deployment::new(
        load_runtime(d.path(), joints).unwrap(),
        Some(load_runtime(b.path(), joints).unwrap()),
    )
    .unwrap();
    assert!(dep.reads_depth());
    // The same blind student alone, fed what the deployment's fallback saw.
    let mut alone = load_runtime(b.path(), joints).unwrap();
    alone.engage();
    let dq = vec![0.05f32; 29];
    let mut last = vec![0.0f32; 29];
    let mut out = PolicyOutput::default();
    let fresh = [true, true, true, false, false, true, false];
    for (k, &depth_fresh) in fresh.iter().enumerate() {
        let q: Vec<f32> = (0..29).map(|i| (i + k) as f32 * 0.02).collect();
        let s = state(&q, &dq, k);
        dep.push_depth(&depth_frame(1.0 + k as f32 * 0.1)).unwrap();
        let got = dep.tick(&s, k as f32 * 0.02, depth_fresh).unwrap().clone();
        let expect = if depth_fresh {
            Acting::Primary
        } else {
            Acting::Fallback
        };
        assert_eq!(dep.acting(), expect, "tick {k}");
        if depth_fresh {
            alone.observe(&s, &last, k as f32 * 0.02);
        } else {
            alone.act(&s, &last, k as f32 * 0.02, &mut out).unwrap();
            assert_eq!(
                got, out,
                "tick {k}: the fallback's history is the one it would have had"
            );
        }
        assert!(got.targets.iter().all(|t| t.is_finite()));
        assert_eq!(got.latent.len(), 6);
        last.clone_from(&got.action);
    }
}

#[test]
fn a_fallback_must_be_blind_and_drive_the_same_joints() {
    let (d, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    saved_student(true, d.path());
    saved_student(true, d2.path());
    let (names, q0) = robot();
    let joints = RobotJoints {
        names: &names,
        default_q: &q0,
    };
    let err = Deployment::new(
        load_runtime(d.path(), joints).unwrap(),
        Some(load_runtime(d2.path(), joints).unwrap()),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("reads depth itself"), "{err}");
}

#[test]
fn a_depth_student_names_a_checked_fallback_that_the_controller_then_finds() {
    let root = tempfile::tempdir().unwrap();
    let (depth, blind, other) = (
        root.path().join("depth"),
        root.path().join("blind"),
        root.path().join("other-depth"),
    );
    saved_student(true, &depth);
    saved_student(false, &blind);
    saved_student(true, &other);
    let (names, q0) = robot();
    let joints = RobotJoints {
        names: &names,
        default_q: &q0,
    };
    let before = artifact::read_manifest(&depth).unwrap();
    assert_eq!(fallback_dir(&depth, &before, None), None);

    let written = set_fallback(&depth, Some("../blind"), joints).unwrap();
    let back = artifact::read_manifest(&depth).unwrap();
    assert_eq!(back, written);
    assert_eq!(
        back.student().unwrap().fallback.as_deref(),
        Some("../blind")
    );
    assert_eq!(back.weights_sha256, before.weights_sha256);
    let found = fallback_dir(&depth, &back, None).unwrap();
    assert_eq!(found, depth.join("../blind"));
    // The pair loads as the controller loads it.
    Deployment::new(
        load_runtime(&depth, joints).unwrap(),
        Some(load_runtime(&found, joints).unwrap()),
    )
    .unwrap();

    // Refused, each leaving the manifest as it was: a depth fallback, a missing folder, an
    // absolute path, and a blind student asked to have a fallback.
    for (dir, rel, says) in [
        (&depth, "../other-depth", "reads depth itself"),
        (&depth, "../missing", "missing"),
        (&depth, "/abs/blind", "is absolute"),
        (&blind, "../depth", "only a depth student"),
    ] {
        let err = set_fallback(dir, Some(rel), joints)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{rel}: {err}");
    }
    assert_eq!(artifact::read_manifest(&depth).unwrap(), back);

    set_fallback(&depth, None, joints).unwrap();
    let cleared = artifact::read_manifest(&depth).unwrap();
    assert_eq!(cleared.student().unwrap().fallback, None);
    assert_eq!(cleared, before);
}

#[test]
fn an_mlp_targets_the_default_pose_plus_the_scaled_action() {
    use crate::artifact::{ActionSpec, MlpNetwork};
    use crate::net::{Activation, MlpSpec};
    let observation = ObservationLayout::proprioception(29);
    let n = observation.len();
    let m = Manifest {
        schema_version: SCHEMA_VERSION,
        kind: PolicyKind::Mlp,
        name: "mlp".into(),
        robot: "g1_29dof".into(),
        joints: joint_names(),
        normaliser: Normaliser::identity(n),
        network: Network::Mlp(MlpNetwork {
            observation,
            action: ActionSpec {
                dim: 29,
                mode: ActionMode::DefaultOffset,
                scale: 0.25,
            },
            actor: MlpSpec {
                input: n,
                hidden: vec![8],
                output: 29,
                activation: Activation::Elu,
            },
        }),
        weights_sha256: String::new(),
        git_hash: "test".into(),
        seed: 3,
    };
    let (_, q0) = robot();
    let mut rt = MlpRuntime::new(Policy::init(m).unwrap(), &q0).unwrap();
    let q = vec![0.1f32; 29];
    let mut out = PolicyOutput::default();
    rt.act(&state(&q, &q, 0), &[0.0; 29], 0.0, &mut out)
        .unwrap();
    for ((t, a), d) in out.targets.iter().zip(&out.action).zip(&q0) {
        assert!((t - (d + 0.25 * a)).abs() < 1e-6);
    }
    assert!(out.latent.is_empty());
}
