//! The teacher in simulation (MuJoCo, the training engine): observation rows, the outcome metric,
//! exact resume, thread-count independence, reference-state and adaptive starts, the multi-critic
//! and the run directory (evaluation: `teacher_eval.rs`; tracks: `teacher_tracks.rs`).

use std::path::Path;
use std::sync::Arc;

use vigor_common::config::{self, Validate};
use vigor_sim::env::EpisodeSpec;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;
use vigor_training::teacher::config::DEFAULT_TOML;
use vigor_training::teacher::curriculum::{Curriculum, reference_start};
use vigor_training::teacher::reference::ReferenceSet;
use vigor_training::teacher::runner::{METRICS, env_config, read_metrics};
use vigor_training::teacher::{
    RunOptions, TaskEnv, TeacherConfig, TeacherParams, load_artifact, train,
};

/// A configuration small enough for tests: 2 environments, 1 s episodes, small networks.
pub(crate) fn tiny(threads: usize, iterations: usize) -> TeacherParams {
    let text = DEFAULT_TOML
        .replace("envs = 32", "envs = 2")
        .replace("threads = 0", &format!("threads = {threads}"))
        .replace("iterations = 400", &format!("iterations = {iterations}"))
        .replace("checkpoint_every = 5", "checkpoint_every = 1")
        .replace("episode_s = 7.5", "episode_s = 1.0")
        .replace("encoder_hidden = [128, 64]", "encoder_hidden = [16]")
        .replace("actor_hidden = [256, 128, 64]", "actor_hidden = [16]")
        .replace("critic_hidden = [256, 128, 64]", "critic_hidden = [16]");
    config::parse::<TeacherConfig>(&text, "tiny.toml")
        .unwrap()
        .validate("tiny.toml")
        .unwrap()
}

pub(crate) fn run(p: &TeacherParams, dir: &Path, resume: bool) -> Result<(), String> {
    run_amended(p, dir, resume, false)
}

fn run_amended(p: &TeacherParams, dir: &Path, resume: bool, amend: bool) -> Result<(), String> {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let opts = RunOptions {
        run_dir: dir.to_path_buf(),
        resume,
        amend,
        git_hash: "test".into(),
        device: tch::Device::Cpu,
        init_from: None,
    };
    train(p, &robot, &sim, &opts, |_| {})
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn weights_digest(dir: &Path) -> String {
    load_artifact(&dir.join("checkpoints").join("iter_000002"))
        .unwrap()
        .manifest
        .weights_sha256
}

#[test]
fn observations_are_finite_and_the_assist_decides_success() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let p = Arc::new(TeacherConfig::embedded().unwrap());
    let cfg = env_config(&p, &sim);
    let refs = Arc::new(ReferenceSet::shipped(&robot, 0.5).unwrap());
    let spec = EpisodeSpec {
        scenario: Scenario::Supine,
        terrain: (TerrainKind::Flat, 0.0),
        seed: 3,
    };
    let mut outcomes = Vec::new();
    for assist in [0.0, 0.8] {
        let mut env = TaskEnv::new(&robot, &cfg, Arc::clone(&p), Arc::clone(&refs), spec).unwrap();
        env.set_assist(assist);
        let dims = env.dims();
        let mut row = vec![f32::NAN; dims.critic()];
        env.observe(&mut row);
        assert!(row.iter().all(|v| v.is_finite()));
        let zero = vec![0.0; 29];
        let mut steps = 0;
        while !env.done() {
            let r = env.step(&zero);
            assert!(r.total.is_finite() && r.terms.iter().all(|t| t.is_finite()));
            steps += 1;
        }
        assert_eq!(steps, 375, "7.5 s at 50 Hz");
        outcomes.push(env.outcome());
    }
    // Playing the demonstration's joints open loop leaves the robot on the ground; with 80 % of its
    // weight lifted at the torso it comes up and stands (HoST's exploration aid).
    assert!(!outcomes[0].success, "{:?}", outcomes[0]);
    assert!(
        outcomes[1].success && outcomes[1].time_to_recover_s > 0.5,
        "{:?}",
        outcomes[1]
    );
    assert!(outcomes[0].energy_j > 0.0 && outcomes[0].tracking_rms_m > outcomes[1].tracking_rms_m);
}

