//! A corpus of named bad inputs across every flag and format (issue 13). Each case runs the
//! binary in a folder of its own and asserts exit status 2, that the message names the flag
//! or the file, line and field at fault, and that nothing was written (the folder holds only
//! the inputs afterwards). A timeout only catches hangs: every size check must fire before
//! any work, so each case ends in well under a second.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One bad input: its name, the command line (`{dir}` is the case's folder), the files it
/// needs, and what the message must contain.
struct Case {
    name: String,
    args: Vec<String>,
    files: Vec<(String, String)>,
    expect: Vec<String>,
}

fn case(name: &str, args: &[&str], expect: &[&str]) -> Case {
    Case {
        name: name.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        files: Vec::new(),
        expect: expect.iter().map(|s| s.to_string()).collect(),
    }
}

impl Case {
    fn file(mut self, name: &str, text: &str) -> Self {
        self.files.push((name.into(), text.into()));
        self
    }
}

/// A small valid site: one day at one-minute steps, every kind of asset.
const SITE: &str = r#"name = "t"

[simulation]
duration_h = 24
step_s = 60

[[inference]]
shape = "diurnal"
power_mw = 10

[[training]]
gpus = 1000
gpu_tdp_w = 700
iteration_s = 5
compute_duty = 0.8

[facility]
pue = 1.2

[facility.temperature]
mean_c = 17

[grid]
import_cap_mw = 40
price_usd_per_mwh = 60
peak_price_usd_per_mwh = 120

[[grid.outages]]
start_h = 3
duration_h = 1

[[grid.demand_response]]
start_h = 5
duration_h = 1

[[turbines]]
count = 2
unit_mw = 10
ramp_mw_per_min = 5
heat_rate_mmbtu_per_mwh = 9
fuel_usd_per_mmbtu = 3

[[solar]]
nameplate_mw = 5
latitude_deg = 35

[[batteries]]
power_mw = 5
energy_mwh = 10
round_trip_efficiency = 0.9

[[miners]]
power_mw = 2
efficiency_j_per_th = 20
hashprice_usd_per_th_day = 0.05

[dispatch]
reserve_mw = 1

[reliability]
seeds = 2
"#;

