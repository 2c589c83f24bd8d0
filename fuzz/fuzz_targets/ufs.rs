//! Fuzz target `ufs`: see `sporen_fuzz::checks::ufs` for what it asserts.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sporen_fuzz::checks::ufs(data));
