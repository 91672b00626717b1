//! libFuzzer target: `wattage_fuzz::sweep_spec` (its docs say what it checks).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wattage_fuzz::sweep_spec(data);
});
