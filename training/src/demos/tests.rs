//! Unit tests of the demonstration pipeline on small fixtures made here.

use std::path::Path;

use rapier3d::na::{Isometry3, Translation3, UnitQuaternion, Vector3};
use vigor_common::seed::SplitMix64;
use vigor_sim::robot::Robot;

use super::authored::grounded;
use super::keyframes::Keyframes;
use super::lafan::parse_take;
use super::segment::{SegmentParams, find_spans, segment_take};
use super::*;

fn g1() -> Robot {
    Robot::embedded("g1_29dof").unwrap()
}

/// A frame with the pelvis at `root` and the default joints, lowered onto the ground; off its
/// feet, the arms are straight along the body (the default pose holds the forearms forward).
fn frame_at(robot: &Robot, root: &Isometry3<f64>) -> Frame {
    let mut q = robot.default_pose();
    if (root.rotation * Vector3::z()).z < 0.5 {
        for (x, j) in q.iter_mut().zip(&robot.joints) {
            if j.name.ends_with("elbow_joint") {
                *x = 1.4;
            }
        }
    }
    let mut f = Frame {
        root_pos_m: [0.0; 3],
        root_quat_wxyz: [1.0, 0.0, 0.0, 0.0],
        joint_pos_rad: q,
    };
    f.set_root(root);
    grounded(robot, f)
}

fn standing(robot: &Robot) -> Frame {
    frame_at(robot, &Isometry3::identity())
}

fn supine(robot: &Robot) -> Frame {
    let r = UnitQuaternion::from_axis_angle(&Vector3::y_axis(), -std::f64::consts::FRAC_PI_2);
    frame_at(robot, &Isometry3::from_parts(Translation3::identity(), r))
}

/// CSV text of frames (pelvis, quaternion x y z w, joints), as Unitree's takes are written.
fn csv(frames: &[Frame]) -> String {
    frames
        .iter()
        .map(|f| {
            let [w, x, y, z] = f.root_quat_wxyz;
            let mut v: Vec<String> = f.root_pos_m.iter().map(|x| format!("{x:.6}")).collect();
            v.extend([x, y, z, w].iter().map(|x| format!("{x:.6}")));
            v.extend(f.joint_pos_rad.iter().map(|x| format!("{x:.6}")));
            v.join(",") + "\n"
        })
        .collect()
}

/// A synthetic take at 30 fps: stand 1 s, fall 0.5 s, lie on the back 1 s, get up 1 s, stand 1 s,
/// then again with a shorter lie, then a final fall with no get-up.
fn synthetic_take(robot: &Robot) -> Vec<Frame> {
    let (up, down) = (standing(robot), supine(robot));
    let mut frames = Vec::new();
    let hold =
        |f: &Frame, n: usize, out: &mut Vec<Frame>| out.extend(std::iter::repeat_n(f.clone(), n));
    let ramp = |a: &Frame, b: &Frame, n: usize, out: &mut Vec<Frame>| {
        out.extend((0..n).map(|i| a.lerp(b, (i + 1) as f64 / n as f64)));
    };
    for lie in [30, 12] {
        hold(&up, 30, &mut frames);
        ramp(&up, &down, 15, &mut frames);
        hold(&down, lie, &mut frames);
        ramp(&down, &up, 30, &mut frames);
    }
    hold(&up, 30, &mut frames);
    ramp(&up, &down, 15, &mut frames);
    hold(&down, 30, &mut frames);
    frames
}

#[test]
fn csv_import_round_trips_and_normalises() {
    let robot = g1();
    let frames = synthetic_take(&robot);
    let take = parse_take(&csv(&frames), Path::new("fixture.csv"), &robot).unwrap();
    assert_eq!(take.frames.len(), frames.len());
    assert_eq!(take.name, "fixture");
    for (a, b) in take.frames.iter().zip(&frames) {
        for (x, y) in a.joint_pos_rad.iter().zip(&b.joint_pos_rad) {
            assert!((x - y).abs() < 1e-6, "joint {x} vs {y}");
        }
        let n: f64 = a.root_quat_wxyz.iter().map(|x| x * x).sum();
        assert!((n - 1.0).abs() < 1e-12, "norm² {n}");
    }
}

