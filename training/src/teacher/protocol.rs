//! The summary of VIGOR's protocol (`vigor eval --protocol vigor`, [`super::eval::EvalPlan::protocol`]):
//! success and safe success for stand-up (lying starts) and fall recovery (pushes), overall, per
//! terrain and per start, each with its 95 % interval.

use serde::{Deserialize, Serialize};
use vigor_sim::scenario::Scenario;

use super::eval::EpisodeResult;
use super::task::Outcome;

/// A success rate with its sample size and 95 % interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Episodes.
    pub n: usize,
    /// Success rate.
    pub success: f64,
    /// Safe success rate.
    pub safe_success: f64,
    /// Half-width of the 95 % normal interval on the success rate, `1.96 sqrt(p (1 - p) / n)`.
    pub ci95: f64,
}

impl Rate {
    fn of<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> Self {
        let (mut n, mut ok, mut safe) = (0usize, 0usize, 0usize);
        for o in outcomes {
            n += 1;
            ok += usize::from(o.success);
            safe += usize::from(o.safe_success);
        }
        let p = ok as f64 / n.max(1) as f64;
        Self {
            n,
            success: p,
            safe_success: safe as f64 / n.max(1) as f64,
            ci95: if n == 0 {
                0.0
            } else {
                1.96 * (p * (1.0 - p) / n as f64).sqrt()
            },
        }
    }
}

/// The protocol's summary for one engine, the way VIGOR reports it: stand-up (lying starts) and
/// fall recovery (push starts), overall and per terrain kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolSummary {
    /// Engine name.
    pub engine: String,
    /// Every episode.
    pub overall: Rate,
    /// Lying starts.
    pub stand_up: Rate,
    /// Fall starts.
    pub fall_recovery: Rate,
    /// Per terrain kind: (name, stand-up, fall recovery).
    pub per_terrain: Vec<(String, Rate, Rate)>,
    /// Per start: (name, rate).
    pub per_start: Vec<(String, Rate)>,
}

/// [`ProtocolSummary`] per engine, in first-seen order.
#[must_use]
pub fn protocol_summary(results: &[EpisodeResult]) -> Vec<ProtocolSummary> {
    let mut engines: Vec<&str> = Vec::new();
    for r in results {
        if !engines.contains(&r.engine.as_str()) {
            engines.push(&r.engine);
        }
    }
    let is_fall = |r: &EpisodeResult| Scenario::from_name(&r.scenario).is_ok_and(Scenario::is_fall);
    engines
        .into_iter()
        .map(|engine| {
            let mine: Vec<&EpisodeResult> = results.iter().filter(|r| r.engine == engine).collect();
            let rate = |f: &dyn Fn(&EpisodeResult) -> bool| {
                Rate::of(mine.iter().filter(|r| f(r)).map(|r| &r.outcome))
            };
            let mut terrains: Vec<&str> = Vec::new();
            let mut starts: Vec<&str> = Vec::new();
            for r in &mine {
                if !terrains.contains(&r.terrain.as_str()) {
                    terrains.push(&r.terrain);
                }
                if !starts.contains(&r.scenario.as_str()) {
                    starts.push(&r.scenario);
                }
            }
            ProtocolSummary {
                engine: engine.to_owned(),
                overall: rate(&|_| true),
                stand_up: rate(&|r| !is_fall(r)),
                fall_recovery: rate(&|r| is_fall(r)),
                per_terrain: terrains
                    .iter()
                    .map(|t| {
                        (
                            (*t).to_owned(),
                            rate(&|r| r.terrain == *t && !is_fall(r)),
                            rate(&|r| r.terrain == *t && is_fall(r)),
                        )
                    })
                    .collect(),
                per_start: starts
                    .iter()
                    .map(|s| ((*s).to_owned(), rate(&|r| r.scenario == *s)))
                    .collect(),
            }
        })
        .collect()
}

/// The protocol's summary tables.
#[must_use]
pub fn protocol_markdown(summaries: &[ProtocolSummary]) -> String {
    let pct = |r: &Rate| {
        if r.n == 0 {
            "-".to_owned()
        } else {
            format!(
                "{:.1} % ± {:.1} ({:.1} %)",
                r.success * 100.0,
                r.ci95 * 100.0,
                r.safe_success * 100.0
            )
        }
    };
    let mut s = String::new();
    for e in summaries {
        s.push_str(&format!(
            "## {}

Success ± 95 % interval (safe success). Stand-up: lying starts; fall \
             recovery: push starts.

| | episodes | stand-up | fall recovery |
|---|---|---|---|
",
            e.engine
        ));
        s.push_str(&format!(
            "| **overall** ({}) | {} | {} | {} |
",
            pct(&e.overall),
            e.overall.n,
            pct(&e.stand_up),
            pct(&e.fall_recovery)
        ));
        for (t, up, fall) in &e.per_terrain {
            s.push_str(&format!(
                "| {t} | {} | {} | {} |
",
                up.n + fall.n,
                pct(up),
                pct(fall)
            ));
        }
        s.push_str(
            "
| start | episodes | success |
|---|---|---|
",
        );
        for (name, r) in &e.per_start {
            s.push_str(&format!(
                "| {name} | {} | {} |
",
                r.n,
                pct(r)
            ));
        }
        s.push('\n');
    }
    s
}
