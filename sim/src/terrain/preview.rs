//! A picture of a terrain for people: height-coloured, hill-shaded from the surface normals, with
//! thin dark lines on tile boundaries and a small red cross on each tile's spawn spot.
//!
//! Top view with columns (kinds, +y) running left to right and rows (difficulty, +x) running top to
//! bottom: image right = +y, image down = +x, which is the terrain seen from above (z towards the
//! viewer). Heights at 0 are pale green-grey, raised ground goes through sand to white, lowered
//! ground through blue to dark navy; the light comes from the top-left of the picture.

use std::path::Path;

use vigor_common::fsutil::write_atomic;

use super::{Terrain, TerrainError};

/// Allowed preview resolution, pixels per metre.
pub const PX_PER_M: std::ops::RangeInclusive<f32> = 1.0..=200.0;
/// Colour of the small cross marking each tile's spawn spot.
const SPAWN_MARK: [f32; 3] = [220.0, 30.0, 30.0];
/// Largest picture rendered, pixels (width × height).
pub const MAX_PIXELS: u64 = 64 << 20;

/// An RGB picture, 8 bits per channel, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Width, px.
    pub width: u32,
    /// Height, px.
    pub height: u32,
    /// `width × height × 3` bytes.
    pub rgb: Vec<u8>,
}

/// The picture size for `terrain` at `px_per_m`: `(width, height)` = field extent along (y, x).
///
/// # Errors
/// [`TerrainError::InvalidParameter`] if `px_per_m` is outside [`PX_PER_M`] or the picture would
/// exceed [`MAX_PIXELS`].
pub fn image_size(terrain: &Terrain, px_per_m: f32) -> Result<(u32, u32), TerrainError> {
    if !PX_PER_M.contains(&px_per_m) {
        return Err(TerrainError::InvalidParameter {
            name: "px_per_m",
            value: px_per_m.to_string(),
            allowed: format!("{} ..= {}", PX_PER_M.start(), PX_PER_M.end()),
        });
    }
    let f = terrain.field();
    let [x0, y0] = f.origin_xy();
    let [x1, y1] = f.max_xy();
    let w = ((y1 - y0) * px_per_m).round().max(1.0) as u64;
    let h = ((x1 - x0) * px_per_m).round().max(1.0) as u64;
    if w * h > MAX_PIXELS {
        return Err(TerrainError::InvalidParameter {
            name: "px_per_m",
            value: format!("{px_per_m} ({w} × {h} px)"),
            allowed: format!("small enough for at most {MAX_PIXELS} pixels"),
        });
    }
    // Both are at most MAX_PIXELS < 2^32.
    Ok((w as u32, h as u32))
}

/// Renders `terrain` at `px_per_m` pixels per metre.
///
/// # Errors
/// As [`image_size`].
pub fn render(terrain: &Terrain, px_per_m: f32) -> Result<Image, TerrainError> {
    let (w, h) = image_size(terrain, px_per_m)?;
    let f = terrain.field();
    let [x0, y0] = f.origin_xy();
    let (lo, hi) = f.height_range();
    let scale = lo.abs().max(hi.abs()).max(0.05);
    let grid = terrain.grid_bounds();
    let tile = terrain.tile_size_m();
    // Pixel rows (x) and columns (y) that hold a tile boundary, and the pixel span of the grid.
    let to_px = |a: f32, a0: f32, n: u32| {
        ((a - a0) * px_per_m + 1e-3)
            .floor()
            .clamp(0.0, (n - 1) as f32) as u32
    };
    let line_rows: Vec<u32> = (0..=terrain.rows())
        .map(|r| to_px(grid.min_xy[0] + r as f32 * tile, x0, h))
        .collect();
    let line_cols: Vec<u32> = (0..=terrain.cols())
        .map(|c| to_px(grid.min_xy[1] + c as f32 * tile, y0, w))
        .collect();
    let (row_span, col_span) = (
        line_rows[0]..=line_rows[line_rows.len() - 1],
        line_cols[0]..=line_cols[line_cols.len() - 1],
    );
    let spawns: Vec<(u32, u32)> = terrain
        .tiles()
        .iter()
        .map(|t| (to_px(t.centre_xy[0], x0, h), to_px(t.centre_xy[1], y0, w)))
        .collect();
    // Sun at the picture's top-left (towards -x, -y), 45° up.
    let light = normalise([-0.5, -0.5, 0.707]);
    let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
    for py in 0..h {
        let x = x0 + (py as f32 + 0.5) / px_per_m;
        for px in 0..w {
            let y = y0 + (px as f32 + 0.5) / px_per_m;
            let n = f.normal(x, y);
            let lit = (n[0] * light[0] + n[1] * light[1] + n[2] * light[2]) / light[2];
            let shade = (0.25 + 0.75 * lit).clamp(0.2, 1.25);
            let base = colour(f.height(x, y) / scale);
            let line = (line_rows.contains(&py) && col_span.contains(&px))
                || (line_cols.contains(&px) && row_span.contains(&py));
            let spawn = spawns.iter().any(|&(sy, sx)| {
                (sy == py && sx.abs_diff(px) <= 2) || (sx == px && sy.abs_diff(py) <= 2)
            });
            let pixel = if spawn {
                SPAWN_MARK
            } else if line {
                base.map(|c| c * 0.3)
            } else {
                base.map(|c| c * shade)
            };
            rgb.extend(pixel.map(|c| c.clamp(0.0, 255.0) as u8));
        }
    }
    Ok(Image {
        width: w,
        height: h,
        rgb,
    })
}

