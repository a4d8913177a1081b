//! Observation normalisation: the policy crate's [`vigor_policy::Normaliser`], the one type that
//! training keeps running statistics in and every artifact carries.

/// Running statistics of a vector-valued observation ([`vigor_policy::Normaliser`]).
pub type RunningNorm = vigor_policy::Normaliser;
