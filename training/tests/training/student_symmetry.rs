//! Symmetry in distillation (`[optim] symmetry`): which reference tracks have mirror partners,
//! that a column-flipped depth image is what the camera sees of the mirrored scene, and that a
//! DAgger rollout mirrors exactly the states whose tracks have partners.

use std::path::PathBuf;

use vigor_common::config::{self, Validate};
use vigor_perception::preprocess::{DepthPreprocessConfig, DepthPreprocessor};
use vigor_policy::StudentPolicy;
use vigor_sim::robot::Robot;
use vigor_sim::robot::mirror::JointMirror;
use vigor_sim::scenario::Scenario;
use vigor_sim::sensors::{DepthCamera, DepthCameraConfig, LinkPose, NO_RETURN};
use vigor_training::metrics::Metrics;
use vigor_training::student::config::SHIPPED;
use vigor_training::student::symmetry::{flip_columns, track_partners};
use vigor_training::student::{StudentConfig, StudentKind, StudentRunOptions, train_student};
use vigor_training::teacher::load_artifact;
use vigor_training::teacher::runner::{METRICS, read_metrics};

fn shipped_student() -> StudentPolicy {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/student-depth-unified");
    StudentPolicy::load(&dir, tch::Device::Cpu).unwrap()
}

#[test]
fn the_shipped_tracks_pair_with_their_mirror_images_and_the_supine_roll_has_none() {
    let student = shipped_student();
    let tracks = &student.student().references;
    let robot = Robot::embedded("g1_29dof").unwrap();
    let partners = track_partners(tracks, &JointMirror::new(&robot).unwrap());
    // Name each track by its posture and the sign of its gravity's x and y.
    let name = |i: usize| {
        let t = &tracks[i];
        let s = |v: f32| {
            if v > 0.1 {
                "+"
            } else if v < -0.1 {
                "-"
            } else {
                "0"
            }
        };
        format!("{} x{} y{}", t.posture, s(t.gravity[0]), s(t.gravity[1]))
    };
    let pairs: Vec<(String, Option<String>)> = partners
        .iter()
        .enumerate()
        .map(|(i, p)| (name(i), p.map(name)))
        .collect();
    let expect = |a: &str, b: Option<&str>| {
        let got = pairs
            .iter()
            .find(|(n, _)| n == a)
            .unwrap_or_else(|| panic!("no track {a}: {pairs:?}"));
        assert_eq!(got.1.as_deref(), b, "{a}: {pairs:?}");
    };
    // The supine recovery rolls to one side: its mirror image is no track.
    expect("supine x- y0", None);
    // The prone push-up and the forward and backward falls are their own mirror images.
    expect("prone x+ y0", Some("prone x+ y0"));
    expect("standing x+ y0", Some("standing x+ y0"));
    expect("standing x- y0", Some("standing x- y0"));
    // The side recoveries and the sideways falls pair up.
    expect("side x0 y-", Some("side x0 y+"));
    expect("side x0 y+", Some("side x0 y-"));
    expect("standing x0 y+", Some("standing x0 y-"));
    expect("standing x0 y-", Some("standing x0 y+"));
    assert_eq!(tracks.len(), 8);
}

/// The camera `height` m above the plane z = 0 (no terrain), pitched down by `pitch` and rolled
/// about its optical axis by `roll`, rad.
fn camera(pitch: f32, roll: f32) -> LinkPose {
    let (hp, hr) = (pitch / 2.0, roll / 2.0);
    // q = q_pitch (about y) * q_roll (about x).
    let (cp, sp, cr, sr) = (hp.cos(), hp.sin(), hr.cos(), hr.sin());
    LinkPose {
        pos: [0.3, -0.2, 1.1],
        quat_wxyz: [cp * cr, cp * sr, sp * cr, -sp * sr],
    }
}

