//! The test binary's global allocator: `System`, plus per-thread counts of live and peak bytes so
//! a test can measure what one call allocates while other tests allocate on other threads.
//!
//! Counts are per thread (const-initialised `thread_local!` cells, which never allocate and need no
//! destructor, so reading them inside the allocator is safe at any point of a thread's life).
//! Memory freed by a thread other than the one that allocated it makes the freeing thread's count
//! go down (possibly below zero); [`measure`] works with differences on one thread, so that does
//! not matter. A `realloc` is counted as the new block allocated before the old one is freed: the
//! worst case of a moving reallocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// Bytes this thread allocated minus bytes it freed.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The highest `LIVE` since [`measure`] last reset it.
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// `System` with per-thread byte counts; installed in `main.rs`.
pub(crate) struct CountingAlloc;

fn grow(bytes: usize) {
    // `try_with` rather than `with`: an allocator must not panic, whatever the thread's state.
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add_unsigned(bytes);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn shrink(bytes: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub_unsigned(bytes)));
}

// `GlobalAlloc` is an unsafe trait and its methods are unsafe to call: this impl only forwards to
// `System` with the caller's arguments, under the caller's guarantees, and counts the sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grow(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grow(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, hence from `System`, with this layout.
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is the caller's, checked by the caller.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            grow(new_size);
            shrink(layout.size());
        }
        new
    }
}

/// Runs `f` and returns its result with the most bytes live on this thread during the call beyond
/// those live before it (the result itself included, since it is allocated during the call).
pub(crate) fn measure<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, usize::try_from(peak - before).unwrap_or(0))
}

#[test]
fn allocation_counter_sees_this_threads_allocations() {
    let (v, bytes) = measure(|| vec![0u8; 1000]);
    assert_eq!(bytes, 1000, "a 1000-byte Vec");
    // black_box: the optimiser may otherwise drop an allocation nobody reads.
    let ((), bytes) = measure(|| {
        drop(std::hint::black_box(vec![0u64; 100]));
        drop(std::hint::black_box(Vec::<u8>::with_capacity(10)));
    });
    assert_eq!(bytes, 800, "peak of 800 then 10 bytes");
    let ((), bytes) = measure(|| drop(v));
    assert_eq!(bytes, 0, "freeing allocates nothing");
}
