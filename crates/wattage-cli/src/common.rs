//! What every subcommand shares: global options, the catalog, errors and exit codes,
//! progress bars, and writing output files so that nothing is left half-written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use wattage_engine::{Artifact, Catalog, Error, FileSystem, ParamStyle};

/// Options accepted by every subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// Extra catalog file(s) in the built-in schema; entries with a known id override it
    #[arg(long = "catalog", global = true, value_name = "FILE")]
    pub catalogs: Vec<PathBuf>,
    /// No progress bars and no non-essential messages on stderr (errors and warnings are
    /// still printed)
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Raise every work limit of this run (simulated requests, site steps, LP columns, Monte
    /// Carlo samples) to N, for a run you mean to be this large (see docs/limits.md)
    #[arg(long = "max-work", global = true, value_name = "N")]
    pub max_work: Option<u64>,
}

/// A clap value parser for a whole-number flag with a row in the engine's range table:
/// `ranged!(u32, "serving", "max_num_seqs")`. A negative or out-of-range value is rejected with
/// the range, not as an unknown argument.
macro_rules! ranged {
    ($t:ty, $job:literal, $param:literal) => {
        |s: &str| crate::common::parse_ranged::<$t>(s, $job, $param)
    };
}
pub(crate) use ranged;

/// Parses a whole number and checks it against the engine's range of `param` of `job`.
pub fn parse_ranged<T: TryFrom<u64>>(s: &str, job: &str, param: &str) -> Result<T, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| "expected a whole number".to_string())?;
    wattage_engine::limits::check(job, param, v).map_err(|e| e.message.clone())?;
    if v < 0.0 || v.fract() != 0.0 {
        return Err("expected a whole number".into());
    }
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| "expected a whole number".to_string())?;
    T::try_from(n).map_err(|_| "is too large".to_string())
}

impl Global {
    /// The built-in catalog merged with the user's files.
    pub fn catalog(&self) -> anyhow::Result<Catalog> {
        Ok(wattage_engine::catalog(&FileSystem, &self.catalogs)?)
    }

    /// True when progress bars may be drawn (not quiet, stderr is a terminal).
    pub fn progress(&self) -> bool {
        use std::io::IsTerminal;
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// Prints a non-essential message on stderr (`wrote ...`), unless quiet.
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", text.as_ref());
        }
    }

    /// Prints each warning (parameters written `` `{name}` ``, shown as flags) on stderr as
    /// `warning: ...`, quiet or not: deprecations and other warnings are essential.
    pub fn warn(&self, warnings: &[String]) {
        for w in warnings {
            eprintln!("warning: {}", ParamStyle::Flag.rename(w));
        }
    }

    /// Progress bars on stderr, or nothing when quiet or not a terminal.
    pub fn bars(&self) -> Bars {
        Bars {
            enabled: self.progress(),
            bar: Mutex::new(None),
        }
    }
}

/// The replica flags shared by `estimate` and `simulate serving`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReplicaArgs {
    /// Model: catalog id, alias or Hugging Face repository (see `wattage catalog models`), or
    /// a Hugging Face config.json (a path ending in .json) [default: gpt-4o-est for estimate,
    /// llama-3.1-70b for simulate serving; serve prices every request as it]
    #[arg(long, short = 'm')]
    pub model: Option<String>,
    /// Accelerator (see `wattage catalog hardware`) [default: h100-sxm]
    #[arg(long = "hardware", visible_alias = "hw")]
    pub hardware: Option<String>,
    /// GPUs each attention and dense layer is sharded over, as vLLM's flag [default: the
    /// fewest that hold the weights]. GPUs per replica = tensor x data parallel size
    #[arg(
        long = "tensor-parallel-size",
        visible_alias = "gpus",
        value_name = "N",
        value_parser = ranged!(u32, "serving", "tensor_parallel_size")
    )]
    pub tensor_parallel_size: Option<u32>,
    /// Attention replicas inside one replica, each with its own KV cache and share of the
    /// batch, as vLLM's flag [default: 1]
    #[arg(
        long = "data-parallel-size",
        value_name = "N",
        value_parser = ranged!(u32, "serving", "data_parallel_size")
    )]
    pub data_parallel_size: Option<u32>,
    /// Spread a mixture-of-experts model's experts over all tensor x data GPUs (all-to-all
    /// dispatch), as vLLM's flag
    #[arg(long = "enable-expert-parallel")]
    pub enable_expert_parallel: bool,
    /// Weight precision: fp32, bf16, fp16, fp8, int8, fp4 (mxfp4), int4 [default: fp8 for a
    /// Hugging Face repository id ending in -FP8, else the model's]
    #[arg(long)]
    pub precision: Option<String>,
    /// The KV cache's type, as vLLM's flag: auto, bf16, fp16, fp8 (also bfloat16, float16,
    /// fp8_e4m3, fp8_e5m2). auto is wattage's rule, fp8 when the weights are 8-bit or
    /// narrower, else bf16; vLLM's own auto keeps 16 bit whatever the weights (give bf16 to
    /// model it) [default: auto]
    #[arg(long = "kv-cache-dtype", value_name = "DTYPE")]
    pub kv_cache_dtype: Option<String>,
}

