//! Fuzz target `log_time`: see `sporen_fuzz::checks::log_time` for what it asserts.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sporen_fuzz::checks::log_time(data));
