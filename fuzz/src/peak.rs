//! Peak heap use of one call, measured by a counting global allocator, so that fuzz targets
//! and their replay can assert bounded allocation. It only counts: every request goes to the
//! system allocator unchanged.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The counting allocator; install it with `#[global_allocator]`.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Allocations counted so far.
static CALLS: AtomicUsize = AtomicUsize::new(0);
/// One measurement at a time: a peak is only meaningful for one call.
static GATE: Mutex<()> = Mutex::new(());

fn grew(n: usize) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    let live = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrank(n: usize) {
    LIVE.fetch_sub(n, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` with the same arguments; only counters change.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every path above uses it).
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is the caller's, passed on unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grew(new_size);
            shrank(layout.size());
        }
        p
    }
}

/// Runs `f` and returns its result with the most heap bytes live at once during the call,
/// above what was live when it started.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let _one = GATE.lock().unwrap_or_else(|e| e.into_inner());
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = f();
    (r, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// True when [`Counting`] is the global allocator. Counts calls, not bytes: threads of an
/// earlier call may still be freeing memory while this runs.
pub fn installed() -> bool {
    let before = CALLS.load(Ordering::Relaxed);
    drop(std::hint::black_box(vec![0u8; 4096]));
    CALLS.load(Ordering::Relaxed) > before
}

/// Panics when `peak` bytes exceed `budget`, naming the call.
pub fn assert_within(what: &str, peak: usize, budget: usize) {
    assert!(installed(), "the counting allocator is not installed");
    assert!(
        peak <= budget,
        "{what}: {} MiB allocated at once, over the budget of {} MiB",
        peak >> 20,
        budget >> 20
    );
}
