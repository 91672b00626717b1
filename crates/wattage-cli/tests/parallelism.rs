//! vLLM's deployment vocabulary on the command line (`--tensor-parallel-size`, its alias
//! `--gpus`, `--data-parallel-size`, `--enable-expert-parallel`), a batch larger than the KV
//! cache holds (estimated at the largest that fits, with a warning, exit 0), `-FP8`
//! repository ids, and every measured deployment of the ML.ENERGY v3 calibration set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{json, wattage};
use wattage_engine::EstimateSpec;

fn estimate(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["estimate", "--samples", "0", "--json"];
    args.extend_from_slice(extra);
    json(&wattage(&args))
}

#[test]
fn tensor_and_data_parallel_sizes_multiply_into_the_replicas_gpus() {
    let v = estimate(&[
        "--model",
        "llama-3.1-8b",
        "--tensor-parallel-size",
        "2",
        "--data-parallel-size",
        "2",
    ]);
    assert_eq!(v["tensor_parallel_size"], 2);
    assert_eq!(v["data_parallel_size"], 2);
    assert_eq!(v["gpus"], 4);
    assert_eq!(v["enable_expert_parallel"], false);
    // Hardware is paid per GPU of the replica: four GPUs' worth of provisioned time.
    assert!(v["cost"]["provisioned_gpu_hours"].as_f64().unwrap() > 0.0);
    let ep = estimate(&[
        "--model",
        "qwen3-30b-a3b",
        "--tensor-parallel-size",
        "2",
        "--enable-expert-parallel",
    ]);
    assert_eq!(ep["enable_expert_parallel"], true);
    assert_eq!(ep["gpus"], 2);
}

