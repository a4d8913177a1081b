//! A training run's directory, the one owner of its layout for every algorithm (the teacher's PPO
//! and the students' DAgger): starting a new run or resuming one, `metrics.jsonl` (appended and
//! synced each iteration, cut back to the checkpoint on resume), atomic checkpoints under
//! `checkpoints/iter_N/` with `latest` naming the newest and the oldest rotated out, the fallback
//! to an older complete checkpoint when `latest` names one that never reached the disk, the
//! optimiser's moments, and the atomic `best/` swap.
//!
//! What a checkpoint holds besides the moments is the algorithm's: it writes its files into the
//! temporary folder [`RunDir::commit_checkpoint`] hands it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tch::Tensor;
use vigor_common::fsutil;

use crate::metrics::Metrics;
use crate::rl::Adam;

/// The file naming the newest checkpoint, relative to the run directory.
pub const LATEST: &str = "latest";
/// The folder of checkpoints.
pub const CHECKPOINTS: &str = "checkpoints";
/// Metrics, one JSON object per iteration.
pub const METRICS: &str = "metrics.jsonl";
/// Learning curves picture.
pub const CURVES: &str = "curves.png";
/// Rerun recording of the metrics.
pub const METRICS_RRD: &str = "metrics.rrd";
/// `metrics.jsonl` gzip-compressed: how a committed run state keeps its history small
/// (`gzip -9n metrics.jsonl`). A resumed run restores `metrics.jsonl` from it, and
/// [`read_metrics`] reads it where the plain file is absent.
pub const METRICS_GZ: &str = "metrics.jsonl.gz";
/// The best artifact so far.
pub const BEST: &str = "best";
/// The optimiser's moments inside a checkpoint.
pub const OPTIMIZER: &str = "optimizer.safetensors";
/// Checkpoints kept.
pub const KEEP: usize = 3;