#[test]
fn csv_errors_name_the_file_line_and_column() {
    let robot = g1();
    let good = csv(&[standing(&robot), standing(&robot)]);
    let lines: Vec<&str> = good.lines().collect();
    let check = |second: String, expect: &[&str]| {
        let text = format!("{}\n{second}\n", lines[0]);
        let err = parse_take(&text, Path::new("takes/bad.csv"), &robot)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("takes/bad.csv:2:"), "{err}");
        for e in expect {
            assert!(err.contains(e), "`{err}` lacks `{e}`");
        }
    };
    // Too few columns.
    check(
        lines[1].rsplit_once(',').unwrap().0.to_owned(),
        &["35 columns, expected 36"],
    );
    // Not a number, in column 9.
    let mut f: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
    f[8] = "abc".into();
    check(f.join(","), &["column 9", "`abc` is not a number"]);
    // NaN.
    f[8] = "NaN".into();
    check(f.join(","), &["column 9", "not finite"]);
    // Quaternion not unit.
    let mut g: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
    g[6] = "2.0".into();
    check(g.join(","), &["columns 4-7", "quaternion norm"]);
    // Knee (slot 3, column 11) beyond its limit.
    let mut h: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
    h[10] = "3.5".into();
    check(
        h.join(","),
        &["column 11", "left_knee_joint = 3.5000", "outside its range"],
    );
    // Empty file.
    let err = parse_take("\n\n", Path::new("empty.csv"), &robot)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no frames"), "{err}");
}

#[test]
fn segmentation_finds_each_fall_and_get_up_and_labels_it() {
    let robot = g1();
    let take = parse_take(
        &csv(&synthetic_take(&robot)),
        Path::new("synthetic.csv"),
        &robot,
    )
    .unwrap();
    let params = SegmentParams::default();
    let spans = find_spans(&take, &params);
    // Two get-ups; the last fall has no get-up and is dropped.
    assert_eq!(spans.len(), 2, "{spans:?}");
    let clips = segment_take(&take, &robot, &params).unwrap();
    assert_eq!(clips.len(), 2);
    for (c, s) in clips.iter().zip(&spans) {
        assert!(
            s.start < s.fall && s.fall < s.stood && s.stood < s.end,
            "{s:?}"
        );
        assert_eq!(c.posture, Posture::Supine, "{}", c.name);
        assert!(
            c.behaviour.starts_with("supine") && c.behaviour.ends_with("standing"),
            "{}",
            c.behaviour
        );
        assert_eq!(c.rate_hz, 50.0);
        // 30 fps -> 50 Hz over the same duration.
        let expected = ((s.end - s.start - 1) as f64 / 30.0 * 50.0).floor() as usize + 1;
        assert_eq!(c.frames.len(), expected);
        // Starts and ends standing, first pelvis over the origin.
        let first = &c.frames[0];
        assert!(first.root_pos_m[0].abs() < 1e-9 && first.root_pos_m[1].abs() < 1e-9);
        assert!(first.root_pos_m[2] > 0.7 && c.frames.last().unwrap().root_pos_m[2] > 0.7);
        assert!(c.source.contains("synthetic.csv frames"), "{}", c.source);
    }
    assert_eq!(clips[0].name, "synthetic_01");
}

