//! Wire-format tests of vigor-msgs, one binary: Unitree's unitree_hg frames, vigor's own
//! messages, and bulk fuzzing of every decoder.

mod alloc_count;
mod fuzz;
mod project_wire;
mod rng;
mod unitree_wire;

/// `System` with per-thread byte counts, so the fuzz tests can bound what one decode allocates
/// (the one global allocator of this binary).
#[global_allocator]
static ALLOC: alloc_count::CountingAlloc = alloc_count::CountingAlloc;
