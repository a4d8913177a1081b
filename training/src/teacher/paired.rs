//! Two evaluations of the same starts, compared start by start (`vigor eval compare`).
//!
//! An evaluation's episodes are a function of its seed, its cells, its trials and its flags
//! (difficulty, assist), never of the policy, so two policies evaluated with the same flags meet
//! the same starts. Comparing them
//! pair by pair removes the spread of the starts from the comparison: only the starts one policy
//! got up from and the other did not (the discordant pairs) carry information, and an exact sign
//! test on those says how likely so lopsided a split would be if the two were equally good.
//! That is how every lever in docs/teacher.md has been judged.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use vigor_sim::scenario::Scenario;

use super::eval::EpisodeResult;

/// One group of paired starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Pairs {
    /// Starts in both evaluations.
    pub n: usize,
    /// Successes of the first evaluation, and of the second.
    pub success: [usize; 2],
    /// Safe successes of the first, and of the second.
    pub safe_success: [usize; 2],
    /// Starts both got up from.
    pub both: usize,
    /// Starts only the first got up from, and only the second.
    pub only: [usize; 2],
    /// Two-sided exact sign test on the discordant pairs ([`sign_test_p`]).
    pub p: f64,
}

impl Pairs {
    fn of<'a>(pairs: impl Iterator<Item = (&'a EpisodeResult, &'a EpisodeResult)>) -> Self {
        let mut out = Self::default();
        for (a, b) in pairs {
            let ok = [a.outcome.success, b.outcome.success];
            out.n += 1;
            for (k, r) in [a, b].into_iter().enumerate() {
                out.success[k] += usize::from(r.outcome.success);
                out.safe_success[k] += usize::from(r.outcome.safe_success);
            }
            out.both += usize::from(ok[0] && ok[1]);
            out.only[0] += usize::from(ok[0] && !ok[1]);
            out.only[1] += usize::from(ok[1] && !ok[0]);
        }
        out.p = sign_test_p(out.only[0], out.only[1]);
        out
    }
}

/// The comparison of two evaluations: overall, stand-up (lying starts) and fall recovery (push
/// starts) as the protocol splits them, per terrain kind and per start, per engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedReport {
    /// Engine name.
    pub engine: String,
    /// Every paired start.
    pub overall: Pairs,
    /// Lying starts.
    pub stand_up: Pairs,
    /// Fall starts.
    pub fall_recovery: Pairs,
    /// Per terrain kind, in first-seen order.
    pub per_terrain: Vec<(String, Pairs)>,
    /// Per start, in first-seen order.
    pub per_start: Vec<(String, Pairs)>,
}

/// What [`pair`] could not pair: starts in one evaluation only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unpaired {
    /// Episodes of the first evaluation without a match in the second, and the reverse.
    pub only_in: [usize; 2],
}

/// Two-sided exact sign test: the probability, were both outcomes of a discordant pair equally
/// likely, of a split at least as uneven as `x` to `y` (twice the smaller tail of a binomial
/// with `x + y` trials and p = 1/2, at most 1). 1 when there are no discordant pairs.
#[must_use]
pub fn sign_test_p(x: usize, y: usize) -> f64 {
    let n = x + y;
    let k = x.min(y);
    if n == 0 || 2 * k == n {
        return 1.0;
    }
    // ln C(n, i) - n ln 2 for i = 0..=k, summed in log space (no underflow for large n).
    let mut ln_term = -(n as f64) * std::f64::consts::LN_2;
    let mut terms = Vec::with_capacity(k + 1);
    for i in 0..=k {
        terms.push(ln_term);
        ln_term += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
    }
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tail = top.exp() * terms.iter().map(|t| (t - top).exp()).sum::<f64>();
    (2.0 * tail).min(1.0)
}