/// How hardware is paid for and how contracted clean energy counts, shared by `estimate` and
/// `train` (`docs/cost-and-carbon.md`).
#[derive(clap::Args, Debug)]
pub struct AccountingArgs {
    /// How the hardware is paid for: capex (bought, amortized over its life) or rent
    /// [default: capex when the catalog has the prices, else rent]
    #[arg(long = "cost-basis")]
    pub cost_basis: Option<String>,
    /// Share of consumption covered by contracted clean energy (PPAs, RECs), 0-1, for
    /// market-based carbon
    #[arg(long = "clean-share", default_value_t = 0.0)]
    pub clean_share: f64,
    /// Carbon intensity of uncovered consumption for market-based carbon, gCO2e/kWh
    /// [default: the region's residual mix, else its location-based average]
    #[arg(long = "residual-carbon-g-per-kwh")]
    pub residual_carbon_g_per_kwh: Option<f64>,
}

/// Shorthand: a bad-input error as an `anyhow::Error`.
pub fn user(message: impl Into<String>) -> anyhow::Error {
    Error::input(message).into()
}

/// Exit status of a capacity plan that cannot meet its latency objectives within its
/// replica limit (the plan is still printed). Documented in `wattage --help`.
pub const EXIT_OBJECTIVES_NOT_MET: u8 = 3;

/// A run that completed but whose result misses what was asked of it: a capacity plan whose
/// largest fleet still misses the latency objectives. Exits with
/// [`EXIT_OBJECTIVES_NOT_MET`] after its output is printed.
#[derive(Debug)]
pub struct ObjectivesNotMet(pub String);

impl std::fmt::Display for ObjectivesNotMet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ObjectivesNotMet {}

/// Prints `error:`, each `caused by:` and `hint:` lines to stderr; returns the exit code
/// (2 for bad input, 3 for objectives not met, 1 for anything else). Parameters are named as
/// flags.
pub fn report_error(e: &anyhow::Error) -> ExitCode {
    let mut err = std::io::stderr().lock();
    if let Some(x) = e.downcast_ref::<ObjectivesNotMet>() {
        let _ = writeln!(err, "error: {x}");
        return ExitCode::from(EXIT_OBJECTIVES_NOT_MET);
    }
    let engine = e.chain().find_map(|c| c.downcast_ref::<Error>());
    let _ = writeln!(err, "error: {}", render(e.chain().next()));
    for cause in e.chain().skip(1) {
        let _ = writeln!(err, "  caused by: {}", render(Some(cause)));
    }
    match engine {
        Some(x) => {
            for h in x.hints_in(ParamStyle::Flag) {
                let _ = writeln!(err, "hint: {h}");
            }
            ExitCode::from(if x.is_input() { 2 } else { 1 })
        }
        None => ExitCode::from(1),
    }
}

fn render(e: Option<&(dyn std::error::Error + 'static)>) -> String {
    match e {
        Some(c) => match c.downcast_ref::<Error>() {
            Some(x) => x.render(ParamStyle::Flag),
            None => c.to_string(),
        },
        None => String::new(),
    }
}

/// The temporary files and folders being written now, removed by the signal handler before
/// the process exits. The lock is also held around each write into them and each rename, so
/// the handler never removes a path while it is being written or renamed, and nothing is
/// written after the handler has removed it (it exits holding the lock).
static TEMPORARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temporary() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMPORARY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A temporary path registered for removal on SIGINT or SIGTERM while this guard lives.
struct Temporary(PathBuf);

impl Temporary {
    fn new(path: PathBuf) -> Self {
        temporary().push(path.clone());
        Temporary(path)
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let mut list = temporary();
        if let Some(i) = list.iter().rposition(|p| *p == self.0) {
            list.swap_remove(i);
        }
    }
}

/// Set by the signal handler before it takes the registry's lock: the writer then stops at
/// its next write instead of taking the lock again first (a mutex is not fair).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Runs `f` (a write into a temporary path, or its rename) with the registry locked, so that
/// an interruption waits for it and then removes whatever it left. After an interruption
/// nothing more is written: the thread waits for the handler to end the process.
fn guarded<R>(f: impl FnOnce() -> R) -> R {
    let lock = temporary();
    if INTERRUPTED.load(Ordering::SeqCst) {
        drop(lock);
        loop {
            std::thread::park();
        }
    }
    f()
}

/// The exit status after an interruption: 128 + the signal's number, as a shell reports it
/// (130 for SIGINT, 143 for SIGTERM).
pub fn interrupted_status(signal: i32) -> i32 {
    128 + signal
}

/// On SIGINT or SIGTERM: removes every temporary file and folder being written (the
/// `.NAME.partial-PID` folder of [`write_folder`], the `.NAME.tmpPID` file of
/// [`write_atomic`]) and exits with [`interrupted_status`]. A finished output is never
/// touched: a folder or file is renamed into place whole or not at all.
pub fn remove_temporaries_on_signals() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            // Without a handler the signal ends the process as it would by default.
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    INTERRUPTED.store(true, Ordering::SeqCst);
                    let list = temporary();
                    for p in list.iter() {
                        if p.is_dir() {
                            let _ = std::fs::remove_dir_all(p);
                        } else {
                            let _ = std::fs::remove_file(p);
                        }
                    }
                    let _ = writeln!(std::io::stderr(), "\ninterrupted");
                    // Exits holding the lock: no write into a removed path can follow.
                    std::process::exit(interrupted_status(signal));
                }
            });
        drop(spawned);
    }
}