#[test]
fn clip_file_round_trips_and_rejects_corruption() {
    let robot = g1();
    let take = parse_take(&csv(&synthetic_take(&robot)), Path::new("t.csv"), &robot).unwrap();
    let clip = segment_take(&take, &robot, &SegmentParams::default())
        .unwrap()
        .remove(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.vclip");
    clip.save(&path).unwrap();
    let back = Clip::load(&path).unwrap();
    assert_eq!(back.header(), clip.header());
    for (a, b) in back.frames.iter().zip(&clip.frames) {
        for (x, y) in a.joint_pos_rad.iter().zip(&b.joint_pos_rad) {
            assert!((x - y).abs() < 1e-6);
        }
    }
    assert_eq!(Clip::load_dir(dir.path()).unwrap().len(), 1);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let err = Clip::from_bytes(&bytes, &path).unwrap_err().to_string();
    assert!(err.contains("a.vclip") && err.contains("checksum"), "{err}");
    let err = Clip::from_bytes(&bytes[..mid], &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("checksum") || err.contains("runs past"),
        "{err}"
    );
    let err = Clip::from_bytes(b"PK\x03\x04 not a clip at all", &path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("magic"), "{err}");
}

#[test]
fn resampling_keeps_the_motion() {
    let robot = g1();
    let take = parse_take(&csv(&synthetic_take(&robot)), Path::new("t.csv"), &robot).unwrap();
    let clip = Clip {
        name: "t".into(),
        source: String::new(),
        posture: Posture::Supine,
        behaviour: String::new(),
        robot: robot.name.clone(),
        rate_hz: take.rate_hz,
        frames: take.frames.clone(),
    };
    let fast = clip.resampled(50.0);
    for t in [0.0, 0.37, 1.2, 2.9] {
        let (a, b) = (clip.sample(t), fast.sample(t));
        // Linear interpolation of a motion that is itself piecewise linear at 30 fps: within
        // one 30 fps step's change.
        assert!((a.root_pos_m[2] - b.root_pos_m[2]).abs() < 0.05, "t {t}");
    }
    assert!((fast.duration_s() - clip.duration_s()).abs() < 1.0 / 50.0);
}

#[test]
fn keyframes_are_uniform_and_the_next_target_is_strictly_ahead() {
    let robot = g1();
    let clip = AuthoredDemo::shipped(&robot).unwrap()[0].to_clip(&robot, 50.0);
    let keys = Keyframes::uniform(&clip, 0.5);
    let d = clip.duration_s();
    assert_eq!(keys.len(), (d / 0.5).ceil() as usize);
    assert!((keys.times_s.last().unwrap() - d).abs() < 1e-9);
    let gaps: Vec<f64> = keys.times_s.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter()
            .all(|g| (g - gaps[0]).abs() < 1e-9 && *g <= 0.5 + 1e-9),
        "{gaps:?}"
    );
    // At a keyframe's own time the next target is the following one.
    let t1 = keys.times_s[1];
    assert_eq!(keys.next_at(t1).index, 2);
    assert_eq!(keys.next_at(t1 - 1e-6).index, 1);
    assert_eq!(keys.next_at(0.0).index, 0);
    let end = keys.next_at(d + 5.0);
    assert_eq!((end.index, end.time_to_go_s), (keys.len() - 1, 0.0));
    assert_eq!(keys.next_at_phase(0.5).index, keys.next_at(d / 2.0).index);
    // The keyframe pose is the clip's pose at that time.
    let k = keys.next_at(0.1);
    assert_eq!(k.frame, &clip.sample(k.time_s));
}

#[test]
fn kinematics_match_the_robot_and_keypoints_are_root_relative() {
    let robot = g1();
    let clip = AuthoredDemo::shipped(&robot).unwrap()[0].to_clip(&robot, 50.0);
    let kin = ClipKinematics::new(&robot, &clip).unwrap();
    assert_eq!(kin.link_poses.len(), clip.frames.len());
    let k = clip.frames.len() - 1;
    let f = &clip.frames[k];
    let poses = robot.forward_kinematics(&f.root(), &f.joint_pos_rad);
    assert_eq!(kin.link_poses[k], poses);
    let pelvis = ClipKinematics::keypoint_index("pelvis").unwrap();
    assert!(kin.keypoints_root[k][pelvis].coords.norm() < 1e-12);
    // Root-relative keypoints do not change when the whole clip is moved.
    let moved = Alignment {
        clip: 0,
        phase: 0.0,
        start_time_s: 0.0,
        placement: Isometry3::from_parts(
            Translation3::new(1.0, -2.0, 0.0),
            UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 0.7),
        ),
        dz_m: 0.3,
    }
    .apply(&clip);
    let kin2 = ClipKinematics::new(&robot, &moved).unwrap();
    for (a, b) in kin.keypoints_root[k].iter().zip(&kin2.keypoints_root[k]) {
        assert!((a - b).norm() < 1e-9);
    }
    // Grounded frames touch the ground and do not go through it.
    for i in 0..clip.frames.len() {
        assert!(
            kin.lowest_z(i).abs() < 1e-9,
            "frame {i}: lowest {}",
            kin.lowest_z(i)
        );
    }
}

