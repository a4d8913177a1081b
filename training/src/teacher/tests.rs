//! Unit tests of the teacher's pieces that need no simulation.

use rapier3d::na::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use vigor_common::config::{self, Validate};
use vigor_sim::env::EpisodeSpec;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;

use super::config::{DEFAULT_TOML, TeacherConfig, TeacherParams};
use super::curriculum::{Curriculum, reference_start};
use super::reference::{ReferenceSet, heading, heading_relative, reference_obs_len};

fn params(text: &str) -> Result<TeacherParams, vigor_common::ConfigError> {
    config::parse::<TeacherConfig>(text, "teacher.toml")?.validate("teacher.toml")
}

#[test]
fn shipped_config_validates() {
    let p = TeacherConfig::embedded().unwrap();
    assert_eq!(
        p.scenarios(),
        vec![Scenario::Supine, Scenario::Prone, Scenario::Side]
    );
    assert_eq!(p.terrains().len(), 11);
    assert_eq!(p.raw.task.episode_s, 7.5);
}

#[test]
fn training_may_widen_the_pushes_and_evaluation_keeps_the_protocols() {
    use vigor_sim::scenario::PROTOCOL_PUSH_N;
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    // Configurations without the key read as the protocol's range.
    let old = params(DEFAULT_TOML).unwrap();
    assert_eq!(old.raw.task.push_force_n, PROTOCOL_PUSH_N);
    let unified = config::parse::<TeacherConfig>(super::config::UNIFIED_TOML, "u.toml").unwrap();
    let wide = params(&super::config::UNIFIED_TOML.replace(
        "push_force_n = [250.0, 450.0]",
        "push_force_n = [60.0, 450.0]",
    ))
    .unwrap();
    assert_ne!(wide.raw.task.push_force_n, unified.task.push_force_n);
    let collector = super::InProcess::new(&wide, &robot, &sim).unwrap();
    assert_eq!(collector.env_config().push_force_n, [60.0, 450.0]);
    assert_eq!(
        super::runner::env_config(&wide, &sim).push_force_n,
        PROTOCOL_PUSH_N,
        "evaluation builds its environments with env_config"
    );
    for (bad, key) in [
        ("[10.0, 450.0]", "task.push_force_n[0]"),
        ("[300.0, 200.0]", "task.push_force_n[1]"),
    ] {
        let text = super::config::UNIFIED_TOML.replace(
            "push_force_n = [250.0, 450.0]",
            &format!("push_force_n = {bad}"),
        );
        let err = params(&text).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }
    // The hand-over's fields are checked by name and range; older files without it read as none.
    for (bad, key) in [
        ("after_s = 6.0", "task.reanchor.after_s"),
        ("lying_tilt_rad = 0.2", "task.reanchor.lying_tilt_rad"),
        ("settled_rad_s = 0.0", "task.reanchor.settled_rad_s"),
    ] {
        let field = bad.split(" = ").next().unwrap();
        let good = [
            "after_s = 0.5",
            "lying_tilt_rad = 1.1",
            "settled_rad_s = 1.5",
        ]
        .into_iter()
        .find(|g| g.starts_with(field))
        .unwrap();
        let text = super::config::UNIFIED_TOML.replace(good, bad);
        let err = params(&text).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }
    let start = super::config::UNIFIED_TOML.find("reanchor = {").unwrap();
    let end = start + super::config::UNIFIED_TOML[start..].find('\n').unwrap();
    let mut older = super::config::UNIFIED_TOML.to_owned();
    older.replace_range(start..end, "");
    assert_eq!(params(&older).unwrap().raw.task.reanchor, None);
}

#[test]
fn bad_values_name_the_file_key_and_range() {
    let err = params(&DEFAULT_TOML.replace("envs = 32", "envs = 0")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "teacher.toml: `envs` = 0 is out of range: allowed 1 ..= 4096"
    );
    let err = params(&DEFAULT_TOML.replace("\"prone\", ", "\"upside_down\", ")).unwrap_err();
    assert!(
        err.to_string().contains("`task.scenarios`")
            && err.to_string().contains("upside_down")
            && err.to_string().contains("draped_over_stair"),
        "{err}"
    );
    let err =
        params(&DEFAULT_TOML.replace("engine = \"mujoco\"", "engine = \"bullet\"")).unwrap_err();
    assert!(err.to_string().contains("`sim.engine`"), "{err}");
    let err = params(&DEFAULT_TOML.replace("\"rough\", \"waves\"", "\"lava\", \"waves\""))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`curriculum.terrains`") && err.contains("lava") && err.contains("stairs_up"),
        "{err}"
    );
    let err = params(&DEFAULT_TOML.replace("latent = 32", "latent = 0")).unwrap_err();
    assert!(err.to_string().contains("`model.latent` = 0"), "{err}");
}

