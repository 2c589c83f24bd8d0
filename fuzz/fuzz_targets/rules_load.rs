//! Fuzz target `rules_load`: see `sporen_fuzz::checks::rules_load` for what it asserts.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sporen_fuzz::checks::rules_load(data));