#[test]
fn alignment_lifts_by_the_highest_terrain_under_a_link_and_is_seeded() {
    let robot = g1();
    let clips = shipped_clips(&robot, 50.0).unwrap();
    let kin: Vec<ClipKinematics> = clips
        .iter()
        .map(|c| ClipKinematics::new(&robot, c).unwrap())
        .collect();
    let flat = |_: f64, _: f64| 0.0;
    let params = AlignParams::default();
    // Flat terrain: the grounded references stay where they are.
    let a = align(
        &clips,
        &kin,
        [0.0, 0.0],
        &flat,
        &params,
        &mut SplitMix64::new(3),
    );
    assert!(a.dz_m.abs() < 1e-9, "dz {}", a.dz_m);
    // A 0.2 m step everywhere: lifted by exactly 0.2 m.
    let plateau = |_: f64, _: f64| 0.2;
    let b = align(
        &clips,
        &kin,
        [0.0, 0.0],
        &plateau,
        &params,
        &mut SplitMix64::new(3),
    );
    assert!((b.dz_m - 0.2).abs() < 1e-9, "dz {}", b.dz_m);
    // A ramp: every link of the aligned reference is on or above the terrain, one touches it.
    let ramp = |x: f64, _: f64| 0.1 * x;
    let c = align(
        &clips,
        &kin,
        [5.0, 1.0],
        &ramp,
        &params,
        &mut SplitMix64::new(9),
    );
    let moved = c.apply(&clips[c.clip]);
    let kin_moved = ClipKinematics::new(&robot, &moved).unwrap();
    let mut closest = f64::INFINITY;
    for frame in &kin_moved.lowest_points {
        for p in frame.iter().flatten() {
            let gap = p.z - ramp(p.x, p.y);
            assert!(gap > -1e-9, "link below the ramp by {gap}");
            closest = closest.min(gap);
        }
    }
    assert!(closest < 1e-9, "closest gap {closest}");
    // Seeded: same seed same draw; offsets and phase stay in range; every clip gets drawn.
    let again = align(
        &clips,
        &kin,
        [5.0, 1.0],
        &ramp,
        &params,
        &mut SplitMix64::new(9),
    );
    assert_eq!(c, again);
    let mut seen = vec![false; clips.len()];
    let mut rng = SplitMix64::new(11);
    for _ in 0..64 {
        let a = align(&clips, &kin, [0.0, 0.0], &flat, &params, &mut rng);
        seen[a.clip] = true;
        let t = a.placement.translation.vector;
        assert!(t.x.abs() <= 0.3 && t.y.abs() <= 0.3 && (0.0..=1.0).contains(&a.phase));
        assert!((a.start_time_s - a.phase * clips[a.clip].duration_s()).abs() < 1e-9);
    }
    assert!(seen.iter().all(|&s| s), "{seen:?}");
}

#[test]
fn posture_classes_of_canonical_poses() {
    let robot = g1();
    let classify = |f: &Frame| segment::postures(&robot, std::slice::from_ref(f))[0];
    assert_eq!(classify(&standing(&robot)), Posture::Standing);
    assert_eq!(classify(&supine(&robot)), Posture::Supine);
    let prone = frame_at(
        &robot,
        &Isometry3::from_parts(
            Translation3::identity(),
            UnitQuaternion::from_axis_angle(&Vector3::y_axis(), std::f64::consts::FRAC_PI_2),
        ),
    );
    assert_eq!(classify(&prone), Posture::Prone);
    let side = frame_at(
        &robot,
        &Isometry3::from_parts(
            Translation3::identity(),
            UnitQuaternion::from_axis_angle(&Vector3::x_axis(), std::f64::consts::FRAC_PI_2),
        ),
    );
    assert_eq!(classify(&side), Posture::Side);
    for p in Posture::ALL {
        assert_eq!(Posture::from_name(p.name()), Ok(p));
    }
    assert!(
        Posture::from_name("upside_down")
            .unwrap_err()
            .contains("supine")
    );
}
