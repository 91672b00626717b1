//! The stable driver: a seeded mutation fuzzer that needs no nightly toolchain.
//!
//! It runs every corpus input as given, then mutants of the working corpus (seeds plus every
//! mutant that reached a new [`Outcome`] class), each under `catch_unwind`, and stops at the
//! first failure:
//! - a **panic** (a crash of the code under test, or a violated invariant of the target);
//! - a **slow** execution, longer than [`Config::slow`] (it finished, so the input is kept);
//! - a **hang** or **memory blow-up**: a watchdog thread samples every 50 ms; an execution
//!   running longer than [`Config::hang`], or a resident set above [`Config::memory_limit`],
//!   writes the input(s) in flight to the failure folder, prints them and exits the process
//!   with status 101 (a test run fails; there is no way to stop a runaway thread in Rust).
//!
//! A single allocation so large that the allocator refuses it aborts the process at once
//! (Rust's `handle_alloc_error`), before any hook can run: [`Config::journal`] names a file
//! that always holds the input in flight, so the input that killed the process is there.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::mutate::Mutator;
use crate::targets::Outcome;

/// How a drive runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Name of the target (file names of failures, messages).
    pub name: String,
    /// Seed of the mutations: the same seed, corpus and execution count give the same inputs.
    pub seed: u64,
    /// Wall-clock budget.
    pub budget: Duration,
    /// Stop after this many executions (whatever the budget).
    pub max_executions: Option<u64>,
    /// An execution slower than this is a failure.
    pub slow: Duration,
    /// An execution still running after this is a hang (the process exits).
    pub hang: Duration,
    /// A resident set above this many bytes is a memory failure (the process exits).
    pub memory_limit: u64,
    /// Largest mutant, bytes.
    pub max_len: usize,
    /// Most inputs kept in the working corpus.
    pub max_pool: usize,
    /// Where failing inputs are written (`None`: not written).
    pub failure_dir: Option<PathBuf>,
    /// A file that holds the input in flight (rewritten before each execution, removed when
    /// the drive ends): if the process dies (an allocation the allocator refuses aborts it),
    /// the input that killed it is there. Costs two or three system calls per execution.
    pub journal: Option<PathBuf>,
}

impl Config {
    /// Defaults for target `name`: 5 s per execution is slow, 30 s a hang, 2 GiB resident a
    /// memory failure, mutants up to 64 KiB.
    ///
    /// 5 s, not less: the largest work an input may legitimately ask of a target is about a
    /// second and a half on a loaded 2-core machine (a sweep file crossing axes to the
    /// 10^6-variant limit, which loading builds), and CI shares its cores.
    pub fn new(name: &str, seed: u64, budget: Duration) -> Self {
        Self {
            name: name.to_string(),
            seed,
            budget,
            max_executions: None,
            slow: Duration::from_secs(5),
            hang: Duration::from_secs(30),
            memory_limit: 2 << 30,
            max_len: 64 << 10,
            max_pool: 2_000,
            failure_dir: None,
            journal: None,
        }
    }
}

/// What went wrong with one input.
#[derive(Debug, Clone, PartialEq)]
pub enum FailureKind {
    /// It panicked, with this message and location.
    Panic(String),
    /// It took this long.
    Slow(Duration),
}

/// A failing input.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What went wrong.
    pub kind: FailureKind,
    /// The input.
    pub input: Vec<u8>,
    /// Where it was written, if it was.
    pub saved: Option<PathBuf>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            FailureKind::Panic(m) => write!(f, "panic: {m}")?,
            FailureKind::Slow(d) => write!(f, "slow: one execution took {d:.2?}")?,
        }
        if let Some(p) = &self.saved {
            write!(f, "\ninput written to {}", p.display())?;
        }
        write!(
            f,
            "\ninput ({} bytes):\n{}",
            self.input.len(),
            String::from_utf8_lossy(&self.input)
        )
    }
}