/// Renders `terrain` as PNG bytes.
///
/// # Errors
/// As [`render`], or [`TerrainError::Png`].
pub fn render_png(terrain: &Terrain, px_per_m: f32) -> Result<Vec<u8>, TerrainError> {
    let image = render(terrain, px_per_m)?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width, image.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&image.rgb)?;
    writer.finish()?;
    Ok(out)
}

/// Renders `terrain` and writes it to `path` as PNG (atomically); returns `(width, height)`.
///
/// # Errors
/// As [`render_png`], or [`TerrainError::Io`] naming the path.
pub fn write_png(
    terrain: &Terrain,
    px_per_m: f32,
    path: &Path,
) -> Result<(u32, u32), TerrainError> {
    let size = image_size(terrain, px_per_m)?;
    let bytes = render_png(terrain, px_per_m)?;
    write_atomic(path, &bytes).map_err(|source| TerrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(size)
}

/// Colour of relative height `t` (height / largest |height|, so -1 ..= 1), RGB 0..=255. The
/// square root stretches small heights (5 cm boxes next to 1 m pits) so both stay visible.
fn colour(t: f32) -> [f32; 3] {
    let t = t.signum() * t.abs().sqrt();
    const STOPS: [(f32, [f32; 3]); 6] = [
        (-1.0, [20.0, 30.0, 80.0]),
        (-0.3, [70.0, 115.0, 185.0]),
        (0.0, [175.0, 192.0, 165.0]),
        (0.25, [215.0, 195.0, 130.0]),
        (0.6, [185.0, 125.0, 80.0]),
        (1.0, [245.0, 240.0, 235.0]),
    ];
    let t = t.clamp(-1.0, 1.0);
    for pair in STOPS.windows(2) {
        let ((t0, c0), (t1, c1)) = (pair[0], pair[1]);
        if t <= t1 {
            let s = ((t - t0) / (t1 - t0)).clamp(0.0, 1.0);
            return [0, 1, 2].map(|i| c0[i] + s * (c1[i] - c0[i]));
        }
    }
    STOPS[STOPS.len() - 1].1
}

fn normalise(v: [f32; 3]) -> [f32; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    v.map(|c| c / n)
}

#[cfg(test)]
mod tests {
    use super::super::{TerrainKind, TerrainParams};
    use super::*;

    fn grid() -> Terrain {
        Terrain::generate(&TerrainParams {
            seed: 0,
            tile_size_m: 4.0,
            cell_m: 0.1,
            rows: 2,
            cols: 3,
            kinds: vec![TerrainKind::Flat, TerrainKind::Gaps, TerrainKind::Platform],
            border_m: 1.0,
            difficulty_min: 0.0,
            difficulty_max: 1.0,
        })
        .unwrap()
    }

    #[test]
    fn picture_has_the_field_extent_lines_and_distinct_colours() {
        let t = grid();
        let img = render(&t, 10.0).unwrap();
        assert_eq!(
            (img.width, img.height),
            (140, 100),
            "y extent 14 m wide, x extent 10 m high"
        );
        assert_eq!(img.rgb.len(), 140 * 100 * 3);
        let px = |x: u32, y: u32| {
            let i = 3 * (y * img.width + x) as usize;
            [img.rgb[i], img.rgb[i + 1], img.rgb[i + 2]]
        };
        // Tile boundary between columns 0 and 1 at y = -2 m, 5 m from the picture's left edge.
        let line = px(49, 20).min(px(50, 20));
        let flat = px(20, 20);
        assert!(
            line.iter().zip(flat).all(|(l, f)| *l < f / 2),
            "{line:?} vs {flat:?}"
        );
        // Row 1 (x = 2.25 m at py 72): the platform (col 2, y = 4.05 m) is sand-coloured, the
        // 0.6 m gap next to the spawn of col 1 (y = 1.05 m) is blue.
        let (platform, pit) = (px(110, 72), px(80, 72));
        assert!(
            platform[0] > pit[0] + 100 && pit[2] > pit[0],
            "{platform:?} vs {pit:?}"
        );
        // Spawn crosses at tile centres: row 1, col 2 centre (x 2, y 4) is pixel (110, 70).
        assert_eq!(px(110, 70), [220, 30, 30]);
    }

    #[test]
    fn png_bytes_start_with_signature_and_header() {
        let bytes = render_png(&grid(), 5.0).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[12..16], b"IHDR");
        assert_eq!(
            u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]),
            70
        );
        assert_eq!(
            u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]),
            50
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.png");
        assert_eq!(write_png(&grid(), 5.0, &path).unwrap(), (70, 50));
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        let err = render(&grid(), 0.0).unwrap_err().to_string();
        assert!(
            err.contains("`px_per_m` = 0") && err.contains("1 ..= 200"),
            "{err}"
        );
    }
}
