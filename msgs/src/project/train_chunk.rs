//! The wire encoding of [`TrainChunk`], a worker's rollout: every array's length is checked
//! against the episode count, steps and sizes.

use super::super::{Dec, Enc, Kind};
use super::{
    MAX_CHUNK_ENVS, MAX_TRAIN_FLOATS, MAX_TRAIN_JSON, MAX_TRAIN_NAME_LEN, MAX_VALUE_HEADS,
    TrainChunk, check_len, floats, read_floats,
};
use crate::DecodeError;

impl TrainChunk {
    const NAME: &'static str = "TrainChunk";

    fn check(&self) -> Result<(), DecodeError> {
        let bad = |field, reason| DecodeError::Invalid {
            message: Self::NAME,
            field,
            reason,
        };
        check_len(Self::NAME, "worker", self.worker.len(), MAX_TRAIN_NAME_LEN)?;
        check_len(
            Self::NAME,
            "outcomes_json",
            self.outcomes_json.len(),
            MAX_TRAIN_JSON,
        )?;
        let (n, s) = (self.envs as usize, self.steps as usize);
        if n > MAX_CHUNK_ENVS {
            return Err(bad("envs", "more than allowed"));
        }
        let sn = n.checked_mul(s).ok_or(bad("steps", "too many"))?;
        // Values and rewards come one per value head of the critic (one per reward group).
        let heads = self.values.len().checked_div(sn).unwrap_or(1);
        if !(1..=MAX_VALUE_HEADS).contains(&heads) {
            return Err(bad("values", "not 1 to 8 value heads per step"));
        }
        let expect = [
            ("log_std", self.log_std.len(), self.act as usize),
            (
                "raw_obs",
                self.raw_obs.len(),
                sn.saturating_mul(self.row as usize),
            ),
            (
                "actions",
                self.actions.len(),
                sn.saturating_mul(self.act as usize),
            ),
            (
                "means",
                self.means.len(),
                sn.saturating_mul(self.act as usize),
            ),
            ("log_probs", self.log_probs.len(), sn),
            ("values", self.values.len(), sn.saturating_mul(heads)),
            ("rewards", self.rewards.len(), sn.saturating_mul(heads)),
        ];
        for (field, got, want) in expect {
            if got != want {
                return Err(bad(field, "length does not match envs, steps and sizes"));
            }
            if got > MAX_TRAIN_FLOATS {
                return Err(bad(field, "array longer than allowed"));
            }
        }
        if n == 0 || !self.term_sums.len().is_multiple_of(n) {
            return Err(bad("term_sums", "not a whole number of terms per episode"));
        }
        Ok(())
    }

    /// Encodes the chunk.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] for arrays whose lengths disagree with `envs`, `steps`, `row` and
    /// `act`, or anything larger than allowed.
    pub fn encode(&self) -> Result<Vec<u8>, DecodeError> {
        self.check()?;
        let floats_n = self.raw_obs.len()
            + self.actions.len()
            + self.means.len()
            + 4 * self.values.len()
            + self.term_sums.len()
            + self.log_std.len();
        let mut e = Enc::new(
            Kind::TrainChunk,
            floats_n * 4 + self.outcomes_json.len() + 128,
        );
        e.u64(self.run_id);
        e.str(&self.worker);
        e.u64(self.version);
        e.u64(self.iteration);
        e.u32(self.chunk);
        e.u32(self.envs);
        e.u32(self.steps);
        e.u32(self.row);
        e.u32(self.act);
        for v in [
            &self.log_std,
            &self.raw_obs,
            &self.actions,
            &self.means,
            &self.log_probs,
            &self.values,
            &self.rewards,
            &self.term_sums,
        ] {
            floats(&mut e, v);
        }
        e.str(&self.outcomes_json);
        e.u64(self.sim_s.to_bits());
        e.u64(self.forward_s.to_bits());
        e.u64(self.reset_s.to_bits());
        Ok(e.finish())
    }

    /// Decodes a chunk.
    ///
    /// # Errors
    /// [`DecodeError`] naming the field; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::open(bytes, Kind::TrainChunk, Self::NAME)?;
        let run_id = d.u64("run_id")?;
        let worker = d.str("worker", MAX_TRAIN_NAME_LEN)?;
        let version = d.u64("version")?;
        let iteration = d.u64("iteration")?;
        let chunk = d.u32("chunk")?;
        let envs = d.u32("envs")?;
        let steps = d.u32("steps")?;
        let row = d.u32("row")?;
        let act = d.u32("act")?;
        let out = Self {
            run_id,
            worker,
            version,
            iteration,
            chunk,
            envs,
            steps,
            row,
            act,
            log_std: read_floats(&mut d, "log_std")?,
            raw_obs: read_floats(&mut d, "raw_obs")?,
            actions: read_floats(&mut d, "actions")?,
            means: read_floats(&mut d, "means")?,
            log_probs: read_floats(&mut d, "log_probs")?,
            values: read_floats(&mut d, "values")?,
            rewards: read_floats(&mut d, "rewards")?,
            term_sums: read_floats(&mut d, "term_sums")?,
            outcomes_json: d.str("outcomes_json", MAX_TRAIN_JSON)?,
            sim_s: f64::from_bits(d.u64("sim_s")?),
            forward_s: f64::from_bits(d.u64("forward_s")?),
            reset_s: f64::from_bits(d.u64("reset_s")?),
        };
        d.finish()?;
        out.check()?;
        Ok(out)
    }
}
