//! One fuzz target per input format. Each feeds the bytes (UTF-8 when valid, else decoded
//! lossily) to the public entry points the CLI and Python use, then asserts the invariants:
//! no panic, an error that displays as a non-empty message, or an accepted input whose
//! serialized result holds only finite numbers. Work after parsing is bounded (a few
//! thousand simulation steps, a hundred requests, a six-hour LP) so a target stays fast.
//!
//! A violated invariant is a panic, which the driver (or libFuzzer) reports with the input.

use std::fmt::Display;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;
use wattage_engine::io::{Input, Silent, Sources};
use wattage_engine::sweep::SweepKind;
use wattage_engine::{
    Catalog, EstimateSpec, OptimizeSpec, ServingOutcome, ServingSpec, SiteOutcome, SiteSpec,
    SweepSpec,
};
use wattage_site::Scenario;

/// What a target made of an input: a hash of its class (accepted, or the kind of error with
/// names and numbers blanked). The stable driver keeps mutants that reach a new class, a
/// cheap stand-in for coverage feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outcome {
    /// The class's hash.
    pub class: u64,
    /// The input was accepted.
    pub accepted: bool,
}

impl Outcome {
    /// An accepted input; `tag` says how far it went.
    pub fn accepted(tag: &str) -> Self {
        Self {
            class: hash(&("ok", tag)),
            accepted: true,
        }
    }

    /// A rejected input, classed by the first line of its message with everything between
    /// its first and last quote blanked, and digits (`unknown field `x` at line 3` and
    /// `... `y` at line 9` are one class).
    pub fn rejected(message: &str) -> Self {
        Self {
            class: hash(&("err", class_text(message))),
            accepted: false,
        }
    }
}

/// The class of an error message (see [`Outcome::rejected`]).
pub fn class_text(message: &str) -> String {
    let first = message.lines().next().unwrap_or("");
    // Quoted user text may itself hold quote characters, which would leak the rest of it into
    // the class: keep only the fixed wording outside the outermost quotes.
    let start = first.find(['`', '"']).unwrap_or(first.len());
    let end = first.rfind(['`', '"']).map_or(first.len(), |i| i + 1);
    blank(&format!("{}?{}", &first[..start], &first[end.max(start)..]))
}

/// `text` with quoted parts replaced by `?` and digit runs by `#`.
fn blank(first: &str) -> String {
    {
        let mut class = String::with_capacity(first.len());
        let mut quote: Option<char> = None;
        for c in first.chars().take(120) {
            match c {
                // Not the apostrophe: fixed wording has it (`the site's horizon`).
                '`' | '"' if quote.is_none() => {
                    quote = Some(c);
                    class.push('?');
                }
                c if quote == Some(c) => quote = None,
                _ if quote.is_some() => {}
                c if c.is_ascii_digit() => {
                    if !class.ends_with('#') {
                        class.push('#');
                    }
                }
                c => class.push(c),
            }
        }
        class
    }
}

fn hash<T: Hash>(v: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// The bytes as text: UTF-8 when valid, else with invalid sequences replaced.
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Checks that an error displays as a non-empty message and classes it.
fn rejected(what: &str, e: &dyn Display) -> Outcome {
    let msg = e.to_string();
    if verbose() {
        eprintln!("{what}: {msg}\n  class: {}", class_text(&msg));
    }
    assert!(
        !msg.trim().is_empty(),
        "{what}: an error displays as an empty message"
    );
    Outcome::rejected(&msg)
}

/// `WATTAGE_FUZZ_VERBOSE=1` prints every rejection (to see what a seed or mutant reaches).
fn verbose() -> bool {
    *VERBOSE.get_or_init(|| std::env::var_os("WATTAGE_FUZZ_VERBOSE").is_some_and(|v| v == "1"))
}

static VERBOSE: OnceLock<bool> = OnceLock::new();

/// Prints every rejection from now on (as `WATTAGE_FUZZ_VERBOSE=1` does), if not decided yet.
pub fn set_verbose(on: bool) {
    let _ = VERBOSE.set(on);
}

/// Asserts that every number of `result` is finite.
fn finite<T: Serialize + ?Sized>(what: &str, result: &T) {
    if let Err(e) = crate::finite::check(result) {
        panic!("{what}: accepted input gives a result with a {e}");
    }
}

/// The files the engine may read while fuzzing: the shipped scenarios by file name, a small
/// valid CSV profile for any `.csv`, and the target's own extra files.
struct Files<'a> {
    extra: &'a [(&'a str, &'a str)],
}

