//! Fuzz target `log_scan`: see `sporen_fuzz::checks::log_scan` for what it asserts.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sporen_fuzz::checks::log_scan(data));