/// Writes `bytes` to `path` atomically: to a temporary file beside it, then renamed, so a
/// failure or an interruption never leaves a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let _registered = Temporary::new(tmp.clone());
    if let Err(e) = guarded(|| std::fs::write(&tmp, bytes)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write `{}`", tmp.display()));
    }
    if let Err(e) = guarded(|| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write `{}`", path.display()));
    }
    Ok(())
}

/// Writes each artifact into `dir`, each file atomically (the folder may hold other files).
pub fn write_files(dir: &Path, files: &[Artifact]) -> anyhow::Result<()> {
    for f in files {
        write_atomic(&dir.join(&f.path), &f.bytes)?;
    }
    Ok(())
}

/// An error when `dir`, an output folder to be written whole, is an existing file: checked
/// before a run, so the run's work is not lost at the end.
pub fn check_out_folder(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(user(format!(
            "the output folder `{}` is a file; give `-o` a folder (it is replaced whole)",
            dir.display()
        )));
    }
    Ok(())
}

/// Writes an output folder whole: into a temporary folder beside it, renamed at the end, so
/// a failure leaves no partial folder and an old folder is replaced whole.
pub fn write_folder(dir: &Path, files: &[Artifact]) -> anyhow::Result<()> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create `{}`", parent.display()))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    check_out_folder(dir)?;
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _registered = Temporary::new(tmp.clone());
    let _ = std::fs::remove_dir_all(&tmp);
    let result = (|| -> anyhow::Result<()> {
        for f in files {
            let p = tmp.join(&f.path);
            guarded(|| -> std::io::Result<()> {
                if let Some(d) = p.parent() {
                    std::fs::create_dir_all(d)?;
                }
                std::fs::write(&p, &f.bytes)
            })?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e.context(format!(
            "cannot write the output folder `{}`",
            dir.display()
        )));
    }
    // The old folder is removed and the new one renamed in one guarded step, so an
    // interruption leaves either the old folder or the new one.
    guarded(|| -> anyhow::Result<()> {
        if dir.exists()
            && let Err(e) = std::fs::remove_dir_all(dir)
        {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e).with_context(|| format!("cannot replace `{}`", dir.display()));
        }
        if let Err(e) = std::fs::rename(&tmp, dir) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e).with_context(|| format!("cannot write `{}`", dir.display()));
        }
        Ok(())
    })
}

/// Prints a line to stdout; a closed pipe (`wattage ... | head`) ends the program quietly.
pub fn out(line: impl AsRef<str>) {
    let mut o = std::io::stdout().lock();
    if writeln!(o, "{}", line.as_ref()).is_err() {
        std::process::exit(0);
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn out_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let s = serde_json::to_string_pretty(v).context("cannot serialise output")?;
    out(s);
    Ok(())
}

/// Progress of engine jobs as indicatif bars: a spinner for each stage, which becomes a bar
/// when the stage reports how much is done.
pub struct Bars {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    fn with<F: FnOnce(&mut Option<ProgressBar>)>(&self, f: F) {
        if !self.enabled {
            return;
        }
        if let Ok(mut b) = self.bar.lock() {
            f(&mut b);
        }
    }
}

impl wattage_engine::Progress for Bars {
    fn stage(&self, name: &str) {
        self.with(|b| {
            if let Some(old) = b.take() {
                old.finish_and_clear();
            }
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {prefix} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.set_prefix(name.to_string());
            pb.enable_steady_tick(std::time::Duration::from_millis(120));
            *b = Some(pb);
        });
    }

    fn message(&self, text: &str) {
        self.with(|b| {
            if let Some(pb) = b {
                pb.set_message(text.to_string());
            }
        });
    }

    fn advance(&self, done: u64, total: u64) {
        self.with(|b| {
            if let Some(pb) = b {
                if pb.length() != Some(total) {
                    pb.set_style(
                        ProgressStyle::with_template(
                            "{bar:30} {percent:>3}% {elapsed:>4} eta {eta:>4} {prefix} {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    pb.set_length(total);
                }
                pb.set_position(done);
            }
        });
    }

    fn end_stage(&self) {
        self.with(|b| {
            if let Some(pb) = b.take() {
                pb.finish_and_clear();
            }
        });
    }

    fn warn(&self, text: &str) {
        let line = format!("warning: {}", ParamStyle::Flag.rename(text));
        match self.bar.lock().ok().as_ref().and_then(|b| b.as_ref()) {
            Some(pb) => pb.println(line),
            None => eprintln!("{line}"),
        }
    }
}