#[test]
fn a_resumed_run_continues_exactly_and_threads_do_not_matter() {
    let a = tempfile::tempdir().unwrap();
    run(&tiny(2, 2), a.path(), false).unwrap();
    let b = tempfile::tempdir().unwrap();
    run(&tiny(1, 1), b.path(), false).unwrap();
    // A crash while writing the next checkpoint leaves a temporary folder behind: ignored.
    std::fs::create_dir_all(b.path().join("checkpoints/.tmp-iter_000002")).unwrap();
    run(&tiny(1, 2), b.path(), true).unwrap();
    assert_eq!(weights_digest(a.path()), weights_digest(b.path()));
    let ma = read_metrics(&a.path().join(METRICS)).unwrap();
    let mb = read_metrics(&b.path().join(METRICS)).unwrap();
    assert_eq!(ma.len(), 2);
    assert_eq!(mb.len(), 2);
    for key in ["mean_return", "ppo/kl", "reward/body_pos", "success"] {
        assert_eq!(ma[1].get(key), mb[1].get(key), "{key}");
    }
    for f in ["curves.png", "metrics.rrd", "best/manifest.json", "latest"] {
        assert!(a.path().join(f).is_file(), "{f}");
    }
    // Resuming with another configuration, or starting over an existing run, is refused.
    let mut other = tiny(1, 3);
    other.raw.seed = 9;
    let err = run(&other, b.path(), true).unwrap_err();
    assert!(err.contains("different configuration (seed;"), "{err}");
    let err = run(&tiny(1, 2), b.path(), false).unwrap_err();
    assert!(err.contains("--resume"), "{err}");
    // --amend continues the full state under the changed configuration.
    run_amended(&other, b.path(), true, true).unwrap();
    let mb = read_metrics(&b.path().join(METRICS)).unwrap();
    assert_eq!(mb.len(), 3);
    assert_eq!(mb[1].get("mean_return"), ma[1].get("mean_return"));
}

#[test]
fn reference_starts_pose_the_robot_along_its_demonstration() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let mut params = TeacherConfig::embedded().unwrap();
    params.raw.task.reference_start_share = 1.0;
    let p = Arc::new(params);
    let cfg = env_config(&p, &sim);
    let refs = Arc::new(ReferenceSet::shipped(&robot, 0.5).unwrap());
    let spec = EpisodeSpec {
        scenario: Scenario::Prone,
        terrain: (TerrainKind::Flat, 0.0),
        seed: 11,
    };
    let phase = reference_start(&p, &spec).expect("every lying start at share 1");
    let reference = &refs.references[refs.index_for(Scenario::Prone)];
    let frame = reference.frame_at(phase * reference.duration_s);
    let mut env = TaskEnv::new(&robot, &cfg, Arc::clone(&p), Arc::clone(&refs), spec).unwrap();
    assert!(!env.outcome().reference_start, "off until asked for");
    let lying = env.env().state();
    env.set_reference_starts(true);
    env.reset(spec).unwrap();
    let s = env.env().state();
    assert!(env.outcome().reference_start);
    assert_ne!(s.q, lying.q);
    for (j, (a, b)) in s.q.iter().zip(&frame.q).enumerate() {
        assert!(
            (a - b).abs() < 1e-4,
            "joint {j}: {a} against the frame's {b}"
        );
    }
    let g = vigor_policy::projected_gravity(s.base_quat);
    for k in 0..3 {
        assert!(
            (g[k] - frame.gravity[k]).abs() < 1e-4,
            "{g:?} {:?}",
            frame.gravity
        );
    }
    // Placed with its lowest point 1 cm above the ground, as the clip stands on its own.
    assert!(
        (s.base_pos[2] - frame.root_height_m).abs() < 0.05,
        "pelvis at {} m, the clip's at {} m",
        s.base_pos[2],
        frame.root_height_m
    );
    assert!(
        s.base_linvel.iter().chain(&s.dq).all(|v| *v == 0.0),
        "at rest"
    );
    // The reference plays on from the phase (the critic's last value is the clip phase).
    let dims = env.dims();
    let mut row = vec![f32::NAN; dims.critic()];
    env.observe(&mut row);
    assert!(((row[dims.critic() - 1]) - phase as f32).abs() < 1e-5);
    let zero = vec![0.0; 29];
    let mut steps = 0;
    while !env.done() {
        assert!(env.step(&zero).total.is_finite());
        steps += 1;
    }
    assert_eq!(steps, 375, "the episode keeps its length");
    let o = env.outcome();
    assert!(o.reference_start && o.tracking_rms_m.is_finite());
    // The same episode again is the same start.
    let mut again = TaskEnv::new(&robot, &cfg, Arc::clone(&p), Arc::clone(&refs), spec).unwrap();
    again.set_reference_starts(true);
    again.reset(spec).unwrap();
    let t = again.env().state();
    assert_eq!(
        (t.q, t.base_pos, t.base_quat),
        (s.q, s.base_pos, s.base_quat)
    );
}

