//! Fuzz target `correlate`: LOGIN and TCPCONNSTAT records built from the input, rendered as
//! ns.log rotations; see `sporen_fuzz::checks::correlate` for what it asserts.

#![no_main]

use sporen_fuzz::sessions::Sessions;

libfuzzer_sys::fuzz_target!(|input: Sessions| {
    sporen_fuzz::checks::correlate(input.render().as_bytes())
});
