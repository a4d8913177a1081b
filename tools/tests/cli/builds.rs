//! What the builds resolve: one feature set for the binary and the test build, a robot binary
//! without the simulator, trainer or recorder, and the controller's joint table against the
//! simulator's robot model.

use std::process::Command;

use crate::text;

/// `cargo tree ARGS --offline --prefix none --format "{p} [{f}]"` at the workspace root: one
/// line per dependency, `name vX.Y.Z [features]` (a path or `(proc-macro)` may follow the version).
fn cargo_tree(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .arg("tree")
        .args(args)
        .args(["--offline", "--prefix", "none", "--format", "{p} [{f}]"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Features of every dependency `cargo tree` resolves for `args`, as `name version` -> the
/// feature sets it is built with (a crate built both for the host, as a build or proc-macro
/// dependency, and for the target may have two). vigor's own crates are left out: their test
/// harnesses are built anyway.
fn resolved_features(
    args: &[&str],
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<Vec<String>>> {
    let mut map = std::collections::BTreeMap::<_, std::collections::BTreeSet<_>>::new();
    for line in cargo_tree(args).lines() {
        let Some((pkg, rest)) = line.split_once(" [") else {
            continue;
        };
        // `name vX.Y.Z` (drop a path or `(proc-macro)` after it).
        let pkg: Vec<&str> = pkg.split_whitespace().take(2).collect();
        if pkg.first().is_some_and(|n| n.starts_with("vigor-")) {
            continue;
        }
        let feats = rest.split(']').next().unwrap_or("");
        let mut feats: Vec<String> = feats
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        feats.sort();
        map.entry(pkg.join(" ")).or_default().insert(feats);
    }
    map
}

/// The README's two commands share one build: the `vigor` binary (`cargo run --release`) and the
/// test build (`cargo test --workspace --release`) must resolve the same features for every
/// dependency they share, or the second rebuilds large parts of the first (the pins in
/// tools/Cargo.toml keep them equal).
#[test]
fn the_binary_and_the_test_build_resolve_the_same_features() {
    let binary = resolved_features(&["-p", "vigor-tools", "-e", "normal,build"]);
    let tests = resolved_features(&["--workspace", "-e", "normal,build,dev"]);
    let differ: Vec<String> = tests
        .iter()
        .filter_map(|(pkg, f)| {
            let b = binary.get(pkg)?;
            (b != f).then(|| format!("{pkg}: binary {b:?}, tests {f:?}"))
        })
        .collect();
    assert!(
        binary.len() > 100 && differ.is_empty(),
        "pin these features in tools/Cargo.toml:\n{}",
        differ.join("\n")
    );
}

/// The robot's binary, `vigor-controller`, links what the daemon needs (the controller, the policy
/// runtime, perception's depth preprocessing, the codecs, zenoh) and none of the simulator,
/// trainer or recorder. `cargo build -p vigor-controller` (the README's command for the robot)
/// resolves exactly this tree; a workspace build would unify perception's `sim` feature in, which
/// is why the README builds the package alone.
#[test]
fn the_controller_binary_links_no_simulator_trainer_or_recorder() {
    const FORBIDDEN: [&str; 7] = [
        "rapier3d",
        "mujoco-rs",
        "vigor-sim",
        "vigor-training",
        "vigor-record",
        "re_sdk",
        "re_sdk_types",
    ];
    let tree = cargo_tree(&["-p", "vigor-controller", "-e", "normal"]);
    let mut found: Vec<&str> = tree
        .lines()
        .filter(|l| {
            FORBIDDEN
                .iter()
                .any(|f| l.split_whitespace().next() == Some(*f))
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    assert!(
        found.is_empty(),
        "vigor-controller depends on:\n{}",
        found.join("\n")
    );
    for needed in [
        "vigor-policy ",
        "vigor-perception ",
        "vigor-msgs ",
        "zenoh ",
    ] {
        assert!(
            tree.lines().any(|l| l.starts_with(needed)),
            "{needed}missing from the tree:\n{tree}"
        );
    }
    // `name vX.Y.Z [f1,f2]`, perhaps with ` (*)` after a crate shown before.
    let features = |l: &str| -> Vec<String> {
        let f = l.split_once(" [").map_or("", |(_, f)| f);
        let f = f.split(']').next().unwrap_or("");
        f.split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for line in tree.lines().filter(|l| l.starts_with("vigor-perception ")) {
        assert!(
            !features(line).iter().any(|f| f == "sim"),
            "vigor-perception with its `sim` feature: {line}"
        );
    }
}

/// The controller reads its joint table from the robot description without the simulator
/// (`vigor_common::robot`); for both shipped robots it must agree with the simulator's full model
/// on every joint's slot, name, limits, torque limit, gains and default pose.
#[test]
fn the_controllers_joint_table_agrees_with_the_simulators_robot() {
    use vigor_common::robot::{JointTable, SHIPPED};
    use vigor_sim::robot::Robot;
    for name in SHIPPED {
        let table = JointTable::embedded(name).unwrap();
        let robot = Robot::embedded(name).unwrap();
        assert_eq!(
            (table.name.as_str(), table.mode_machine),
            (robot.name.as_str(), robot.mode_machine),
            "{name}"
        );
        let table_joints: Vec<_> = table
            .joints
            .iter()
            .map(|j| {
                let figures = [
                    j.lower_rad,
                    j.upper_rad,
                    j.effort_nm,
                    j.velocity_rad_s,
                    j.default_rad,
                    j.kp,
                    j.kd,
                ];
                (j.slot, j.name.as_str(), figures)
            })
            .collect();
        let robot_joints: Vec<_> = robot
            .joints
            .iter()
            .map(|j| {
                let figures = [
                    j.lower, j.upper, j.effort, j.velocity, j.default, j.kp, j.kd,
                ];
                (j.slot, j.name.as_str(), figures)
            })
            .collect();
        assert_eq!(
            table_joints, robot_joints,
            "{name}: the joint table differs from the simulator's robot \
             (slot, name, [lower, upper, effort, velocity, default, kp, kd])"
        );
    }
}