/// What went wrong with a run directory, naming the path.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// A file or folder.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A tensor file.
    #[error("{path}: {message}")]
    Tensor {
        /// The path.
        path: PathBuf,
        /// What libtorch said.
        message: String,
    },
    /// A new run over an existing one, or a checkpoint that does not fit.
    #[error("{0}")]
    Resume(String),
    /// A metrics line that is not one, before the last line.
    #[error("{path}:{line}: not a metrics line ({message})")]
    Metrics {
        /// The file.
        path: PathBuf,
        /// Its line, from 1.
        line: usize,
        /// What the parser said.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunDirError + '_ {
    move |source| RunDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn tensor(path: &Path) -> impl FnOnce(tch::TchError) -> RunDirError + '_ {
    move |e| RunDirError::Tensor {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The iteration of a checkpoint folder `iter_N` (0 for anything else).
#[must_use]
pub fn iteration_of(dir: &Path) -> u64 {
    dir.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("iter_"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Opens `root` for a run: creates it; a new run (`resume` false) is refused where a run
    /// already is (`latest` exists) and clears what a run that died before its first checkpoint
    /// left (metrics, curves, `best/`).
    ///
    /// # Errors
    /// The folder cannot be made, or a new run over an existing one.
    pub fn open(root: &Path, resume: bool) -> Result<Self, RunDirError> {
        std::fs::create_dir_all(root).map_err(io(root))?;
        let run = Self {
            root: root.to_path_buf(),
        };
        if !resume {
            if run.join(LATEST).exists() {
                return Err(RunDirError::Resume(format!(
                    "{} already holds a run: pass --resume to continue it, or choose another --run-dir",
                    root.display()
                )));
            }
            for stale in [METRICS, METRICS_RRD, CURVES] {
                let _ = std::fs::remove_file(run.join(stale));
            }
            for stale in [BEST, ".best.tmp", ".best.old"] {
                let _ = std::fs::remove_dir_all(run.join(stale));
            }
        }
        // A committed run state carries its history compressed; the run appends to the plain file.
        let (plain, packed) = (run.join(METRICS), run.join(METRICS_GZ));
        if resume && !plain.exists() && packed.exists() {
            let text = read_gz(&packed)?;
            fsutil::write_atomic(&plain, text.as_bytes()).map_err(io(&plain))?;
        }
        // A crash between the two renames of `best/` leaves it as `.best.old`.
        let (best, old) = (run.join(BEST), run.join(".best.old"));
        if !best.exists() && old.exists() {
            std::fs::rename(&old, &best).map_err(io(&best))?;
        }
        Ok(run)
    }

    /// The folder.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// A path inside the run.
    #[must_use]
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// Appends one iteration's metrics and syncs the file.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn append_metrics(&self, m: &Metrics) -> Result<(), RunDirError> {
        let path = self.join(METRICS);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let line = m.to_line();
        writeln!(f, "{line}")
            .and_then(|()| f.sync_data())
            .map_err(io(&path))
    }

    /// Keeps the metrics of iterations up to `last` (a resumed run repeats the ones after its
    /// checkpoint).
    ///
    /// # Errors
    /// The file cannot be read or written.
    pub fn truncate_metrics(&self, last: u64) -> Result<(), RunDirError> {
        let path = self.join(METRICS);
        if !path.exists() {
            return Ok(());
        }
        // The kept lines stay as written: parsing and printing again would move floats by an ulp.
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .and_then(|m| m.get("iteration").and_then(Value::as_u64))
                    .is_some_and(|i| i <= last)
            })
            .collect();
        let mut text = kept.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        fsutil::write_atomic(&path, text.as_bytes()).map_err(io(&path))
    }

    /// Writes checkpoint `iter_N` for `iteration`: `write` fills a temporary folder, which then
    /// takes the checkpoint's name in one rename; `latest` is pointed at it and all but the newest
    /// [`KEEP`] are removed. A crash at any point leaves the previous checkpoint whole.
    ///
    /// # Errors
    /// `write`'s errors, or the file system's.
    pub fn commit_checkpoint<E>(
        &self,
        iteration: u64,
        write: impl FnOnce(&Path) -> Result<(), E>,
    ) -> Result<PathBuf, E>
    where
        E: From<RunDirError>,
    {
        let root = self.join(CHECKPOINTS);
        let name = format!("iter_{iteration:06}");
        let tmp = root.join(format!(".tmp-{name}"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        write(&tmp)?;
        let dir = root.join(&name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        std::fs::rename(&tmp, &dir).map_err(io(&dir))?;
        std::fs::File::open(&root)
            .and_then(|d| d.sync_all())
            .map_err(io(&root))?;
        let latest = self.join(LATEST);
        fsutil::write_atomic(&latest, format!("{CHECKPOINTS}/{name}\n").as_bytes())
            .map_err(io(&latest))?;
        let mut all: Vec<PathBuf> = std::fs::read_dir(&root)
            .map_err(io(&root))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| iteration_of(p) > 0)
            .collect();
        all.sort_by_key(|p| iteration_of(p));
        for old in all.iter().rev().skip(KEEP) {
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(dir)
    }

    /// The checkpoints to resume from, in order of preference: the one `latest` names, then the
    /// other complete-looking ones, newest first (after a power loss `latest` can name one whose
    /// files never reached the disk).
    ///
    /// # Errors
    /// No `latest` (nothing to resume).
    pub fn resume_candidates(&self) -> Result<Vec<PathBuf>, RunDirError> {
        let latest = self.join(LATEST);
        let rel = std::fs::read_to_string(&latest).map_err(io(&latest))?;
        let named = self.join(rel.trim());
        let mut others: Vec<PathBuf> = std::fs::read_dir(self.join(CHECKPOINTS))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| iteration_of(p) > 0 && *p != named)
                    .collect()
            })
            .unwrap_or_default();
        others.sort_by_key(|p| std::cmp::Reverse(iteration_of(p)));
        Ok(std::iter::once(named).chain(others).collect())
    }

    /// Loads the first of [`RunDir::resume_candidates`] that `load` accepts; the error of the one
    /// `latest` names if none does.
    ///
    /// # Errors
    /// No checkpoint loads.
    pub fn load_latest<T, E>(&self, mut load: impl FnMut(&Path) -> Result<T, E>) -> Result<T, E>
    where
        E: From<RunDirError>,
    {
        let mut first = None;
        for dir in self.resume_candidates()? {
            match load(&dir) {
                Ok(t) => return Ok(t),
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        Err(first.unwrap_or_else(|| RunDirError::Resume("no checkpoint".into()).into()))
    }

    /// Writes `best/` from `write` (which fills a temporary folder) with `score` beside it,
    /// swapping folders so that `best/` is missing only between two renames.
    ///
    /// # Errors
    /// `write`'s errors, or the file system's.
    pub fn replace_best<E>(
        &self,
        score: f64,
        write: impl FnOnce(&Path) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<RunDirError>,
    {
        let tmp = self.join(".best.tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        write(&tmp)?;
        let score_path = tmp.join(BEST_SCORE);
        fsutil::write_atomic(&score_path, format!("{score}\n").as_bytes())
            .map_err(io(&score_path))?;
        let best = self.join(BEST);
        let old = self.join(".best.old");
        let _ = std::fs::remove_dir_all(&old);
        if best.exists() {
            std::fs::rename(&best, &old).map_err(io(&best))?;
        }
        std::fs::rename(&tmp, &best).map_err(io(&best))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// The score written beside `best/`, if any.
    #[must_use]
    pub fn best_score(&self) -> Option<f64> {
        std::fs::read_to_string(self.join(BEST).join(BEST_SCORE))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// The score file inside `best/`.
const BEST_SCORE: &str = "score.txt";

/// The text of a gzip-compressed file.
fn read_gz(path: &Path) -> Result<String, RunDirError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(io(path))?;
    Ok(text)
}

/// Reads every metrics line of a metrics file. A last line that does not parse (cut short by a
/// crash) is skipped.
///
/// # Errors
/// The file cannot be read, or a line before the last is not a metrics line.
pub fn read_metrics(path: &Path) -> Result<Vec<Metrics>, RunDirError> {
    let packed = path.with_file_name(METRICS_GZ);
    let text =
        if !path.exists() && path.file_name().is_some_and(|n| n == METRICS) && packed.exists() {
            read_gz(&packed)?
        } else {
            std::fs::read_to_string(path).map_err(io(path))?
        };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = Vec::with_capacity(lines.len());
    for (k, line) in lines.iter().enumerate() {
        match Metrics::from_line(line) {
            Ok(m) => out.push(m),
            Err(_) if k + 1 == lines.len() => {}
            Err(e) => {
                return Err(RunDirError::Metrics {
                    path: path.to_path_buf(),
                    line: k + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// Writes `adam`'s moments (`m.<param>`, `v.<param>`) to `path` atomically.
///
/// # Errors
/// The file cannot be written.
pub fn save_moments(adam: &Adam, path: &Path) -> Result<(), RunDirError> {
    let mut named: Vec<(String, Tensor)> = Vec::new();
    for (k, n) in adam.names.iter().enumerate() {
        named.push((format!("m.{n}"), adam.m[k].to(tch::Device::Cpu)));
        named.push((format!("v.{n}"), adam.v[k].to(tch::Device::Cpu)));
    }
    let tmp = fsutil::temp_sibling(path);
    Tensor::write_safetensors(&named, &tmp).map_err(tensor(&tmp))?;
    fsutil::commit(&tmp, path).map_err(io(path))
}

/// Restores `adam`'s moments from `path` onto `device` (every parameter's, with its shape) and
/// its step count `steps`.
///
/// # Errors
/// The file cannot be read, or lacks a moment of the right shape (named).
pub fn load_moments(
    adam: &mut Adam,
    path: &Path,
    steps: i64,
    device: tch::Device,
) -> Result<(), RunDirError> {
    let saved = Tensor::read_safetensors(path).map_err(tensor(path))?;
    for (k, name) in adam.names.clone().iter().enumerate() {
        for (slot, prefix) in [(&mut adam.m[k], "m"), (&mut adam.v[k], "v")] {
            let key = format!("{prefix}.{name}");
            let found = saved
                .iter()
                .find(|(n, t)| *n == key && t.size() == slot.size())
                .ok_or_else(|| {
                    RunDirError::Resume(format!(
                        "{}: lacks `{key}` of shape {:?}",
                        path.display(),
                        slot.size()
                    ))
                })?;
            *slot = found.1.to(device);
        }
    }
    adam.t = steps;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_rotate_latest_follows_and_a_broken_latest_falls_back() {
        let t = tempfile::tempdir().unwrap();
        let run = RunDir::open(t.path(), false).unwrap();
        for it in [5, 10, 15, 20, 25] {
            run.commit_checkpoint(it, |tmp| {
                std::fs::write(tmp.join("state.txt"), it.to_string()).map_err(|e| RunDirError::Io {
                    path: tmp.to_path_buf(),
                    source: e,
                })
            })
            .unwrap();
        }
        let mut left: Vec<u64> = std::fs::read_dir(run.join(CHECKPOINTS))
            .unwrap()
            .map(|e| iteration_of(&e.unwrap().path()))
            .collect();
        left.sort_unstable();
        assert_eq!(left, [15, 20, 25], "the newest three kept");
        let read = |dir: &Path| -> Result<String, RunDirError> {
            std::fs::read_to_string(dir.join("state.txt")).map_err(io(dir))
        };
        assert_eq!(run.load_latest(read).unwrap(), "25");
        // `latest` names a checkpoint whose files never arrived: the newest whole one loads.
        std::fs::remove_file(run.join("checkpoints/iter_000025/state.txt")).unwrap();
        assert_eq!(run.load_latest(read).unwrap(), "20");
        // A failed write leaves the previous checkpoint and `latest` as they were.
        let err = run.commit_checkpoint(30, |_| Err(RunDirError::Resume("disk full".into())));
        assert!(err.is_err());
        assert_eq!(
            std::fs::read_to_string(run.join(LATEST)).unwrap(),
            "checkpoints/iter_000025\n"
        );
        // A new run over it is refused; a resumed one is not.
        let e = RunDir::open(t.path(), false).unwrap_err().to_string();
        assert!(e.contains("--resume"), "{e}");
        assert!(RunDir::open(t.path(), true).is_ok());
    }

    #[test]
    fn a_compressed_history_is_read_and_restored_on_resume() {
        use std::io::Write as _;
        let t = tempfile::tempdir().unwrap();
        let run = RunDir::open(t.path(), false).unwrap();
        for i in 1..=3u64 {
            let m = Metrics {
                iteration: i,
                success: i as f64 / 7.0,
                ..Metrics::default()
            };
            run.append_metrics(&m).unwrap();
        }
        let plain = std::fs::read(run.join(METRICS)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&plain).unwrap();
        std::fs::write(run.join(METRICS_GZ), gz.finish().unwrap()).unwrap();
        std::fs::remove_file(run.join(METRICS)).unwrap();
        // Read where only the compressed file is, as `vigor train compare` and the curves do.
        let rows = read_metrics(&run.join(METRICS)).unwrap();
        assert_eq!(
            rows.iter().map(|m| m.iteration).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(rows[2].success, 3.0 / 7.0);
        // A new run does not take it up; a resumed one restores the plain file byte for byte.
        let run = RunDir::open(t.path(), true).unwrap();
        assert_eq!(std::fs::read(run.join(METRICS)).unwrap(), plain);
        run.truncate_metrics(2).unwrap();
        let run = RunDir::open(t.path(), true).unwrap();
        assert_eq!(
            read_metrics(&run.join(METRICS)).unwrap().len(),
            2,
            "the plain file wins"
        );
        // A broken archive is an error naming it.
        std::fs::remove_file(run.join(METRICS)).unwrap();
        std::fs::write(run.join(METRICS_GZ), b"not gzip").unwrap();
        let e = RunDir::open(t.path(), true).unwrap_err().to_string();
        assert!(e.contains("metrics.jsonl.gz"), "{e}");
    }

    #[test]
    fn metrics_are_cut_back_to_the_checkpoint_and_best_swaps_whole() {
        let t = tempfile::tempdir().unwrap();
        let run = RunDir::open(t.path(), false).unwrap();
        for i in 1..=6u64 {
            let m = Metrics {
                iteration: i,
                ..Metrics::default()
            };
            run.append_metrics(&m).unwrap();
        }
        let m = Metrics {
            iteration: 7,
            success: 14.0 / 15.0,
            ..Metrics::default()
        };
        run.append_metrics(&m).unwrap();
        let before = std::fs::read_to_string(run.join(METRICS)).unwrap();
        run.truncate_metrics(7).unwrap();
        assert_eq!(
            std::fs::read_to_string(run.join(METRICS)).unwrap(),
            before,
            "kept lines are kept byte for byte"
        );
        run.truncate_metrics(4).unwrap();
        let rows = read_metrics(&run.join(METRICS)).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[3].iteration, 4);
        // A last line cut short by a crash is skipped; a bad line before it is an error that
        // names the file and the line.
        let path = run.join(METRICS);
        let whole = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{whole}{{\"iteration\":5,\"env_")).unwrap();
        assert_eq!(read_metrics(&path).unwrap().len(), 4);
        std::fs::write(&path, format!("{{\"success\":0.5}}\n{whole}")).unwrap();
        let e = read_metrics(&path).unwrap_err().to_string();
        assert!(e.contains("metrics.jsonl:1: not a metrics line"), "{e}");
        std::fs::write(&path, &whole).unwrap();
        assert_eq!(run.best_score(), None);
        for (score, tag) in [(1.5, "a"), (2.5, "b")] {
            run.replace_best(score, |tmp| {
                std::fs::create_dir_all(tmp)
                    .and_then(|()| std::fs::write(tmp.join("w"), tag))
                    .map_err(io(tmp))
            })
            .unwrap();
        }
        assert_eq!(run.best_score(), Some(2.5));
        assert_eq!(std::fs::read_to_string(run.join("best/w")).unwrap(), "b");
        // A crash between the two renames leaves `.best.old`: opening the run restores it.
        std::fs::rename(run.join(BEST), run.join(".best.old")).unwrap();
        let run = RunDir::open(t.path(), true).unwrap();
        assert_eq!(run.best_score(), Some(2.5));
        // A new run (no checkpoint yet) clears a dead run's leftovers.
        let run = RunDir::open(t.path(), false).unwrap();
        assert!(!run.join(METRICS).exists() && !run.join(BEST).exists());
    }
}