#[test]
fn posed_fall_starts_begin_at_rest_along_every_fall_demonstration_without_a_push() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let mut params = config::parse::<TeacherConfig>(
        vigor_training::teacher::config::UNIFIED_TOML,
        "teacher-unified.toml",
    )
    .unwrap()
    .validate("teacher-unified.toml")
    .unwrap();
    params.raw.task.fall_reference_start_share = 1.0;
    params.raw.task.reference_start_share = 0.0;
    let p = Arc::new(params);
    let cfg = env_config(&p, &sim);
    let refs = Arc::new(ReferenceSet::for_task(&robot, &p.raw.task).unwrap());
    let falls = refs.fall_indices();
    let names: Vec<&str> = falls
        .iter()
        .map(|&i| refs.references[i].name.as_str())
        .collect();
    // The tilt rule picks out exactly the demonstrations authored as falls (those that begin
    // standing), in `task.demos` order.
    let authored = vigor_training::demos::AuthoredDemo::shipped(&robot).unwrap();
    let standing: Vec<&str> = p
        .raw
        .task
        .demos
        .iter()
        .map(String::as_str)
        .filter(|n| {
            authored
                .iter()
                .any(|d| d.name == *n && d.posture == vigor_training::demos::Posture::Standing)
        })
        .collect();
    assert_eq!(names, standing);
    assert_eq!(names.len(), 4);
    let spec = |seed| EpisodeSpec {
        scenario: Scenario::Push,
        terrain: (TerrainKind::Flat, 0.0),
        seed,
    };
    let mut env = TaskEnv::new(&robot, &cfg, Arc::clone(&p), Arc::clone(&refs), spec(0)).unwrap();
    assert!(!env.outcome().reference_start, "off until asked for");
    env.set_reference_starts(true);
    let mut seen = vec![0; falls.len()];
    for seed in 0..24 {
        let phase = reference_start(&p, &spec(seed)).expect("every fall start at share 1");
        env.reset(spec(seed)).unwrap();
        let i = env.reference_index();
        let k = falls.iter().position(|&f| f == i).expect("a fall track");
        seen[k] += 1;
        let reference = &refs.references[i];
        let frame = reference.frame_at(phase * reference.duration_s);
        let s = env.env().state();
        assert!(env.outcome().reference_start);
        // Posed at rest in the frame, not pushed: no speed anywhere.
        assert!(
            s.base_linvel.iter().chain(&s.dq).all(|v| *v == 0.0),
            "seed {seed}: pushed or moving"
        );
        let g = vigor_policy::projected_gravity(s.base_quat);
        for j in 0..3 {
            assert!(
                (g[j] - frame.gravity[j]).abs() < 1e-4,
                "seed {seed}: {g:?} against the frame's {:?}",
                frame.gravity
            );
        }
    }
    assert!(
        seen.iter().all(|&c| c > 0),
        "every fall track drawn: {seen:?}"
    );
    // Lying starts keep their own share (0 here): they begin at the scenario's start.
    let lying = EpisodeSpec {
        scenario: Scenario::Supine,
        ..spec(3)
    };
    assert_eq!(reference_start(&p, &lying), None);
    env.reset(lying).unwrap();
    assert!(!env.outcome().reference_start);
}