fn rot(roll: f64, pitch: f64, yaw: f64) -> UnitQuaternion<f64> {
    UnitQuaternion::from_euler_angles(roll, pitch, yaw)
}

#[test]
fn heading_is_defined_standing_and_lying() {
    for yaw in [-2.0, -0.5, 0.0, 1.0, 3.0] {
        // Standing: heading is the yaw.
        assert!((heading(&rot(0.0, 0.0, yaw)) - yaw).abs() < 1e-9);
        // On the back (forward points up) plain yaw is undefined; the heading still turns with the
        // body: supine facing yaw has its head toward yaw + pi.
        let supine = heading(&rot(0.0, -std::f64::consts::FRAC_PI_2, yaw));
        let want = yaw + std::f64::consts::PI;
        assert!(
            (supine - want).sin().abs() < 1e-9 && (supine - want).cos() > 0.0,
            "yaw {yaw}: {supine}"
        );
    }
}

#[test]
fn heading_relative_points_ignore_position_and_yaw_and_keep_gravity_down() {
    let pts = [Point3::new(1.0, 0.5, 0.3), Point3::new(-0.2, 0.1, 1.0)];
    let a = Isometry3::from_parts(Translation3::new(0.0, 0.0, 0.5), rot(0.0, 0.0, 0.0));
    let turn = Isometry3::from_parts(Translation3::new(3.0, -2.0, 0.0), rot(0.0, 0.0, 1.2));
    let moved: Vec<Point3<f64>> = pts.iter().map(|p| turn * p).collect();
    let ra = heading_relative(&a, &pts);
    let rb = heading_relative(&(turn * a), &moved);
    for (x, y) in ra.iter().zip(&rb) {
        assert!((x - y).abs() < 1e-5, "{ra:?} vs {rb:?}");
    }
    // A head 0.5 m above the pelvis along the body's up axis: high when standing, level with the
    // pelvis when lying on the back (gravity stays down in the heading frame).
    let head = Point3::new(0.0, 0.0, 0.5);
    let standing = Isometry3::from_parts(Translation3::new(0.0, 0.0, 0.8), rot(0.0, 0.0, 0.7));
    let supine = Isometry3::from_parts(
        Translation3::new(0.0, 0.0, 0.1),
        rot(0.0, -std::f64::consts::FRAC_PI_2, 0.7),
    );
    let up = heading_relative(&standing, &[standing * head]);
    let lying = heading_relative(&supine, &[supine * head]);
    assert!((up[2] - 0.5).abs() < 1e-6 && up[0].abs() < 1e-6, "{up:?}");
    assert!(
        lying[2].abs() < 1e-6 && (lying[0] - 0.5).abs() < 1e-6,
        "head ahead along the heading: {lying:?}"
    );
    let _ = Vector3::<f64>::z();
}

#[test]
fn references_cover_the_lying_postures_and_keyframes_advance() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let set = ReferenceSet::shipped(&robot, 0.5).unwrap();
    for s in [Scenario::Supine, Scenario::Prone, Scenario::Side] {
        let r = &set.references[set.index_for(s)];
        assert_eq!(r.posture, ReferenceSet::posture_for(s), "{s}");
    }
    let r = &set.references[0];
    let (_, to_go) = r.next_keyframe(0.0);
    assert!((to_go - r.keyframe_times_s[0]).abs() < 1e-9);
    let (last, to_go) = r.next_keyframe(r.duration_s + 1.0);
    assert_eq!(to_go, 0.0);
    assert_eq!(last, r.frames.last().unwrap());
    let mut out = vec![f32::NAN; reference_obs_len(29)];
    assert_eq!(out.len(), 79);
    let default: Vec<f32> = robot.joints.iter().map(|j| j.default as f32).collect();
    r.write_obs(0.0, &default, 2.0, &mut out);
    assert!(out.iter().all(|v| v.is_finite()));
    assert!(
        (out[78] - 2.0 * r.keyframe_times_s[0] as f32).abs() < 1e-5,
        "time to go in episode seconds"
    );
    // Lying start: the root is low; the final (standing) frame's root is high.
    assert!(r.frames[0].root_height_m < 0.3 && r.frames.last().unwrap().root_height_m > 0.65);
}

