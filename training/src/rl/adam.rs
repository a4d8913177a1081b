//! Adam (Kingma and Ba 2015) with global gradient-norm clipping, its moments kept as named tensors
//! so a checkpoint holds the whole optimiser state.

use tch::{Kind, Tensor};

/// Adam over a fixed list of parameters.
#[derive(Debug)]
pub struct Adam {
    /// Parameter names, in the order of `params` passed to [`Adam::step`].
    pub names: Vec<String>,
    /// First moments.
    pub m: Vec<Tensor>,
    /// Second moments.
    pub v: Vec<Tensor>,
    /// Steps taken.
    pub t: i64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Denominator floor.
    pub eps: f64,
}

impl Adam {
    /// Zero moments for parameters `named` (name, tensor).
    #[must_use]
    pub fn new(named: &[(String, Tensor)]) -> Self {
        Self {
            names: named.iter().map(|(n, _)| n.clone()).collect(),
            m: named.iter().map(|(_, p)| p.zeros_like()).collect(),
            v: named.iter().map(|(_, p)| p.zeros_like()).collect(),
            t: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// Clips the gradients of `params` to a global L2 norm of at most `max_norm` (if positive)
    /// and returns the norm before clipping.
    pub fn clip_grad_norm(params: &[Tensor], max_norm: f64) -> f64 {
        let mut sq = 0.0;
        for p in params {
            let g = p.grad();
            if g.defined() {
                sq += g.square().sum(Kind::Double).double_value(&[]);
            }
        }
        let norm = sq.sqrt();
        if max_norm > 0.0 && norm > max_norm {
            let scale = max_norm / (norm + 1e-6);
            tch::no_grad(|| {
                for p in params {
                    let mut g = p.grad();
                    if g.defined() {
                        let _ = g.g_mul_scalar_(scale);
                    }
                }
            });
        }
        norm
    }

    /// One update of `params` (same order as at construction) with learning rate `lr`, then
    /// zeroes their gradients. Parameters without a gradient are left alone.
    pub fn step(&mut self, params: &mut [Tensor], lr: f64) {
        self.t += 1;
        let bc1 = 1.0 - self.beta1.powi(self.t as i32);
        let bc2 = 1.0 - self.beta2.powi(self.t as i32);
        tch::no_grad(|| {
            for ((p, m), v) in params.iter_mut().zip(&mut self.m).zip(&mut self.v) {
                let mut g = p.grad();
                if !g.defined() {
                    continue;
                }
                *m = &*m * self.beta1 + &g * (1.0 - self.beta1);
                *v = &*v * self.beta2 + g.square() * (1.0 - self.beta2);
                let update = (&*m / bc1) / ((&*v / bc2).sqrt() + self.eps) * lr;
                let _ = p.g_sub_(&update);
                let _ = g.zero_();
            }
        });
    }
}
