//! `wattage estimate --compare`: the same request on other deployments, side by side (seed
//! 000: a local 8B model on a PC against a cloud replica, per output token).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{json, wattage};

#[test]
fn a_local_int4_model_against_a_cloud_replica_per_output_token() {
    let v = json(&wattage(&[
        "estimate",
        "--model",
        "llama-3.1-8b",
        "--hardware",
        "rtx-4090",
        "--precision",
        "int4",
        "--batch",
        "1",
        "--scope",
        "server",
        "--samples",
        "0",
        "--compare",
        "h100-sxm,batch=64",
        "--compare",
        "apple-m4-max,precision=int4",
        "--json",
    ]));
    let c = v["compared"].as_array().unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0]["hardware"], "h100-sxm");
    assert_eq!(
        c[0]["precision"], "bf16",
        "the model's own precision on new hardware"
    );
    assert_eq!(c[0]["batch_used"], 64.0);
    assert_eq!(c[1]["hardware"], "apple-m4-max");
    assert_eq!(c[1]["precision"], "int4");
    let local = v["energy_j_per_output_token"].as_f64().unwrap();
    let cloud = c[0]["energy_j_per_output_token"].as_f64().unwrap();
    // A lone user's sequence reads the whole model for every token; a cloud replica shares
    // each read among 64 sequences: the cloud is an order of magnitude cheaper per token.
    assert!(local > 5.0 * cloud, "local {local} J/token, cloud {cloud}");
    // Each comparison is the engine's own estimate of that deployment.
    let alone = json(&wattage(&[
        "estimate",
        "--model",
        "llama-3.1-8b",
        "--hardware",
        "h100-sxm",
        "--batch",
        "64",
        "--scope",
        "server",
        "--samples",
        "0",
        "--json",
    ]));
    assert_eq!(c[0]["energy_wh"], alone["energy_wh"]);
    // The text table lists the main deployment and each comparison.
    let out = String::from_utf8(
        wattage(&[
            "estimate",
            "--model",
            "llama-3.1-8b",
            "--hardware",
            "rtx-4090",
            "--precision",
            "int4",
            "--batch",
            "1",
            "--samples",
            "0",
            "--compare",
            "h100-sxm,batch=64",
        ])
        .stdout,
    )
    .unwrap();
    assert!(out.contains("1 x rtx-4090 (int4)"), "{out}");
    assert!(out.contains("1 x h100-sxm (bf16)"), "{out}");
}

#[test]
fn a_bad_comparison_names_the_flag_and_exits_2() {
    for (entry, says) in [
        ("h100-sxm,speed=2", "unknown key `speed`"),
        ("h100-sxm,batch=many", "`batch` needs a number"),
        ("no-such-gpu", "no-such-gpu"),
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_wattage"))
            .args([
                "estimate",
                "--model",
                "llama-3.1-8b",
                "--samples",
                "0",
                "--compare",
                entry,
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{entry}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("--compare"), "{entry}: {err}");
        assert!(err.contains(says), "{entry}: {err}");
        assert!(o.stdout.is_empty(), "{entry}: nothing half-written");
    }
}
