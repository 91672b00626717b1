//! vLLM's `--kv-cache-dtype` on the command line: the cache's type sets the KV capacity and
//! the bytes each decode step reads; `auto` keeps wattage's rule (fp8 with 8-bit or narrower
//! weights, else bf16); vLLM's spellings are accepted; a bad value exits 2 naming the flag.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{json, wattage};

fn estimate(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["estimate", "--samples", "0", "--json"];
    args.extend_from_slice(extra);
    json(&wattage(&args))
}

/// Llama 3.1 70B on 4 x H100 with a 30,000-token prompt, at a batch both caches hold.
fn long_context(kv: &str) -> serde_json::Value {
    estimate(&[
        "--model",
        "llama-3.1-70b",
        "--hardware",
        "h100-sxm",
        "--tensor-parallel-size",
        "4",
        "--batch",
        "8",
        "--input-tokens",
        "30000",
        "--output-tokens",
        "500",
        "--kv-cache-dtype",
        kv,
    ])
}

fn f(v: &serde_json::Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("`{k}` is not a number: {v}"))
}

#[test]
fn an_fp8_cache_doubles_the_capacity_and_lowers_the_energy_at_a_long_context() {
    let bf16 = long_context("bf16");
    let fp8 = long_context("fp8");
    assert_eq!(bf16["precision"], "bf16");
    assert_eq!(bf16["kv_cache_dtype"], "bf16");
    assert_eq!(fp8["kv_cache_dtype"], "fp8");
    assert_eq!(fp8["kv_cache_dtype_source"], "given");
    let ratio = f(&fp8, "kv_capacity_tokens") / f(&bf16, "kv_capacity_tokens");
    assert!((ratio - 2.0).abs() < 1e-9, "capacity ratio {ratio}");
    // Both run the batch asked for: the difference is the KV bytes each step reads.
    assert_eq!(f(&bf16, "batch_used"), 8.0);
    assert_eq!(f(&fp8, "batch_used"), 8.0);
    let (e16, e8) = (f(&bf16, "energy_wh"), f(&fp8, "energy_wh"));
    assert!(e8 < 0.95 * e16, "fp8 cache {e8} Wh against bf16 {e16} Wh");
    // vLLM's spellings name the same caches.
    for (spelling, same) in [
        ("bfloat16", &bf16),
        ("fp8_e4m3", &fp8),
        ("fp8_e5m2", &fp8),
        ("FP8", &fp8),
    ] {
        let v = long_context(spelling);
        assert_eq!(v["kv_cache_dtype"], same["kv_cache_dtype"], "{spelling}");
        assert_eq!(v["energy_wh"], same["energy_wh"], "{spelling}");
    }
    let fp16 = long_context("float16");
    assert_eq!(fp16["kv_cache_dtype"], "fp16");
    assert_eq!(fp16["kv_capacity_tokens"], bf16["kv_capacity_tokens"]);
}

#[test]
fn auto_keeps_wattages_rule() {
    // bf16 weights: a bf16 cache, given `auto` or nothing.
    let plain = estimate(&["--model", "llama-3.1-70b"]);
    assert_eq!(plain["kv_cache_dtype"], "bf16");
    assert_eq!(plain["kv_cache_dtype_source"], "auto");
    let auto = estimate(&["--model", "llama-3.1-70b", "--kv-cache-dtype", "auto"]);
    assert_eq!(auto, plain);
    // fp8 weights (an `-FP8` repository id, or `--precision fp8`): an fp8 cache.
    let repo = estimate(&[
        "--model",
        "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
        "--kv-cache-dtype",
        "auto",
    ]);
    assert_eq!(repo["precision"], "fp8");
    assert_eq!(repo["kv_cache_dtype"], "fp8");
    assert_eq!(repo["kv_cache_dtype_source"], "auto");
    let fp8 = estimate(&["--model", "llama-3.1-70b", "--precision", "fp8"]);
    assert_eq!(fp8["kv_cache_dtype"], "fp8");
    // vLLM's own auto, a 16-bit cache beside fp8 weights, is a given bf16.
    let vllm = estimate(&[
        "--model",
        "llama-3.1-70b",
        "--precision",
        "fp8",
        "--kv-cache-dtype",
        "bf16",
    ]);
    assert_eq!(vllm["kv_cache_dtype"], "bf16");
    assert_eq!(vllm["kv_cache_dtype_source"], "given");
    assert!(f(&vllm, "kv_capacity_tokens") < f(&fp8, "kv_capacity_tokens"));
}