/// Pairs the episodes of `a` and `b` that are the same start (engine, start, terrain kind, seed,
/// difficulty and assist all equal), one to one in order, and compares them per engine, in `a`'s
/// order.
#[must_use]
pub fn pair(a: &[EpisodeResult], b: &[EpisodeResult]) -> (Vec<PairedReport>, Unpaired) {
    type Key = (String, String, String, u64, u32, u32);
    let key = |r: &EpisodeResult| -> Key {
        (
            r.engine.clone(),
            r.scenario.clone(),
            r.terrain.clone(),
            r.seed,
            r.difficulty.to_bits(),
            r.assist.to_bits(),
        )
    };
    let mut in_b: HashMap<Key, std::collections::VecDeque<&EpisodeResult>> = HashMap::new();
    for r in b {
        in_b.entry(key(r)).or_default().push_back(r);
    }
    let pairs: Vec<(&EpisodeResult, &EpisodeResult)> = a
        .iter()
        .filter_map(|r| {
            let m = in_b.get_mut(&key(r))?.pop_front()?;
            Some((r, m))
        })
        .collect();
    let unpaired = Unpaired {
        only_in: [a.len() - pairs.len(), b.len() - pairs.len()],
    };
    let is_fall = |r: &EpisodeResult| Scenario::from_name(&r.scenario).is_ok_and(Scenario::is_fall);
    let first_seen = |name: fn(&EpisodeResult) -> &str,
                      of: &[&(&EpisodeResult, &EpisodeResult)]| {
        let mut seen: Vec<String> = Vec::new();
        for (r, _) in of {
            if !seen.iter().any(|s| s == name(r)) {
                seen.push(name(r).to_owned());
            }
        }
        seen
    };
    let engines = first_seen(|r| &r.engine, &pairs.iter().collect::<Vec<_>>());
    let reports = engines
        .into_iter()
        .map(|engine| {
            let mine: Vec<&(&EpisodeResult, &EpisodeResult)> =
                pairs.iter().filter(|(r, _)| r.engine == engine).collect();
            let of = |f: &dyn Fn(&EpisodeResult) -> bool| {
                Pairs::of(mine.iter().filter(|(r, _)| f(r)).map(|(r, m)| (*r, *m)))
            };
            let per = |name: fn(&EpisodeResult) -> &str| {
                first_seen(name, &mine)
                    .into_iter()
                    .map(|v| {
                        let p = of(&|r| name(r) == v);
                        (v, p)
                    })
                    .collect()
            };
            PairedReport {
                overall: of(&|_| true),
                stand_up: of(&|r| !is_fall(r)),
                fall_recovery: of(&|r| is_fall(r)),
                per_terrain: per(|r| &r.terrain),
                per_start: per(|r| &r.scenario),
                engine,
            }
        })
        .collect();
    (reports, unpaired)
}

/// The comparison as markdown tables, the two evaluations named `names`.
#[must_use]
pub fn paired_markdown(reports: &[PairedReport], names: [&str; 2]) -> String {
    let pct = |k: usize, n: usize| {
        if n == 0 {
            "-".to_owned()
        } else {
            format!("{k} ({:.1} %)", 100.0 * k as f64 / n as f64)
        }
    };
    let row = |label: &str, p: &Pairs| {
        format!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} |\n",
            p.n,
            pct(p.success[0], p.n),
            pct(p.success[1], p.n),
            p.both,
            p.only[0],
            p.only[1],
            format_p(p.p)
        )
    };
    let header = "| | starts | A: success | B: success | both | only A | only B | p |\n\
                  |---|---|---|---|---|---|---|---|\n";
    let mut s = format!(
        "A: {}\nB: {}\n\nThe same starts, paired. Only A, only B: starts one got up from and the \
         other did not. p: two-sided exact sign test on those (small when the split is too \
         uneven to be chance).\n\n",
        names[0], names[1]
    );
    for e in reports {
        s.push_str(&format!("## {}\n\n{header}", e.engine));
        s.push_str(&row("**overall**", &e.overall));
        s.push_str(&row("stand-up", &e.stand_up));
        s.push_str(&row("fall recovery", &e.fall_recovery));
        s.push_str(&format!(
            "\nSafe success: A {}, B {}.\n\n{header}",
            pct(e.overall.safe_success[0], e.overall.n),
            pct(e.overall.safe_success[1], e.overall.n)
        ));
        for (t, p) in &e.per_terrain {
            s.push_str(&row(t, p));
        }
        s.push_str(&format!("\n{header}"));
        for (t, p) in &e.per_start {
            s.push_str(&row(t, p));
        }
        s.push('\n');
    }
    s
}

fn format_p(p: f64) -> String {
    if p >= 0.995 {
        "1".to_owned()
    } else if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}
