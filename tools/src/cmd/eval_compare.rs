//! `vigor eval compare`: two evaluations of the same starts, paired start by start
//! (`vigor_training::teacher::paired`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use vigor_training::teacher::eval;

/// `vigor eval`'s subcommands.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Compare two evaluations of the same starts, start by start: for each, the starts both
    /// policies got up from, the starts only one did, and a two-sided exact sign test on those,
    /// overall, for stand-up and fall recovery, per terrain kind and per start. Both must come
    /// from `vigor eval` with the same --seed, --trials and cells (e.g. `--protocol vigor`):
    /// the starts are a function of those, never of the policy. Prints markdown.
    Compare(CompareArgs),
}

/// Flags of `vigor eval compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first evaluation: a `vigor eval` output folder (or its eval.json), A in the tables.
    pub a: PathBuf,
    /// The second, B in the tables.
    pub b: PathBuf,
    /// Also write the tables to this markdown file, and the counts to the same name with
    /// `.json`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Pair the same starts across two engines (sim2sim): A and B each evaluated on one engine,
    /// with the same --seed, --trials and cells. The starts are the same on every engine; the
    /// tables are headed `A's engine against B's`.
    #[arg(long)]
    pub across_engines: bool,
}

/// Runs `vigor eval compare`.
///
/// # Errors
/// An unreadable evaluation, two that share no start, or an unwritable `--out`.
pub fn run(c: &CompareArgs) -> Result<()> {
    use vigor_training::teacher::paired::{pair, paired_markdown};
    let read = |path: &Path| -> Result<(PathBuf, serde_json::Value, Vec<eval::EpisodeResult>)> {
        let file = if path.is_dir() {
            path.join("eval.json")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "reading {} (a `vigor eval --out` folder holds eval.json)",
                file.display()
            )
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", file.display()))?;
        let episodes = serde_json::from_value(json["episodes"].clone()).with_context(|| {
            format!(
                "{}: `episodes` is not a list of evaluated episodes",
                file.display()
            )
        })?;
        Ok((file, json, episodes))
    };
    let (file_a, json_a, a) = read(&c.a)?;
    let (file_b, json_b, mut b) = read(&c.b)?;
    let across = if c.across_engines {
        let one = |file: &Path, episodes: &[eval::EpisodeResult]| -> Result<String> {
            let first = episodes.first().map_or("", |r| r.engine.as_str());
            anyhow::ensure!(
                episodes.iter().all(|r| r.engine == first),
                "{}: --across-engines pairs evaluations of one engine each; this one holds \
                 several (`vigor eval --engine rapier` or `mujoco`)",
                file.display()
            );
            Ok(first.to_owned())
        };
        let (ea, eb) = (one(&file_a, &a)?, one(&file_b, &b)?);
        for r in &mut b {
            r.engine.clone_from(&ea);
        }
        Some(format!("{ea} (A) against {eb} (B)"))
    } else {
        None
    };
    let (mut reports, unpaired) = pair(&a, &b);
    if let Some(label) = across {
        for r in &mut reports {
            r.engine.clone_from(&label);
        }
    }
    let describe = |json: &serde_json::Value| {
        format!("seed {}, {} trials per cell", json["seed"], json["trials"])
    };
    anyhow::ensure!(
        !reports.is_empty(),
        "{} and {} share no start ({} against {}): evaluate both with the same --seed, \
         --trials, cells (e.g. --protocol vigor) and engine (or pass --across-engines)",
        file_a.display(),
        file_b.display(),
        describe(&json_a),
        describe(&json_b)
    );
    let name = |path: &Path, json: &serde_json::Value| {
        format!(
            "{} (`{}`, {}; {})",
            path.display(),
            json["name"].as_str().unwrap_or("?"),
            json["trained"].as_str().unwrap_or("?"),
            describe(json)
        )
    };
    let mut text = format!(
        "# Paired comparison\n\n{}",
        paired_markdown(&reports, [&name(&c.a, &json_a), &name(&c.b, &json_b)])
    );
    if unpaired.only_in != [0, 0] {
        text.push_str(&format!(
            "Unpaired (left out): {} episodes only in A, {} only in B.\n",
            unpaired.only_in[0], unpaired.only_in[1]
        ));
    }
    print!("{text}");
    if let Some(out) = &c.out {
        vigor_common::fsutil::write_atomic(out, text.as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
        let json_path = out.with_extension("json");
        let json = serde_json::json!({
            "a": c.a.display().to_string(),
            "b": c.b.display().to_string(),
            "unpaired": unpaired,
            "engines": reports,
        });
        vigor_common::fsutil::write_atomic(
            &json_path,
            serde_json::to_string_pretty(&json)?.as_bytes(),
        )
        .with_context(|| format!("writing {}", json_path.display()))?;
        eprintln!("wrote {} and {}", out.display(), json_path.display());
    }
    Ok(())
}
