//! What every subcommand shares: global options, the catalog, user errors and exit codes,
//! and writing output files so that nothing is left half-written.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use wattage_catalog::Catalog;

/// Options accepted by every subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// Extra catalog file(s) in the built-in schema; entries with a known id override it
    #[arg(long = "catalog", global = true, value_name = "FILE")]
    pub catalogs: Vec<PathBuf>,
    /// Do not show progress bars
    #[arg(long, global = true)]
    pub quiet: bool,
}

impl Global {
    /// The built-in catalog merged with the user's files.
    pub fn catalog(&self) -> anyhow::Result<Catalog> {
        let mut c = Catalog::builtin();
        for path in &self.catalogs {
            let text = read_text(path)?;
            c.merge_toml(&text, &path.display().to_string())
                .map_err(|e| UserError::new(e.to_string()))?;
        }
        Ok(c)
    }

    /// True when progress bars may be drawn (not quiet, stderr is a terminal).
    pub fn progress(&self) -> bool {
        use std::io::IsTerminal;
        !self.quiet && std::io::stderr().is_terminal()
    }
}

/// The replica flags shared by `estimate` and `simulate serving`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReplicaArgs {
    /// Model: catalog id, alias or Hugging Face repository (see `wattage catalog models`)
    /// [default: gpt-4o-est for estimate, llama-3.1-70b for simulate serving]
    #[arg(long, short = 'm')]
    pub model: Option<String>,
    /// Accelerator (see `wattage catalog hardware`) [default: h100-sxm]
    #[arg(long = "hardware", visible_alias = "hw")]
    pub hardware: Option<String>,
    /// Accelerators per replica (tensor parallel) [default: the fewest that hold the weights]
    #[arg(long)]
    pub gpus: Option<u32>,
    /// Weight precision: fp32, bf16, fp16, fp8, int8, fp4, int4 [default: the model's]
    #[arg(long)]
    pub precision: Option<String>,
}

/// An error caused by the user's input: printed without a backtrace, exit code 2.
#[derive(Debug)]
pub struct UserError {
    message: String,
    hints: Vec<String>,
}

impl UserError {
    /// A user error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hints: Vec::new(),
        }
    }
    /// Adds a hint line shown after the error.
    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hints.push(h.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// Shorthand: a user error as an `anyhow::Error`.
pub fn user(message: impl Into<String>) -> anyhow::Error {
    UserError::new(message).into()
}

/// Prints `error:`, each `caused by:` and `hint:` lines to stderr; returns the exit code
/// (2 for user errors, 1 for anything else).
pub fn report_error(e: &anyhow::Error) -> ExitCode {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {e}");
    for cause in e.chain().skip(1) {
        let _ = writeln!(err, "  caused by: {cause}");
    }
    let user = e.chain().find_map(|c| c.downcast_ref::<UserError>());
    if let Some(u) = user {
        for h in &u.hints {
            let _ = writeln!(err, "hint: {h}");
        }
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// Reads a text file; a missing or unreadable file is a user error naming the path.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| user(format!("cannot read `{}`: {e}", path.display())))
}

/// Writes `bytes` to `path` atomically: to a temporary file beside it, then renamed, so a
/// failure never leaves a half-written file.
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
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
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
