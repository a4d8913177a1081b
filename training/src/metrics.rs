//! One iteration's metrics line in `metrics.jsonl`, typed: the keys every algorithm writes
//! ([`Metrics`]), the teacher's PPO keys ([`TeacherMetrics`]) and the students' DAgger keys
//! ([`StudentMetrics`]) as fields, and the open families whose names come from the configuration
//! or the algorithm (`success/<start>`, `reward/<term>`, `ppo/<stat>`, `curriculum/…`,
//! `reference_start/…`, `time/<part>`, `dist/…`) in [`Series`] under their full keys.
//!
//! A line is one JSON object with sorted keys, the format every run so far has written, so older
//! runs read back (family values are written as floats: `curriculum/stage` was `2`, now `2.0`).
//! A value that is not finite is written as `null` and read back as NaN. The curve
//! panels, `vigor train compare` and the tests name a metric by its key ([`Metrics::get`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// One iteration's metrics. `Default` is zeros, for lines built in code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Iteration just finished (from 1).
    pub iteration: u64,
    /// Environment steps so far.
    pub env_steps: u64,
    /// Running time of the run so far, s (summed over its sittings).
    #[serde(default = "nan", deserialize_with = "number")]
    pub wall_s: f64,
    /// Environment steps per second of this iteration (episodes and update).
    #[serde(default = "nan", deserialize_with = "number")]
    pub steps_per_s: f64,
    /// Share of the iteration's episodes that succeeded (the teacher: full starts only).
    #[serde(default = "nan", deserialize_with = "number")]
    pub success: f64,
    /// Share that succeeded safely.
    #[serde(default = "nan", deserialize_with = "number")]
    pub safe_success: f64,
    /// Mean RMS distance from the reference's bodies, m.
    #[serde(default = "nan", deserialize_with = "number")]
    pub tracking_rms_m: f64,
    /// The teacher's keys; `None` in a student's line.
    #[serde(flatten)]
    pub teacher: Option<TeacherMetrics>,
    /// A student's keys; `None` in the teacher's line.
    #[serde(flatten)]
    pub student: Option<StudentMetrics>,
    /// Every other key.
    #[serde(flatten)]
    pub series: Series,
}

/// The teacher's own keys (PPO on full starts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TeacherMetrics {
    /// Mean episode return over the full starts.
    #[serde(deserialize_with = "number")]
    pub mean_return: f64,
    /// Share of episodes that left the terrain tile.
    #[serde(default = "nan", deserialize_with = "number")]
    pub left_terrain: f64,
    /// Mean of each episode's lowest head height, m.
    #[serde(default = "nan", deserialize_with = "number")]
    pub min_head_m: f64,
    /// Share whose fall demonstration handed over to a lying recovery.
    #[serde(default = "nan", deserialize_with = "number")]
    pub handed_over: f64,
}

/// A student's own keys (DAgger).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StudentMetrics {
    /// DAgger's mixing coefficient: the chance that a step executes the teacher's action.
    #[serde(deserialize_with = "number")]
    pub beta: f64,
    /// Share of steps that executed the teacher's action.
    #[serde(default = "nan", deserialize_with = "number")]
    pub teacher_share: f64,
    /// Share of environments whose student picked the environment's own reference track.
    #[serde(default = "nan", deserialize_with = "number")]
    pub track_match: f64,
    /// Mean squared error of the student's latent against the teacher's, while acting.
    #[serde(default = "nan", deserialize_with = "number")]
    pub latent_mse: f64,
    /// Mean squared error of the student's action against the teacher's, while acting.
    #[serde(default = "nan", deserialize_with = "number")]
    pub action_mse: f64,
    /// The distillation loss.
    #[serde(default = "nan", deserialize_with = "number")]
    pub loss: f64,
}

/// The open families of keys, by full key (`reward/body_pos`, `ppo/kl`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Series(pub BTreeMap<String, f64>);

impl<'de> Deserialize<'de> for Series {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, Option<f64>>::deserialize(d)?;
        Ok(Self(
            raw.into_iter()
                .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
                .collect(),
        ))
    }
}

fn nan() -> f64 {
    f64::NAN
}

