//! The by-hand long run: drives every target (or those named) through the stable driver and
//! prints executions per target and in total.
//!
//! ```text
//! cargo run --release -p wattage-fuzz --example long_run -- [--seconds S] [--threads N]
//!     [--seed N] [--rounds R] [TARGET...]
//! ```
//!
//! Each target runs `--rounds` drives of `--seconds` each (default 1 round of 60 s), round
//! `r` seeded `seed + r`, so every round explores from the seeds again with other mutations;
//! `--threads` drives run at once (default 1). Failures are written to
//! `target/fuzz-failures/` and listed at the end; the exit status is 1 if there was any.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wattage_fuzz::{Config, TARGETS, Target, corpus, crate_dir, drive_with, target};

struct Args {
    seconds: f64,
    threads: usize,
    seed: u64,
    rounds: u64,
    targets: Vec<Target>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        seconds: 60.0,
        threads: 1,
        seed: 1,
        rounds: 1,
        targets: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut num = |name: &str| -> Result<f64, String> {
            it.next()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match x.as_str() {
            "--seconds" => a.seconds = num("--seconds")?,
            "--threads" => a.threads = (num("--threads")? as usize).max(1),
            "--seed" => a.seed = num("--seed")? as u64,
            "--rounds" => a.rounds = (num("--rounds")? as u64).max(1),
            name => a
                .targets
                .push(target(name).ok_or_else(|| format!("no target `{name}`"))?),
        }
    }
    if a.targets.is_empty() {
        a.targets = TARGETS.to_vec();
    }
    Ok(a)
}

/// One target's totals over its rounds.
#[derive(Default)]
struct Row {
    name: &'static str,
    executions: u64,
    accepted: u64,
    seconds: f64,
    slowest: Duration,
    failures: usize,
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let failures_dir = crate_dir().join("../../target/fuzz-failures");
    let jobs: Mutex<VecDeque<(Target, u64)>> = Mutex::new(
        (0..a.rounds)
            .flat_map(|r| a.targets.iter().map(move |t| (*t, r)))
            .collect(),
    );
    let totals: Mutex<Vec<Row>> = Mutex::new(
        a.targets
            .iter()
            .map(|t| Row {
                name: t.name,
                ..Row::default()
            })
            .collect(),
    );
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..a.threads {
            s.spawn(|| {
                loop {
                    let Some((t, round)) = jobs.lock().ok().and_then(|mut j| j.pop_front()) else {
                        return;
                    };
                    let mut cfg =
                        Config::new(t.name, a.seed + round, Duration::from_secs_f64(a.seconds));
                    cfg.failure_dir = Some(failures_dir.clone());
                    cfg.journal = Some(failures_dir.join(format!("{}.in-flight", t.name)));
                    let st = drive_with(t.run, &corpus(t.name), &cfg);
                    println!(
                        "{:<14} round {:>3}: {:>10} executions in {:>6.1} s ({:>7.0}/s), \
                         {} accepted, slowest {:.1?}{}",
                        t.name,
                        round,
                        st.executions,
                        st.elapsed.as_secs_f64(),
                        st.rate(),
                        st.accepted,
                        st.slowest,
                        if st.failure.is_some() { ", FAILED" } else { "" }
                    );
                    if let Ok(mut tot) = totals.lock()
                        && let Some(row) = tot.iter_mut().find(|r| r.name == t.name)
                    {
                        row.executions += st.executions;
                        row.accepted += st.accepted;
                        row.seconds += st.elapsed.as_secs_f64();
                        row.slowest = row.slowest.max(st.slowest);
                        if let Some(f) = st.failure {
                            eprintln!("{} (round {round}): {f}", t.name);
                            row.failures += 1;
                        }
                    }
                }
            });
        }
    });
    let tot = totals.into_inner().unwrap_or_default();
    println!("\n| target | executions | accepted | seconds | slowest | failures |");
    println!("|---|---:|---:|---:|---:|---:|");
    let (mut all, mut failed) = (0u64, 0usize);
    for r in &tot {
        println!(
            "| {} | {} | {} | {:.0} | {:.1?} | {} |",
            r.name, r.executions, r.accepted, r.seconds, r.slowest, r.failures
        );
        all += r.executions;
        failed += r.failures;
    }
    println!(
        "| **total** | **{all}** | | {:.0} wall | | {failed} |",
        start.elapsed().as_secs_f64()
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
