//! The student: distillation from the shipped teacher resumes exactly and does not depend on the
//! thread count; the exported artifact, loaded the way the controller loads it
//! (`vigor_policy::StudentRuntime`), reproduces the actions training computed on the recorded
//! probe inputs; and the evaluation harness runs students.

use std::path::{Path, PathBuf};

use tch::Tensor;
use vigor_common::config::{self, Validate};
use vigor_policy::StudentPolicy;
use vigor_sim::engine::EngineKind;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;
use vigor_training::student::config::{CameraTiming, SHIPPED};
use vigor_training::student::runner::{PROBE_FILE, STUDENT_DIR};
use vigor_training::student::{
    StudentConfig, StudentKind, StudentRunOptions, load_student, train_student,
};
use vigor_training::teacher::eval::{self, EvalPlan};
use vigor_training::teacher::runner::{METRICS, read_metrics};
use vigor_training::teacher::{Teacher, load_artifact};

fn teacher() -> Teacher {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/teacher");
    let mut t = load_artifact(&dir).unwrap();
    // Short episodes keep the test quick; the networks are the shipped ones.
    t.manifest.config.task.episode_s = 1.0;
    t
}

fn tiny(kind: StudentKind, threads: usize, iterations: usize) -> StudentConfig {
    let mut c: StudentConfig = config::parse(SHIPPED, "student.toml").unwrap();
    c.kind = kind;
    c.envs = 2;
    c.threads = threads;
    c.iterations = iterations;
    c.checkpoint_every = 1;
    c.dagger.beta_iterations = 1;
    c.optim.minibatch = 32;
    c.validate("student.toml").unwrap()
}

fn train(c: &StudentConfig, t: &Teacher, dir: &Path, resume: bool) {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let opts = StudentRunOptions {
        run_dir: dir.to_path_buf(),
        resume,
        git_hash: "test".into(),
    };
    train_student(c, t, &robot, &sim, &opts, |_| {}).unwrap();
}

fn digest(dir: &Path) -> String {
    StudentPolicy::load(&dir.join(STUDENT_DIR), tch::Device::Cpu)
        .unwrap()
        .manifest()
        .weights_sha256
        .clone()
}

#[test]
fn depth_student_resumes_exactly_and_deploys_what_it_trained() {
    let t = teacher();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    train(&tiny(StudentKind::Depth, 1, 2), &t, a.path(), false);
    train(&tiny(StudentKind::Depth, 2, 1), &t, b.path(), false);
    train(&tiny(StudentKind::Depth, 2, 2), &t, b.path(), true);
    assert_eq!(digest(a.path()), digest(b.path()));
    let (ma, mb) = (
        read_metrics(&a.path().join(METRICS)).unwrap(),
        read_metrics(&b.path().join(METRICS)).unwrap(),
    );
    assert_eq!(ma.len(), 2);
    for key in ["latent_mse", "action_mse", "loss", "beta", "teacher_share"] {
        assert_eq!(ma[1].get(key), mb[1].get(key), "{key}");
    }
    // DAgger: the teacher acts in the first iteration, the student in the second.
    assert_eq!(ma[0].get("teacher_share"), Some(1.0));
    assert_eq!(ma[1].get("teacher_share"), Some(0.0));
    assert!(ma[1].get("latent_mse").unwrap() > 0.0);

    replay_probe(&a.path().join(STUDENT_DIR), true);
    assert_eq!(ma[1].get("track_match"), Some(1.0));

    // Evaluated with the camera's latency and frame phase drawn per episode: the same episodes
    // twice, and not those seen at once.
    let (student, task) = load_student(&a.path().join(STUDENT_DIR)).unwrap();
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let plan = prone_plan(vec![(TerrainKind::Flat, 0.0)]);
    let late = CameraTiming {
        random_phase: true,
        latency_s: [0.15, 0.2],
    };
    let run = |camera| {
        let agent = eval::Evaluee::Student(&student, &task, camera);
        eval::evaluate(agent, &robot, &sim, &plan, |_, _| {}).unwrap()
    };
    let (at_once, delayed) = (run(None), run(Some(&late)));
    assert_eq!(delayed, run(Some(&late)), "deterministic");
    assert_ne!(at_once, delayed, "the images arrive late");
}

