//! Replays inputs through a target once each and prints the outcome and time, with every
//! rejection's message: how to look at a failure.
//!
//! ```text
//! cargo run --release -p wattage-fuzz --example replay -- TARGET FILE...
//! ```

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(t) = args.next().and_then(|n| wattage_fuzz::target(&n)) else {
        eprintln!("usage: replay TARGET FILE...  (targets: {})", names());
        std::process::exit(2);
    };
    wattage_fuzz::targets::set_verbose(true);
    for path in args {
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(2);
            }
        };
        let start = Instant::now();
        let o = (t.run)(&data);
        println!(
            "{path}: {} in {:.1?}",
            if o.accepted { "accepted" } else { "rejected" },
            start.elapsed()
        );
    }
}

fn names() -> String {
    wattage_fuzz::TARGETS
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}
