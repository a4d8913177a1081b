//! Unit tests of the teacher's pieces that need no simulation.

use rapier3d::na::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use vigor_common::config::{self, Validate};
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;

use super::config::{DEFAULT_TOML, TeacherConfig, TeacherParams};
use super::reference::{ReferenceSet, heading, heading_relative, reference_obs_len};

/// The shipped configuration with `text`, checked (shared with the curriculum's tests).
pub(super) fn params(text: &str) -> Result<TeacherParams, vigor_common::ConfigError> {
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
fn the_noise_ceiling_is_optional_and_checked() {
    let text = super::config::UNIFIED_TOML;
    assert_eq!(params(text).unwrap().raw.ppo.max_action_std, None);
    let on = text.replace("# max_action_std = 0.25", "max_action_std = 0.25");
    assert_eq!(params(&on).unwrap().raw.ppo.max_action_std, Some(0.25));
    let err = params(&on.replace("max_action_std = 0.25", "max_action_std = 5.0"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`ppo.max_action_std` = 5") && err.contains("allowed 0.01 ..= 3"),
        "{err}"
    );
}

#[test]
fn training_may_step_physics_at_its_own_rate_and_evaluation_keeps_the_shipped_one() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    // Configurations without the key train at configs/sim.toml's rate.
    let shipped = params(super::config::UNIFIED_TOML).unwrap();
    assert_eq!(shipped.raw.sim.physics_rate_hz, None);
    let collector = super::InProcess::new(&shipped, &robot, &sim).unwrap();
    assert_eq!(collector.env_config().decimation, 10);
    let text = super::config::UNIFIED_TOML.replace(
        "start_pool = 0\n",
        "start_pool = 0\nphysics_rate_hz = 250\n",
    );
    let coarse = params(&text).unwrap();
    assert_eq!(coarse.raw.sim.physics_rate_hz, Some(250));
    let collector = super::InProcess::new(&coarse, &robot, &sim).unwrap();
    assert_eq!(collector.env_config().decimation, 5);
    assert!((collector.env_config().physics.dt_s - 0.004).abs() < 1e-9);
    let eval = super::runner::env_config(&coarse, &sim);
    assert_eq!(
        (eval.decimation, eval.physics.dt_s),
        (10, 0.002),
        "evaluation builds its environments at the simulator's rate"
    );
    // Out of range, off the policy rate's multiples, or below 500 Hz with stiffer gains: each is
    // named by key.
    let err = params(&text.replace("physics_rate_hz = 250", "physics_rate_hz = 100"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sim.physics_rate_hz"), "{err}");
    let err = params(&text.replace("physics_rate_hz = 250", "physics_rate_hz = 275"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sim.physics_rate_hz") && err.contains("275 Hz"),
        "{err}"
    );
    let stiff = text.replace("kp_scale = 1.0", "kp_scale = 2.0");
    let err = params(&stiff).unwrap_err().to_string();
    assert!(err.contains("task.kp_scale = 2"), "{err}");
    assert!(params(&stiff.replace("physics_rate_hz = 250", "physics_rate_hz = 500")).is_ok());
}

#[test]
fn lying_starts_move_onto_the_terrain_in_training_when_configured_and_always_in_the_protocol() {
    use vigor_sim::engine::EngineKind;
    use vigor_sim::scenario::PROTOCOL_LYING_OFFSET_M;
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    // Configurations without the key lie at the centre, as before it existed.
    let old = params(DEFAULT_TOML).unwrap();
    assert_eq!(old.raw.task.lying_offset_m, [0.0, 0.0]);
    let key = "lying_offset_m = [1.0, 1.6]";
    let with = |range: &str| {
        super::config::UNIFIED_TOML.replace(key, &format!("lying_offset_m = {range}"))
    };
    let moved = params(&with("[1.0, 1.6]")).unwrap();
    assert_eq!(
        moved.raw.task.lying_offset_m,
        [1.0, 1.6],
        "the shipped unified config's"
    );
    let collector = super::InProcess::new(&moved, &robot, &sim).unwrap();
    assert_eq!(collector.env_config().lying_offset_m, [1.0, 1.6]);
    let centred = params(&with("[0.0, 0.0]")).unwrap();
    let collector = super::InProcess::new(&centred, &robot, &sim).unwrap();
    assert_eq!(collector.env_config().lying_offset_m, [0.0, 0.0]);
    assert_eq!(
        super::runner::env_config(&moved, &sim).lying_offset_m,
        [0.0, 0.0],
        "evaluation's starts come from its plan, not from the policy's training"
    );
    let plan = super::eval::EvalPlan::protocol(1, 0, vec![EngineKind::Mujoco], 1);
    assert_eq!(plan.lying_offset_m, PROTOCOL_LYING_OFFSET_M);
    // A run's start pool trains it; evaluation settles every start afresh on its own tile.
    let pooled = params(&with("[1.0, 1.6]").replace("start_pool = 0", "start_pool = 8")).unwrap();
    let collector = super::InProcess::new(&pooled, &robot, &sim).unwrap();
    assert_eq!(collector.env_config().start_pool, 8);
    assert_eq!(plan.env_config(&pooled, &sim).start_pool, 0);
    assert_eq!(super::runner::env_config(&pooled, &sim).start_pool, 0);
    assert_eq!(
        plan.env_config(&old, &sim).lying_offset_m,
        PROTOCOL_LYING_OFFSET_M,
        "every policy meets the protocol's starts, whatever it trained on"
    );
    // A config at the centre writes no key, so older artifacts and run states read back alike.
    let text = serde_json::to_string(&old.raw).unwrap();
    assert!(!text.contains("lying_offset_m"), "{text}");
    assert!(
        serde_json::to_string(&moved.raw)
            .unwrap()
            .contains("lying_offset_m")
    );
    for (bad, field) in [
        ("[-0.1, 1.0]", "task.lying_offset_m[0]"),
        ("[1.2, 1.0]", "task.lying_offset_m[1]"),
        ("[1.0, 2.0]", "task.lying_offset_m[1]"),
    ] {
        let err = params(&with(bad)).unwrap_err().to_string();
        assert!(err.contains(field), "{bad}: {err}");
    }
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
        ("sitting_tilt_rad = 0.1", "task.reanchor.sitting_tilt_rad"),
        ("sitting_tilt_rad = 1.2", "task.reanchor.sitting_tilt_rad"),
    ] {
        let field = bad.split(" = ").next().unwrap();
        let good = [
            "after_s = 0.5",
            "lying_tilt_rad = 1.1",
            "settled_rad_s = 1.5",
            "sitting_tilt_rad = 0.35",
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
fn critic_groups_split_the_reward_terms_that_are_on_exactly_once() {
    let with = |groups: &str| {
        let text = DEFAULT_TOML.replace("critic_groups = []", &format!("critic_groups = {groups}"));
        params(&text)
    };
    let all = super::task::REWARD_TERMS;
    let split = format!(
        "[[{}], [{}]]",
        all[..3]
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", "),
        all[3..]
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let p = with(&split).unwrap();
    assert_eq!(p.value_heads(), 2);
    let heads = p.reward_heads();
    assert_eq!(heads[..3], [0, 0, 0]);
    assert!(heads[3..].iter().all(|h| *h == 1));
    // A term that is off may be left out (`pit` came later): the first head takes it.
    let without_pit = split.replace(", \"pit\"", "");
    assert_eq!(with(&without_pit).unwrap().reward_heads()[all.len() - 1], 0);
    let text = DEFAULT_TOML
        .replace(
            "critic_groups = []",
            &format!("critic_groups = {without_pit}"),
        )
        .replace("impact = -0.1", "impact = -0.1\npit = -0.25");
    let e = params(&text).unwrap_err().to_string();
    assert!(e.contains("missing pit"), "{e}");
    assert_eq!(TeacherConfig::embedded().unwrap().value_heads(), 1);
    for (groups, says) in [
        ("[[\"body_pos\"]]", "1 groups: allowed 2..=8"),
        (
            "[[\"body_pos\"], [\"lava\"]]",
            "unknown reward term `lava`: allowed body_pos",
        ),
        (
            "[[\"body_pos\"], [\"body_pos\", \"joint_pos\"]]",
            "`body_pos` is in more than one group",
        ),
        ("[[\"body_pos\"], [\"joint_pos\"]]", "missing torque"),
    ] {
        let e = with(groups).unwrap_err().to_string();
        assert!(e.contains("model.critic_groups") && e.contains(says), "{e}");
    }
}

#[test]
fn a_pelvis_over_a_pit_is_measured_from_the_feet_footing_not_the_pit_floor() {
    use super::step::pelvis_height;
    use vigor_sim::terrain::{Terrain, TerrainKind};
    // A 1 m deep trench |x| < 0.15 in level ground; a crouch with the pelvis 0.4 m up, over it,
    // feet on either rim.
    let trench = |x: f32, _y: f32| if x.abs() < 0.15 { -1.0 } else { 0.0 };
    let rims = [[-0.3, 0.1], [0.3, -0.1]];
    assert!((pelvis_height(trench, [0.0, 0.0, 0.4], &rims) - 0.4).abs() < 1e-6);
    // From the trench's floor it would read 1.4 m: standing, by the success test's 0.65 m.
    assert!((pelvis_height(trench, [0.0, 0.0, 0.4], &[]) - 1.4).abs() < 1e-6);
    // A foot in the trench: the robot stands in it, and is measured from its floor.
    let one_in = [[0.0, 0.1], [0.3, -0.1]];
    assert!((pelvis_height(trench, [0.0, 0.0, 0.4], &one_in) - 1.4).abs() < 1e-6);
    // A foot whose patch overlaps a rim has that rim's footing.
    let on_edge = [[-0.2, 0.1], [0.2, -0.1]];
    assert!((pelvis_height(trench, [0.0, 0.0, 0.4], &on_edge) - 0.4).abs() < 1e-6);
    // Feet lower than the ground under the pelvis change nothing; flat ground reads as before.
    let slope = |x: f32, _y: f32| 0.2 * x;
    let downhill = [[-0.5, 0.1], [-0.5, -0.1]];
    assert!((pelvis_height(slope, [0.0, 0.0, 0.7], &downhill) - 0.7).abs() < 1e-6);
    let flat = |_x: f32, _y: f32| 0.0;
    assert!((pelvis_height(flat, [0.3, 0.2, 0.1], &rims) - 0.1).abs() < 1e-6);

    // On a real stepping-stones tile (difficulty 0.5: 0.65 m stones, 0.2 m pits, tops within
    // ±1.5 cm): a pelvis over a pit between two stones the feet stand on reads from the stones'
    // tops.
    let t = Terrain::single(TerrainKind::SteppingStones, 0.5, 3, 8.0, 0.02).unwrap();
    let h = |x: f32, y: f32| t.height(x, y);
    let on_stone = |x: f32, y: f32| h(x, y) > -0.1;
    let mut found = None;
    'search: for iy in 0..200 {
        let y = 1.0 + iy as f32 * 0.01;
        for ix in 0..250 {
            let x = 1.0 + ix as f32 * 0.01;
            if h(x, y) < -0.5 && on_stone(x - 0.25, y) && on_stone(x + 0.25, y) {
                found = Some([x, y]);
                break 'search;
            }
        }
    }
    let [x, y] = found.expect("a pit between two stones");
    let feet = [[x - 0.25, y], [x + 0.25, y]];
    let z = 0.4;
    let read = pelvis_height(h, [x, y, z], &feet);
    assert!((read - 0.4).abs() <= 0.031, "{read}");
    assert!(
        pelvis_height(h, [x, y, z], &[]) > 1.3,
        "the pit's floor is 1 m down"
    );
}

#[test]
fn a_finer_scan_carries_the_networks_over_and_computes_what_they_did() {
    use super::model::{TeacherNet, TeacherSpec};
    use super::task::{height_scan, obs_dims};
    use super::widen::{column_map, widen_scan};
    use crate::rl::{Adam, GaussianPolicy, RunningNorm};
    use tch::{Kind, Tensor};
    let robot = Robot::embedded("g1_29dof").unwrap();
    let coarse = params(super::config::UNIFIED_TOML).unwrap();
    let fine = params(
        &super::config::UNIFIED_TOML.replace("scan_spacing_m = 0.2", "scan_spacing_m = 0.1"),
    )
    .unwrap();
    let spec =
        |p: &TeacherParams| TeacherSpec::new(obs_dims(&robot, p), robot.joints.len(), &p.raw.model);
    let (old_spec, new_spec) = (spec(&coarse), spec(&fine));
    let (old_scan, new_scan) = (height_scan(&coarse), height_scan(&fine));
    assert_eq!((old_scan.len(), new_scan.len()), (35, 117));
    // A trained-looking old state: random moments and statistics.
    tch::manual_seed(3);
    let from = TeacherNet::new(old_spec.clone(), 0.3, 1);
    let mut adam = Adam::new(&from.named_parameters());
    for (m, v) in adam.m.iter_mut().zip(&mut adam.v) {
        *m = m.randn_like();
        *v = v.rand_like();
    }
    adam.t = 77;
    let mut norm = RunningNorm::new(old_spec.row());
    let rows = Tensor::randn([64, old_spec.row() as i64], (Kind::Float, tch::Device::Cpu)) * 3.0;
    norm.update(&Vec::<f32>::try_from(rows.contiguous().view([-1])).unwrap());
    let to = TeacherNet::new(new_spec.clone(), 0.3, 2);
    let (new_adam, new_norm) = widen_scan((&from, &adam, &norm), &old_scan, &to, &new_scan);
    assert_eq!(new_adam.t, 77);
    assert_eq!(new_norm.len(), new_spec.row());
    // Every old scan point is one of the new grid's (0.2 m steps on a 0.1 m grid).
    let map = column_map(&old_spec, &old_scan, &new_spec, &new_scan);
    assert_eq!(map.iter().filter(|m| m.0.is_some()).count(), old_spec.row());
    // The same situation in both layouts: the old row's values where the grids share a point,
    // anything at the new points. The widened networks act and value it exactly as before.
    let old_rows: Vec<f32> = Vec::<f32>::try_from(rows.contiguous().view([-1])).unwrap();
    let mut new_rows = Vec::new();
    for (r, row) in old_rows.chunks_exact(old_spec.row()).enumerate() {
        for (c, &(same, _)) in map.iter().enumerate() {
            new_rows.push(same.map_or(((r * 31 + c * 7) % 13) as f32 - 6.0, |o| row[o]));
        }
    }
    let (mut a, mut b) = (old_rows.clone(), new_rows);
    norm.apply_rows(&mut a);
    new_norm.apply_rows(&mut b);
    let t = |v: &[f32], n: usize| Tensor::from_slice(v).view([-1, n as i64]);
    let (xa, xb) = (t(&a, old_spec.row()), t(&b, new_spec.row()));
    let diff = |p: Tensor, q: Tensor| (p - q).abs().max().double_value(&[]);
    assert!(diff(from.mean(&xa), to.mean(&xb)) < 1e-5);
    assert!(diff(from.value(&xa), to.value(&xb)) < 1e-5);
    assert!(diff(from.log_std(), to.log_std()) == 0.0);
    // New points: zero weights and moments in both first layers, the nearest old point's
    // statistics; old points keep their own.
    let named: std::collections::HashMap<String, Tensor> =
        to.named_parameters().into_iter().collect();
    let slot = |name: &str| new_adam.names.iter().position(|n| n == name).unwrap();
    let column = |w: &Tensor, c: usize| {
        w.select(1, c as i64)
            .abs()
            .sum(Kind::Float)
            .double_value(&[])
    };
    let goal = new_spec.reference + new_spec.scan;
    for (c, &(same, stats)) in map.iter().enumerate() {
        let mut layers = vec!["critic.l0.weight"];
        if c < goal {
            layers.push("encoder.l0.weight");
        }
        for name in layers {
            let k = slot(name);
            let zero = [&named[name], &new_adam.m[k], &new_adam.v[k]].map(|w| column(w, c) == 0.0);
            assert_eq!(zero, [same.is_none(); 3], "{name} column {c}");
        }
        match same {
            None => {
                assert!((old_spec.reference..old_spec.reference + old_spec.scan).contains(&stats));
                assert_eq!(
                    (new_norm.mean[c], new_norm.var[c]),
                    (norm.mean[stats], norm.var[stats])
                );
            }
            Some(o) => assert_eq!((new_norm.mean[c], o), (norm.mean[o], stats)),
        }
    }
}
