//! Every configuration file vigor ships, with the typed schema that checks it.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use vigor_common::config::{self, ConfigError, Validate};

/// A shipped configuration: its path under `configs/`, its embedded text and its checker.
pub struct Known {
    /// Path relative to `configs/`.
    pub name: &'static str,
    /// What it configures.
    pub about: &'static str,
    /// The shipped text, embedded in the binary.
    pub embedded: &'static str,
    /// Parses and validates a file of this kind, returning the checked parameters as debug text.
    pub check: fn(&str, &str) -> Result<String, ConfigError>,
}

fn check_as<T>(text: &str, file: &str) -> Result<String, ConfigError>
where
    T: DeserializeOwned + Validate,
    T::Checked: std::fmt::Debug,
{
    let checked = config::parse::<T>(text, file)?.validate(file)?;
    Ok(format!("{checked:#?}"))
}

fn check_robot(text: &str, file: &str) -> Result<String, ConfigError> {
    use vigor_sim::robot::{Robot, RobotError};
    match Robot::parse(text, file) {
        Ok(r) => Ok(format!(
            "{}: {} links, {} driven joints, {:.4} kg, mode_machine {}",
            r.name,
            r.links.len(),
            r.joints.len(),
            r.mass(),
            r.mode_machine
        )),
        Err(RobotError::Config(e)) => Err(e),
        Err(RobotError::Invalid { file, key, message }) => {
            Err(ConfigError::Inconsistent { file, key, message })
        }
        Err(e) => Err(config::inconsistent(file, "name", e.to_string())),
    }
}

fn check_demo(text: &str, file: &str) -> Result<String, ConfigError> {
    use vigor_training::demos::authored::SHIPPED;
    use vigor_training::demos::{AuthoredDemo, DemoError};
    let robot = vigor_sim::robot::Robot::embedded("g1_29dof")
        .map_err(|e| config::inconsistent(file, "robot", e.to_string()))?;
    // A demo may continue another one (`[then]`): it is checked within the shipped set, with
    // the shipped file of the same name replaced by this one.
    let base = |f: &str| {
        let f = f.trim_end_matches('>');
        f.rsplit('/').next().unwrap_or(f).to_owned()
    };
    let mut files = vec![(file.to_owned(), text)];
    files.extend(
        SHIPPED
            .iter()
            .filter(|(name, _)| base(name) != base(file))
            .map(|(name, text)| (format!("<embedded configs/{name}>"), *text)),
    );
    match AuthoredDemo::parse_set(&files, &robot).map(|mut set| set.swap_remove(0)) {
        Ok(d) => {
            let clip = d.to_clip(&robot, 50.0);
            Ok(format!(
                "{}: {} keyframes ({} static), {:.2} s, starts {}, behaviour {}",
                d.name,
                d.keys.len(),
                d.keys.iter().filter(|k| k.is_static).count(),
                clip.duration_s(),
                d.posture,
                clip.behaviour
            ))
        }
        Err(DemoError::Config(e)) => Err(e),
        Err(e) => Err(config::inconsistent(file, "keyframes", e.to_string())),
    }
}

