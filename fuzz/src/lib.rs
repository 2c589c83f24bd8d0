//! Shared code of the fuzz targets: the invariants they assert ([`checks`], replayed on the
//! stable toolchain by the product's `tests/fuzz_regressions.rs`), the allocation meter
//! ([`peak`], installed here as the global allocator) and the structured input of the
//! `correlate` target ([`sessions`]). No target lives here; nothing here writes files.

pub mod checks;
pub mod peak;
pub mod sessions;

#[global_allocator]
static ALLOC: peak::Counting = peak::Counting;