/// The site with `key = value` set in table `table` (a `[[...]]` table: its first entry).
fn site_with(table: &str, key: &str, value: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    let header1 = format!("[{table}]");
    let header2 = format!("[[{table}]]");
    for line in SITE.lines() {
        let is_key = line.split('=').next().map(str::trim) == Some(key);
        if !done && is_key && out_ends_in_table(&out, &header1, &header2) {
            out.push_str(&format!("{key} = {value}\n"));
            done = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if !done && (line == header1 || line == header2) {
            // Inserted right after the header; a later line with the same key is skipped.
            out.push_str(&format!("{key} = {value}\n"));
            done = true;
        }
    }
    assert!(done, "no table [{table}] in the test site");
    // Drop a duplicate of the key left further down the same table.
    let mut seen = false;
    let mut in_table = false;
    out.lines()
        .filter(|l| {
            if l.starts_with('[') {
                in_table = *l == header1 || *l == header2;
                if in_table && seen {
                    in_table = false;
                }
            }
            if in_table && l.split('=').next().map(str::trim) == Some(key) {
                if seen {
                    return false;
                }
                seen = true;
            }
            true
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn out_ends_in_table(out: &str, h1: &str, h2: &str) -> bool {
    out.lines()
        .rev()
        .find(|l| l.starts_with('['))
        .is_some_and(|l| l == h1 || l == h2)
}

/// A site case: the field set to `value`, the error naming the field.
fn site_case(name: &str, table: &str, key: &str, value: &str, field: &str) -> Case {
    case(
        name,
        &["simulate", "site", "{dir}/site.toml", "--out", "{dir}/out"],
        &["site.toml:", &format!("field `{field}`")],
    )
    .file("site.toml", &site_with(table, key, value))
}

const RUN: &str = r#"name = "r"

[[service]]
name = "chat"
model = "llama-3.1-8b"
hardware = "h100-sxm"
requests_per_day = 1e5
input_tokens = 500
output_tokens = 200

[site]
scenario = "builtin:colossus"
duration_h = 24
step_s = 60
"#;

fn run_case(name: &str, text: &str, field: &str) -> Case {
    case(
        name,
        &["run", "{dir}/run.toml", "-o", "{dir}/out"],
        &["run.toml:", &format!("field `{field}`")],
    )
    .file("run.toml", text)
}

/// A user catalog with one model `m` whose head counts and dimension are `heads`.
fn catalog_model(heads: &str) -> String {
    format!(
        "[[model]]\nid = \"m\"\nname = \"M\"\nlayers = 4\nhidden = 64\n{heads}\nffn = 256\n\
         params_total_b = 0.001\nparams_active_b = 0.001\nprecision = \"bf16\"\ncontext = 4096\n"
    )
}

const TRACE_HEAD: &str = "TIMESTAMP,ContextTokens,GeneratedTokens\n";

fn cases() -> Vec<Case> {
    let mut v = vec![
        // estimate
        case("estimate samples u64::MAX", &["estimate", "--samples", "18446744073709551615"], &["--samples"]),
        case("estimate samples 1e9 (work)", &["estimate", "--samples", "1000000000"], &["1e9 Monte Carlo samples", "--max-work"]),
        case("estimate negative batch", &["estimate", "--batch", "-1"], &["`--batch`", "1 to 65536"]),
        case("estimate NaN batch", &["estimate", "--batch", "nan"], &["`--batch`", "finite"]),
        case("estimate infinite input", &["estimate", "--input-tokens", "inf"], &["`--input-tokens`"]),
        case("estimate zero output", &["estimate", "--output-tokens", "0"], &["`--output-tokens`"]),
        case("estimate huge input", &["estimate", "--input-tokens", "1e308"], &["`--input-tokens`"]),
        // `--gpus` is an alias of `--tensor-parallel-size`: the error names the flag.
        case("estimate negative gpus", &["estimate", "--gpus", "-1"], &["--tensor-parallel-size", "1 to 1024"]),
        case("estimate zero gpus", &["estimate", "--gpus", "0"], &["--tensor-parallel-size"]),
        case("estimate zero data parallel", &["estimate", "--data-parallel-size", "0"], &["--data-parallel-size", "1 to 1024"]),
        case("serving huge tensor parallel", &["simulate", "serving", "--tensor-parallel-size", "5000"], &["--tensor-parallel-size", "1 to 1024"]),
        case("estimate negative requests per day", &["estimate", "--requests-per-day", "-5"], &["`--requests-per-day`"]),
        case("estimate unknown scope", &["estimate", "--scope", "planet"], &["`--scope`"]),
        case("estimate bad set", &["estimate", "--set", "pue=abc"], &["`--set`"]),
        case("estimate set out of range", &["estimate", "--set", "pue=0.3"], &["pue"]),
        case("estimate unknown model", &["estimate", "--model", "no-such-model"], &["`--model`"]),
        // train
        case("train carbon NaN", &["train", "--gpu-hours", "1000", "--carbon-g-per-kwh", "nan"], &["`--carbon-g-per-kwh`", "finite"]),
        case("train carbon negative", &["train", "--gpu-hours", "1000", "--carbon-g-per-kwh", "-5"], &["`--carbon-g-per-kwh`", "0 to 2000"]),
        case("train carbon 1e308", &["train", "--gpu-hours", "1000", "--carbon-g-per-kwh", "1e308"], &["`--carbon-g-per-kwh`"]),
        case("train days 1e300", &["train", "--days", "1e300"], &["`--days`"]),
        case("train duration 1e300 days", &["train", "--duration", "1e300d"], &["`--duration`"]),
        case("train duration without a number", &["train", "--duration", "d"], &["`--duration`"]),
        case("train negative gpus", &["train", "--days", "10", "--gpus", "-4"], &["`--gpus`"]),
        case("train negative cluster gpus", &["train", "--duration", "10d", "--cluster-gpus", "-4"], &["`--cluster-gpus`"]),
        case("train old and new gpus", &["train", "--duration", "10d", "--gpus", "4", "--cluster-gpus", "4"], &["`--cluster-gpus`"]),
        case("train mfu above 1", &["train", "--model", "llama-3.1-70b", "--tokens", "1e12", "--mfu", "1.5"], &["`--mfu`"]),
        case("train pue below 1", &["train", "--days", "10", "--pue", "0.5"], &["`--pue`"]),
        case("train server factor NaN", &["train", "--days", "10", "--server-factor", "nan"], &["`--server-factor`"]),
        case("train power negative", &["train", "--days", "10", "--power-w", "-700"], &["`--power-w`"]),
        case("train tokens infinite", &["train", "--model", "llama-3.1-70b", "--tokens", "inf"], &["`--tokens`"]),
        // simulate serving
        case("serving rate 1e9", &["simulate", "serving", "--rate", "1e9", "--duration", "60", "--out", "{dir}/out"], &["`--rate`"]),
        case("serving rate 1e18", &["simulate", "serving", "--rate", "1e18"], &["`--rate`"]),
        case("serving requests too many (work)", &["simulate", "serving", "--rate", "1e5", "--duration", "86400", "--out", "{dir}/out"], &["simulated requests", "`--rate` x `--duration`", "--max-work"]),
        case("train mfu below 0.1%", &["train", "--model", "llama-3.1-8b", "--tokens", "1e12", "--mfu", "1e-310", "--json"], &["`--mfu`", "0.001"]),
        case("closed loop too long (work)", &["simulate", "serving", "--clients", "100000", "--duration", "86400", "--out", "{dir}/out"], &["simulated requests", "`--clients` x `--duration`", "--max-work"]),
        case("serving power points (work)", &["simulate", "serving", "--duration", "31000000", "--rate", "0.001", "--power-resolution", "0.001"], &["power series points", "--power-resolution"]),
        case("serving arrival cv NaN", &["simulate", "serving", "--arrival-cv", "nan"], &["`--arrival-cv`", "finite"]),
        case("serving arrival cv 1e18", &["simulate", "serving", "--arrival-cv", "1e18"], &["`--arrival-cv`"]),
        case("serving requests 0", &["simulate", "serving", "--requests", "0"], &["--requests", "1 to"]),
        case("serving requests negative", &["simulate", "serving", "--requests", "-3"], &["--requests"]),
        case("serving max-num-seqs u32::MAX", &["simulate", "serving", "--max-num-seqs", "4294967295"], &["--max-num-seqs", "1 to 65536"]),
        case("serving batch -1", &["simulate", "serving", "--batch", "-1"], &["--batch", "1 to 65536"]),
        case("serving max-num-seqs -1", &["simulate", "serving", "--max-num-seqs", "-1"], &["--max-num-seqs", "1 to 65536"]),
        case("serving replicas 0", &["simulate", "serving", "--replicas", "0"], &["--replicas"]),
        case("serving clients negative", &["simulate", "serving", "--clients", "-2"], &["--clients"]),
        case("serving negative duration", &["simulate", "serving", "--duration", "-60"], &["`--duration`"]),
        case("serving input cv negative", &["simulate", "serving", "--input-cv", "-1"], &["`--input-cv`"]),
        case("serving output tokens 0", &["simulate", "serving", "--output-tokens", "0"], &["`--output-tokens`"]),
        case("serving diurnal below 1", &["simulate", "serving", "--diurnal", "0.5"], &["`--diurnal`"]),
        case("serving pue inf", &["simulate", "serving", "--pue", "inf"], &["`--pue`"]),
        case("serving power resolution 0", &["simulate", "serving", "--power-resolution", "0"], &["`--power-resolution`"]),
        case("serving slo negative", &["simulate", "serving", "--slo-ttft-ms", "-1", "--slo-itl-ms", "50"], &["`--slo-ttft-ms`"]),
        case("serving max replicas 0", &["simulate", "serving", "--max-replicas", "0"], &["--max-replicas"]),
        case("serving trace scale 0", &["simulate", "serving", "--trace-scale", "0"], &["`--trace-scale`"]),
        case("serving max batched tokens negative", &["simulate", "serving", "--max-batched-tokens", "-8192"], &["--max-batched-tokens"]),
        case("trace rows share one timestamp", &["simulate", "serving", "--trace", "{dir}/t.csv", "--duration", "600"], &["`--trace`", "same TIMESTAMP"])
            .file("t.csv", &format!("{TRACE_HEAD}{}", "2024-01-01 00:00:00,100,50\n".repeat(5))),
        case("trace out of order", &["simulate", "serving", "--trace", "{dir}/t.csv"], &["line 3", "TIMESTAMP"])
            .file("t.csv", &format!("{TRACE_HEAD}2024-01-01 00:00:10,100,50\n2024-01-01 00:00:05,100,50\n")),
        case("trace negative tokens", &["simulate", "serving", "--trace", "{dir}/t.csv"], &["line 2", "ContextTokens"])
            .file("t.csv", &format!("{TRACE_HEAD}2024-01-01 00:00:10,-100,50\n")),
        case("trace no header", &["simulate", "serving", "--trace", "{dir}/t.csv"], &["header"])
            .file("t.csv", "1,2,3\n"),
        // simulate site flags
        case("site step 0", &["simulate", "site", "{dir}/site.toml", "--step", "0"], &["`--step`"]).file("site.toml", SITE),
        case("site step 1e-300", &["simulate", "site", "{dir}/site.toml", "--step", "1e-300"], &["`--step`", "0.001 to 3600"]).file("site.toml", SITE),
        case("site duration negative", &["simulate", "site", "{dir}/site.toml", "--duration", "-24"], &["`--duration`"]).file("site.toml", SITE),
        case("site duration NaN", &["simulate", "site", "{dir}/site.toml", "--duration", "nan"], &["`--duration`"]).file("site.toml", SITE),
        case("site seeds 0", &["simulate", "site", "{dir}/site.toml", "--seeds", "0"], &["--seeds"]).file("site.toml", SITE),
        case("site seeds too many", &["simulate", "site", "{dir}/site.toml", "--seeds", "4294967295"], &["--seeds"]).file("site.toml", SITE),
        case("site steps over the limit (work)", &["simulate", "site", "{dir}/site.toml", "--duration", "87600", "--step", "0.001", "--out", "{dir}/out"], &["site simulation steps", "--max-work"]).file("site.toml", SITE),
        case("site resolution 0", &["simulate", "site", "{dir}/site.toml", "--resolution", "0"], &["`--resolution`"]).file("site.toml", SITE),
        case("site step_s 1e-300 in the file", &["simulate", "site", "{dir}/site.toml"], &["site.toml:4:10:", "field `simulation.step_s`"]).file("site.toml", &site_with("simulation", "step_s", "1e-300")),
        case("site steps from the file over the limit (work)", &["simulate", "site", "{dir}/site.toml"], &["site simulation steps", "simulation.step_s"]).file("site.toml", &site_with("simulation", "step_s", "0.001").replace("duration_h = 24", "duration_h = 87600")),
        // optimize
        case("optimize step 1e-9h", &["optimize", "{dir}/site.toml", "--step", "1e-9h", "--out", "{dir}/out"], &["`--step`"]).file("site.toml", SITE),
        case("optimize step negative", &["optimize", "{dir}/site.toml", "--step", "-1h"], &["`--step`"]).file("site.toml", SITE),
        case("optimize duration negative", &["optimize", "{dir}/site.toml", "--duration", "-7d"], &["`--duration`"]).file("site.toml", SITE),
        case("optimize mip gap 1", &["optimize", "{dir}/site.toml", "--mip-gap", "1"], &["`--mip-gap`"]).file("site.toml", SITE),
        case("optimize mip gap negative", &["optimize", "{dir}/site.toml", "--mip-gap", "-0.1"], &["`--mip-gap`"]).file("site.toml", SITE),
        case("optimize LP over the limit (work)", &["optimize", "{dir}/site.toml", "--step", "1s", "--duration", "1y", "--out", "{dir}/out"], &["linear program columns", "--max-work"]).file("site.toml", SITE),
        case("optimize check run over the limit (work)", &["optimize", "{dir}/site.toml", "--duration", "10y", "--check-step", "0.001s"], &["site simulation steps", "--check-step"]).file("site.toml", SITE),
        // run files
        run_case("run optimize horizon beyond the site's", &format!("{RUN}\n[optimize]\nenabled = true\nduration_h = 65536\n"), "optimize.duration_h"),
        run_case("run input tokens NaN", &RUN.replace("input_tokens = 500", "input_tokens = nan"), "service[0].input_tokens"),
        run_case("run requests per day 1e308", &RUN.replace("requests_per_day = 1e5", "requests_per_day = 1e308"), "service[0].requests_per_day"),
        run_case("run step 0", &RUN.replace("step_s = 60", "step_s = 0"), "site.step_s"),
        run_case("run negative duration", &RUN.replace("duration_h = 24", "duration_h = -24"), "site.duration_h"),
        run_case("run max batch 0", &RUN.replace("output_tokens = 200", "output_tokens = 200\nmax_batch = 0"), "service[0].max_batch"),
        run_case("run max num seqs 0", &RUN.replace("output_tokens = 200", "output_tokens = 200\nmax_num_seqs = 0"), "service[0].max_num_seqs"),
        run_case("run old and new max num seqs", &RUN.replace("output_tokens = 200", "output_tokens = 200\nmax_num_seqs = 8\nmax_batch = 8"), "service[0].max_batch"),
        run_case("run data parallel 0", &RUN.replace("output_tokens = 200", "output_tokens = 200\ndata_parallel_size = 0"), "service[0].data_parallel_size"),
        case("run -o pointing at a file", &["run", "{dir}/run.toml", "-o", "{dir}/taken"], &["`{dir}/taken` is a file"])
            .file("run.toml", RUN)
            .file("taken", "a file, not a folder\n"),
        // catalogs
        case("catalog with a NaN", &["--catalog", "{dir}/c.toml", "estimate"], &["c.toml"])
            .file("c.toml", "[[hardware]]\nid = \"x\"\nname = \"X\"\ntdp_w = nan\n"),
        case("catalog kv_heads = head_dim = 65536", &["--catalog", "{dir}/c.toml", "estimate", "--model", "m"], &["c.toml", "model `m`", "field `head_dim`"])
            .file("c.toml", &catalog_model("heads = 65536\nkv_heads = 65536\nhead_dim = 65536")),
        case("catalog 1e6 layers", &["--catalog", "{dir}/c.toml", "estimate", "--model", "m"], &["c.toml", "model `m`", "field `layers`"])
            .file("c.toml", &catalog_model("heads = 8\nkv_heads = 8\nhead_dim = 128").replace("layers = 4", "layers = 1000000")),
        case("catalog context 4e9", &["--catalog", "{dir}/c.toml", "estimate", "--model", "m"], &["c.toml", "model `m`", "field `context`"])
            .file("c.toml", &catalog_model("heads = 8\nkv_heads = 8\nhead_dim = 128").replace("context = 4096", "context = 4000000000")),
        case("catalog 1e9 billion parameters", &["--catalog", "{dir}/c.toml", "estimate", "--model", "m"], &["c.toml", "model `m`", "field `params_total_b`"])
            .file("c.toml", &catalog_model("heads = 8\nkv_heads = 8\nhead_dim = 128").replace("params_total_b = 0.001", "params_total_b = 1e9")),
        case("catalog TDP 1e308 W", &["--catalog", "{dir}/c.toml", "estimate"], &["c.toml", "hardware `x`", "field `tdp_w`"])
            .file("c.toml", "[[hardware]]\nid = \"x\"\nname = \"X\"\nvendor = \"V\"\nhbm_gb = 80\nhbm_tb_s = 3.35\ntdp_w = 1e308\nidle_w = 60\nhost_w_per_accel = 300\ninterconnect_gb_s = 900\npeak_tflops = { bf16 = 989 }\n"),
        case("catalog peak 1e300 TFLOP/s", &["--catalog", "{dir}/c.toml", "estimate"], &["c.toml", "hardware `x`", "field `peak_tflops.bf16`"])
            .file("c.toml", "[[hardware]]\nid = \"x\"\nname = \"X\"\nvendor = \"V\"\nhbm_gb = 80\nhbm_tb_s = 3.35\ntdp_w = 700\nidle_w = 60\nhost_w_per_accel = 300\ninterconnect_gb_s = 900\npeak_tflops = { bf16 = 1e300 }\n"),
        case("catalog region carbon 1e308", &["--catalog", "{dir}/c.toml", "estimate"], &["c.toml", "region `r`", "field `carbon_g_per_kwh`"])
            .file("c.toml", "[[region]]\nid = \"r\"\nname = \"R\"\ncarbon_g_per_kwh = 1e308\npue = 1.2\nwue_onsite_l_per_kwh = 0.3\nwue_offsite_l_per_kwh = 3\nelectricity_usd_per_mwh = 80\n"),
        // late or garbled errors of `wattage run`, now decided when the file is read
        run_case("run service named Chat (chart id)", &RUN.replace("name = \"chat\"", "name = \"Chat\""), "service[0].name"),
        run_case("run two services named chat", &format!("{RUN}\n[[service]]\nname = \"chat\"\nmodel = \"llama-3.1-8b\"\nhardware = \"h100-sxm\"\nrequests_per_day = 1e5\ninput_tokens = 500\noutput_tokens = 200\n"), "service[1].name"),
        run_case("run output resolution leaving one point", &RUN.replace("step_s = 60", "step_s = 60\noutput_resolution_s = 86400"), "site.output_resolution_s"),
        run_case("run input tokens 0.5", &RUN.replace("input_tokens = 500", "input_tokens = 0.5"), "service[0].input_tokens"),
        run_case("run output tokens 0.5", &RUN.replace("output_tokens = 200", "output_tokens = 0.5"), "service[0].output_tokens"),
        run_case("run seed 1.5 (type error names the key)", &RUN.replace("[[service]]", "seed = 1.5\n\n[[service]]"), "seed"),
        run_case("run name 1.5 (type error names the key)", &RUN.replace("name = \"r\"", "name = 1.5"), "name"),
        run_case("run zoom day a string", &RUN.replace("step_s = 60", "step_s = 60\nzoom_day = \"x\""), "site.zoom_day"),
        case("run site file syntax error (no empty field)", &["run", "{dir}/run.toml", "-o", "{dir}/out"], &["site.toml:2:"])
            .file("run.toml", &RUN.replace("builtin:colossus", "site.toml"))
            .file("site.toml", "name = \"t\"\n[simulation\n"),
        case("sweep base syntax error (no garbled field)", &["sweep", "{dir}/sw.toml", "-o", "{dir}/out"], &["site.toml:2:"])
            .file("site.toml", "name = \"t\"\n[simulation\n")
            .file("sw.toml", "base = \"site.toml\"\n[grid]\n\"grid.import_cap_mw\" = [30.0, 40.0]\n"),
        // expansion files: errors name the expansion file, its line and field
        case("expansion unknown field", &["optimize", "{dir}/site.toml", "--expansion", "{dir}/ex.toml", "--duration", "24h"], &["ex.toml:2:", "field `grid.foo`"])
            .file("site.toml", SITE)
            .file("ex.toml", "[grid]\nfoo = 1\n"),
        case("expansion names a missing turbine", &["optimize", "{dir}/site.toml", "--expansion", "{dir}/ex.toml", "--duration", "24h"], &["ex.toml:2:", "field `turbines[0].name`"])
            .file("site.toml", SITE)
            .file("ex.toml", "[[turbines]]\nname = \"nope\"\nmax_mw = 50\nannual_cost_usd_per_mw = 1e5\n"),
        case("expansion bad battery_end", &["optimize", "{dir}/site.toml", "--expansion", "{dir}/ex.toml", "--duration", "24h"], &["ex.toml:1:", "field `battery_end`"])
            .file("site.toml", SITE)
            .file("ex.toml", "battery_end = \"sometimes\"\n"),
        case("expansion negative cost", &["optimize", "{dir}/site.toml", "--expansion", "{dir}/ex.toml", "--duration", "24h"], &["ex.toml:3:", "field `grid.annual_cost_usd_per_mw`"])
            .file("site.toml", SITE)
            .file("ex.toml", "[grid]\nmax_mw = 100\nannual_cost_usd_per_mw = -5\n"),
        // sweeps
        case("sweep of too many site steps (work)", &["sweep", "{dir}/sw.toml", "-o", "{dir}/out"], &["site simulation steps", "--max-work"])
            .file("site.toml", SITE)
            .file("sw.toml", "base = \"site.toml\"\nduration = \"10y\"\nstep = \"1ms\"\n[grid]\n\"grid.import_cap_mw\" = [30.0, 40.0]\n"),
    ];
    // Every numeric field of a site scenario, at an absurd value: exit 2 at its line and
    // field.
    let site_fields: &[(&str, &str, &str)] = &[
        ("simulation", "duration_h", "simulation.duration_h"),
        (
            "simulation",
            "output_resolution_s",
            "simulation.output_resolution_s",
        ),
        (
            "simulation",
            "start_day_of_year",
            "simulation.start_day_of_year",
        ),
        ("inference", "power_mw", "inference[0].power_mw"),
        (
            "inference",
            "diurnal_amplitude",
            "inference[0].diurnal_amplitude",
        ),
        ("inference", "peak_hour", "inference[0].peak_hour"),
        ("training", "gpus", "training[0].gpus"),
        ("training", "gpu_tdp_w", "training[0].gpu_tdp_w"),
        (
            "training",
            "host_power_w_per_gpu",
            "training[0].host_power_w_per_gpu",
        ),
        ("training", "iteration_s", "training[0].iteration_s"),
        (
            "training",
            "failures_per_day",
            "training[0].failures_per_day",
        ),
        ("training", "restart_min", "training[0].restart_min"),
        (
            "training",
            "value_usd_per_gpu_hour",
            "training[0].value_usd_per_gpu_hour",
        ),
        (
            "training",
            "checkpoint_interval_min",
            "training[0].checkpoint_interval_min",
        ),
        ("facility", "pue", "facility.pue"),
        ("facility", "pue_threshold_c", "facility.pue_threshold_c"),
        ("facility", "wue_l_per_kwh", "facility.wue_l_per_kwh"),
        (
            "facility.temperature",
            "mean_c",
            "facility.temperature.mean_c",
        ),
        (
            "facility.temperature",
            "annual_amplitude_c",
            "facility.temperature.annual_amplitude_c",
        ),
        (
            "facility.temperature",
            "daily_amplitude_c",
            "facility.temperature.daily_amplitude_c",
        ),
        ("grid", "import_cap_mw", "grid.import_cap_mw"),
        ("grid", "price_usd_per_mwh", "grid.price_usd_per_mwh"),
        (
            "grid",
            "peak_price_usd_per_mwh",
            "grid.peak_price_usd_per_mwh",
        ),
        (
            "grid",
            "demand_charge_usd_per_kw_month",
            "grid.demand_charge_usd_per_kw_month",
        ),
        ("grid", "carbon_kg_per_mwh", "grid.carbon_kg_per_mwh"),
        (
            "grid",
            "ramp_limit_mw_per_min",
            "grid.ramp_limit_mw_per_min",
        ),
        ("grid", "peak_shave_mw", "grid.peak_shave_mw"),
        ("grid", "outages_per_year", "grid.outages_per_year"),
        ("grid", "mean_outage_h", "grid.mean_outage_h"),
        ("grid.outages", "start_h", "grid.outages[0].start_h"),
        ("grid.outages", "duration_h", "grid.outages[0].duration_h"),
        (
            "grid.demand_response",
            "import_cap_mw",
            "grid.demand_response[0].import_cap_mw",
        ),
        ("turbines", "count", "turbines[0].count"),
        ("turbines", "unit_mw", "turbines[0].unit_mw"),
        ("turbines", "ramp_mw_per_min", "turbines[0].ramp_mw_per_min"),
        ("turbines", "start_time_min", "turbines[0].start_time_min"),
        ("turbines", "start_cost_usd", "turbines[0].start_cost_usd"),
        (
            "turbines",
            "heat_rate_mmbtu_per_mwh",
            "turbines[0].heat_rate_mmbtu_per_mwh",
        ),
        (
            "turbines",
            "fuel_usd_per_mmbtu",
            "turbines[0].fuel_usd_per_mmbtu",
        ),
        (
            "turbines",
            "co2_kg_per_mmbtu",
            "turbines[0].co2_kg_per_mmbtu",
        ),
        (
            "turbines",
            "variable_om_usd_per_mwh",
            "turbines[0].variable_om_usd_per_mwh",
        ),
        ("turbines", "mttr_h", "turbines[0].mttr_h"),
        ("solar", "nameplate_mw", "solar[0].nameplate_mw"),
        ("solar", "latitude_deg", "solar[0].latitude_deg"),
        ("batteries", "power_mw", "batteries[0].power_mw"),
        ("batteries", "energy_mwh", "batteries[0].energy_mwh"),
        (
            "batteries",
            "charge_below_usd_per_mwh",
            "batteries[0].charge_below_usd_per_mwh",
        ),
        ("miners", "power_mw", "miners[0].power_mw"),
        (
            "miners",
            "efficiency_j_per_th",
            "miners[0].efficiency_j_per_th",
        ),
        (
            "miners",
            "hashprice_usd_per_th_day",
            "miners[0].hashprice_usd_per_th_day",
        ),
        ("miners", "response_s", "miners[0].response_s"),
        ("dispatch", "reserve_mw", "dispatch.reserve_mw"),
        (
            "dispatch",
            "turbine_smoothing_s",
            "dispatch.turbine_smoothing_s",
        ),
        (
            "dispatch",
            "decommit_delay_min",
            "dispatch.decommit_delay_min",
        ),
        (
            "reliability",
            "interruption_min_s",
            "reliability.interruption_min_s",
        ),
    ];
    for (table, key, field) in site_fields {
        v.push(site_case(
            &format!("site {field} = 1e308"),
            table,
            key,
            "1e308",
            field,
        ));
    }
    for (table, key, field, value) in [
        ("turbines", "count", "turbines[0].count", "2147483648"),
        ("grid", "carbon_kg_per_mwh", "grid.carbon_kg_per_mwh", "-1"),
        (
            "facility.temperature",
            "mean_c",
            "facility.temperature.mean_c",
            "nan",
        ),
        (
            "facility.temperature",
            "mean_c",
            "facility.temperature.mean_c",
            "-1e308",
        ),
        (
            "grid",
            "price_usd_per_mwh",
            "grid.price_usd_per_mwh",
            "-inf",
        ),
        ("reliability", "seeds", "reliability.seeds", "0"),
        ("reliability", "seeds", "reliability.seeds", "4000000"),
        ("training", "gpus", "training[0].gpus", "0"),
        (
            "batteries",
            "round_trip_efficiency",
            "batteries[0].round_trip_efficiency",
            "1.5",
        ),
    ] {
        v.push(site_case(
            &format!("site {field} = {value}"),
            table,
            key,
            value,
            field,
        ));
    }
    v.push(
        case(
            "site carbon CSV value 1e308",
            &["simulate", "site", "{dir}/site.toml"],
            &["c.csv:3:", "field `grid.carbon_csv`"],
        )
        .file(
            "site.toml",
            &SITE.replace(
                "price_usd_per_mwh = 60\n",
                "price_usd_per_mwh = 60\ncarbon_csv = \"c.csv\"\n",
            ),
        )
        .file("c.csv", "time_s,kg_per_mwh\n0,400\n3600,1e308\n"),
    );
    v
}

/// Runs `wattage` with `args` in `dir`; kills it after `limit` (a hang).
fn run_in(dir: &Path, args: &[String], limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wattage"))
        .args(args)
        .arg("--quiet")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
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
            return (None, "timed out: a hang".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn every_bad_input_exits_2_naming_its_place_and_writes_nothing() {
    let cases = cases();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad_inputs");
    let _ = std::fs::remove_dir_all(&root);
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let dir = root.join(format!("case-{i:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &c.files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let before = listing(&dir);
        let d = dir.display().to_string();
        let args: Vec<String> = c.args.iter().map(|a| a.replace("{dir}", &d)).collect();
        let (code, err) = run_in(&dir, &args, Duration::from_secs(60));
        let mut why = Vec::new();
        if code != Some(2) {
            why.push(format!("exit {code:?}"));
        }
        for e in &c.expect {
            if !err.contains(e.replace("{dir}", &d).as_str()) {
                why.push(format!("no `{e}`"));
            }
        }
        if err.contains("panicked") {
            why.push("panicked".into());
        }
        let after = listing(&dir);
        if after != before {
            why.push(format!(
                "wrote {:?}",
                &after[before.len().min(after.len())..]
            ));
        }
        if !why.is_empty() {
            failures.push(format!(
                "{}: {}\n    {}",
                c.name,
                why.join(", "),
                err.trim().replace('\n', "\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