/// The scenarios shipped in `scenarios/`, by file name.
const SHIPPED: &[(&str, &str)] = &[
    (
        "colossus.toml",
        include_str!("../../../scenarios/colossus.toml"),
    ),
    (
        "colossus-miners.toml",
        include_str!("../../../scenarios/colossus-miners.toml"),
    ),
    (
        "peak-shaving.toml",
        include_str!("../../../scenarios/peak-shaving.toml"),
    ),
    (
        "default.toml",
        include_str!("../../../scenarios/default.toml"),
    ),
];

/// A valid step-held profile: two rows an hour apart.
const PROFILE_CSV: &str = "time_s,value\n0,0.5\n3600,0.7\n";

impl Sources for Files<'_> {
    fn read(&self, path: &Path) -> Result<String, String> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some((_, t)) = self.extra.iter().find(|(n, _)| *n == name) {
            return Ok((*t).to_string());
        }
        if let Some((_, t)) = SHIPPED.iter().find(|(n, _)| *n == name) {
            return Ok((*t).to_string());
        }
        if name.ends_with(".csv") {
            return Ok(PROFILE_CSV.to_string());
        }
        Err("no such file (the fuzz targets read only the shipped scenarios)".into())
    }
}

const NO_FILES: Files<'static> = Files { extra: &[] };

fn catalog() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(Catalog::builtin)
}

/// The shipped peak-shaving site, which the expansion target optimizes.
fn peak_shaving() -> &'static Scenario {
    static SC: OnceLock<Scenario> = OnceLock::new();
    SC.get_or_init(|| {
        wattage_site::parse_scenario(SHIPPED[2].1)
            .unwrap_or_else(|e| panic!("shipped peak-shaving.toml does not parse: {e}"))
    })
}

/// Most simulation steps a site target runs on an accepted scenario.
pub const SITE_STEPS: f64 = 2_000.0;
/// Most requests a trace target simulates.
pub const TRACE_REQUESTS: u64 = 100;
/// Most variants of a sweep whose scenario text is built and checked.
pub const SWEEP_VARIANTS: usize = 4;
/// Most `--set` items read from one input (one per line).
pub const SET_ITEMS: usize = 32;

fn text_input(text: &str, name: &str) -> Input {
    Input::Text {
        text: text.to_string(),
        name: name.to_string(),
        dir: PathBuf::new(),
    }
}

/// A site scenario (`wattage simulate site`): parsed, its CSV profiles read, its run options
/// checked against the ranges and work limits, then simulated for at most [`SITE_STEPS`]
/// steps of its own step.
pub fn site_scenario(data: &[u8]) -> Outcome {
    let text = text(data);
    let mut sc = match wattage_site::parse_scenario(&text) {
        Ok(sc) => sc,
        Err(e) => return rejected("site scenario", &e),
    };
    if let Err(e) = wattage_engine::site::resolve_csv(&NO_FILES, &mut sc, Path::new("site.toml")) {
        return rejected("site scenario profiles", &e);
    }
    let step_s = sc.simulation.step.s();
    let duration_h = sc.simulation.duration.h().min(step_s * SITE_STEPS / 3600.0);
    let spec = SiteSpec {
        duration: Some(format!("{duration_h}h").into()),
        keep_series: true,
        ..SiteSpec::default()
    };
    match wattage_engine::site::run(&sc, "site.toml", &spec, &Silent) {
        Ok(SiteOutcome::Simulated(r)) => {
            finite("site simulation", &r);
            Outcome::accepted("simulated")
        }
        Ok(SiteOutcome::Reliability(r)) => {
            finite("site reliability", &r);
            Outcome::accepted("reliability")
        }
        Err(e) => rejected("site simulation", &e),
    }
}