/// What a drive did.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Executions run.
    pub executions: u64,
    /// Executions whose input was accepted.
    pub accepted: u64,
    /// Distinct outcome classes reached.
    pub classes: usize,
    /// Inputs in the working corpus at the end.
    pub pool: usize,
    /// The slowest execution.
    pub slowest: Duration,
    /// Wall time.
    pub elapsed: Duration,
    /// The first failure, which ended the drive.
    pub failure: Option<Failure>,
}

impl Stats {
    /// Executions per second.
    pub fn rate(&self) -> f64 {
        self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

thread_local! {
    /// Set while this thread runs a target: panics are recorded here, not printed.
    static CAUGHT: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records panics of threads inside a drive and passes
/// every other panic to the previous hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let handled = CAUGHT.with(|c| {
                let mut c = c.borrow_mut();
                match c.as_mut() {
                    Some(slot) => {
                        let msg = info
                            .payload()
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_string())
                            .or_else(|| info.payload().downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "(non-string payload)".into());
                        let at = info
                            .location()
                            .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                            .unwrap_or_default();
                        *slot = Some(format!("{msg}{at}"));
                        true
                    }
                    None => false,
                }
            });
            if !handled {
                previous(info);
            }
        }));
    });
}

/// One drive's state as the watchdog sees it.
struct Slot {
    name: String,
    /// Nanoseconds since the watchdog's epoch at which the current execution started, or 0.
    started: AtomicU64,
    input: Mutex<Vec<u8>>,
    hang: Duration,
    memory_limit: u64,
    failure_dir: Option<PathBuf>,
}

struct Watchdog {
    epoch: Instant,
    slots: Mutex<Vec<Arc<Slot>>>,
}

fn watchdog() -> &'static Watchdog {
    static W: OnceLock<Watchdog> = OnceLock::new();
    static START: Once = Once::new();
    let w = W.get_or_init(|| Watchdog {
        epoch: Instant::now(),
        slots: Mutex::new(Vec::new()),
    });
    START.call_once(|| {
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(50));
                w.inspect();
            }
        });
    });
    w
}

impl Watchdog {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn inspect(&self) {
        let slots: Vec<Arc<Slot>> = match self.slots.lock() {
            Ok(s) => s.clone(),
            Err(_) => return,
        };
        let now = self.now_ns();
        let rss = resident_bytes();
        for s in &slots {
            let started = s.started.load(Ordering::Acquire);
            let running = (started != 0).then(|| Duration::from_nanos(now - started.min(now)));
            let hung = running.is_some_and(|d| d > s.hang);
            let fat = running.is_some() && rss.is_some_and(|r| r > s.memory_limit);
            if hung || fat {
                let input = s.input.lock().map(|i| i.clone()).unwrap_or_default();
                let what = if hung {
                    format!(
                        "hang: one execution has run for {:.1?}",
                        running.unwrap_or_default()
                    )
                } else {
                    format!(
                        "memory: the process holds {} MiB (limit {} MiB)",
                        rss.unwrap_or(0) >> 20,
                        s.memory_limit >> 20
                    )
                };
                let saved = s
                    .failure_dir
                    .as_deref()
                    .and_then(|d| save(d, &s.name, if hung { "hang" } else { "memory" }, &input));
                eprintln!(
                    "wattage-fuzz: target `{}`: {what}{}\ninput ({} bytes):\n{}",
                    s.name,
                    saved
                        .map(|p| format!("\ninput written to {}", p.display()))
                        .unwrap_or_default(),
                    input.len(),
                    String::from_utf8_lossy(&input)
                );
                std::process::exit(101);
            }
        }
    }
}

/// The process's resident set, bytes (Linux; `None` elsewhere).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Writes a failing input to `dir/<name>-<kind>-<hash>` and returns the path.
fn save(dir: &Path, name: &str, kind: &str, input: &[u8]) -> Option<PathBuf> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    input.hash(&mut h);
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!("{name}-{kind}-{:016x}", h.finish()));
    std::fs::write(&path, input).ok()?;
    Some(path)
}

/// Drives `target` from `corpus` for `budget` with the default [`Config`], seeded by `seed`.
pub fn drive(
    name: &str,
    target: fn(&[u8]) -> Outcome,
    corpus: &[Vec<u8>],
    seed: u64,
    budget: Duration,
) -> Stats {
    drive_with(target, corpus, &Config::new(name, seed, budget))
}

