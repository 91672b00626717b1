//! Helpers shared by the tests of several crates. Not part of the product: only
//! `[dev-dependencies]` name this crate.
//!
//! [`chromium_or_skip`] and [`chromium`] run the browser tests (the run report, the
//! comparison page, the gateway's dashboard): CI installs Debian's `chromium`; without it a
//! browser test fails with a message, unless `WATTAGE_SKIP_BROWSER=1` is set (the test script
//! sets it when it could not install Chromium, and says so). `WATTAGE_CHROMIUM` names another
//! binary.

#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest a browser run may take before the test fails.
pub const CHROMIUM_LIMIT: Duration = Duration::from_secs(120);

/// The Chromium binary: `WATTAGE_CHROMIUM`, else the first of `chromium`,
/// `chromium-browser`, `google-chrome` and `chrome` on `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WATTAGE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The Chromium binary, or `None` when it is absent and `WATTAGE_SKIP_BROWSER=1` (the test
/// then returns, saying so). Panics when it is absent otherwise: a browser test never
/// passes without a browser.
pub fn chromium_or_skip() -> Option<PathBuf> {
    match find_chromium() {
        Some(b) => Some(b),
        None if std::env::var_os("WATTAGE_SKIP_BROWSER").is_some_and(|v| v == "1") => {
            eprintln!("skipped: chromium not found and WATTAGE_SKIP_BROWSER=1");
            None
        }
        None => panic!(
            "chromium not found on PATH: install it (`apt-get install chromium`), point \
             WATTAGE_CHROMIUM at a Chromium binary, or set WATTAGE_SKIP_BROWSER=1 to skip"
        ),
    }
}

/// Runs Chromium headless on `url` with `extra` flags (`--dump-dom`, `--screenshot=...`,
/// `--virtual-time-budget=...`) and the flags that keep it off the network, in the profile
/// folder `profile`; kills it after [`CHROMIUM_LIMIT`] so a hung browser fails the test
/// instead of blocking CI.
pub fn chromium(bin: &Path, profile: &Path, extra: &[String], url: &str) -> Output {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", bin.display()));
    // Read stdout on a thread: a DOM larger than the pipe buffer would otherwise block Chromium.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > CHROMIUM_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within {CHROMIUM_LIMIT:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("waiting for chromium: {e}"),
        }
    }
    let status = child.wait().expect("chromium exit status");
    let mut stderr = Vec::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_end(&mut e, &mut stderr);
    }
    let stdout = reader
        .join()
        .expect("reader thread")
        .expect("read chromium stdout");
    Output {
        status,
        stdout,
        stderr,
    }
}

/// The markup of the `<figure>` holding the element whose id is `id`, from that id to its
/// `</figure>`, in a DOM dumped by Chromium; panics naming the id when it is missing.
pub fn figure<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("`{id}` missing from the DOM"));
    let end = start + dom[start..].find("</figure>").expect("closed figure");
    &dom[start..end]
}

/// The value of attribute `name` in one tag's markup (`<rect fill="#123" ...>`).
pub fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let pat = format!(" {name}=\"");
    let i = tag.find(&pat)? + pat.len();
    let j = tag[i..].find('"')?;
    Some(&tag[i..i + j])
}