#[test]
fn the_gravity_rule_sends_each_push_direction_to_its_fall_demonstration() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let unified = config::parse::<TeacherConfig>(
        include_str!("../../../configs/teacher-unified.toml"),
        "configs/teacher-unified.toml",
    )
    .unwrap();
    let set = ReferenceSet::for_task(&robot, &unified.task).unwrap();
    let names: Vec<&str> = set.references.iter().map(|r| r.name.as_str()).collect();
    // A body tipped 20° (the engage tilt) in each direction, at several headings: forward is a
    // pitch about the body's y, to the left a roll that lowers its +y side.
    let lean = |axis: Vector3<f64>, deg: f64| {
        UnitQuaternion::from_axis_angle(&rapier3d::na::Unit::new_normalize(axis), deg.to_radians())
    };
    for yaw_deg in [0.0, 70.0, -135.0] {
        let yaw = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), f64::to_radians(yaw_deg));
        for (body, expected) in [
            (lean(Vector3::y(), 20.0), "fall_forward_kneel"),
            (lean(Vector3::y(), -20.0), "fall_backward_squat"),
            (lean(Vector3::x(), -20.0), "fall_left_kneel"),
            (lean(Vector3::x(), 20.0), "fall_right_kneel"),
            (lean(Vector3::y(), 90.0), "prone_push_up"),
            (lean(Vector3::y(), -90.0), "supine_roll_kneel"),
        ] {
            let q = (yaw * body).into_inner();
            let g = vigor_policy::projected_gravity([q.w, q.i, q.j, q.k].map(|v| v as f32));
            assert_eq!(
                names[set.index_for_gravity(g)],
                expected,
                "yaw {yaw_deg}°, gravity {g:?}"
            );
        }
    }
    // Lying on either side picks the recovery written for that side.
    let right = lean(Vector3::x(), 90.0).into_inner();
    let left = lean(Vector3::x(), -90.0).into_inner();
    for (q, expected) in [(right, "side_roll_kneel"), (left, "side_roll_kneel_left")] {
        let g = vigor_policy::projected_gravity([q.w, q.i, q.j, q.k].map(|v| v as f32));
        assert_eq!(names[set.index_for_gravity(g)], expected, "{g:?}");
    }
    // Configurations without `task.demos` keep the three lying recoveries.
    let shipped = TeacherConfig::embedded().unwrap();
    assert_eq!(
        shipped.raw.task.demos,
        ["supine_roll_kneel", "prone_push_up", "side_roll_kneel"]
    );
}

#[test]
fn curriculum_lowers_the_assist_then_promotes_and_demotes() {
    let p = TeacherConfig::embedded().unwrap();
    let n = 4;
    let mut c = Curriculum::new(n, 0.8);
    let specs: Vec<EpisodeSpec> = (0..n).map(|i| c.spec(&p, 0, i)).collect();
    let spec = c.spec(&p, 3, 1);
    assert_eq!(spec, c.spec(&p, 3, 1), "seeded");
    assert_ne!(spec.seed, c.spec(&p, 4, 1).seed);
    assert_eq!(spec.terrain, (TerrainKind::Flat, 0.0));
    c.update(
        &p,
        &specs,
        &[Some(true), Some(true), Some(false), Some(false)],
    );
    assert!(
        (c.assist - 0.72).abs() < 1e-6,
        "half succeeded: assist lowered"
    );
    c.update(
        &p,
        &specs,
        &[Some(true), Some(false), Some(false), Some(false)],
    );
    assert!((c.assist - 0.72).abs() < 1e-6, "kept");
    c.assist = 0.021;
    c.update(&p, &specs, &[Some(true); 4]);
    assert_eq!(c.assist, 0.0, "switched off below 2 %");
    assert_eq!(c.stage, 1);
    c.update(
        &p,
        &specs,
        &[Some(true), Some(true), Some(false), Some(false)],
    );
    assert_eq!(c.stage, 2, "flat success 50 % without help: stage 2");
    c.update(
        &p,
        &specs,
        &[Some(true), Some(false), Some(true), Some(true)],
    );
    assert_eq!(c.levels, vec![1, 0, 1, 1]);
    c.update(
        &p,
        &specs,
        &[Some(false), Some(true), Some(true), Some(true)],
    );
    assert_eq!(c.levels, vec![0, 1, 2, 2]);
    // Episodes begun part-way along a demonstration count neither way: here the one full
    // start failed, so the rate is 0 % and only its slot moves.
    c.update(&p, &specs, &[Some(false), None, None, None]);
    assert_eq!(c.levels, vec![0, 1, 2, 2]);
    c.update(&p, &specs, &[None, Some(false), None, Some(true)]);
    assert_eq!(c.levels, vec![0, 0, 2, 3]);
    let s = c.spec(&p, 9, 2);
    assert_eq!(s.terrain, (p.terrains()[2], 2.0 / 14.0));
}

