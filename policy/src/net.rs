//! The actor network.

use serde::{Deserialize, Serialize};
use tch::Tensor;
use tch::nn::{self, Module};
use vigor_common::seed::{SplitMix64, derive};

/// Nonlinearity between hidden layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// ELU (rsl_rl's default for locomotion policies).
    Elu,
    /// tanh.
    Tanh,
    /// ReLU.
    Relu,
}

/// Shape of a multilayer perceptron.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpSpec {
    /// Input size.
    pub input: usize,
    /// Hidden layer sizes.
    pub hidden: Vec<usize>,
    /// Output size.
    pub output: usize,
    /// Hidden nonlinearity.
    pub activation: Activation,
}

/// A multilayer perceptron whose layers are named `l0`, `l1`, ... under its path, so checkpoint
/// keys (`actor.l0.weight`, ...) stay stable.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<nn::Linear>,
    activation: Activation,
}

impl Mlp {
    /// Creates the layers under `path` (initial values from libtorch's global generator: call
    /// [`Mlp::init_seeded`] for reproducible weights, or load saved ones).
    #[must_use]
    pub fn new(path: &nn::Path<'_>, spec: &MlpSpec) -> Self {
        let sizes: Vec<i64> = std::iter::once(spec.input)
            .chain(spec.hidden.iter().copied())
            .chain(std::iter::once(spec.output))
            .map(|s| s as i64)
            .collect();
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| nn::linear(path / format!("l{i}"), w[0], w[1], Default::default()))
            .collect();
        Self {
            layers,
            activation: spec.activation,
        }
    }
}

impl Mlp {
    /// Re-initialises every layer from `seed` alone, as PyTorch's default for linear layers does
    /// (weights and biases uniform in +-1/sqrt(fan_in)), but from a private generator: the same seed
    /// gives the same weights whatever else runs in the process (libtorch's global generator would
    /// not).
    pub fn init_seeded(&mut self, seed: u64) {
        tch::no_grad(|| {
            for (i, layer) in self.layers.iter_mut().enumerate() {
                let mut rng = SplitMix64::new(derive(seed, "mlp-layer", i as u64));
                let fan_in = layer.ws.size().get(1).copied().unwrap_or(1).max(1);
                let bound = 1.0 / (fan_in as f32).sqrt();
                let mut fill = |t: &mut Tensor| {
                    let values: Vec<f32> =
                        (0..t.numel()).map(|_| rng.uniform(-bound, bound)).collect();
                    let shape = t.size();
                    t.copy_(&Tensor::from_slice(&values).view(shape.as_slice()));
                };
                fill(&mut layer.ws);
                if let Some(bs) = layer.bs.as_mut() {
                    fill(bs);
                }
            }
        });
    }
}

impl Module for Mlp {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let last = self.layers.len().saturating_sub(1);
        let mut x = xs.shallow_clone();
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x);
            if i < last {
                x = match self.activation {
                    Activation::Elu => x.elu(),
                    Activation::Tanh => x.tanh(),
                    Activation::Relu => x.relu(),
                };
            }
        }
        x
    }
}