/// The registry. A file under `configs/` that is not listed here fails `vigor config check` and
/// the test that loads every shipped config.
pub const KNOWN: &[Known] = &[
    Known {
        name: "controller.toml",
        about: "on-robot controller: rates, damping, ramp, engagement, watchdogs, limits",
        embedded: vigor_controller::config::DEFAULT_TOML,
        check: check_as::<vigor_controller::ControllerConfig>,
    },
    Known {
        name: "sim.toml",
        about: "simulator: physics and policy rates, seed, vectorisation",
        embedded: vigor_sim::config::DEFAULT_TOML,
        check: check_as::<vigor_sim::SimConfig>,
    },
    Known {
        name: "sim_robot.toml",
        about: "simulated robot process: engine, start terrain, LowState and depth rates, latency and loss",
        embedded: crate::sim_robot::config::DEFAULT_TOML,
        check: check_as::<crate::sim_robot::SimRobotConfig>,
    },
    Known {
        name: "student.toml",
        about: "depth or blind student: networks, depth preprocessing and randomisation, DAgger, optimiser",
        embedded: vigor_training::student::config::SHIPPED,
        check: check_as::<vigor_training::student::StudentConfig>,
    },
    Known {
        name: "teacher.toml",
        about: "privileged teacher: task, observations, actions, networks, PPO, rewards, curriculum",
        embedded: vigor_training::teacher::config::DEFAULT_TOML,
        check: check_as::<vigor_training::teacher::TeacherConfig>,
    },
    Known {
        name: "teacher-unified.toml",
        about: "unified teacher: every start, falls included, on every terrain, fine-tuned from the shipped teacher",
        embedded: vigor_training::teacher::config::UNIFIED_TOML,
        check: check_as::<vigor_training::teacher::TeacherConfig>,
    },
    Known {
        name: "terrain.toml",
        about: "procedural terrain: tile grid size, resolution, kinds, difficulty range, seed",
        embedded: vigor_sim::terrain::config::DEFAULT_TOML,
        check: check_as::<vigor_sim::terrain::TerrainConfig>,
    },
    Known {
        name: "robots/g1_29dof.toml",
        about: "robot description: the G1 29-DoF's links, joints, colliders, sites and camera",
        embedded: vigor_sim::robot::G1_29DOF_TOML,
        check: check_robot,
    },
    Known {
        name: "robots/g1_23dof.toml",
        about: "robot description: the G1 23-DoF variant (waist roll/pitch and wrists locked)",
        embedded: vigor_sim::robot::G1_23DOF_TOML,
        check: check_robot,
    },
    Known {
        name: "demos/supine_roll_kneel.toml",
        about: "authored demonstration: supine -> roll -> hands and knees -> kneel -> squat -> stand",
        embedded: vigor_training::demos::authored::SHIPPED[0].1,
        check: check_demo,
    },
    Known {
        name: "demos/prone_push_up.toml",
        about: "authored demonstration: prone -> push up -> hands and knees -> squat -> stand",
        embedded: vigor_training::demos::authored::SHIPPED[1].1,
        check: check_demo,
    },
    Known {
        name: "demos/side_roll_kneel.toml",
        about: "authored demonstration: side -> roll to the front -> kneel -> squat -> stand",
        embedded: vigor_training::demos::authored::SHIPPED[2].1,
        check: check_demo,
    },
    Known {
        name: "demos/fall_forward_kneel.toml",
        about: "authored demonstration: tipping forward -> knees and hands land -> the prone recovery from hands and knees",
        embedded: vigor_training::demos::authored::SHIPPED[3].1,
        check: check_demo,
    },
    Known {
        name: "demos/fall_backward_squat.toml",
        about: "authored demonstration: tipping backward -> deep squat, trunk and arms forward -> stand",
        embedded: vigor_training::demos::authored::SHIPPED[4].1,
        check: check_demo,
    },
    Known {
        name: "demos/fall_left_kneel.toml",
        about: "authored demonstration: tipping left -> turn into the fall -> hands and knees -> stand (and its mirror, fall_right_kneel)",
        embedded: vigor_training::demos::authored::SHIPPED[5].1,
        check: check_demo,
    },
    Known {
        name: "demos/fall_backward_sit.toml",
        about: "authored demonstration: tipping backward -> sit, hands behind -> rock forward onto the knees -> hands and knees -> stand",
        embedded: vigor_training::demos::authored::SHIPPED[6].1,
        check: check_demo,
    },
];

/// The registry entry for a file, by its path relative to `configs/` (or its file name).
pub fn find(path: &Path) -> Option<&'static Known> {
    let s = path.to_string_lossy().replace('\\', "/");
    let rel = s.rsplit_once("configs/").map_or(s.as_str(), |(_, r)| r);
    KNOWN.iter().find(|k| k.name == rel)
}

/// The schema of a training run's `config.toml` (a file of that name beside the run's `latest`
/// or `checkpoints/`): the teacher's when it has a `[ppo]` table, the student's when it has a
/// `[dagger]` table.
fn run_config(path: &Path) -> Option<&'static Known> {
    let dir = path.parent()?;
    let in_run = path.file_name()? == "config.toml"
        && (dir.join("latest").is_file() || dir.join("checkpoints").is_dir());
    if !in_run {
        return None;
    }
    let table = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok());
    let schema = match table {
        Some(t) if t.contains_key("dagger") => "student.toml",
        Some(t) if !t.contains_key("ppo") => return None,
        // A `[ppo]` table, or a file that does not read or parse: the teacher's parser names
        // the problem and its line.
        _ => "teacher.toml",
    };
    find(Path::new(schema))
}