#[test]
fn gpus_is_an_alias_of_tensor_parallel_size() {
    let a = estimate(&["--model", "llama-3.1-70b", "--gpus", "8"]);
    let b = estimate(&["--model", "llama-3.1-70b", "--tensor-parallel-size", "8"]);
    assert_eq!(a["tensor_parallel_size"], 8);
    assert_eq!(a["energy_wh"], b["energy_wh"]);
    // Without a size, the fewest GPUs that hold the weights, as before.
    let c = estimate(&["--model", "llama-3.1-70b"]);
    assert_eq!(c["tensor_parallel_size"], 4);
    assert_eq!(c["data_parallel_size"], 1);
    let help = wattage(&["estimate", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--tensor-parallel-size",
        "--data-parallel-size",
        "--enable-expert-parallel",
        "gpus",
        "running sequences",
    ] {
        assert!(help.contains(flag), "`{flag}` missing from --help");
    }
}

#[test]
fn a_zero_or_absurd_size_is_refused_naming_its_flag() {
    for (flag, v) in [
        ("--tensor-parallel-size", "0"),
        ("--data-parallel-size", "0"),
        ("--data-parallel-size", "100000"),
    ] {
        let o = wattage(&["estimate", flag, v, "--samples", "0"]);
        assert_eq!(o.status.code(), Some(2), "{flag} {v}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(flag), "{flag} {v}: {err}");
    }
}

#[test]
fn a_batch_the_kv_cache_cannot_hold_runs_at_the_largest_that_fits() {
    let o = wattage(&[
        "estimate",
        "--model",
        "llama-3.1-70b",
        "--tensor-parallel-size",
        "4",
        "--batch",
        "2000",
        "--input-tokens",
        "4000",
        "--output-tokens",
        "2000",
        "--samples",
        "0",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    // Asked, used, the KV capacity in tokens and the steady context, named.
    for part in [
        "`--batch` 2,000",
        "KV cache holds",
        "5,000",
        "prompt + output / 2",
    ] {
        assert!(lines[0].contains(part), "`{part}` missing: {}", lines[0]);
    }
    let v = json(&o);
    let used = v["batch_used"].as_f64().unwrap();
    assert_eq!(v["batch"], 2000.0);
    assert!((1.0..2000.0).contains(&used), "{used}");
    assert_eq!(v["steady_context_tokens"], 5000.0);
    let cap = v["kv_capacity_tokens"].as_f64().unwrap();
    assert!(
        (used * 5000.0 / cap - 1.0).abs() < 0.01,
        "{used} x 5000 vs {cap}"
    );
    let w = v["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1);
    assert!(w[0].as_str().unwrap().contains("`--batch`"), "{w:?}");
    assert!(v["energy_wh"].as_f64().unwrap().is_finite());
    // A batch that fits: no warning, the batch asked for.
    let o = wattage(&["estimate", "--batch", "8", "--samples", "0", "--json"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"));
    let v = json(&o);
    assert_eq!(v["batch_used"], 8.0);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0);
    // The text summary says which batch it ran at.
    let o = wattage(&[
        "estimate",
        "--model",
        "llama-3.1-70b",
        "--batch",
        "2000",
        "--input-tokens",
        "4000",
        "--output-tokens",
        "2000",
        "--samples",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("(asked 2000)"));
}

#[test]
fn an_fp8_repository_id_selects_fp8_weights_unless_a_precision_is_given() {
    let repo = "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8";
    let v = estimate(&["--model", repo, "--hardware", "h100-sxm"]);
    assert_eq!(v["precision"], "fp8");
    assert_eq!(v["precision_source"], "repository_id");
    let lower = estimate(&["--model", &repo.to_lowercase(), "--hardware", "h100-sxm"]);
    assert_eq!(lower["precision"], "fp8");
    let given = estimate(&[
        "--model",
        repo,
        "--hardware",
        "h100-sxm",
        "--precision",
        "bf16",
    ]);
    assert_eq!(given["precision"], "bf16");
    assert_eq!(given["precision_source"], "given");
    let plain = estimate(&["--model", "Qwen/Qwen3-235B-A22B-Instruct-2507"]);
    assert_eq!(plain["precision"], "bf16");
    assert_eq!(plain["precision_source"], "model");
    // --explain says why.
    let o = wattage(&["estimate", "--model", repo, "--samples", "0", "--explain"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("ends in `-FP8`") && text.contains("`--precision`"),
        "{text}"
    );
}

#[test]
fn serving_takes_the_same_deployment() {
    let v = json(&wattage(&[
        "simulate",
        "serving",
        "--model",
        "llama-3.1-8b",
        "--tensor-parallel-size",
        "2",
        "--data-parallel-size",
        "2",
        "--requests",
        "50",
        "--rate",
        "5",
        "--json",
    ]));
    assert_eq!(v["gpus_per_replica"], 4);
    let alias = json(&wattage(&[
        "simulate",
        "serving",
        "--model",
        "llama-3.1-8b",
        "--gpus",
        "2",
        "--requests",
        "50",
        "--rate",
        "5",
        "--json",
    ]));
    assert_eq!(alias["gpus_per_replica"], 2);
    let help = wattage(&["simulate", "serving", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--tensor-parallel-size") && help.contains("--data-parallel-size"));
}

#[test]
fn a_serving_config_file_takes_the_new_keys_and_warns_about_gpus() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parallelism-config");
    std::fs::create_dir_all(&dir).unwrap();
    let new = dir.join("new.toml");
    std::fs::write(
        &new,
        "model = \"llama-3.1-8b\"\ntensor_parallel_size = 2\ndata_parallel_size = 2\n",
    )
    .unwrap();
    let old = dir.join("old.toml");
    std::fs::write(&old, "model = \"llama-3.1-8b\"\ngpus = 2\n").unwrap();
    let args = |p: &Path| {
        vec![
            "simulate".to_string(),
            "serving".into(),
            "--config".into(),
            p.display().to_string(),
            "--requests".into(),
            "20".into(),
            "--json".into(),
        ]
    };
    let run = |p: &Path| {
        let a = args(p);
        wattage(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let o = run(&new);
    assert_eq!(json(&o)["gpus_per_replica"], 4);
    let o = run(&old);
    assert_eq!(json(&o)["gpus_per_replica"], 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("`gpus` is deprecated") && err.contains("tensor_parallel_size"),
        "{err}"
    );
}

/// The calibration set, read from the shared reference copy: a missing file fails the test.
fn calibration_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/mlenergy-v3-calibration.csv")
}

/// One measured deployment as `wattage estimate` flags (see the `.md` beside the CSV).
struct Row {
    model: String,
    hardware: &'static str,
    precision: String,
    tensor: u32,
    data: u32,
    expert: bool,
    batch: String,
    output_tokens: String,
}

impl Row {
    fn flags(&self) -> Vec<String> {
        let mut f = vec![
            "--model".to_string(),
            self.model.clone(),
            "--hardware".into(),
            self.hardware.into(),
            "--precision".into(),
            self.precision.clone(),
            "--tensor-parallel-size".into(),
            self.tensor.to_string(),
            "--data-parallel-size".into(),
            self.data.to_string(),
            "--batch".into(),
            self.batch.clone(),
            "--output-tokens".into(),
            self.output_tokens.clone(),
            "--scope".into(),
            "gpu".into(),
        ];
        if self.expert {
            f.push("--enable-expert-parallel".into());
        }
        f
    }

    fn spec(&self) -> EstimateSpec {
        EstimateSpec {
            model: Some(self.model.clone()),
            hardware: Some(self.hardware.into()),
            precision: Some(self.precision.clone()),
            tensor_parallel_size: Some(self.tensor),
            data_parallel_size: Some(self.data),
            enable_expert_parallel: self.expert,
            batch: Some(self.batch.parse().unwrap()),
            output_tokens: Some(self.output_tokens.parse().unwrap()),
            scope: "gpu".into(),
            samples: 0,
            ..EstimateSpec::default()
        }
    }
}

fn calibration_rows() -> Vec<Row> {
    let path = calibration_csv();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the ML.ENERGY v3 calibration set `{}` is missing: {e}",
            path.display()
        )
    });
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column `{name}`"))
    };
    let (model, prec, gpu, n, tp, ep, dp, batch, out) = (
        col("model_repo"),
        col("weight_precision"),
        col("gpu"),
        col("num_gpus"),
        col("tensor_parallel"),
        col("expert_parallel"),
        col("data_parallel"),
        col("avg_batch_size"),
        col("avg_output_len"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let int = |i: usize| c[i].trim().parse::<u32>().unwrap();
            let (tensor, data, expert) = if int(ep) > 1 && int(tp) == 1 && int(dp) == 1 {
                // Experts spread over all the replica's GPUs, attention sharded over them.
                (int(n), 1, true)
            } else {
                (int(tp), int(dp), int(ep) > 1)
            };
            Row {
                model: c[model].to_string(),
                hardware: match c[gpu] {
                    "H100" => "h100-sxm",
                    "B200" => "b200",
                    g => panic!("unknown accelerator `{g}` in the calibration set"),
                },
                precision: match c[prec] {
                    "mxfp4" => "fp4".to_string(),
                    p => p.to_string(),
                },
                tensor,
                data,
                expert,
                batch: c[batch].to_string(),
                output_tokens: c[out].to_string(),
            }
        })
        .collect()
}

/// Issue 11's coverage goal: every measured configuration of the calibration set can be
/// estimated with its measured deployment, with no refusal and a finite energy. All rows run
/// through the engine in-process; one row of each model and accelerator through the binary.
#[test]
fn every_calibration_row_is_estimated_with_its_measured_deployment() {
    let rows = calibration_rows();
    assert!(rows.len() >= 267, "only {} rows", rows.len());
    let cat = wattage_engine::Catalog::builtin();
    let mut failures = Vec::new();
    for r in &rows {
        match wattage_engine::estimate::run(&cat, &r.spec()) {
            Ok(e) => {
                let total = e.gpus;
                if !(e.energy_wh.is_finite() && e.energy_wh > 0.0) || total != r.tensor * r.data {
                    failures.push(format!(
                        "{}: energy {} Wh on {} GPUs",
                        r.flags().join(" "),
                        e.energy_wh,
                        e.gpus
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", r.flags().join(" "))),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows fail:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    let mut seen = std::collections::HashSet::new();
    for r in rows
        .iter()
        .filter(|r| seen.insert((r.model.clone(), r.hardware, r.tensor, r.expert)))
    {
        let mut args = vec!["estimate".to_string(), "--samples".into(), "0".into()];
        args.extend(r.flags());
        args.push("--json".into());
        let o = wattage(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(o.status.code(), Some(0), "{}", args.join(" "));
        let v = json(&o);
        assert!(v["energy_wh"].as_f64().unwrap().is_finite(), "{args:?}");
    }
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn a_hugging_face_config_json_is_a_model() {
    let file = data("hf-qwen3-8b-config.json");
    let path = file.display().to_string();
    let v = estimate(&["--model", &path]);
    assert_eq!(v["model"], path.as_str());
    assert!(v["energy_wh"].as_f64().unwrap() > 0.0);
    // The same architecture as the catalog's entry: the same energy within the reader's
    // parameter count (3%).
    let cat = estimate(&["--model", "qwen3-8b"]);
    let ratio = v["energy_wh"].as_f64().unwrap() / cat["energy_wh"].as_f64().unwrap();
    assert!((ratio - 1.0).abs() < 0.05, "{ratio}");
    // Serving takes it too.
    let s = json(&wattage(&[
        "simulate",
        "serving",
        "--model",
        &path,
        "--requests",
        "20",
        "--json",
    ]));
    assert_eq!(s["model"], path.as_str());
}

#[test]
fn a_bad_config_json_names_the_file_and_exits_2() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hf-config");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("hf-qwen3-8b-config.json")).unwrap())
            .unwrap();
    cfg.as_object_mut().unwrap().remove("num_hidden_layers");
    let missing = dir.join("missing-layers.json");
    std::fs::write(&missing, cfg.to_string()).unwrap();
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"model_type\": ").unwrap();
    let absent = dir.join("absent.json");
    for (file, words) in [
        (&missing, vec!["num_hidden_layers"]),
        (&broken, vec![]),
        (&absent, vec!["cannot read"]),
    ] {
        let p = file.display().to_string();
        let o = wattage(&["estimate", "--model", &p, "--samples", "0"]);
        assert_eq!(o.status.code(), Some(2), "{p}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&p) && err.contains("--model"), "{err}");
        for w in words {
            assert!(err.contains(w), "`{w}` missing: {err}");
        }
        assert!(o.stdout.is_empty());
    }
    // A repository id the catalog does not know is still an unknown model, not a file.
    let o = wattage(&[
        "estimate",
        "--model",
        "nobody/no-such-model",
        "--samples",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown model"));
}