/// A number, or NaN for the `null` that JSON writes for one that is not finite.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl TeacherMetrics {
    fn get(&self, key: &str) -> Option<f64> {
        Some(match key {
            "mean_return" => self.mean_return,
            "left_terrain" => self.left_terrain,
            "min_head_m" => self.min_head_m,
            "handed_over" => self.handed_over,
            _ => return None,
        })
    }
}

impl StudentMetrics {
    fn get(&self, key: &str) -> Option<f64> {
        Some(match key {
            "beta" => self.beta,
            "teacher_share" => self.teacher_share,
            "track_match" => self.track_match,
            "latent_mse" => self.latent_mse,
            "action_mse" => self.action_mse,
            "loss" => self.loss,
            _ => return None,
        })
    }
}

impl Metrics {
    /// The line's value under `key`, the name it has in the file; `None` for a family key the
    /// line does not have. A typed key that an older line lacks, or a `null`, reads as NaN.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<f64> {
        Some(match key {
            "iteration" => self.iteration as f64,
            "env_steps" => self.env_steps as f64,
            "wall_s" => self.wall_s,
            "steps_per_s" => self.steps_per_s,
            "success" => self.success,
            "safe_success" => self.safe_success,
            "tracking_rms_m" => self.tracking_rms_m,
            _ => {
                return self
                    .teacher
                    .as_ref()
                    .and_then(|t| t.get(key))
                    .or_else(|| self.student.as_ref().and_then(|s| s.get(key)))
                    .or_else(|| self.series.0.get(key).copied());
            }
        })
    }

    /// Whether the line has a finite value under `key` (a typed key that an older line lacks
    /// reads as NaN).
    #[must_use]
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some_and(f64::is_finite)
    }

    /// Sets the family value `key` (`group/name`, such as `time/sim_s`; the typed keys have no
    /// `/`, so a family key never writes one of them twice).
    pub fn set(&mut self, key: impl Into<String>, value: f64) {
        let key = key.into();
        debug_assert!(key.contains('/'), "`{key}` is not a family key");
        self.series.0.insert(key, value);
    }

    /// Every key and value of the line, sorted by key (typed keys an older line lacks as NaN).
    #[must_use]
    pub fn values(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = [
            ("iteration", self.iteration as f64),
            ("env_steps", self.env_steps as f64),
            ("wall_s", self.wall_s),
            ("steps_per_s", self.steps_per_s),
            ("success", self.success),
            ("safe_success", self.safe_success),
            ("tracking_rms_m", self.tracking_rms_m),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(t) = &self.teacher {
            for k in ["mean_return", "left_terrain", "min_head_m", "handed_over"] {
                out.extend(t.get(k).map(|v| (k.to_owned(), v)));
            }
        }
        if let Some(s) = &self.student {
            for k in [
                "beta",
                "teacher_share",
                "track_match",
                "latent_mse",
                "action_mse",
                "loss",
            ] {
                out.extend(s.get(k).map(|v| (k.to_owned(), v)));
            }
        }
        out.extend(self.series.0.iter().map(|(k, v)| (k.clone(), *v)));
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The line as written to `metrics.jsonl`: one JSON object, keys sorted.
    #[must_use]
    pub fn to_line(&self) -> String {
        // Through a `serde_json::Map` (sorted) so the keys keep the order of every earlier run.
        serde_json::to_value(self)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    /// Parses one line of `metrics.jsonl`.
    ///
    /// # Errors
    /// The line is not a metrics object.
    pub fn from_line(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_teacher_line_reads_back_typed_and_writes_the_same_text() {
        // A line as the teacher wrote it before the metrics were typed (keys sorted, a family
        // value written as an integer, one as null).
        let line = r#"{"curriculum/mean_level":12.359375,"curriculum/stage":2,"env_steps":24000000,"handed_over":0.5,"iteration":1000,"left_terrain":0.0,"mean_return":8.13,"min_head_m":0.02,"ppo/kl":null,"safe_success":0.38,"steps_per_s":876.7,"success":0.57,"success/prone":1.0,"tracking_rms_m":0.25,"wall_s":43701.5}"#;
        let m = Metrics::from_line(line).unwrap();
        assert_eq!(m.iteration, 1000);
        assert_eq!(m.env_steps, 24_000_000);
        let t = m.teacher.as_ref().expect("a teacher line");
        assert_eq!((t.mean_return, t.handed_over), (8.13, 0.5));
        assert!(m.student.is_none());
        // The typed keys are not repeated among the series.
        let keys: Vec<&str> = m.series.0.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "curriculum/mean_level",
                "curriculum/stage",
                "ppo/kl",
                "success/prone"
            ]
        );
        assert_eq!(m.get("curriculum/stage"), Some(2.0));
        assert!(m.get("ppo/kl").unwrap().is_nan());
        assert_eq!(m.get("mean_return"), Some(8.13));
        assert_eq!(m.get("beta"), None);
        // Written back: the same text but for the integer that is a float now.
        assert_eq!(
            m.to_line(),
            line.replace("\"curriculum/stage\":2,", "\"curriculum/stage\":2.0,")
        );
        let keys: Vec<String> = m.values().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), 15);
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }

    #[test]
    fn a_student_line_is_a_student_line() {
        let m = Metrics {
            iteration: 3,
            env_steps: 300,
            wall_s: 1.5,
            steps_per_s: 200.0,
            success: 0.5,
            safe_success: 0.25,
            tracking_rms_m: 0.1,
            teacher: None,
            student: Some(StudentMetrics {
                beta: 0.5,
                teacher_share: 1.0,
                track_match: 1.0,
                latent_mse: 0.01,
                action_mse: f64::INFINITY,
                loss: 0.02,
            }),
            series: Series([("time/sim_s".to_owned(), 0.7)].into()),
        };
        let line = m.to_line();
        // Not finite: null in the file, NaN back.
        assert!(line.contains("\"action_mse\":null"), "{line}");
        let back = Metrics::from_line(&line).unwrap();
        assert!(back.teacher.is_none());
        let s = back.student.as_ref().unwrap();
        assert!(s.action_mse.is_nan());
        assert_eq!((s.beta, s.latent_mse), (0.5, 0.01));
        assert_eq!(back.series, m.series);
        assert_eq!(back.get("time/sim_s"), Some(0.7));
        assert_eq!(back.get("mean_return"), None);
    }

    /// Every `metrics.jsonl` (or its compressed `metrics.jsonl.gz`) under `dir`, recursively.
    fn metrics_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                metrics_files(&path, out);
            } else if path
                .file_name()
                .is_some_and(|n| n == "metrics.jsonl" || n == "metrics.jsonl.gz")
            {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_committed_run_reads_back_with_every_key_and_value() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let mut files = Vec::new();
        metrics_files(&root, &mut files);
        assert!(files.len() >= 5, "{files:?}");
        for file in files {
            let text = if file.extension().is_some_and(|e| e == "gz") {
                use std::io::Read;
                let mut text = String::new();
                flate2::read::GzDecoder::new(std::fs::File::open(&file).unwrap())
                    .read_to_string(&mut text)
                    .unwrap();
                text
            } else {
                std::fs::read_to_string(&file).unwrap()
            };
            for (k, line) in text.lines().enumerate() {
                let at = format!("{}:{}", file.display(), k + 1);
                let m = Metrics::from_line(line).unwrap_or_else(|e| panic!("{at}: {e}"));
                let raw: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(line).unwrap();
                let typed = m.values();
                let keys: Vec<&str> = typed.iter().map(|(k, _)| k.as_str()).collect();
                let missing: Vec<&String> =
                    raw.keys().filter(|k| !keys.contains(&k.as_str())).collect();
                assert!(missing.is_empty(), "{at}: lost {missing:?}");
                for (key, v) in &typed {
                    match raw.get(key) {
                        Some(serde_json::Value::Null) => assert!(v.is_nan(), "{at}: {key}"),
                        Some(x) => assert_eq!(x.as_f64(), Some(*v), "{at}: {key}"),
                        // A typed key this older line lacks.
                        None => assert!(v.is_nan(), "{at}: {key} invented"),
                    }
                }
            }
        }
    }

    #[test]
    fn a_line_without_an_iteration_is_refused() {
        assert!(Metrics::from_line(r#"{"success":0.5}"#).is_err());
        assert!(Metrics::from_line("not json").is_err());
    }
}
