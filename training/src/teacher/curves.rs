//! Pictures of a run: `curves.png` (learning curves drawn with a tiny built-in font) and
//! `metrics.rrd` (every metric as a rerun time series), both regenerated from `metrics.jsonl` at
//! each checkpoint so they survive crashes and resumes.

use std::path::Path;

use serde_json::Value;

use super::runner::{CURVES, METRICS, METRICS_RRD, TrainError, read_metrics};

/// 3x5 glyphs, rows top to bottom, 3 bits each (MSB left).
const GLYPHS: &[(char, [u8; 5])] = &[
    ('0', [7, 5, 5, 5, 7]),
    ('1', [2, 6, 2, 2, 7]),
    ('2', [7, 1, 7, 4, 7]),
    ('3', [7, 1, 7, 1, 7]),
    ('4', [5, 5, 7, 1, 1]),
    ('5', [7, 4, 7, 1, 7]),
    ('6', [7, 4, 7, 5, 7]),
    ('7', [7, 1, 1, 1, 1]),
    ('8', [7, 5, 7, 5, 7]),
    ('9', [7, 5, 7, 1, 7]),
    ('A', [2, 5, 7, 5, 5]),
    ('B', [6, 5, 6, 5, 6]),
    ('C', [3, 4, 4, 4, 3]),
    ('D', [6, 5, 5, 5, 6]),
    ('E', [7, 4, 6, 4, 7]),
    ('F', [7, 4, 6, 4, 4]),
    ('G', [3, 4, 5, 5, 3]),
    ('H', [5, 5, 7, 5, 5]),
    ('I', [7, 2, 2, 2, 7]),
    ('J', [1, 1, 1, 5, 2]),
    ('K', [5, 5, 6, 5, 5]),
    ('L', [4, 4, 4, 4, 7]),
    ('M', [5, 7, 7, 5, 5]),
    ('N', [6, 5, 5, 5, 5]),
    ('O', [2, 5, 5, 5, 2]),
    ('P', [6, 5, 6, 4, 4]),
    ('Q', [2, 5, 5, 6, 3]),
    ('R', [6, 5, 6, 5, 5]),
    ('S', [3, 4, 2, 1, 6]),
    ('T', [7, 2, 2, 2, 2]),
    ('U', [5, 5, 5, 5, 7]),
    ('V', [5, 5, 5, 5, 2]),
    ('W', [5, 5, 7, 7, 5]),
    ('X', [5, 5, 2, 5, 5]),
    ('Y', [5, 5, 2, 2, 2]),
    ('Z', [7, 1, 2, 4, 7]),
    ('.', [0, 0, 0, 0, 2]),
    ('-', [0, 0, 7, 0, 0]),
    ('/', [1, 1, 2, 4, 4]),
    ('%', [5, 1, 2, 4, 5]),
    ('_', [0, 0, 0, 0, 7]),
    ('+', [0, 2, 7, 2, 0]),
    ('(', [1, 2, 2, 2, 1]),
    (')', [4, 2, 2, 2, 4]),
];

const PANEL_W: usize = 420;
const PANEL_H: usize = 240;
const SCALE: usize = 2;
const COLOURS: [[u8; 3]; 3] = [[31, 119, 180], [255, 127, 14], [44, 160, 44]];