/// Two prone trials (seed 3) per terrain of `terrains`, on MuJoCo.
fn prone_plan(terrains: Vec<(TerrainKind, f32)>) -> EvalPlan {
    EvalPlan {
        scenarios: vec![Scenario::Prone],
        terrains,
        trials: 2,
        seed: 3,
        engines: vec![EngineKind::Mujoco],
        threads: 0,
        assist: 0.0,
        drawn: false,
        lying_offset_m: [0.0, 0.0],
        flat_scan: false,
    }
}

/// The controller's way: load the artifact and feed the recorded inputs one tick at a time; every
/// action must equal the one the batched training code computed.
fn replay_probe(dir: &Path, depth_expected: bool) {
    let probe = Tensor::read_safetensors(dir.join(PROBE_FILE)).unwrap();
    let has = |name: &str| probe.iter().any(|(n, _)| n == name);
    assert_eq!(has("depth_m"), depth_expected);
    let actions = &probe.iter().find(|(n, _)| n == "action").unwrap().1;
    let actions = Vec::<Vec<f32>>::try_from(actions).unwrap();
    // The engaged history and phase must move the actions, or the probe proves little.
    assert_ne!(actions[0], actions[actions.len() - 1]);
    let report = vigor_policy::student_probe::replay_probe(dir).unwrap();
    assert_eq!(report.ticks, actions.len());
    if depth_expected {
        assert!(
            report.depth_frames >= 10 && report.depth_frames < report.ticks,
            "{report:?}"
        );
    } else {
        assert_eq!(report.depth_frames, 0);
    }
    assert!(report.max_abs_error < 1e-5, "{report:?}");
    // A corrupted recording is caught.
    let copy = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(dir).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, copy.path().join(f.file_name().unwrap())).unwrap();
    }
    let tampered: Vec<(String, Tensor)> = probe
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                if n == "frame" {
                    t + 0.5
                } else {
                    t.shallow_clone()
                },
            )
        })
        .collect();
    Tensor::write_safetensors(&tampered, copy.path().join(PROBE_FILE)).unwrap();
    assert!(
        vigor_policy::student_probe::replay_probe(copy.path())
            .unwrap()
            .max_abs_error
            > 1e-3
    );
}

#[test]
fn blind_student_trains_and_students_evaluate_on_terrain() {
    let t = teacher();
    let run = tempfile::tempdir().unwrap();
    train(&tiny(StudentKind::Blind, 0, 1), &t, run.path(), false);
    replay_probe(&run.path().join(STUDENT_DIR), false);
    let m = read_metrics(&run.path().join(METRICS)).unwrap();
    // The history is live: the blind student's latent error is that of real inputs, and it picks
    // the environment's own reference track.
    assert_eq!(m[0].get("track_match"), Some(1.0));
    let (student, task) = load_student(&run.path().join(STUDENT_DIR)).unwrap();
    assert!(student.student().depth.is_none());
    assert!(student.student().spec.depth.is_none());
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let plan = prone_plan(vec![
        (TerrainKind::Flat, 0.0),
        (TerrainKind::from_name("stairs_down").unwrap(), 0.5),
    ]);
    let agent = eval::Evaluee::Student(&student, &task, None);
    let results = eval::evaluate(agent, &robot, &sim, &plan, |_, _| {}).unwrap();
    assert_eq!(results.len(), 4);
    let again = eval::evaluate(agent, &robot, &sim, &plan, |_, _| {}).unwrap();
    assert_eq!(results, again, "evaluation is deterministic");
    assert!(results.iter().all(|r| r.outcome.tracking_rms_m > 0.0));
    let rrd = run.path().join("episode.rrd");
    eval::record_episode(agent, &robot, &sim, (&plan, &results), 3, &rrd).unwrap();
    assert!(std::fs::metadata(&rrd).unwrap().len() > 10_000);
}

#[test]
fn shipped_students_reproduce_their_training_outputs_here() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies");
    for (name, depth) in [("student-depth", true), ("student-blind", false)] {
        let r = vigor_policy::student_probe::replay_probe(&root.join(name)).unwrap();
        assert_eq!(r.ticks, 40, "{name}");
        assert_eq!(r.depth_frames > 0, depth, "{name}");
        assert!(r.max_abs_error < 1e-4, "{name}: {r:?}");
    }
}

