//! `wattage run` and its scenario format: the site file's CSV profiles, errors located at the
//! offending key of the run file, early checks of the `[site]` and `[optimize]` overrides, the
//! zoomed day of the year, and the run's seed. Each test writes its scenario into its own
//! folder and runs the binary as a user would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{json, wattage};
use serde_json::Value;

/// A fresh folder for one test.
fn folder(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("run-scenario-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `scenario` into `dir/out` and returns `summary.json` as printed by `--json`.
fn run_ok(scenario: &Path, out: &Path) -> Value {
    json(&wattage(&[
        "run",
        scenario.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]))
}

/// Runs a scenario that must be rejected: exit code 2, no output folder. Returns stderr.
fn run_err(scenario: &Path, out: &Path) -> String {
    let o = wattage(&[
        "run",
        scenario.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!out.exists(), "the output folder was created: {err}");
    err
}

/// Rows of a CSV file written by `wattage run` (header, then numbers), as column -> values.
fn column(path: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column `{name}` in {}", path.display()));
    lines
        .map(|l| l.split(',').nth(i).unwrap().parse::<f64>().unwrap())
        .collect()
}

fn num(v: &Value, path: &[&str]) -> f64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_f64()
        .unwrap_or_else(|| panic!("no number at {path:?} in {v}"))
}

/// One small service: a single 8B replica, about 2 kW of server power, so a run takes a
/// second or two.
const SERVICE: &str = r#"
[[service]]
name = "chat"
model = "llama-3.1-8b"
hardware = "h100-sxm"
requests_per_day = 1e6
input_tokens = 500
output_tokens = 200
"#;

/// A run scenario of `SERVICE` on the site file `site.toml` beside it, with `extra` lines
/// at the top level (before any table) and `site` lines in `[site]`.
fn run_file(dir: &Path, extra: &str, site: &str) -> PathBuf {
    write(
        dir,
        "run.toml",
        &format!("name = \"t\"\n{extra}\n{SERVICE}\n[site]\nscenario = \"site.toml\"\n{site}\n"),
    )
}

/// A site powered by the grid alone: nothing but the grid's tariff sets the cost.
const GRID_SITE: &str = r#"
[simulation]
duration_h = 48
step_s = 60

[[inference]]
name = "serving"
shape = "series"

[facility]
pue = 1.2

[grid]
import_cap_mw = 100
price_csv = "prices/price.csv"
"#;

/// Writes `GRID_SITE` into `dir` with `price_csv` holding `prices`.
fn grid_site(dir: &Path, prices: &str) {
    write(dir, "site.toml", GRID_SITE);
    std::fs::create_dir_all(dir.join("prices")).unwrap();
    write(dir, "prices/price.csv", prices);
}

/// The site file's `price_csv` is read: each hour's price in the stored series is the CSV's,
/// and the run's cost is the grid energy times those prices (a grid-only site with no demand
/// charge has no other cost). Before the fix the CSV was never read and the cost was $0.
#[test]
fn site_price_csv_sets_the_grid_energy_cost() {
    let dir = folder("price-csv");
    // 500 $/MWh from midnight to noon, 900 $/MWh from noon, repeating daily.
    grid_site(&dir, "time_s,usd_per_mwh\n0,500\n43200,900\n");
    let scenario = run_file(&dir, "", "output_resolution_s = 3600");
    let out = dir.join("out");
    let v = run_ok(&scenario, &out);

    let series = out.join("timeseries.csv");
    let (time, grid, price) = (
        column(&series, "elapsed_s"),
        column(&series, "grid_mw"),
        column(&series, "price_usd_per_mwh"),
    );
    assert_eq!(time.len(), 48);
    for (t, p) in time.iter().zip(&price) {
        let expected = if (t % 86_400.0) < 43_200.0 {
            500.0
        } else {
            900.0
        };
        assert!((p - expected).abs() < 1e-9, "price at {t} s: {p}");
    }
    // Hourly rows, each at one price: cost = sum of grid MW x 1 h x price. summary.json
    // rounds to 6 significant digits, hence 1e-5.
    let expected: f64 = grid.iter().zip(&price).map(|(g, p)| g * p).sum();
    let cost = num(&v, &["site", "cost_usd"]);
    assert!(expected > 0.0);
    assert!(
        (cost / expected - 1.0).abs() < 1e-5,
        "cost {cost} vs {expected}"
    );
    // And the grid energy of the summary is the series' (same rounding).
    let grid_mwh = num(&v, &["site", "energy_mwh_by_source", "grid"]);
    let series_mwh: f64 = grid.iter().sum();
    assert!((grid_mwh / series_mwh - 1.0).abs() < 1e-5);
    // The mean price lies between the two prices.
    assert!(cost > 500.0 * grid_mwh && cost < 900.0 * grid_mwh);
}

/// A malformed CSV is a user error naming the CSV file (as resolved from the site file's
/// folder) and its line; nothing is written.
#[test]
fn malformed_price_csv_names_the_csv_file_and_line() {
    let dir = folder("bad-csv");
    grid_site(&dir, "time_s,usd_per_mwh\n0,500\n43200,nine hundred\n");
    let scenario = run_file(&dir, "", "");
    let err = run_err(&scenario, &dir.join("out"));
    let csv = dir.join("prices").join("price.csv");
    assert!(
        err.contains(&format!("{}:3:", csv.display())),
        "no `price.csv:3:` in: {err}"
    );
    assert!(err.contains("grid.price_csv"), "{err}");
}

/// A range error in the second `[[service]]` points at that service's key, not at the first
/// line that sets a key of the same name.
#[test]
fn range_error_in_the_second_service_points_at_its_line() {
    let dir = folder("second-service");
    grid_site(&dir, "time_s,p\n0,50\n");
    let text = format!(
        "name = \"t\"\n{SERVICE}peak_hour = 10\n{}peak_hour = 30\n\n[site]\nscenario = \"site.toml\"\n",
        SERVICE.replace("\"chat\"", "\"chat2\"")
    );
    let scenario = write(&dir, "run.toml", &text);
    let line = 1 + text.lines().position(|l| l == "peak_hour = 30").unwrap();
    let first = 1 + text.lines().position(|l| l == "peak_hour = 10").unwrap();
    assert!(first < line);
    let err = run_err(&scenario, &dir.join("out"));
    assert!(
        err.contains(&format!("run.toml:{line}:13: field `service[1].peak_hour`")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{line:>3} | peak_hour = 30")),
        "{err}"
    );
}

/// `optimize.step_h` above the optimizer's one-hour limit fails when the file is read, at
/// its line, not after the site simulation.
#[test]
fn optimizer_step_over_an_hour_is_rejected_up_front() {
    let dir = folder("lp-step");
    grid_site(&dir, "time_s,p\n0,50\n");
    let base = run_file(&dir, "", "");
    let text =
        std::fs::read_to_string(&base).unwrap() + "\n[optimize]\nenabled = true\nstep_h = 2\n";
    let line = text.lines().count();
    let scenario = write(&dir, "run.toml", &text);
    let err = run_err(&scenario, &dir.join("out"));
    assert!(
        err.contains(&format!(
            ":{line}:10: field `optimize.step_h`: must be in (0, 1] hours"
        )),
        "{err}"
    );
    // One hour is the limit and is accepted.
    let ok = write(&dir, "ok.toml", &text.replace("step_h = 2", "step_h = 1"));
    let o = wattage(&[
        "run",
        ok.to_str().unwrap(),
        "-o",
        dir.join("ok").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `[site]` overrides that the site engine would reject after the serving simulations are
/// rejected when the file is read, naming the run file's field and line.
#[test]
fn site_overrides_fail_early_at_their_line() {
    let dir = folder("overrides");
    // The site file steps 60 s over 48 h (and, with a 30-minute horizon, see below).
    grid_site(&dir, "time_s,p\n0,50\n");
    for (site_lines, field, why) in [
        // Below the site file's 60 s step.
        (
            "output_resolution_s = 30",
            "site.output_resolution_s",
            "must be at least the step (60 s), found 30 s",
        ),
        // Below the run's own step.
        (
            "step_s = 120\noutput_resolution_s = 90",
            "site.output_resolution_s",
            "must be at least the step (120 s), found 90 s",
        ),
        // 8000 h at 1 s in 1 s rows: 28.8 million rows, above the engine's 2 million.
        (
            "duration_h = 8000\nstep_s = 1\noutput_resolution_s = 1",
            "site.output_resolution_s",
            "would store 28800000 rows",
        ),
        ("step_s = 0", "site.step_s", "must be in (0, 3600] seconds"),
        (
            "duration_h = 0.5",
            "site.duration_h",
            "must be 1 to 8784 hours",
        ),
        ("zoom_day = 0", "site.zoom_day", "must be a day of the year"),
        (
            "zoom_day = 366",
            "site.zoom_day",
            "must be a day of the year",
        ),
    ] {
        let scenario = run_file(&dir, "", site_lines);
        let text = std::fs::read_to_string(&scenario).unwrap();
        let key = field.trim_start_matches("site.");
        let line = 1 + text
            .lines()
            .position(|l| l.starts_with(&format!("{key} =")))
            .unwrap();
        let err = run_err(&scenario, &dir.join("out"));
        assert!(
            err.contains(&format!("run.toml:{line}:")) && err.contains(field) && err.contains(why),
            "{site_lines}: expected line {line}, `{field}`, `{why}` in: {err}"
        );
    }
    // A step longer than the site file's horizon (30 minutes here).
    write(
        &dir,
        "site.toml",
        &GRID_SITE.replace("duration_h = 48", "duration_h = 0.5"),
    );
    let scenario = run_file(&dir, "", "step_s = 3600");
    let text = std::fs::read_to_string(&scenario).unwrap();
    let line = 1 + text.lines().position(|l| l == "step_s = 3600").unwrap();
    let err = run_err(&scenario, &dir.join("out"));
    assert!(
        err.contains(&format!(
            "run.toml:{line}:10: field `site.step_s`: is longer than the site's horizon (0.5 h)"
        )),
        "{err}"
    );
}

/// `zoom_day = N` is day N of the year (1 = 1 January), as the site file's
/// `start_day_of_year` counts. With a sinusoidal temperature (no daily swing) above the PUE
/// threshold all year, the facility-to-IT ratio at time zero is
/// `pue + k (mean + annual x -cos(2 pi (N - 1 - 15) / 365))`. The site file starts on the same
/// day, so the zoomed day's first row and the whole run's first row agree with it; the day
/// before (the old off-by-one) gives 1.29785 instead of 1.29957.
#[test]
fn zoom_day_is_the_day_of_the_year_the_site_counts() {
    let dir = folder("zoom-day");
    let n = 107.0;
    let site = format!(
        r#"
[simulation]
duration_h = 24
step_s = 60
start_day_of_year = {n}

[[inference]]
name = "serving"
shape = "series"

[facility]
pue = 1.1
pue_per_degc = 0.01
pue_threshold_c = 0

[facility.temperature]
mean_c = 20
annual_amplitude_c = 10
daily_amplitude_c = 0

[grid]
import_cap_mw = 100
"#
    );
    write(&dir, "site.toml", &site);
    let scenario = run_file(
        &dir,
        "",
        &format!("output_resolution_s = 60\nzoom_day = {n}"),
    );
    let out = dir.join("out");
    run_ok(&scenario, &out);
    let temp = 20.0 - 10.0 * ((n - 1.0 - 15.0) / 365.0 * std::f64::consts::TAU).cos();
    let pue = 1.1 + 0.01 * temp;
    assert!((pue - 1.29957).abs() < 1e-5, "{pue}");
    for file in ["timeseries_day.csv", "timeseries.csv"] {
        let p = out.join(file);
        let (t, it, fac) = (
            column(&p, "elapsed_s"),
            column(&p, "it_mw"),
            column(&p, "facility_mw"),
        );
        assert_eq!(t[0], 0.0);
        assert!(it[0] > 0.0);
        let ratio = fac[0] / it[0];
        assert!(
            (ratio / pue - 1.0).abs() < 1e-9,
            "{file}: facility / IT {ratio}, expected {pue}"
        );
    }
}

/// A site whose grid fails often at random: its unserved energy depends on the site's seed.
const OUTAGE_SITE: &str = r#"
[simulation]
duration_h = 48
step_s = 60
seed = 5

[[inference]]
name = "serving"
shape = "series"

[grid]
import_cap_mw = 100
outages_per_year = 3000
mean_outage_h = 0.5
"#;

/// The run's `seed` seeds the site too, overriding the site file's; without it the site keeps
/// its file's seed. `summary.json` states the seeds used.
#[test]
fn run_seed_seeds_the_site_simulation() {
    let dir = folder("seed");
    write(&dir, "site.toml", OUTAGE_SITE);
    let unserved = |v: &Value| num(v, &["site", "unserved_mwh"]);

    // No run seed: serving seed 42, the site file's seed 5.
    let own = run_ok(&run_file(&dir, "", ""), &dir.join("own"));
    assert_eq!(own["seed"]["serving"], 42);
    assert_eq!(own["seed"]["site"], 5);
    // Seed 42 in the run: the same fleets (serving seed 42 either way), another site draw.
    let given = run_ok(&run_file(&dir, "seed = 42", ""), &dir.join("given"));
    assert_eq!(given["seed"]["serving"], 42);
    assert_eq!(given["seed"]["site"], 42);
    assert_eq!(own["services"], given["services"]);
    assert!(unserved(&own) > 0.0 && unserved(&given) > 0.0);
    assert_ne!(own["site"], given["site"]);
    // The site file's seed no longer matters once the run gives one.
    write(
        &dir,
        "site.toml",
        &OUTAGE_SITE.replace("seed = 5", "seed = 99"),
    );
    let again = run_ok(&run_file(&dir, "seed = 42", ""), &dir.join("again"));
    assert_eq!(given, again);
    let html = std::fs::read_to_string(dir.join("again/report.html")).unwrap();
    assert!(html.contains("seed 42") && !html.contains("site seed"));
}