#[test]
fn the_summary_shows_a_cache_unlike_the_weights_and_explain_says_why() {
    let text = |args: &[&str]| {
        let mut a = vec!["estimate", "--model", "llama-3.1-70b", "--samples", "0"];
        a.extend_from_slice(args);
        let o = wattage(&a);
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let first = |t: &str| t.lines().next().unwrap().to_string();
    let same = text(&[]);
    assert!(!first(&same).contains("KV cache"), "{same}");
    let given = text(&["--kv-cache-dtype", "fp8"]);
    assert!(
        first(&given).contains("(TP4, bf16, KV cache fp8)"),
        "{given}"
    );
    let explained = text(&["--kv-cache-dtype", "fp8", "--explain"]);
    assert!(
        explained
            .lines()
            .any(|l| l.contains("KV cache   fp8") && l.contains("given (`--kv-cache-dtype`)")),
        "{explained}"
    );
    let auto = text(&["--explain"]);
    assert!(
        auto.lines().any(|l| l.contains("KV cache   bf16")
            && l.contains("`--kv-cache-dtype` auto")
            && l.contains("vLLM's own auto")),
        "{auto}"
    );
    let help = wattage(&["estimate", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--kv-cache-dtype") && help.contains("vLLM's own auto"),
        "{help}"
    );
}

#[test]
fn a_bad_kv_cache_dtype_exits_2_naming_the_flag() {
    for args in [
        vec!["estimate", "--samples", "0", "--kv-cache-dtype", "int8"],
        vec!["estimate", "--samples", "0", "--kv-cache-dtype", "fp4"],
        vec![
            "simulate",
            "serving",
            "--requests",
            "10",
            "--kv-cache-dtype",
            "e4m3",
        ],
    ] {
        let o = wattage(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("invalid `--kv-cache-dtype`") && err.contains("fp8_e4m3"),
            "{args:?}: {err}"
        );
    }
    let o = wattage(&[
        "estimate",
        "--samples",
        "0",
        "--compare",
        "h100-sxm,kv_cache_dtype=fp9",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`kv_cache_dtype` `fp9`"), "{err}");
}

#[test]
fn compare_takes_the_cache_type() {
    let v = estimate(&[
        "--model",
        "llama-3.1-70b",
        "--input-tokens",
        "30000",
        "--batch",
        "8",
        "--compare",
        "h100-sxm,kv_cache_dtype=fp8",
    ]);
    let c = &v["compared"][0];
    assert!(f(c, "energy_wh") < f(&v, "energy_wh"), "{v}");
}

#[test]
fn serving_takes_the_flag_and_the_config_files_key() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kv-cache-dtype-config");
    std::fs::create_dir_all(&dir).unwrap();
    let serve = |extra: &[&str]| {
        let mut a = vec![
            "simulate",
            "serving",
            "--model",
            "llama-3.1-70b",
            "--tensor-parallel-size",
            "4",
            "--requests",
            "40",
            "--rate",
            "4",
            "--input-tokens",
            "20000",
            "--json",
        ];
        a.extend_from_slice(extra);
        wattage(&a)
    };
    let bf16 = json(&serve(&[]));
    let fp8 = json(&serve(&["--kv-cache-dtype", "fp8"]));
    // The paged cache holds twice the tokens: no preemption, less recomputed prefill.
    assert_eq!(
        f(&fp8, "kv_capacity_tokens"),
        2.0 * f(&bf16, "kv_capacity_tokens")
    );
    assert!(
        f(&fp8, "energy_wh_per_request") < f(&bf16, "energy_wh_per_request"),
        "fp8 {fp8}\nbf16 {bf16}"
    );
    let cfg = dir.join("fp8.toml");
    std::fs::write(&cfg, "kv_cache_dtype = \"fp8_e5m2\"\n").unwrap();
    let from_file = json(&serve(&["--config", cfg.to_str().unwrap()]));
    assert_eq!(from_file, fp8);
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "model = \"llama-3.1-70b\"\nkv_cache_dtype = \"int8\"\n",
    )
    .unwrap();
    let o = serve(&["--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml:2:") && err.contains("kv_cache_dtype") && err.contains("int8"),
        "{err}"
    );
}
