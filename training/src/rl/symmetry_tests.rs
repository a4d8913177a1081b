//! Symmetry augmentation in PPO: the mirror images teach the mirrored situation, and they train
//! without counting in the KL that adapts the learning rate.

use tch::{Kind, Tensor};
use vigor_common::seed::SplitMix64;

use super::tests::{bandit, bandit_batch, close, one_step_batch};
use super::*;

/// A policy whose mean is linear in its one observation: `w x + b`.
struct Line {
    w: Tensor,
    b: Tensor,
    log_std: Tensor,
    v: Tensor,
}

impl GaussianPolicy for Line {
    fn mean(&self, obs: &Tensor) -> Tensor {
        obs * &self.w + &self.b
    }
    fn log_std(&self) -> Tensor {
        self.log_std.shallow_clone()
    }
    fn value(&self, obs: &Tensor) -> Tensor {
        obs.zeros_like().squeeze_dim(-1) + &self.v
    }
    fn parameters(&self) -> Vec<Tensor> {
        vec![
            self.w.shallow_clone(),
            self.b.shallow_clone(),
            self.log_std.shallow_clone(),
            self.v.shallow_clone(),
        ]
    }
}

#[test]
fn the_mirror_image_doubles_the_batch_and_teaches_the_mirrored_situation() {
    // A task symmetric under x -> -x, a -> -a: reward -(a - x / 2)^2. Every rollout sees only
    // x = +1. Trained on its samples alone the policy learns nothing about x = -1 (w and b share
    // the gradient, so its mean there stays near 0); trained also on their mirror images (x = -1,
    // a negated, the same advantage) it acts -1/2 there.
    let run = |symmetry: bool| {
        let zero = || Tensor::zeros([1], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
        let model = Line {
            w: zero(),
            b: zero(),
            log_std: zero(),
            v: zero(),
        };
        let named: Vec<(String, Tensor)> = ["w", "b", "log_std", "v"]
            .iter()
            .zip(model.parameters())
            .map(|(n, p)| ((*n).to_owned(), p))
            .collect();
        let mut adam = Adam::new(&named);
        let cfg = PpoConfig {
            learning_rate: 1e-2,
            desired_kl: 0.0,
            entropy_coef: 0.0,
            symmetry,
            ..PpoConfig::default()
        };
        let mut lr = cfg.learning_rate;
        let mut rng = SplitMix64::new(5);
        let n = 256;
        for it in 0..60 {
            let mu = (model.w.double_value(&[0]) + model.b.double_value(&[0])) as f32;
            let ls = model.log_std.double_value(&[0]) as f32;
            let v = model.v.double_value(&[0]) as f32;
            let mut batch =
                one_step_batch((mu, ls, v), (n, 1.0), &mut rng, |a| -(a - 0.5) * (a - 0.5));
            if cfg.symmetry {
                let negated = |v: &[f32]| v.iter().map(|x| -x).collect::<Vec<f32>>();
                let (obs, acts, means) = (
                    negated(&batch.obs),
                    negated(&batch.actions),
                    negated(&batch.old_mean),
                );
                let before = batch.clone();
                batch = batch.with_mirror_image(&obs, &acts, &means);
                assert_eq!(batch.obs[n..], obs[..]);
                assert_eq!(batch.actions[n..], acts[..]);
                assert_eq!(batch.old_mean[n..], means[..]);
                for (v, b) in [
                    (&batch.old_log_prob, &before.old_log_prob),
                    (&batch.advantages, &before.advantages),
                    (&batch.returns, &before.returns),
                    (&batch.old_values, &before.old_values),
                ] {
                    assert_eq!(v[..n], b[..]);
                    assert_eq!(v[n..], b[..], "the image keeps its original's");
                }
                assert_eq!(batch.old_log_std, before.old_log_std);
                assert_eq!(batch.sampled, n, "the images are not sampled rows");
            }
            ppo_update(&model, &mut adam, &cfg, &batch, &mut lr, (it, Part::Both));
        }
        let (w, b) = (model.w.double_value(&[0]), model.b.double_value(&[0]));
        (w + b, b - w)
    };
    let (seen, unseen) = run(false);
    assert!((seen - 0.5).abs() < 0.1, "x = +1 learned: {seen}");
    assert!(unseen.abs() < 0.15, "x = -1 never seen: {unseen}");
    let (seen, mirrored) = run(true);
    assert!((seen - 0.5).abs() < 0.1, "x = +1 learned: {seen}");
    assert!(
        (mirrored + 0.5).abs() < 0.1,
        "x = -1 learned from the images: {mirrored}"
    );
}

#[test]
fn mirror_images_train_but_leave_the_kl_to_the_sampled_rows() {
    // An asymmetric policy: the images' old means (the mirror of what it did) sit 3 standard
    // deviations from what it does at the mirrored observation, a KL of 4.5 per image row. The
    // learning rate adapts on the sampled rows alone (rsl_rl's rule): before the first step their
    // KL is 0, so the rate rises by 1.5 as it does without the images. Counting the images, the
    // KL would read about 2.25 and the rate would fall instead.
    let cfg = PpoConfig {
        learning_rate: 1e-3,
        desired_kl: 0.01,
        epochs: 1,
        minibatches: 1,
        symmetry: true,
        ..PpoConfig::default()
    };
    let update = |mirror: bool| {
        let (model, mut adam) = bandit();
        let mut rng = SplitMix64::new(9);
        let mut batch = bandit_batch(&model, &mut rng, |a| -(a - 0.5) * (a - 0.5));
        let n = batch.sampled;
        if mirror {
            let negated = |v: &[f32]| v.iter().map(|x| -x).collect::<Vec<f32>>();
            let far: Vec<f32> = batch.old_mean.iter().map(|m| -m + 3.0).collect();
            let (obs, acts) = (negated(&batch.obs), negated(&batch.actions));
            batch = batch.with_mirror_image(&obs, &acts, &far);
            assert_eq!(batch.old_mean.len(), 2 * n);
        }
        let mut lr = cfg.learning_rate;
        let stats = ppo_update(&model, &mut adam, &cfg, &batch, &mut lr, (0, Part::Both));
        (stats.kl, lr)
    };
    let (kl_plain, lr_plain) = update(false);
    let (kl_mirror, lr_mirror) = update(true);
    assert!(
        kl_plain.abs() < 1e-6,
        "plain KL before any step: {kl_plain}"
    );
    assert!(
        kl_mirror.abs() < 1e-6,
        "the images' KL is left out: {kl_mirror}"
    );
    assert!(close(lr_plain, 1.5e-3, 1e-12), "plain rate {lr_plain}");
    assert!(
        close(lr_mirror, 1.5e-3, 1e-12),
        "rate with images {lr_mirror}"
    );
}