/// Drives `target` from `corpus` as `cfg` says; see the module docs.
pub fn drive_with(target: fn(&[u8]) -> Outcome, corpus: &[Vec<u8>], cfg: &Config) -> Stats {
    install_hook();
    let dog = watchdog();
    let slot = Arc::new(Slot {
        name: cfg.name.clone(),
        started: AtomicU64::new(0),
        input: Mutex::new(Vec::new()),
        hang: cfg.hang,
        memory_limit: cfg.memory_limit,
        failure_dir: cfg.failure_dir.clone(),
    });
    if let Ok(mut s) = dog.slots.lock() {
        s.push(Arc::clone(&slot));
    }

    let mut journal = cfg.journal.as_deref().and_then(|p| {
        if let Some(d) = p.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        std::fs::File::create(p).ok()
    });
    let start = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mutator = Mutator::new(corpus);
    let mut pool: Vec<Vec<u8>> = corpus.to_vec();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let mut classes = std::collections::HashSet::new();
    let mut stats = Stats::default();
    let mut next = 0usize;
    loop {
        if start.elapsed() >= cfg.budget
            || cfg.max_executions.is_some_and(|m| stats.executions >= m)
        {
            break;
        }
        let input = if next < corpus.len() {
            next += 1;
            corpus[next - 1].clone()
        } else {
            let a = &pool[rng.random_range(0..pool.len())];
            let b = &pool[rng.random_range(0..pool.len())];
            mutator.mutate(&mut rng, a, b, cfg.max_len)
        };
        if let Ok(mut i) = slot.input.lock() {
            i.clear();
            i.extend_from_slice(&input);
        }
        if let Some(j) = journal.as_mut() {
            use std::io::{Seek, Write};
            let _ = j
                .rewind()
                .and_then(|()| j.write_all(&input))
                .and_then(|()| j.set_len(input.len() as u64));
        }
        slot.started.store(dog.now_ns(), Ordering::Release);
        CAUGHT.with(|c| *c.borrow_mut() = Some(None));
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| target(&input)));
        let took = t.elapsed();
        slot.started.store(0, Ordering::Release);
        let message = CAUGHT.with(|c| c.borrow_mut().take().flatten());
        stats.executions += 1;
        stats.slowest = stats.slowest.max(took);
        let kind = match result {
            Err(_) => Some(FailureKind::Panic(
                message.unwrap_or_else(|| "(no message)".into()),
            )),
            Ok(_) if took > cfg.slow => Some(FailureKind::Slow(took)),
            Ok(outcome) => {
                stats.accepted += u64::from(outcome.accepted);
                if classes.insert(outcome.class) && next >= corpus.len() {
                    if pool.len() < cfg.max_pool {
                        pool.push(input.clone());
                    } else {
                        let i = rng.random_range(corpus.len().min(pool.len() - 1)..pool.len());
                        pool[i] = input.clone();
                    }
                }
                None
            }
        };
        if let Some(kind) = kind {
            let label = match kind {
                FailureKind::Panic(_) => "panic",
                FailureKind::Slow(_) => "slow",
            };
            let saved = cfg
                .failure_dir
                .as_deref()
                .and_then(|d| save(d, &cfg.name, label, &input));
            stats.failure = Some(Failure { kind, input, saved });
            break;
        }
    }
    if let Ok(mut s) = dog.slots.lock() {
        s.retain(|x| !Arc::ptr_eq(x, &slot));
    }
    if let (Some(j), Some(p)) = (journal.take(), cfg.journal.as_deref()) {
        drop(j);
        let _ = std::fs::remove_file(p);
    }
    stats.classes = classes.len();
    stats.pool = pool.len();
    stats.elapsed = start.elapsed();
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Panics on `x = nan` (a value the mutator's boundary numbers reach from `x = 12`).
    fn toy_nan(data: &[u8]) -> Outcome {
        let text = String::from_utf8_lossy(data);
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("x = ")
                && let Ok(v) = v.trim().parse::<f64>()
                && v.is_nan()
            {
                panic!("toy target: x is NaN");
            }
        }
        Outcome::rejected(&text)
    }

    /// Panics when the `[a]` table appears three times: two structural mutations deep.
    fn toy_tables(data: &[u8]) -> Outcome {
        let text = String::from_utf8_lossy(data);
        let n = text.lines().filter(|l| *l == "[a]").count();
        assert!(n < 3, "toy target: {n} tables");
        Outcome::rejected(&format!("tables {n}"))
    }

    /// Sleeps on `sleep`.
    fn toy_slow(data: &[u8]) -> Outcome {
        if data.windows(5).any(|w| w == b"sleep") {
            std::thread::sleep(Duration::from_millis(120));
        }
        Outcome::accepted("")
    }

    fn budgeted(name: &str, seed: u64) -> Config {
        let mut c = Config::new(name, seed, Duration::from_secs(20));
        c.max_executions = Some(200_000);
        c
    }

    #[test]
    fn finds_a_boundary_value_panic() {
        let corpus = vec![b"[t]\nx = 12\ny = 3\n".to_vec()];
        let s = drive_with(toy_nan, &corpus, &budgeted("toy-nan", 1));
        let f = s.failure.expect("the driver finds the NaN panic");
        assert!(matches!(f.kind, FailureKind::Panic(_)), "{f}");
        assert!(f_msg(&f).starts_with("toy target: x is NaN at "), "{f}");
        assert!(String::from_utf8_lossy(&f.input).contains("x = nan"));
        assert!(s.executions > 1);
    }

    fn f_msg(f: &Failure) -> String {
        match &f.kind {
            FailureKind::Panic(m) => m.clone(),
            FailureKind::Slow(_) => String::new(),
        }
    }

    #[test]
    fn finds_a_panic_two_mutations_deep_and_saves_the_input() {
        let dir = std::env::temp_dir().join(format!("wattage-fuzz-test-{}", std::process::id()));
        let corpus = vec![b"[a]\nk = 1\n[b]\nv = 2\n".to_vec()];
        let mut cfg = budgeted("toy-tables", 7);
        cfg.failure_dir = Some(dir.clone());
        let s = drive_with(toy_tables, &corpus, &cfg);
        let f = s.failure.expect("the driver finds the table panic");
        let saved = f.saved.clone().expect("the input is written");
        assert_eq!(std::fs::read(&saved).ok(), Some(f.input.clone()));
        assert!(saved.starts_with(&dir));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn same_seed_same_failure() {
        let corpus = vec![b"x = 12\n".to_vec()];
        let a = drive_with(toy_nan, &corpus, &budgeted("toy-a", 5));
        let b = drive_with(toy_nan, &corpus, &budgeted("toy-b", 5));
        assert_eq!(a.executions, b.executions);
        assert_eq!(
            a.failure.map(|f| f.input),
            b.failure.map(|f| f.input),
            "a drive is reproducible from its seed"
        );
    }

    #[test]
    fn reports_a_slow_execution() {
        let corpus = vec![b"fast".to_vec(), b"sleep".to_vec()];
        let mut cfg = budgeted("toy-slow", 1);
        cfg.slow = Duration::from_millis(60);
        let s = drive_with(toy_slow, &corpus, &cfg);
        let f = s.failure.expect("the slow input is reported");
        assert!(matches!(f.kind, FailureKind::Slow(d) if d >= Duration::from_millis(60)));
        assert_eq!(f.input, b"sleep");
        assert_eq!(s.executions, 2);
    }

    #[test]
    fn a_clean_target_runs_its_budget() {
        let corpus = vec![b"x = 12\n".to_vec()];
        let mut cfg = Config::new("toy-clean", 3, Duration::from_secs(5));
        cfg.max_executions = Some(5_000);
        let s = drive_with(toy_slow, &corpus, &cfg);
        assert!(s.failure.is_none());
        assert_eq!(s.executions, 5_000);
        assert_eq!(s.accepted, 5_000);
    }
}