#[test]
fn training_with_reference_starts_counts_only_full_starts_and_ignores_threads() {
    let with = |threads, iterations| {
        let mut p = tiny(threads, iterations);
        p.raw.envs = 8;
        p.raw.task.reference_start_share = 0.5;
        p
    };
    let a = tempfile::tempdir().unwrap();
    run(&with(2, 2), a.path(), false).unwrap();
    let b = tempfile::tempdir().unwrap();
    run(&with(1, 2), b.path(), false).unwrap();
    assert_eq!(weights_digest(a.path()), weights_digest(b.path()));
    let p = with(1, 2);
    let c = Curriculum::new(8, p.raw.curriculum.assist_start);
    for (it, m) in read_metrics(&a.path().join(METRICS))
        .unwrap()
        .iter()
        .enumerate()
    {
        let posed = (0..8)
            .filter(|&i| reference_start(&p, &c.spec(&p, it as u64, i)).is_some())
            .count();
        assert_eq!(m.get("reference_start/share"), Some(posed as f64 / 8.0));
        assert_eq!(m.has("reference_start/success"), posed > 0);
    }
}

#[test]
fn adaptive_start_sampling_and_phases_resume_exactly() {
    let with = |iterations| {
        let mut p = tiny(1, iterations);
        p.raw.envs = 6;
        p.raw.curriculum.adaptive_starts = true;
        p.raw.task.reference_start_share = 0.5;
        p.raw.curriculum.adaptive_phase_bins = 3;
        p.raw.curriculum.adaptive_rate = 0.5;
        p
    };
    let a = tempfile::tempdir().unwrap();
    run(&with(2), a.path(), false).unwrap();
    let b = tempfile::tempdir().unwrap();
    run(&with(1), b.path(), false).unwrap();
    run(&with(2), b.path(), true).unwrap();
    assert_eq!(weights_digest(a.path()), weights_digest(b.path()));
    let ma = read_metrics(&a.path().join(METRICS)).unwrap();
    let mb = read_metrics(&b.path().join(METRICS)).unwrap();
    for key in [
        "mean_return",
        "curriculum/start_p/prone",
        "curriculum/start_p/supine",
    ] {
        assert_eq!(ma[1].get(key), mb[1].get(key), "{key}");
    }
    let total: f64 = ["supine", "prone", "side"]
        .iter()
        .map(|s| ma[1].get(&format!("curriculum/start_p/{s}")).unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    // Iteration 1's practice starts moved the rates that the checkpoint carries to iteration 2.
    let phases: Vec<f64> = (0..3)
        .map(|b| ma[0].get(&format!("curriculum/phase_p/{b}")).unwrap())
        .collect();
    assert!(
        (phases.iter().sum::<f64>() - 1.0).abs() < 1e-9,
        "{phases:?}"
    );
    assert!(
        phases.iter().any(|w| (w - 1.0 / 3.0).abs() > 1e-6),
        "the first iteration's practice starts moved the rates: {phases:?}"
    );
    for b in 0..3 {
        let key = format!("curriculum/phase_p/{b}");
        assert_eq!(ma[1].get(&key), mb[1].get(&key), "{key}");
    }
}

#[test]
fn stale_files_are_cleared_and_a_broken_latest_checkpoint_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    // Left by a run that died before its first checkpoint.
    std::fs::write(dir.path().join(METRICS), "{\"iteration\": 7}\n").unwrap();
    run(&tiny(0, 2), dir.path(), false).unwrap();
    let rows = read_metrics(&dir.path().join(METRICS)).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].iteration, 1);
    // The newest checkpoint's weights never reached the disk intact: resume from the one before.
    let w = dir
        .path()
        .join("checkpoints/iter_000002/weights.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&w, bytes).unwrap();
    run(&tiny(0, 3), dir.path(), true).unwrap();
    let rows = read_metrics(&dir.path().join(METRICS)).unwrap();
    let its: Vec<u64> = rows.iter().map(|m| m.iteration).collect();
    assert_eq!(
        its,
        vec![1, 2, 3],
        "iteration 2 redone from iteration 1's checkpoint"
    );
    // The newest checkpoint's optimiser file is empty: the same fallback.
    std::fs::write(
        dir.path()
            .join("checkpoints/iter_000003/optimizer.safetensors"),
        b"",
    )
    .unwrap();
    run(&tiny(0, 4), dir.path(), true).unwrap();
    let rows = read_metrics(&dir.path().join(METRICS)).unwrap();
    assert_eq!(
        rows.len(),
        4,
        "iteration 3 redone from iteration 2's checkpoint"
    );
    // A new run in the folder of one that died before its first checkpoint may start from that
    // folder's own `best/`: it is read before the folder is cleared.
    let fresh = tempfile::tempdir().unwrap();
    let best = fresh.path().join("best");
    copy_dir(&dir.path().join("best"), &best);
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let opts = RunOptions {
        run_dir: fresh.path().to_path_buf(),
        resume: false,
        amend: false,
        git_hash: "test".into(),
        device: tch::Device::Cpu,
        init_from: Some(best.clone()),
    };
    train(&tiny(0, 1), &robot, &sim, &opts, |_| {}).unwrap();
    assert!(
        best.join("manifest.json").is_file(),
        "a new best/ after one iteration"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn a_multi_critic_has_a_value_head_per_reward_group_and_resumes_exactly() {
    let groups: Vec<Vec<String>> = [
        &["body_pos", "joint_pos", "head_height"][..],
        &[
            "torque",
            "joint_limits",
            "joint_vel",
            "joint_acc",
            "action_rate",
            "base_velocity",
            "base_angular_velocity",
        ],
        &[
            "undesired_contacts",
            "terrain_edge",
            "head_contact",
            "impact",
        ],
    ]
    .iter()
    .map(|g| g.iter().map(|s| (*s).to_owned()).collect())
    .collect();
    let with = |threads, iterations| {
        let mut p = tiny(threads, iterations);
        p.raw.model.critic_groups.clone_from(&groups);
        p
    };
    let a = tempfile::tempdir().unwrap();
    run(&with(1, 2), a.path(), false).unwrap();
    let b = tempfile::tempdir().unwrap();
    run(&with(2, 1), b.path(), false).unwrap();
    run(&with(2, 2), b.path(), true).unwrap();
    assert_eq!(weights_digest(a.path()), weights_digest(b.path()));
    let teacher = load_artifact(&a.path().join("checkpoints").join("iter_000002")).unwrap();
    assert_eq!(teacher.manifest.spec.critic.output, 3, "one head per group");
    let m = read_metrics(&a.path().join(METRICS)).unwrap();
    let value_loss = m[1].get("ppo/value_loss").unwrap();
    assert!(value_loss.is_finite() && value_loss > 0.0, "{value_loss}");
    // A single-critic run continues as a multi-critic with --amend: everything but the critic's
    // last layer carries over. With the critic trained alone in the next iteration, the actor
    // comes out as it went in.
    let c = tempfile::tempdir().unwrap();
    run(&tiny(1, 1), c.path(), false).unwrap();
    let mut amended = with(1, 2);
    amended.raw.ppo.critic_warmup_iterations = 2;
    let err = run(&amended, c.path(), true).unwrap_err();
    assert!(err.contains("model.critic_groups"), "{err}");
    run_amended(&amended, c.path(), true, true).unwrap();
    let tensors = |iteration: usize| {
        let t = load_artifact(
            &c.path()
                .join("checkpoints")
                .join(format!("iter_{iteration:06}")),
        )
        .unwrap();
        (t.manifest.spec.critic.output, t.net.named_parameters())
    };
    let ((one, before), (three, after)) = (tensors(1), tensors(2));
    assert_eq!((one, three), (1, 3));
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        if name.starts_with("critic.") {
            continue;
        }
        assert!(a.equal(b), "{name} changed in a critic-only iteration");
    }
}

#[test]
fn a_run_resumes_onto_a_finer_height_scan_with_amend() {
    let c = tempfile::tempdir().unwrap();
    run(&tiny(1, 1), c.path(), false).unwrap();
    let mut finer = tiny(1, 2);
    finer.raw.task.scan_spacing_m = 0.1;
    finer.raw.ppo.critic_warmup_iterations = 2;
    let err = run(&finer, c.path(), true).unwrap_err();
    assert!(err.contains("task.scan_spacing_m"), "{err}");
    // A grid that shares no point with the old one (6 points along x, none at the centre) would
    // throw away what the networks learned from the terrain: refused.
    let mut shifted = finer.clone();
    shifted.raw.task.scan_x_m = 1.0;
    shifted.raw.task.scan_spacing_m = 0.2;
    let err = run_amended(&shifted, c.path(), true, true).unwrap_err();
    assert!(
        err.contains("keeps 0 of the checkpoint's 35 points"),
        "{err}"
    );
    run_amended(&finer, c.path(), true, true).unwrap();
    let load = |iteration: usize| {
        load_artifact(
            &c.path()
                .join("checkpoints")
                .join(format!("iter_{iteration:06}")),
        )
        .unwrap()
    };
    let (before, after) = (load(1), load(2));
    assert_eq!(
        (before.manifest.spec.scan, after.manifest.spec.scan),
        (35, 117)
    );
    assert_eq!(
        after.manifest.normaliser.len(),
        after.manifest.spec.row(),
        "the normaliser follows the row"
    );
    // A critic-only iteration after the change: the actor and the encoder come out as they went
    // in, the encoder's first layer with a zero column for each of the 82 new points.
    let params =
        |t: &vigor_training::teacher::Teacher| -> std::collections::HashMap<String, tch::Tensor> {
            t.net.named_parameters().into_iter().collect()
        };
    let (old, new) = (params(&before), params(&after));
    for (name, a) in &old {
        if name.starts_with("actor.") || name == "log_std" {
            assert!(a.equal(&new[name]), "{name} changed");
        }
    }
    let w = &new["encoder.l0.weight"];
    let zero_columns = (0..w.size()[1])
        .filter(|&c| w.select(1, c).abs().sum(tch::Kind::Float).double_value(&[]) == 0.0)
        .count();
    assert_eq!(zero_columns, 117 - 35);
    let m = read_metrics(&c.path().join(METRICS)).unwrap();
    assert_eq!(m.len(), 2);
    assert!(m[1].get("mean_return").unwrap().is_finite());
}

#[test]
fn the_noise_ceiling_holds_from_the_first_rollout() {
    // The critic trains alone in the first iteration, so the actor's noise is what the run
    // started with: the ceiling, not model.init_std.
    let mut p = tiny(1, 1);
    p.raw.ppo.critic_warmup_iterations = 1;
    p.raw.ppo.max_action_std = Some(0.1);
    assert!(p.raw.model.init_std > 0.1);
    let dir = tempfile::tempdir().unwrap();
    run(&p, dir.path(), false).unwrap();
    let m = read_metrics(&dir.path().join(METRICS)).unwrap();
    let std = m[0].get("ppo/action_std").unwrap();
    assert!((std - 0.1).abs() < 1e-6, "{std}");
}