/// Every file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Checks one file against the schema its path names, or with `schema` against that shipped
/// file's (`teacher.toml` for a copy of a teacher configuration kept elsewhere).
pub fn check_file(path: &Path, schema: Option<&str>) -> anyhow::Result<String> {
    let names = || KNOWN.iter().map(|k| k.name).collect::<Vec<_>>().join(", ");
    let known = match schema {
        Some(s) if s.starts_with("demos/") => anyhow::bail!(
            "--as {s}: a demonstration is checked within the shipped set, by its file name; \
             check it as configs/{s}"
        ),
        Some(s) => find(Path::new(s)).ok_or_else(|| {
            anyhow::anyhow!(
                "--as {s}: not a shipped config; vigor knows configs/{{{}}}",
                names()
            )
        })?,
        None => find(path).or_else(|| run_config(path)).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no schema for this file name (nor a training run's config.toml, beside its \
                 `latest` or `checkpoints/`); check it as one of configs/{{{}}} with --as, \
                 e.g. `vigor config check --as teacher.toml {}`",
                path.display(),
                names(),
                path.display()
            )
        })?,
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        file: path.display().to_string(),
        source,
    })?;
    Ok((known.check)(&text, &path.display().to_string())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs")
    }

    #[test]
    fn every_shipped_config_loads_and_validates() {
        let files = files_under(&configs_dir()).unwrap();
        assert!(files.len() >= KNOWN.len(), "{files:?}");
        for f in &files {
            check_file(f, None).unwrap_or_else(|e| panic!("{e:#}"));
        }
        for k in KNOWN {
            assert!(
                files
                    .iter()
                    .any(|f| find(f).is_some_and(|g| g.name == k.name)),
                "{} missing",
                k.name
            );
        }
    }

    #[test]
    fn embedded_texts_are_the_shipped_files() {
        for k in KNOWN {
            let on_disk = std::fs::read_to_string(configs_dir().join(k.name)).unwrap();
            assert_eq!(on_disk, k.embedded, "{}", k.name);
        }
    }

    #[test]
    fn unknown_file_is_named() {
        let err = check_file(Path::new("configs/nope.toml"), None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("configs/nope.toml: no schema"), "{err}");
        assert!(err.contains("--as"), "{err}");
    }

    #[test]
    fn a_copy_under_another_name_is_checked_as_the_named_schema() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("my-run.toml");
        let text = std::fs::read_to_string(configs_dir().join("teacher-unified.toml")).unwrap();
        std::fs::write(&copy, &text).unwrap();
        assert!(check_file(&copy, None).is_err());
        check_file(&copy, Some("teacher-unified.toml")).unwrap();
        // The schema's checks apply, naming the copy.
        std::fs::write(&copy, text.replace("envs = 64", "envs = 0")).unwrap();
        let err = check_file(&copy, Some("teacher.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("my-run.toml") && err.contains("envs"), "{err}");
        let err = check_file(&copy, Some("nope.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--as nope.toml"), "{err}");
    }

    #[test]
    fn a_training_runs_config_is_checked_by_its_kind() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("my-run");
        std::fs::create_dir_all(run.join("checkpoints")).unwrap();
        let config = run.join("config.toml");
        let teacher = std::fs::read_to_string(configs_dir().join("teacher-unified.toml")).unwrap();
        std::fs::write(&config, &teacher).unwrap();
        check_file(&config, None).unwrap();
        std::fs::write(&config, teacher.replace("envs = 64", "envs = 0")).unwrap();
        let err = check_file(&config, None).unwrap_err().to_string();
        assert!(
            err.contains("my-run/config.toml") && err.contains("envs"),
            "{err}"
        );
        // A student run's, beside its `latest` only.
        std::fs::remove_dir(run.join("checkpoints")).unwrap();
        std::fs::write(run.join("latest"), "iter_000010").unwrap();
        let student = std::fs::read_to_string(configs_dir().join("student.toml")).unwrap();
        std::fs::write(&config, &student).unwrap();
        check_file(&config, None).unwrap();
        // A broken one is reported by the parser, naming the file.
        std::fs::write(&config, "envs = [").unwrap();
        let err = check_file(&config, None).unwrap_err().to_string();
        assert!(
            err.contains("my-run/config.toml") && !err.contains("no schema"),
            "{err}"
        );
        // Outside a run, a config.toml has no schema by name.
        std::fs::remove_file(run.join("latest")).unwrap();
        let err = check_file(&config, None).unwrap_err().to_string();
        assert!(err.contains("no schema for this file name"), "{err}");
    }
}
