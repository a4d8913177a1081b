//! Carrying a teacher over to another height-scan grid (`--resume --amend` of `task.scan_*`).
//!
//! The scan enters two networks, the encoder (through the goal: the next keyframe, then the
//! scan) and the critic (through the whole row), each by its first layer. A point of the new
//! grid at the place of an old one takes over that point's weights, optimiser moments and
//! normaliser statistics; a point the old grid did not have starts with zero weights (and zero
//! moments), and with the statistics of the old point nearest to it. The widened networks then
//! compute exactly what the old ones did, whatever the new points read, and training is free to
//! learn what the new points are worth. Everything else carries over unchanged.

use tch::Tensor;
use vigor_policy::Normaliser;
use vigor_sim::sensors::HeightScan;

use super::model::{TeacherNet, TeacherSpec};
use crate::rl::Adam;

/// Points closer than this are the same point, m.
const SAME_POINT_M: f32 = 1e-3;

/// For each column of a row under `to`, the column of a row under `from` that holds the same
/// value (`None` for a scan point `old` did not have), and the column whose normaliser
/// statistics it starts from (the same column, or the nearest old scan point's).
///
/// # Panics
/// If the specs differ in anything but the scan's length, or the scans do not match them.
#[must_use]
pub fn column_map(
    from: &TeacherSpec,
    old: &HeightScan,
    to: &TeacherSpec,
    new: &HeightScan,
) -> Vec<(Option<usize>, usize)> {
    assert_eq!(from.scan, old.len(), "old scan");
    assert_eq!(to.scan, new.len(), "new scan");
    assert_eq!(
        (from.reference, from.proprio, from.extra),
        (to.reference, to.proprio, to.extra),
        "only the scan may differ"
    );
    let r = to.reference;
    let mut map: Vec<(Option<usize>, usize)> = (0..r).map(|c| (Some(c), c)).collect();
    for p in new.points() {
        let dist = |q: &[f32; 2]| (p[0] - q[0]).hypot(p[1] - q[1]);
        let (nearest, d) = old
            .points()
            .iter()
            .enumerate()
            .map(|(k, q)| (k, dist(q)))
            .fold(
                (0, f32::INFINITY),
                |best, x| if x.1 < best.1 { x } else { best },
            );
        map.push(((d < SAME_POINT_M).then_some(r + nearest), r + nearest));
    }
    let shift = |c: usize| c + from.scan;
    for c in 0..to.proprio + to.extra {
        map.push((Some(shift(r + c)), shift(r + c)));
    }
    map
}

/// How many of `old`'s points `new` has (at the same place).
#[must_use]
pub fn kept_points(old: &HeightScan, new: &HeightScan) -> usize {
    old.points()
        .iter()
        .filter(|q| {
            new.points()
                .iter()
                .any(|p| (p[0] - q[0]).hypot(p[1] - q[1]) < SAME_POINT_M)
        })
        .count()
}

/// `t`'s columns (dimension 1) picked by `map`, zero where the map has none.
fn pick_columns(t: &Tensor, map: &[Option<usize>]) -> Tensor {
    let idx: Vec<i64> = map.iter().map(|c| c.unwrap_or(0) as i64).collect();
    let keep: Vec<f32> = map
        .iter()
        .map(|c| f32::from(u8::from(c.is_some())))
        .collect();
    let idx = Tensor::from_slice(&idx).to(t.device());
    let keep = Tensor::from_slice(&keep).to(t.device()).to_kind(t.kind());
    t.index_select(1, &idx) * keep.view([1, -1])
}

/// Moves `from`'s weights (with `adam`'s moments and `norm`'s statistics) into `to`, whose only
/// difference is the scan (`old` before, `new` now); returns `to`'s optimiser and normaliser.
///
/// # Panics
/// As [`column_map`], or if a network differs in another way.
#[must_use]
pub fn widen_scan(
    (from, adam, norm): (&TeacherNet, &Adam, &Normaliser),
    old: &HeightScan,
    to: &TeacherNet,
    new: &HeightScan,
) -> (Adam, Normaliser) {
    let map = column_map(&from.spec, old, &to.spec, new);
    let row: Vec<Option<usize>> = map.iter().map(|m| m.0).collect();
    let goal = &row[..to.spec.reference + to.spec.scan];
    let first = |name: &str| match name {
        "encoder.l0.weight" => Some(goal),
        "critic.l0.weight" => Some(&row[..]),
        _ => None,
    };
    let named = to.named_parameters();
    let mut out = Adam::new(&named);
    out.t = adam.t;
    let old: std::collections::HashMap<String, Tensor> =
        from.named_parameters().into_iter().collect();
    tch::no_grad(|| {
        for (k, (name, dst)) in named.iter().enumerate() {
            let src = &old[name];
            let j = adam
                .names
                .iter()
                .position(|n| n == name)
                .expect("the optimiser holds every parameter");
            let carry = |t: &Tensor| match first(name) {
                Some(cols) => pick_columns(t, cols),
                None => t.shallow_clone(),
            };
            let w = carry(src);
            assert_eq!(w.size(), dst.size(), "{name}");
            dst.shallow_clone().copy_(&w);
            out.m[k].copy_(&carry(&adam.m[j]));
            out.v[k].copy_(&carry(&adam.v[j]));
        }
    });
    let mut widened = norm.clone();
    widened.mean = map.iter().map(|&(_, c)| norm.mean[c]).collect();
    widened.var = map.iter().map(|&(_, c)| norm.var[c]).collect();
    (out, widened)
}