/// An RGB canvas.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            px: vec![255; w * h * 3],
        }
    }

    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let k = (y as usize * self.w + x as usize) * 3;
            self.px[k..k + 3].copy_from_slice(&c);
        }
    }

    fn line(&mut self, a: (i64, i64), b: (i64, i64), c: [u8; 3]) {
        let (mut x, mut y) = a;
        let (dx, dy) = ((b.0 - x).abs(), -(b.1 - y).abs());
        let (sx, sy) = (if x < b.0 { 1 } else { -1 }, if y < b.1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            self.set(x, y, c);
            self.set(x, y + 1, c);
            if (x, y) == b {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    fn text(&mut self, x: usize, y: usize, s: &str, c: [u8; 3]) {
        for (i, ch) in s.to_uppercase().chars().enumerate() {
            let Some((_, rows)) = GLYPHS.iter().find(|(g, _)| *g == ch) else {
                continue;
            };
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..3 {
                    if bits & (4 >> col) != 0 {
                        for dy in 0..SCALE {
                            for dx in 0..SCALE {
                                let px = x + (i * 4 + col) * SCALE + dx;
                                self.set(px as i64, (y + r * SCALE + dy) as i64, c);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn number(v: f64) -> String {
    if v.abs() >= 1000.0 || (v != 0.0 && v.abs() < 0.01) {
        format!("{v:.2e}").replace("e", "E")
    } else {
        format!("{v:.3}")
    }
}

/// Draws `series` (name, points) into the panel at `(ox, oy)`.
fn panel(c: &mut Canvas, ox: usize, oy: usize, title: &str, series: &[(&str, Vec<(f64, f64)>)]) {
    let grey = [200, 200, 200];
    let (l, t, r, b) = (ox + 50, oy + 34, ox + PANEL_W - 10, oy + PANEL_H - 24);
    c.text(ox + 10, oy + 8, title, [0, 0, 0]);
    for x in l..=r {
        c.set(x as i64, b as i64, grey);
        c.set(x as i64, t as i64, grey);
    }
    for y in t..=b {
        c.set(l as i64, y as i64, grey);
    }
    let all: Vec<(f64, f64)> = series.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    if all.is_empty() {
        return;
    }
    let (x0, x1) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.0), a.1.max(p.0))
    });
    let (mut y0, mut y1) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.1), a.1.max(p.1))
    });
    if (y1 - y0).abs() < 1e-12 {
        y0 -= 0.5;
        y1 += 0.5;
    }
    c.text(ox + 4, t, &number(y1), [80, 80, 80]);
    c.text(ox + 4, b - 10, &number(y0), [80, 80, 80]);
    c.text(
        l,
        b + 6,
        &format!("ITERATION {x0:.0} - {x1:.0}"),
        [80, 80, 80],
    );
    let sx = |x: f64| l as f64 + (x - x0) / (x1 - x0).max(1e-12) * (r - l) as f64;
    let sy = |y: f64| b as f64 - (y - y0) / (y1 - y0) * (b - t) as f64;
    for (k, (name, pts)) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        c.text(
            ox + 10 + (title.len() + 2) * 4 * SCALE + k * 90,
            oy + 8,
            name,
            colour,
        );
        for w in pts.windows(2) {
            let a = (sx(w[0].0) as i64, sy(w[0].1) as i64);
            let bb = (sx(w[1].0) as i64, sy(w[1].1) as i64);
            c.line(a, bb, colour);
        }
        if pts.len() == 1 {
            c.set(sx(pts[0].0) as i64, sy(pts[0].1) as i64, colour);
        }
    }
}

/// The panels of `curves.png`: title and the metrics drawn in it.
pub const PANELS: [(&str, &[&str]); 8] = [
    ("mean return", &["mean_return"]),
    ("success", &["success", "safe_success"]),
    ("tracking rms (m)", &["tracking_rms_m"]),
    ("assist (fraction of weight)", &["curriculum/assist"]),
    ("action std", &["ppo/action_std"]),
    ("kl", &["ppo/kl"]),
    ("env steps/s", &["steps_per_s"]),
    ("terrain level", &["curriculum/mean_level"]),
];

/// Renders the learning curves of `rows` as PNG bytes.
#[must_use]
pub fn render(rows: &[serde_json::Map<String, Value>]) -> Vec<u8> {
    render_panels(rows, &PANELS)
}

/// Renders `panels` (title, metric keys) of `rows`, two per row, as PNG bytes.
#[must_use]
pub fn render_panels(
    rows: &[serde_json::Map<String, Value>],
    panels: &[(&str, &[&str])],
) -> Vec<u8> {
    let mut c = Canvas::new(PANEL_W * 2, PANEL_H * panels.len().div_ceil(2).max(1));
    for (k, (title, keys)) in panels.iter().enumerate() {
        let series: Vec<(&str, Vec<(f64, f64)>)> = keys
            .iter()
            .map(|key| {
                let pts = rows
                    .iter()
                    .filter_map(|m| Some((m.get("iteration")?.as_f64()?, m.get(*key)?.as_f64()?)))
                    .collect();
                (key.rsplit('/').next().unwrap_or(key), pts)
            })
            .collect();
        panel(&mut c, (k % 2) * PANEL_W, (k / 2) * PANEL_H, title, &series);
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, c.w as u32, c.h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        if let Ok(mut w) = enc.write_header() {
            let _ = w.write_image_data(&c.px);
        }
    }
    out
}

/// Rewrites `curves.png` and `metrics.rrd` of the run in `run` from its metrics.
///
/// # Errors
/// The metrics cannot be read or the files written.
pub fn write_all(run: &Path) -> Result<(), TrainError> {
    write_panels(run, &PANELS)
}

/// [`write_all`] with other panels.
///
/// # Errors
/// The metrics cannot be read or the files written.
pub fn write_panels(run: &Path, panels: &[(&str, &[&str])]) -> Result<(), TrainError> {
    let rows = read_metrics(&run.join(METRICS))?;
    let png_path = run.join(CURVES);
    vigor_common::fsutil::write_atomic(&png_path, &render_panels(&rows, panels)).map_err(
        |source| TrainError::Io {
            path: png_path,
            source,
        },
    )?;
    let series: Vec<(i64, Vec<(String, f64)>)> = rows
        .iter()
        .filter_map(|m| {
            let it = m.get("iteration")?.as_i64()?;
            let values = m
                .iter()
                .filter(|(k, _)| k.as_str() != "iteration")
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .collect();
            Some((it, values))
        })
        .collect();
    let rrd = run.join(METRICS_RRD);
    vigor_record::write_series(&rrd, "iteration", &series).map_err(|e| TrainError::Io {
        path: rrd,
        source: std::io::Error::other(e.to_string()),
    })
}
