//! Fuzz target `tar`: see `sporen_fuzz::checks::tar` for what it asserts.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sporen_fuzz::checks::tar(data));
