#![no_main]
//! Fuzz target `fault_header`: any bytes as the value of the `cf-edgecase-fault` request
//! header (`[emulation] header_faults = true`), given to `emulation::header::parse`, which
//! reads visitor input on every request when header faults are on. It must return an action
//! or a reason for the 400 that names the header, and never panic.

use std::sync::Mutex;

use edgecase::emulation::header;
use edgecase_fuzz::rig::escaped;
use edgecase_fuzz::tally::{self, Tally};
use libfuzzer_sys::fuzz_target;

static TALLY: Mutex<Tally> = Mutex::new(Tally::new("fault_header"));

fuzz_target!(|data: &[u8]| {
    match header::parse(data) {
        Ok(action) => {
            // The action's kind only ("Status", "Link"...), so the tally stays short.
            let debug = format!("{action:?}");
            let kind = debug.split([' ', '(', '{']).next().unwrap_or_default();
            tally::count(&TALLY, format!("action {kind}"), data);
        }
        Err(why) => {
            assert!(
                why.starts_with("cf-edgecase-fault: "),
                "a 400 reason that does not name the header: {}",
                escaped(why.as_bytes(), 500)
            );
            tally::count(&TALLY, "refused", data);
        }
    }
});