#[test]
fn a_column_flipped_depth_image_is_the_image_of_the_mirrored_scene_through_the_preprocessing() {
    let cam = DepthCamera::new(DepthCameraConfig::default()).unwrap();
    let (w, h) = (cam.width(), cam.height());
    // Rolled one way, the horizon tilts; the mirror image of that camera is rolled the other way
    // (a reflection through the x-z plane keeps pitch and reverses roll).
    let render = |roll: f32| {
        let mut out = vec![0.0; w * h];
        cam.render(camera(0.5, roll), None, None, &mut out);
        out
    };
    let (left, right) = (render(0.25), render(-0.25));
    assert!(
        left.iter().filter(|&&d| d != NO_RETURN).count() > w * h / 4,
        "the ground is in view"
    );
    assert_ne!(left, right, "the roll shows in the image");
    let flipped = flip_columns(&left, w);
    for (k, (a, b)) in flipped.iter().zip(&right).enumerate() {
        assert!(
            (a - b).abs() < 1e-3 * a.abs().max(1.0),
            "pixel {k} (row {}, column {}): {a} against {b}",
            k / w,
            k % w
        );
    }
    // The robot's preprocessing (resize, hole fill, normalisation, stacking) commutes with the
    // flip, so flipping the stack the student reads is flipping what the camera saw.
    let with_holes: Vec<f32> = left
        .iter()
        .enumerate()
        .map(|(k, &d)| if k % 7 == 3 { NO_RETURN } else { d })
        .collect();
    let config = DepthPreprocessConfig::default();
    let stack = |img: &[f32]| {
        let mut p = DepthPreprocessor::new(config.clone()).unwrap();
        p.push(w, h, img).unwrap();
        p.stacked().to_vec()
    };
    assert_eq!(
        flip_columns(&stack(&with_holes), usize::from(config.width_px)),
        stack(&flip_columns(&with_holes, w))
    );
}

#[test]
fn symmetry_reads_false_where_a_configuration_predates_it() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/student-blind-unified");
    let text = std::fs::read_to_string(dir.join("run/config.toml")).unwrap();
    assert!(
        !text.contains("symmetry"),
        "the committed run predates the key"
    );
    let c: StudentConfig = config::parse(&text, "run/config.toml").unwrap();
    assert!(!c.optim.symmetry);
}

/// One DAgger iteration of a small depth student of the unified teacher on 1 s episodes of
/// `scenario`; the first iteration's metrics.
fn one_iteration(scenario: Scenario, symmetry: bool) -> Metrics {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/teacher-unified");
    let mut teacher = load_artifact(&dir).unwrap();
    teacher.manifest.config.task.episode_s = 1.0;
    teacher.manifest.config.task.scenarios = vec![scenario];
    let mut c: StudentConfig = config::parse(SHIPPED, "student.toml").unwrap();
    c.kind = StudentKind::Depth;
    c.envs = 2;
    c.threads = 1;
    c.iterations = 1;
    c.checkpoint_every = 1;
    c.optim.minibatch = 32;
    c.optim.symmetry = symmetry;
    let c = c.validate("student.toml").unwrap();
    let run = tempfile::tempdir().unwrap();
    let opts = StudentRunOptions {
        run_dir: run.path().to_path_buf(),
        resume: false,
        git_hash: "test".into(),
    };
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    train_student(&c, &teacher, &robot, &sim, &opts, |_| {}).unwrap();
    read_metrics(&run.path().join(METRICS)).unwrap().remove(0)
}

#[test]
fn dagger_mirrors_the_states_whose_tracks_have_partners_and_only_those() {
    // Prone: the push-up is its own mirror image, so every state is also learned mirrored. The
    // rollout is the same (the mirror images are labelled, never acted on); the update differs.
    let (plain, mirrored) = (
        one_iteration(Scenario::Prone, false),
        one_iteration(Scenario::Prone, true),
    );
    assert_eq!(plain.get("mirrored_share"), None);
    assert_eq!(mirrored.get("mirrored_share"), Some(1.0));
    for key in ["latent_mse", "action_mse", "success"] {
        assert_eq!(plain.get(key), mirrored.get(key), "{key}");
    }
    assert_ne!(plain.get("loss"), mirrored.get("loss"));
    // Supine: the roll has no mirror partner, so nothing is mirrored and the update is the same.
    let (plain, mirrored) = (
        one_iteration(Scenario::Supine, false),
        one_iteration(Scenario::Supine, true),
    );
    assert_eq!(mirrored.get("mirrored_share"), Some(0.0));
    assert_eq!(plain.get("loss"), mirrored.get("loss"));
}
