//! `vigor terrain preview`: generate the procedural terrain grid and write a picture of it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use vigor_common::config;
use vigor_sim::terrain::{Terrain, TerrainConfig, preview};

/// `vigor terrain ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the tile grid and write a hill-shaded top view as PNG.
    ///
    /// Columns (kinds) run left to right, rows (difficulty, easy first) top to bottom; thin dark
    /// lines mark tile boundaries. Pits are blue, raised ground sand to white.
    Preview {
        /// PNG file to write.
        #[arg(long)]
        out: PathBuf,
        /// Terrain config (default: the shipped configs/terrain.toml, embedded).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Override the config's terrain seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Picture resolution, pixels per metre (1..=200).
        #[arg(long, default_value_t = 20.0)]
        px_per_m: f32,
    },
}

/// Runs the subcommand.
pub fn run(cmd: &Command) -> Result<()> {
    match cmd {
        Command::Preview {
            out,
            config: path,
            seed,
            px_per_m,
        } => {
            let mut params = match path {
                Some(p) => config::load_checked::<TerrainConfig>(p)?,
                None => TerrainConfig::embedded()?,
            };
            if let Some(seed) = seed {
                params.seed = *seed;
            }
            let terrain = Terrain::generate(&params).context("generating the terrain")?;
            let (w, h) = preview::write_png(&terrain, *px_per_m, out)?;
            let field = terrain.field();
            let (lo, hi) = field.height_range();
            println!("wrote {}: {w} × {h} px at {px_per_m} px/m", out.display());
            println!(
                "{} rows × {} cols of {} m tiles, seed {}; field {} × {} samples at {} m, heights {lo:.2} ..= {hi:.2} m",
                terrain.rows(),
                terrain.cols(),
                terrain.tile_size_m(),
                params.seed,
                field.nx(),
                field.ny(),
                field.cell_m(),
            );
            let kinds: Vec<&str> = (0..terrain.cols())
                .filter_map(|c| terrain.tile(0, c).map(|t| t.kind.name()))
                .collect();
            println!("columns, left to right: {}", kinds.join(", "));
            let rows: Vec<String> = (0..terrain.rows())
                .filter_map(|r| terrain.tile(r, 0))
                .map(|t| format!("{:.2} (level {})", t.difficulty, t.level))
                .collect();
            println!("rows, top to bottom, difficulty: {}", rows.join(", "));
            Ok(())
        }
    }
}