#[test]
fn a_two_way_assist_goes_back_up_after_a_failing_iteration() {
    let mut p = TeacherConfig::embedded().unwrap();
    let mut c = Curriculum::new(4, 0.8);
    let specs: Vec<EpisodeSpec> = (0..4).map(|i| c.spec(&p, 0, i)).collect();
    let fail = [Some(false); 4];
    c.update(&p, &specs, &fail);
    assert!((c.assist - 0.8).abs() < 1e-6, "off by default: kept");
    p.raw.curriculum.assist_raise_below = 0.1;
    c.update(&p, &specs, &[Some(true), Some(true), None, Some(false)]);
    assert!(
        (c.assist - 0.72).abs() < 1e-6,
        "two of three full starts: lowered"
    );
    c.update(
        &p,
        &specs,
        &[Some(true), Some(false), Some(false), Some(false)],
    );
    assert!((c.assist - 0.72).abs() < 1e-6, "25 %: kept");
    c.update(&p, &specs, &fail);
    assert!((c.assist - 0.8).abs() < 1e-6, "none: raised back");
    c.update(&p, &specs, &fail);
    assert!((c.assist - 0.8).abs() < 1e-6, "never above the start");
    // It must lie below the rate that lowers it.
    let err = params(&DEFAULT_TOML.replace("assist_raise_below = 0.0", "assist_raise_below = 0.5"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("curriculum.assist_raise_below"), "{err}");
}

#[test]
fn adaptive_start_sampling_draws_failing_scenarios_more_with_a_uniform_floor() {
    let mut p = TeacherConfig::embedded().unwrap();
    let n = 64;
    let uniform = Curriculum::new(n, 0.8);
    let before: Vec<EpisodeSpec> = (0..n).map(|i| uniform.spec(&p, 5, i)).collect();
    p.raw.curriculum.adaptive_starts = true;
    let mut c = Curriculum::new(n, 0.8);
    // Before any episode every cell has the same prior: the draws are uniform (not the same
    // episodes as the modulo draw, but the same seeds and terrain).
    let w = c.scenario_weights(&p, 0);
    assert!(w.iter().all(|x| (x - 1.0 / 3.0).abs() < 1e-12), "{w:?}");
    let first: Vec<EpisodeSpec> = (0..n).map(|i| c.spec(&p, 5, i)).collect();
    assert!(
        first
            .iter()
            .zip(&before)
            .all(|(a, b)| a.seed == b.seed && a.terrain == b.terrain)
    );
    // Prone always fails, the others always succeed.
    for it in 0..200 {
        let specs: Vec<EpisodeSpec> = (0..n).map(|i| c.spec(&p, it, i)).collect();
        let ok: Vec<Option<bool>> = specs
            .iter()
            .map(|s| Some(s.scenario != Scenario::Prone))
            .collect();
        c.update(&p, &specs, &ok);
        c.assist = 0.8; // stay in stage 1 with help, on flat ground
    }
    let w = c.scenario_weights(&p, 0);
    let prone = p
        .scenarios()
        .iter()
        .position(|s| *s == Scenario::Prone)
        .unwrap();
    let floor = 0.3 / 3.0;
    assert!((w[prone] - (floor + 0.7)).abs() < 1e-3, "{w:?}");
    for (s, x) in w.iter().enumerate().filter(|(s, _)| *s != prone) {
        assert!((x - floor).abs() < 1e-3, "scenario {s}: {x}");
    }
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    let mut count = [0usize; 3];
    for it in 1000..1100 {
        for i in 0..n {
            let s = c.spec(&p, it, i).scenario;
            count[p.scenarios().iter().position(|x| *x == s).unwrap()] += 1;
        }
    }
    let share = count[prone] as f64 / (100 * n) as f64;
    assert!((share - 0.8).abs() < 0.02, "prone drawn {share}");
    // The state round-trips through a checkpoint, and an older checkpoint without it reads.
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Curriculum>(&json).unwrap(), c);
    let old: Curriculum =
        serde_json::from_str(r#"{"stage":1,"levels":[0,0],"assist":0.5}"#).unwrap();
    assert!(old.start_failure.is_empty());
    // Practice episodes (reference-state starts) do not move the rates.
    let snapshot = c.start_failure.clone();
    let specs: Vec<EpisodeSpec> = (0..n).map(|i| c.spec(&p, 7, i)).collect();
    c.update(&p, &specs, &vec![None; n]);
    assert_eq!(c.start_failure, snapshot);
}

#[test]
fn reference_starts_take_their_share_of_lying_starts_and_never_falls() {
    let mut p = TeacherConfig::embedded().unwrap();
    let c = Curriculum::new(64, 0.8);
    let specs: Vec<EpisodeSpec> = (0..50)
        .flat_map(|it| (0..64).map(move |i| (it, i)))
        .map(|(it, i)| c.spec(&p, it, i))
        .collect();
    assert!(
        specs.iter().all(|s| reference_start(&p, s).is_none()),
        "off by default"
    );
    p.raw.task.reference_start_share = 0.3;
    let phases: Vec<f64> = specs
        .iter()
        .filter_map(|s| reference_start(&p, s))
        .collect();
    let share = phases.len() as f64 / specs.len() as f64;
    assert!((share - 0.3).abs() < 0.02, "share {share}");
    assert!(phases.iter().all(|f| (0.0..1.0).contains(f)));
    let early = phases.iter().filter(|f| **f < 0.5).count() as f64 / phases.len() as f64;
    assert!(
        (early - 0.5).abs() < 0.04,
        "phases uniform: {early} below one half"
    );
    assert_eq!(
        specs
            .iter()
            .map(|s| reference_start(&p, s))
            .collect::<Vec<_>>(),
        specs
            .iter()
            .map(|s| reference_start(&p, s))
            .collect::<Vec<_>>(),
        "a function of the episode alone"
    );
    let push = EpisodeSpec {
        scenario: Scenario::Push,
        ..specs[0]
    };
    p.raw.task.reference_start_share = 1.0;
    assert!(
        reference_start(&p, &push).is_none(),
        "fall starts begin at the fall"
    );
    assert!(reference_start(&p, &specs[0]).is_some());
}

#[test]
fn curves_are_a_png_with_the_lines_drawn() {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = (1..=20)
        .map(|i| {
            let v = serde_json::json!({"iteration": i, "mean_return": f64::from(i).sqrt(), "success": f64::from(i) / 20.0, "safe_success": f64::from(i) / 40.0});
            v.as_object().unwrap().clone()
        })
        .collect();
    let bytes = super::curves::render(&rows);
    if let Ok(path) = std::env::var("VIGOR_CURVES_OUT") {
        std::fs::write(path, &bytes).unwrap();
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    // Eight panels, two per row.
    assert_eq!((info.width, info.height), (1120, 1280));
    let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 12);
    let blue = buf.chunks(3).filter(|p| near(p, [31, 119, 180])).count();
    assert!(blue > 400, "{blue} blue pixels");
    // The success panel (top right) has its second line, safe success, in orange.
    let orange = buf.chunks(3).filter(|p| near(p, [255, 127, 14])).count();
    assert!(orange > 200, "{orange} orange pixels");
    // Text: the first panel's caption band (its top 36 rows) holds dark glyph pixels.
    let w = info.width as usize;
    let caption: usize = (0..36)
        .map(|y| {
            buf[y * w * 3..(y * w + 560) * 3]
                .chunks(3)
                .filter(|p| p.iter().all(|v| *v < 100))
                .count()
        })
        .sum();
    assert!(
        caption > 100,
        "{caption} dark pixels in the caption: no font (scripts/setup.sh installs fonts-dejavu-core)"
    );
}

#[test]
fn runs_compare_in_windows_and_in_pictures_against_steps_and_hours() {
    use super::curves::{compare_table, render_compare};
    let run = |name: &str, n: u64, rate: f64| {
        let rows = (1..=n)
            .map(|i| {
                let v = serde_json::json!({
                    "iteration": i,
                    "env_steps": i * 12_000,
                    "wall_s": i as f64 * 10.0,
                    "success": rate,
                    "mean_return": i as f64,
                });
                v.as_object().unwrap().clone()
            })
            .collect::<Vec<_>>();
        (name.to_owned(), rows)
    };
    let runs = vec![run("base", 50, 0.25), run("lever", 30, 0.5)];
    let metrics = vec!["success".to_owned(), "mean_return".to_owned()];
    let table = compare_table(&runs, &metrics, 25, None);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "Each cell: success / mean_return, means over the window."
    );
    assert_eq!(lines[2], "| iterations | env steps | base | lever |");
    assert_eq!(lines[4], "| 1-25 | 0.30 M | 25 % / 13.00 | 50 % / 13.00 |");
    assert_eq!(lines[5], "| 26-50 | 0.60 M | 25 % / 38.00 | 50 % / 28.00 |");
    assert_eq!(lines.len(), 6);
    // Cut at a step budget: the first 20 iterations.
    let cut = compare_table(&runs, &metrics, 25, Some(240_000.0));
    assert_eq!(
        cut.lines().nth(4),
        Some("| 1-20 | 0.24 M | 25 % / 10.50 | 50 % / 10.50 |")
    );
    let bytes = render_compare(&runs, &metrics, 5);
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width, info.height),
        (1120, 640),
        "two metrics, steps and hours"
    );
    let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 12);
    assert!(
        buf.chunks(3).filter(|p| near(p, [31, 119, 180])).count() > 400,
        "the first run"
    );
    assert!(
        buf.chunks(3).filter(|p| near(p, [255, 127, 14])).count() > 400,
        "the second run"
    );
}