/// A run scenario (`wattage run`): loaded with its site (the shipped ones by file name or
/// `builtin:`), every service's replica resolved against the built-in catalog, and the run's
/// size checked against the work limits. Nothing is simulated.
pub fn run_scenario(data: &[u8]) -> Outcome {
    let text = text(data);
    let loaded = match wattage_engine::run::load(&NO_FILES, Some(&text_input(&text, "run.toml"))) {
        Ok(l) => l,
        Err(e) => return rejected("run scenario", &e),
    };
    finite("run scenario", &loaded.scenario);
    if let Err(e) = wattage_engine::run::deployments(catalog(), &loaded) {
        return rejected("run deployments", &e);
    }
    match wattage_engine::run::admit(&loaded, &Silent) {
        Ok(()) => Outcome::accepted("admitted"),
        Err(e) => rejected("run size", &e),
    }
}

/// An expansion file (`wattage optimize --expansion`): read by the optimize job as the CLI
/// reads it, on the shipped peak-shaving site, six hourly steps solved with Clarabel.
pub fn expansion(data: &[u8]) -> Outcome {
    let text = text(data);
    let files = Files {
        extra: &[("expansion.toml", &text)],
    };
    let spec = OptimizeSpec {
        expansion: Some(PathBuf::from("expansion.toml")),
        duration: Some("6h".into()),
        solver: Some("clarabel".into()),
        no_check: true,
        ..OptimizeSpec::default()
    };
    match wattage_engine::optimize::run(&files, peak_shaving(), "peak-shaving.toml", &spec) {
        Ok(r) => {
            finite("optimization", &r.summary);
            Outcome::accepted("optimized")
        }
        Err(e) => rejected("optimization", &e),
    }
}

/// A sweep file (`wattage sweep`): loaded with its base (a shipped scenario by file name),
/// and the scenario text of its first [`SWEEP_VARIANTS`] variants built and checked as the
/// sweep checks them before running.
pub fn sweep_spec(data: &[u8]) -> Outcome {
    let text = text(data);
    let spec = match SweepSpec::load(&NO_FILES, &text_input(&text, "sweep.toml")) {
        Ok(s) => s,
        Err(e) => return rejected("sweep file", &e),
    };
    for v in spec.variants.iter().take(SWEEP_VARIANTS) {
        let variant = match spec.variant_text(v) {
            Ok(t) => t,
            Err(e) => return rejected("sweep variant", &e),
        };
        match spec.kind {
            SweepKind::Site => {
                let sc = match wattage_site::parse_scenario(&variant) {
                    Ok(sc) => sc,
                    Err(e) => return rejected("sweep site variant", &e),
                };
                let a = SiteSpec {
                    duration: spec.duration.map(Into::into),
                    step: spec.step.map(Into::into),
                    ..SiteSpec::default()
                };
                if let Err(e) = wattage_engine::site::options(&sc, &a) {
                    return rejected("sweep site options", &e);
                }
            }
            SweepKind::Run => {
                let input = Input::Text {
                    text: variant,
                    name: spec.base_origin.clone(),
                    dir: spec
                        .base_path
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default(),
                };
                if let Err(e) = wattage_engine::run::load(&NO_FILES, Some(&input)) {
                    return rejected("sweep run variant", &e);
                }
            }
        }
    }
    Outcome::accepted("variants")
}

