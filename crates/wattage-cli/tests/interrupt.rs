//! SIGINT and SIGTERM (issue 13): an interrupted `wattage run` or `wattage sweep` exits with
//! 128 + the signal's number after removing its temporary output (the `.NAME.partial-PID`
//! folder, any `.NAME.tmpPID` file), whether it was simulating or writing.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A run that writes about 100 MB (a week of second-by-second site series at full
/// resolution), so that its writing takes long enough to be interrupted.
const BIG_OUTPUT: &str = r#"name = "slow"

[[service]]
name = "chat"
model = "llama-3.1-8b"
hardware = "h100-sxm"
requests_per_day = 1e5
input_tokens = 500
output_tokens = 200

[site]
scenario = "builtin:colossus"
duration_h = 168
step_s = 1
output_resolution_s = 1
"#;

fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("interrupt")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wattage"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name} failed");
}

/// Waits for the child, killing it after `limit` (a hang).
fn wait(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return (status.code(), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn partial_in(dir: &Path) -> bool {
    names(dir).iter().any(|n| n.contains(".partial-"))
}

#[test]
fn sigint_while_writing_the_report_removes_the_partial_folder_and_exits_130() {
    let dir = folder("writing");
    std::fs::write(dir.join("slow.toml"), BIG_OUTPUT).unwrap();
    let child = spawn(&dir, &["run", "slow.toml", "-o", "out", "--quiet"]);
    // Signal as soon as the temporary folder appears: the run is then writing it.
    let start = Instant::now();
    let mut child = Some(child);
    while !partial_in(&dir) {
        let c = child.as_mut().unwrap();
        if let Some(status) = c.try_wait().unwrap() {
            panic!("the run ended ({status}) before its output folder was seen being written");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no partial folder"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let child = child.take().unwrap();
    signal(&child, "INT");
    let (code, err) = wait(child, Duration::from_secs(30));
    assert_eq!(code, Some(130), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(names(&dir), ["slow.toml"], "left behind: {:?}", names(&dir));
}

#[test]
fn sigterm_while_simulating_exits_143_and_writes_nothing() {
    let dir = folder("simulating");
    std::fs::write(dir.join("slow.toml"), BIG_OUTPUT).unwrap();
    let child = spawn(&dir, &["run", "slow.toml", "-o", "out", "--quiet"]);
    // The run simulates for over a second before it writes anything.
    std::thread::sleep(Duration::from_millis(300));
    assert!(names(&dir) == ["slow.toml"], "wrote before simulating");
    signal(&child, "TERM");
    let (code, err) = wait(child, Duration::from_secs(30));
    assert_eq!(code, Some(143), "{err}");
    assert_eq!(names(&dir), ["slow.toml"], "left behind: {:?}", names(&dir));
}

#[test]
fn sigint_during_a_sweep_leaves_nothing() {
    let dir = folder("sweep");
    // Sixteen year-long site runs at one-second steps: about 20 CPU-seconds.
    let spec = r#"name = "slow"
base = "builtin:colossus"
duration = "1y"
step = "1s"

[grid]
"grid.import_cap_mw" = [100.0, 150.0, 200.0, 250.0]
"batteries[0].energy_mwh" = [100.0, 200.0, 400.0, 800.0]
"#;
    std::fs::write(dir.join("sweep.toml"), spec).unwrap();
    let child = spawn(&dir, &["sweep", "sweep.toml", "-o", "out", "--quiet"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(names(&dir) == ["sweep.toml"], "wrote before running");
    signal(&child, "INT");
    let (code, err) = wait(child, Duration::from_secs(30));
    assert_eq!(code, Some(130), "{err}");
    assert_eq!(
        names(&dir),
        ["sweep.toml"],
        "left behind: {:?}",
        names(&dir)
    );
}