#[test]
fn the_vigor_protocol_covers_every_start_where_it_makes_sense_with_drawn_difficulty() {
    use super::eval::{EpisodeResult, EvalPlan, protocol_summary};
    use super::task::Outcome;
    use vigor_sim::engine::EngineKind;
    let plan = EvalPlan::protocol(8, 3, vec![EngineKind::Mujoco], 0);
    let cells = plan.cells();
    // Supine, prone, side, sitting and push on all twelve kinds; the four that need their own
    // terrain once each, on it.
    assert_eq!(cells.len(), 5 * 12 + 4);
    for s in Scenario::ALL {
        let mine: Vec<_> = cells.iter().filter(|c| c.0 == s).collect();
        match s.required_terrain() {
            Some((kind, difficulty)) => {
                assert_eq!(mine.len(), 1, "{s}");
                assert_eq!(mine[0].1, kind);
                assert!(mine[0].2.iter().all(|&d| d == difficulty));
            }
            None => assert_eq!(mine.len(), 12, "{s}"),
        }
    }
    let mut all = Vec::new();
    for (_, terrain, difficulties) in &cells {
        assert_eq!(difficulties.len(), 8);
        assert!(difficulties.iter().all(|d| (0.0..=1.0).contains(d)));
        if *terrain == TerrainKind::Flat {
            assert!(difficulties.iter().all(|&d| d == 0.0));
        } else {
            all.extend_from_slice(difficulties);
        }
    }
    // Drawn over the whole range, the same for the same seed, different for another.
    assert!(all.iter().any(|&d| d < 0.1) && all.iter().any(|&d| d > 0.9));
    assert_eq!(plan.cells(), EvalPlan::protocol(8, 3, vec![], 0).cells());
    assert_ne!(plan.cells(), EvalPlan::protocol(8, 4, vec![], 0).cells());

    // The summary splits stand-up (lying starts) from fall recovery (pushes).
    let result = |scenario: &str, terrain: &str, success: bool| EpisodeResult {
        engine: "mujoco".into(),
        scenario: scenario.into(),
        terrain: terrain.into(),
        difficulty: 0.5,
        seed: 0,
        assist: 0.0,
        outcome: Outcome {
            success,
            safe_success: success,
            ..Outcome::default()
        },
    };
    let results = vec![
        result("supine", "flat", true),
        result("prone", "rough", false),
        result("push", "flat", true),
        result("push", "rough", true),
        result("push_off_platform", "platform", false),
    ];
    let s = &protocol_summary(&results)[0];
    assert_eq!((s.stand_up.n, s.stand_up.success), (2, 0.5));
    assert_eq!(s.fall_recovery.n, 3);
    assert!((s.fall_recovery.success - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(s.overall.n, 5);
    let flat = s.per_terrain.iter().find(|t| t.0 == "flat").unwrap();
    assert_eq!((flat.1.success, flat.2.success), (1.0, 1.0));
    assert!((s.stand_up.ci95 - 1.96 * (0.25f64 / 2.0).sqrt()).abs() < 1e-12);
}