/// In evaluation the student's next frame carries its own last output as `last_action`, as the
/// robot's runtime feeds it back, even when the track it picked is not the one the episode's
/// true start has (the environment's own frame then carries the action on the true track, which
/// the robot cannot know; students once saw that, and read side starts wrong).
#[test]
fn the_student_sees_its_own_last_action_as_on_the_robot() {
    use std::sync::Arc;
    use vigor_sim::env::EpisodeSpec;
    use vigor_sim::sensors::RobotGeometry;
    use vigor_training::student::rollout::{StudentActing, run_student};
    use vigor_training::student::runner::build_envs;
    use vigor_training::student::sensor::StudentSensor;

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/student-depth");
    let (student, task) = load_student(&dir).unwrap();
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let at = student.student().observation.offset("last_action").unwrap();
    let act = student.student().spec.actions;
    let mut mismatched = 0;
    for seed in 0..6u64 {
        let spec = EpisodeSpec {
            scenario: Scenario::Side,
            terrain: (TerrainKind::Flat, 0.0),
            seed,
        };
        let (mut envs, _, _) =
            build_envs(&task, student.manifest(), &robot, &sim, &[spec], false, 1).unwrap();
        let mut sensors = vec![
            StudentSensor::new(
                student.manifest(),
                task.camera,
                Arc::new(RobotGeometry::new(&robot)),
                task.student.depth_rate_hz,
                None,
                None,
                false,
            )
            .unwrap(),
        ];
        sensors[0].reset(seed);
        let ro = run_student(
            &mut envs,
            &mut sensors,
            &student,
            StudentActing {
                teacher: None,
                beta: 0.0,
                seed: 0,
                record: false,
                probe: true,
                mirror: None,
            },
            12,
            1,
            |_, _| {},
        );
        if ro.track_match < 1.0 {
            mismatched += 1;
        }
        assert_eq!(ro.probe.len(), 12);
        assert!(ro.probe[0].frame[at..at + act].iter().all(|&a| a == 0.0));
        for (t, pair) in ro.probe.windows(2).enumerate() {
            assert_eq!(
                &pair[1].frame[at..at + act],
                &pair[0].action[..],
                "side start seed {seed}, tick {}: the frame's last action is not the student's own",
                t + 1
            );
        }
    }
    // The case that matters was exercised: a start whose picked track is not the true one.
    assert!(mismatched > 0, "no side start picked another track");
}

/// Training draws the camera's timing per episode from `[timing]` (issue 18: camera latency and
/// frame phase randomised); evaluation's sensors keep phase 0 and no latency.
#[test]
fn training_sensors_draw_their_camera_timing_and_evaluation_sensors_do_not() {
    use vigor_sim::env::EpisodeSpec;
    use vigor_training::student::config::CameraTiming;
    use vigor_training::student::runner::build_envs;

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/student-depth");
    let (student, mut task) = load_student(&dir).unwrap();
    // The shipped student was distilled before the section existed: it reads as none.
    assert_eq!(task.student.timing, CameraTiming::default());
    task.student.timing = CameraTiming {
        random_phase: true,
        latency_s: [0.02, 0.08],
    };
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let specs: Vec<EpisodeSpec> = (0..4)
        .map(|seed| EpisodeSpec {
            scenario: Scenario::Supine,
            terrain: (TerrainKind::Flat, 0.0),
            seed,
        })
        .collect();
    let timing = |training: bool| {
        let (_, sensors, _) =
            build_envs(&task, student.manifest(), &robot, &sim, &specs, training, 1).unwrap();
        sensors
            .iter()
            .map(|s| (s.clock().phase_s(), s.clock().latency_s()))
            .collect::<Vec<_>>()
    };
    let drawn = timing(true);
    let period = 1.0 / task.student.depth_rate_hz;
    for &(phase, latency) in &drawn {
        assert!((0.0..period).contains(&phase), "phase {phase}");
        assert!((0.02..=0.08).contains(&latency), "latency {latency}");
    }
    assert!(drawn.windows(2).all(|w| w[0] != w[1]), "{drawn:?}");
    assert_eq!(
        timing(true),
        drawn,
        "the same episodes draw the same timing"
    );
    assert!(timing(false).iter().all(|&t| t == (0.0, 0.0)));
}
