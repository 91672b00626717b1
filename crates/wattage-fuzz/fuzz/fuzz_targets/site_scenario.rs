//! libFuzzer target: `wattage_fuzz::site_scenario` (its docs say what it checks).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wattage_fuzz::site_scenario(data);
});
