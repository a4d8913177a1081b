//! The open-loop check of the demonstrations (`vigor demos check`): posed and real starts, the
//! assist deciding success, thread-count independence, the report and the refusal of a task
//! whose zero action is not the demonstration.

use vigor_common::config;
use vigor_sim::engine::EngineKind;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_training::teacher::TeacherConfig;
use vigor_training::teacher::config::{DEFAULT_TOML, UNIFIED_TOML};
use vigor_training::teacher::feasibility::{
    FeasibilityPlan, Start, check_demos, check_open_loop, least_assist, markdown, summarise,
};

fn plan(threads: usize) -> FeasibilityPlan {
    FeasibilityPlan {
        phases: vec![0.0],
        scenarios: vec![Scenario::Prone],
        assists: vec![0.0, 0.8],
        trials: 2,
        seed: 5,
        engine: EngineKind::Mujoco,
        threads,
    }
}

fn shipped_lying() -> TeacherConfig {
    // The shipped lying-start teacher's task: three recoveries, reference residual.
    config::parse::<TeacherConfig>(DEFAULT_TOML, "configs/teacher.toml").unwrap()
}

#[test]
fn the_assist_decides_whether_an_open_loop_recovery_stands_and_threads_do_not_matter() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let cfg = shipped_lying();
    let one = check_demos(&cfg, None, &robot, &sim, &plan(1), |_, _| {}).unwrap();
    let two = check_demos(&cfg, None, &robot, &sim, &plan(2), |_, _| {}).unwrap();
    assert_eq!(one, two, "the same episodes on one and two threads");
    // Three recoveries posed at their first frame, plus the prone scenario, at two help levels.
    assert_eq!(one.len(), (3 + 1) * 2 * 2);
    let rows = summarise(&one);
    assert_eq!(rows.len(), (3 + 1) * 2);
    let supine: Vec<_> = rows
        .iter()
        .filter(|r| r.demo == "supine_roll_kneel" && r.start == "posed 0")
        .collect();
    let at = |help: f32| supine.iter().find(|r| r.assist == help).unwrap();
    // Measured before this check existed (docs/teacher.md): the demonstrations need about 70 % of
    // the weight lifted; unaided they leave the robot on the ground.
    assert_eq!(at(0.0).came_up, 0.0, "{:?}", at(0.0));
    assert_eq!(at(0.0).success, 0.0, "{:?}", at(0.0));
    assert!(at(0.8).came_up >= 0.5, "{:?}", at(0.8));
    assert_eq!(at(0.8).success, 1.0, "{:?}", at(0.8));
    assert!(at(0.8).tracking_rms_m < at(0.0).tracking_rms_m);
    assert_eq!(least_assist(&supine), Some(0.8));
    // The prone scenario's real start tracks the prone recovery under the scenario rule.
    assert!(
        one.iter()
            .filter(|e| e.start == Start::Scenario(Scenario::Prone))
            .all(|e| e.demo == "prone_push_up")
    );
    let md = markdown(&rows, &plan(1), "the PD controller, open loop");
    assert!(
        md.contains(&format!(
            "| supine_roll_kneel | posed 0 | 2 | 0 % (0 %) | {:.0} % (100 %) | 80 % |",
            at(0.8).came_up * 100.0
        )),
        "{md}"
    );
}

#[test]
fn the_shipped_teacher_tracks_a_recovery_unaided_where_open_loop_stays_down() {
    // Issue 18's test of a demonstration: the trained teacher follows it without help.
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/teacher");
    let teacher = vigor_training::teacher::load_artifact(&dir).unwrap();
    let plan = FeasibilityPlan {
        phases: vec![0.0],
        scenarios: Vec::new(),
        assists: vec![0.0],
        trials: 1,
        seed: 0,
        engine: EngineKind::Mujoco,
        threads: 1,
    };
    let cfg = teacher.manifest.config.clone();
    let with = check_demos(&cfg, Some(&teacher), &robot, &sim, &plan, |_, _| {}).unwrap();
    let without = check_demos(&cfg, None, &robot, &sim, &plan, |_, _| {}).unwrap();
    let names: Vec<&str> = with.iter().map(|e| e.demo.as_str()).collect();
    assert_eq!(
        names,
        ["supine_roll_kneel", "prone_push_up", "side_roll_kneel"]
    );
    for (w, o) in with.iter().zip(&without) {
        assert_eq!((w.demo.as_str(), w.seed), (o.demo.as_str(), o.seed));
        assert!(w.came_up && !o.came_up, "{w:?}\n{o:?}");
        assert!(w.outcome.tracking_rms_m < o.outcome.tracking_rms_m);
    }
}

#[test]
fn starts_read_back_and_a_task_without_reference_residual_is_refused() {
    for s in [
        Start::Posed(0.25),
        Start::Posed(1.0),
        Start::Scenario(Scenario::PushOffPlatform),
    ] {
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Start>(&text).unwrap(), s, "{text}");
    }
    assert!(serde_json::from_str::<Start>("\"posed x\"").is_err());
    assert!(serde_json::from_str::<Start>("\"cartwheel\"").is_err());
    let unified = config::parse::<TeacherConfig>(UNIFIED_TOML, "u.toml").unwrap();
    check_open_loop(&unified).unwrap();
    let offset = config::parse::<TeacherConfig>(
        &UNIFIED_TOML.replace(
            "action_mode = \"reference_residual\"",
            "action_mode = \"default_offset\"",
        ),
        "offset.toml",
    )
    .unwrap();
    let err = check_open_loop(&offset).unwrap_err().to_string();
    assert!(err.contains("task.action_mode"), "{err}");
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    assert!(check_demos(&offset, None, &robot, &sim, &plan(1), |_, _| {}).is_err());
}
