//! The engine's only contact with the outside: reading the files a job names ([`Sources`])
//! and telling how far it has come ([`Progress`]). Front-ends plug in their own: the CLI
//! draws progress bars, Python reports nothing or calls back, tests read from memory.

use std::path::Path;

use crate::error::{Error, Result};

/// Reads the text of files a job refers to (scenario files, their CSV profiles, traces,
/// catalogs, expansion files).
pub trait Sources: Sync {
    /// The text of `path`; the error says why it cannot be read.
    fn read(&self, path: &Path) -> std::result::Result<String, String>;
}

/// Reads from the file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSystem;

impl Sources for FileSystem {
    fn read(&self, path: &Path) -> std::result::Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}

/// Reads `path` through `src`; a failure is an input error naming the path.
pub fn read(src: &dyn Sources, path: &Path) -> Result<String> {
    src.read(path)
        .map_err(|e| Error::input(format!("cannot read `{}`: {e}", path.display())))
}

/// Reports a job's progress. Every method has a default that does nothing.
pub trait Progress: Sync {
    /// A new stage starts (`serving fleet `chat``, `site, whole horizon`).
    fn stage(&self, _name: &str) {}
    /// A message within the current stage.
    fn message(&self, _text: &str) {}
    /// `done` of `total` units of the current stage are done.
    fn advance(&self, _done: u64, _total: u64) {}
    /// The current stage ended.
    fn end_stage(&self) {}
    /// A warning the user should see (a run above a work threshold); the CLI prints it on
    /// stderr.
    fn warn(&self, _text: &str) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// Keeps the warnings, reports nothing else (for jobs that return their warnings).
#[derive(Debug, Default)]
pub struct Warnings(std::sync::Mutex<Vec<String>>);

impl Warnings {
    /// The warnings so far.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}

impl Progress for Warnings {
    fn warn(&self, text: &str) {
        if let Ok(mut w) = self.0.lock() {
            w.push(text.to_string());
        }
    }
}

/// A scenario (or any input file) given as a path or as text.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A file, read through [`Sources`]; files it names are relative to its folder.
    Path(std::path::PathBuf),
    /// Text in hand (a TOML string from Python, a built-in scenario).
    Text {
        /// The TOML text.
        text: String,
        /// Its name in errors (`<string>`, `builtin:colossus`).
        name: String,
        /// The folder that files it names are relative to.
        dir: std::path::PathBuf,
    },
}

impl Input {
    /// The text, its name in errors, and the path that files it names are resolved against
    /// (the file itself, or a name inside `dir`).
    pub fn load(&self, src: &dyn Sources) -> Result<(String, String, std::path::PathBuf)> {
        match self {
            Input::Path(p) => Ok((read(src, p)?, p.display().to_string(), p.clone())),
            Input::Text { text, name, dir } => Ok((text.clone(), name.clone(), dir.join(name))),
        }
    }
}

impl From<std::path::PathBuf> for Input {
    fn from(p: std::path::PathBuf) -> Self {
        Input::Path(p)
    }
}

impl From<&Path> for Input {
    fn from(p: &Path) -> Self {
        Input::Path(p.to_path_buf())
    }
}
