//! The curriculum's full-range draws: a share of every slot's episodes, or every episode of the
//! kinds named in `curriculum.full_range_kinds`, over the whole difficulty range.

use vigor_sim::env::EpisodeSpec;
use vigor_sim::terrain::TerrainKind;

use super::config::TeacherParams;
use super::curriculum::{Curriculum, full_range_difficulty};
use super::tests::params;

#[test]
fn full_range_draws_take_their_share_over_the_whole_range_and_leave_the_level() {
    let text = super::config::UNIFIED_TOML;
    let err = params(&text.replace("full_range_share = 0.0", "full_range_share = 1.5"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`curriculum.full_range_share` = 1.5") && err.contains("allowed 0 ..= 1"),
        "{err}"
    );
    let older = params(&text.replace("full_range_share = 0.0\n", "")).unwrap();
    assert_eq!(older.raw.curriculum.full_range_share, 0.0);
    let mut p = params(text).unwrap();
    let n = p.raw.envs;
    let top = p.raw.curriculum.levels - 1;
    let mut c = Curriculum::new(n, 0.0);
    c.stage = 2;
    c.levels = vec![3; n];
    let at_level = 3.0 / top as f32;
    let iterations = 0..40u64;
    let all = |c: &Curriculum, p: &TeacherParams| -> Vec<EpisodeSpec> {
        iterations
            .clone()
            .flat_map(|i| (0..n).map(move |env| (i, env)))
            .map(|(i, env)| c.spec(p, i, env))
            .collect()
    };
    // Off: every start on the slot's terrain plays at the slot's level.
    let off = all(&c, &p);
    assert!(
        off.iter()
            .filter(|s| s.scenario.required_terrain().is_none())
            .all(|s| (s.terrain.1 - at_level).abs() < 1e-6)
    );

    p.raw.curriculum.full_range_share = 0.25;
    let on = all(&c, &p);
    let mut drawn = Vec::new();
    for (a, b) in off.iter().zip(&on) {
        // The same scenario, kind and episode seed: only the difficulty may change.
        assert_eq!(
            (a.scenario, a.terrain.0, a.seed),
            (b.scenario, b.terrain.0, b.seed)
        );
        if a.scenario.required_terrain().is_some() {
            assert_eq!(a.terrain, b.terrain, "a start on its own terrain keeps it");
            assert!(
                full_range_difficulty(&p, b.terrain.0, b.seed).is_none() || a.terrain == b.terrain
            );
        } else if let Some(d) = full_range_difficulty(&p, b.terrain.0, b.seed) {
            assert_eq!(b.terrain.1, d);
            drawn.push(d);
        } else {
            assert_eq!(a.terrain, b.terrain);
        }
    }
    let slot_starts = on
        .iter()
        .filter(|s| s.scenario.required_terrain().is_none())
        .count();
    let share = drawn.len() as f32 / slot_starts as f32;
    assert!(
        (0.2..0.3).contains(&share),
        "share {share} of {slot_starts}"
    );
    // Over the whole range, not around the level: every quarter of it is drawn.
    for q in 0..4 {
        let (lo, hi) = (q as f32 / 4.0, (q + 1) as f32 / 4.0);
        let k = drawn.iter().filter(|d| (lo..hi).contains(*d)).count();
        assert!(k * 8 > drawn.len(), "quarter {q}: {k} of {}", drawn.len());
    }

    // Every start succeeds: a full-range draw leaves its slot's level where it was.
    let specs: Vec<EpisodeSpec> = (0..n).map(|env| c.spec(&p, 0, env)).collect();
    let skipped: Vec<bool> = specs
        .iter()
        .map(|s| {
            s.scenario.required_terrain().is_some()
                || full_range_difficulty(&p, s.terrain.0, s.seed).is_some()
        })
        .collect();
    assert!(
        specs.iter().any(|s| s.scenario.required_terrain().is_none()
            && full_range_difficulty(&p, s.terrain.0, s.seed).is_some()),
        "iteration 0 has a full-range draw"
    );
    c.update(&p, &specs, &vec![Some(true); n]);
    for (env, skip) in skipped.iter().enumerate() {
        assert_eq!(c.levels[env], if *skip { 3 } else { 4 }, "slot {env}");
    }

    // Stage 1 stays on flat ground.
    c.stage = 1;
    assert!((0..n).all(|env| {
        let s = c.spec(&p, 0, env);
        s.scenario.required_terrain().is_some() || s.terrain == (TerrainKind::Flat, 0.0)
    }));
}

#[test]
fn full_range_kinds_draw_every_episode_of_theirs_over_the_whole_range() {
    let text = super::config::UNIFIED_TOML;
    let named = |kinds: &str| {
        text.replace(
            "full_range_kinds = []\n",
            &format!("full_range_kinds = {kinds}\n"),
        )
    };
    let mut p = params(&named(r#"["stepping_stones", "gaps"]"#)).unwrap();
    assert_eq!(
        p.raw.curriculum.full_range_kinds,
        [TerrainKind::SteppingStones, TerrainKind::Gaps]
    );
    let older = params(&text.replace("full_range_kinds = []\n", "")).unwrap();
    assert!(older.raw.curriculum.full_range_kinds.is_empty());
    assert!(
        !serde_json::to_string(&older.raw)
            .unwrap()
            .contains("full_range_kinds"),
        "left out of files when empty"
    );
    let err = {
        let mut only_flat = named(r#"["gaps"]"#);
        let terrains = only_flat
            .lines()
            .find(|l| l.starts_with("terrains = "))
            .unwrap()
            .to_string();
        only_flat = only_flat.replace(&terrains, r#"terrains = ["flat", "rough"]"#);
        params(&only_flat).unwrap_err().to_string()
    };
    assert!(
        err.contains("curriculum.full_range_kinds") && err.contains("`gaps`"),
        "{err}"
    );

    let n = p.raw.envs;
    let mut c = Curriculum::new(n, 0.0);
    c.stage = 2;
    c.levels = vec![2; n];
    let at_level = 2.0 / (p.raw.curriculum.levels - 1) as f32;
    let named_kind = |k: TerrainKind| matches!(k, TerrainKind::SteppingStones | TerrainKind::Gaps);
    let specs: Vec<EpisodeSpec> = (0..30u64)
        .flat_map(|i| (0..n).map(move |env| (i, env)))
        .map(|(i, env)| c.spec(&p, i, env))
        .filter(|s| s.scenario.required_terrain().is_none())
        .collect();
    let (mut named_draws, mut others) = (Vec::new(), 0);
    for s in &specs {
        let drawn = full_range_difficulty(&p, s.terrain.0, s.seed);
        if named_kind(s.terrain.0) {
            assert_eq!(drawn, Some(s.terrain.1), "every episode of a named kind");
            named_draws.push(s.terrain.1);
        } else {
            assert_eq!(drawn, None, "full_range_share is 0 for the rest");
            assert!((s.terrain.1 - at_level).abs() < 1e-6);
            others += 1;
        }
    }
    assert!(
        others > 0 && named_draws.len() > 40,
        "{} {others}",
        named_draws.len()
    );
    for q in 0..4 {
        let (lo, hi) = (q as f32 / 4.0, (q + 1) as f32 / 4.0);
        let k = named_draws.iter().filter(|d| (lo..hi).contains(*d)).count();
        assert!(
            k * 8 > named_draws.len(),
            "quarter {q}: {k} of {}",
            named_draws.len()
        );
    }

    // All succeed: the named kinds' slots keep their level, the others climb.
    let first: Vec<EpisodeSpec> = (0..n).map(|env| c.spec(&p, 0, env)).collect();
    c.update(&p, &first, &vec![Some(true); n]);
    for (env, s) in first.iter().enumerate() {
        let kept = s.scenario.required_terrain().is_some() || named_kind(s.terrain.0);
        assert_eq!(c.levels[env], if kept { 2 } else { 3 }, "slot {env}: {s:?}");
    }

    // A share for the rest applies beside the named kinds.
    p.raw.curriculum.full_range_share = 0.5;
    assert!(
        specs.iter().any(|s| !named_kind(s.terrain.0)
            && full_range_difficulty(&p, s.terrain.0, s.seed).is_some())
    );
}
