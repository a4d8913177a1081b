//! The worker pools that run environments in parallel: one persistent rayon pool per thread
//! count, kept for the life of the process, instead of threads spawned at every policy step.
//!
//! Work is handed out one item at a time (an idle worker steals the next environment), so an
//! environment that costs more this step (a contact-heavy fall, a reset) does not hold the
//! others up. Results never depend on which worker ran an item: each item's work reads and writes
//! only that item, so the same seed gives the same result on any thread count.

use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// The thread count for `threads` (0 = one per core).
#[must_use]
pub fn resolve(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        threads
    }
}

/// The pools built so far, by thread count.
type Pools = Mutex<Vec<(usize, Arc<ThreadPool>)>>;

/// The process's pool of `threads` workers (built on first use, then kept).
///
/// # Panics
/// If the operating system refuses to start the pool's threads.
#[must_use]
pub fn pool(threads: usize) -> Arc<ThreadPool> {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    let threads = resolve(threads);
    let mut pools = POOLS
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, p)) = pools.iter().find(|(n, _)| *n == threads) {
        return Arc::clone(p);
    }
    let p = Arc::new(
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("vigor-env-{threads}-{i}"))
            .build()
            .expect("starting the environment worker pool"),
    );
    pools.push((threads, Arc::clone(&p)));
    p
}

/// Runs `f(i, item)` for every item on the pool of `threads` workers (0 = one per core); on one
/// thread, in order on the caller's thread. A panic in `f` reaches the caller.
pub fn par_each<T: Send, F>(items: &mut [T], threads: usize, f: F)
where
    F: Fn(usize, &mut T) + Sync + Send,
{
    let threads = resolve(threads);
    if threads <= 1 || items.len() <= 1 {
        for (i, item) in items.iter_mut().enumerate() {
            f(i, item);
        }
        return;
    }
    pool(threads).install(|| {
        items
            .par_iter_mut()
            .with_max_len(1)
            .enumerate()
            .for_each(|(i, item)| f(i, item));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_runs_once_with_its_own_index_on_any_thread_count() {
        for threads in [1, 2, 3, 8] {
            let mut items: Vec<(usize, u32)> = (0..37).map(|_| (usize::MAX, 0)).collect();
            par_each(&mut items, threads, |i, item| {
                item.0 = i;
                item.1 += 1;
            });
            for (i, item) in items.iter().enumerate() {
                assert_eq!(*item, (i, 1), "{threads} threads");
            }
        }
    }

    #[test]
    fn one_pool_per_thread_count_is_kept() {
        assert!(Arc::ptr_eq(&pool(3), &pool(3)));
        assert_eq!(pool(3).current_num_threads(), 3);
        assert!(!Arc::ptr_eq(&pool(3), &pool(2)));
    }
}