/// An Azure LLM inference trace (`wattage simulate serving --trace`): parsed, then, when it
/// has rows, replayed through the serving simulator for at most [`TRACE_REQUESTS`] requests.
pub fn trace_csv(data: &[u8]) -> Outcome {
    let text = text(data);
    let rows = match wattage_serving::parse_azure_str(&text) {
        Ok(r) => r,
        Err(e) => return rejected("trace", &e),
    };
    if rows.is_empty() {
        return Outcome::accepted("empty");
    }
    let files = Files {
        extra: &[("trace.csv", &text)],
    };
    let spec = ServingSpec {
        model: Some("llama-3.1-8b".into()),
        trace: Some(PathBuf::from("trace.csv")),
        requests: Some(TRACE_REQUESTS),
        ..ServingSpec::default()
    };
    match wattage_engine::serving::run(catalog(), &files, &spec, &Silent) {
        Ok(ServingOutcome::Simulated(r)) => {
            finite("trace replay", &r);
            Outcome::accepted("replayed")
        }
        Ok(ServingOutcome::Planned(r)) => {
            finite("trace capacity plan", &r);
            Outcome::accepted("planned")
        }
        Err(e) => rejected("trace replay", &e),
    }
}

/// A catalog file (`--catalog`): merged into the built-in catalog, then every model,
/// accelerator and region it names (up to three of each) estimated on one request, paired
/// with a built-in entry.
pub fn catalog_toml(data: &[u8]) -> Outcome {
    let text = text(data);
    let mut cat = catalog().clone();
    if let Err(e) = cat.merge_toml(&text, "catalog.toml") {
        return rejected("catalog", &e);
    }
    let mine = |id: &str| text.contains(id);
    let mut specs = Vec::new();
    for m in cat.models.iter().filter(|m| mine(&m.id)).take(3) {
        specs.push((Some(m.id.clone()), None, None));
    }
    for h in cat.hardware.iter().filter(|h| mine(&h.id)).take(3) {
        specs.push((None, Some(h.id.clone()), None));
    }
    for r in cat.regions.iter().filter(|r| mine(&r.id)).take(3) {
        specs.push((None, None, Some(r.id.clone())));
    }
    let mut outcome = Outcome::accepted("merged");
    for (model, hardware, region) in specs {
        let spec = EstimateSpec {
            model: Some(model.unwrap_or_else(|| "llama-3.1-8b".into())),
            hardware: Some(hardware.unwrap_or_else(|| "h100-sxm".into())),
            region: region.unwrap_or_else(|| "us-average".into()),
            samples: 0,
            ..EstimateSpec::default()
        };
        match wattage_engine::estimate::run(&cat, &spec) {
            Ok(r) => {
                finite("catalog estimate", &r);
                outcome = Outcome::accepted("estimated");
            }
            Err(e) => outcome = rejected("catalog estimate", &e),
        }
    }
    outcome
}

/// `--set` overrides, one `NAME=VALUE` (or range) per line, up to [`SET_ITEMS`]: parsed,
/// then used by an estimate with a small Monte Carlo (their ranges become its
/// distributions).
pub fn set_syntax(data: &[u8]) -> Outcome {
    let text = text(data);
    let items: Vec<String> = text.lines().take(SET_ITEMS).map(str::to_string).collect();
    if let Err(e) = wattage_engine::Overrides::parse(&items) {
        return rejected("--set", &e);
    }
    let spec = EstimateSpec {
        model: Some("llama-3.1-8b".into()),
        hardware: Some("h100-sxm".into()),
        set: items,
        samples: 64,
        ..EstimateSpec::default()
    };
    match wattage_engine::estimate::run(catalog(), &spec) {
        Ok(r) => {
            finite("estimate with --set", &r);
            Outcome::accepted("estimated")
        }
        Err(e) => rejected("estimate with --set", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn rejections_are_classed_without_names_and_numbers() {
        let a = Outcome::rejected("run.toml:3:9: field `service[0].x`: must be at most 10, got 12");
        let b = Outcome::rejected("run.toml:7:1: field `site.y`: must be at most 5, got 7\n  |");
        let c = Outcome::rejected("run.toml:7:1: field `site.y`: must be zero or more, got -1");
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Fixed wording's apostrophes do not hide the rest of the message.
        let d = Outcome::rejected("must be at most the site's horizon (24 h): `x`");
        let e = Outcome::rejected("must be at most the site's horizon (48 h): `yy`");
        assert_eq!(d, e);
        assert_ne!(a, Outcome::accepted("x"));
    }
}
