//! The Hugging Face `config.json` reader against the published configs of the catalog's
//! model families (`tests/fixtures/hf/`, sources in its README.md): each derives the
//! architecture of its catalog entry exactly and its parameter counts within 3%; and the
//! reader's errors name what is wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use wattage_catalog::{Catalog, Model, model_from_hf_config};

/// Every fixture must exist; more may.
const REQUIRED: &[&str] = &[
    "meta-llama__Llama-3.1-8B",
    "meta-llama__Llama-3.1-70B",
    "Qwen__Qwen3-8B",
    "Qwen__Qwen3-32B",
    "Qwen__Qwen3-30B-A3B",
    "Qwen__Qwen3-235B-A22B",
    "mistralai__Mixtral-8x7B-v0.1",
    "deepseek-ai__DeepSeek-V3",
    "openai__gpt-oss-20b",
    "openai__gpt-oss-120b",
    "google__gemma-3-12b-it",
    "google__gemma-3-27b-it",
    "meta-llama__Llama-4-Scout-17B-16E-Instruct",
    "meta-llama__Llama-4-Maverick-17B-128E-Instruct",
    "nvidia__NVIDIA-Nemotron-Nano-9B-v2",
];

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The fields the request model reads, as one comparable tuple.
fn architecture(m: &Model) -> String {
    format!(
        "layers {} hidden {} heads {} kv_heads {} head_dim {} ffn {} experts {}/{} \
         moe_layers {} shared {:?} sliding {:?} mla {:?}/{:?} kv/token/layer {} \
         attention_layers {} ssm {:?} x {:?}",
        m.layers,
        m.hidden,
        m.heads,
        m.kv_heads,
        m.head_dim,
        m.ffn,
        m.experts,
        m.experts_active,
        m.moe_layer_count(),
        m.shared_experts,
        m.sliding(),
        m.kv_lora_rank,
        m.qk_rope_head_dim,
        m.kv_values_per_token_layer(),
        m.attention_layer_count(),
        m.ssm_layers,
        m.ssm_state_values,
    )
}

#[test]
fn every_fixture_derives_its_catalog_entry() {
    let catalog = Catalog::builtin();
    let files = fixtures();
    for want in REQUIRED {
        assert!(
            files.iter().any(|(n, _)| n == &format!("{want}.json")),
            "missing fixture {want}.json"
        );
    }
    for (name, text) in &files {
        let derived = model_from_hf_config(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let repo = &derived.hf_repos[0];
        let entry = catalog
            .model(repo)
            .unwrap_or_else(|e| panic!("{name}: its repository is in no catalog entry: {e}"));
        assert_eq!(
            architecture(&derived),
            architecture(entry),
            "{name} against catalog `{}`",
            entry.id
        );
        assert_eq!(
            derived.source("layers"),
            format!("derived from {name} by wattage")
        );

        let total = derived.params_total_b / entry.params_total_b;
        assert!(
            (0.97..=1.03).contains(&total),
            "{name}: {:.2}B total derived, catalog `{}` says {}B",
            derived.params_total_b,
            entry.id,
            entry.params_total_b
        );
        // OpenAI's gpt-oss card counts active parameters without the input embedding table
        // (a lookup, not a matrix product); the reader counts it, as the other publishers do.
        let embedding_b = if name.starts_with("openai__gpt-oss") {
            201_088.0 * 2880.0 / 1e9
        } else {
            0.0
        };
        let active = (derived.params_active_b - embedding_b) / entry.params_active_b;
        assert!(
            (0.97..=1.03).contains(&active),
            "{name}: {:.2}B active derived, catalog `{}` says {}B",
            derived.params_active_b,
            entry.id,
            entry.params_active_b
        );
    }
}

#[test]
fn precision_comes_from_the_quantization_config_or_dtype() {
    let get = |n: &str| {
        let (name, text) = fixtures().into_iter().find(|(f, _)| f == n).unwrap();
        model_from_hf_config(&text, &name).unwrap().precision
    };
    use wattage_catalog::Precision::*;
    assert_eq!(get("deepseek-ai__DeepSeek-V3.json"), Fp8);
    assert_eq!(get("openai__gpt-oss-120b.json"), Fp4);
    assert_eq!(get("Qwen__Qwen3-8B.json"), Bf16);
    assert_eq!(get("google__gemma-3-27b-it.json"), Bf16);
}

const SMALL: &str = r#"{
  "model_type": "qwen3",
  "num_hidden_layers": 4,
  "hidden_size": 256,
  "num_attention_heads": 4,
  "num_key_value_heads": 2,
  "head_dim": 64,
  "intermediate_size": 512,
  "vocab_size": 1000,
  "max_position_embeddings": 4096,
  "torch_dtype": "bfloat16"
}"#;

#[test]
fn unknown_fields_are_ignored() {
    let plain = model_from_hf_config(SMALL, "Acme__Small.json").unwrap();
    let extra = SMALL.replacen(
        "\"model_type\"",
        "\"some_future_field\": {\"nested\": [1, 2, 3]},\n  \"model_type\"",
        1,
    );
    let m = model_from_hf_config(&extra, "Acme__Small.json").unwrap();
    assert_eq!(architecture(&m), architecture(&plain));
    assert_eq!(m.params_total_b, plain.params_total_b);
}

#[test]
fn a_missing_required_field_is_named_with_the_file() {
    let text = SMALL.replace("\"num_hidden_layers\": 4,\n", "");
    let e = model_from_hf_config(&text, "config.json")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("config.json")
            && e.contains("`num_hidden_layers`")
            && e.contains("the number of transformer layers"),
        "{e}"
    );
    // In a nested text_config the path is given as written.
    let text = r#"{"model_type": "gemma3", "text_config": {"hidden_size": 64}}"#;
    let e = model_from_hf_config(text, "gemma.json")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("gemma.json") && e.contains("`text_config.num_hidden_layers`"),
        "{e}"
    );
    // A value of the wrong kind is named too.
    let text = SMALL.replace("\"hidden_size\": 256", "\"hidden_size\": \"wide\"");
    let e = model_from_hf_config(&text, "config.json")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`hidden_size`") && e.contains("whole number"),
        "{e}"
    );
}

#[test]
fn malformed_json_gives_line_and_column() {
    let text = SMALL.replace("\"hidden_size\": 256,", "\"hidden_size\": 256,,");
    let e = model_from_hf_config(&text, "config.json").unwrap_err();
    match &e {
        wattage_catalog::CatalogError::Parse { line, column, .. } => {
            assert_eq!((*line, *column), (4, 22), "{e}");
        }
        other => panic!("expected a parse error, got {other}"),
    }
    let s = e.to_string();
    assert!(s.contains("config.json") && s.contains(":4:22:"), "{s}");
}

#[test]
fn unsupported_model_type_is_named() {
    let text = SMALL.replace("\"qwen3\"", "\"falcon_mamba\"");
    let e = model_from_hf_config(&text, "config.json")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`falcon_mamba`") && e.contains("llama, qwen2, qwen3"),
        "{e}"
    );
}

#[test]
fn sliding_windows_follow_each_families_rule() {
    // Qwen with use_sliding_window: the layers from max_window_layers on.
    let text = SMALL
        .replace("\"torch_dtype\"", "\"use_sliding_window\": true, \"sliding_window\": 1024, \"max_window_layers\": 1, \"torch_dtype\"");
    let m = model_from_hf_config(&text, "config.json").unwrap();
    assert_eq!((m.sliding_window, m.sliding_layers), (Some(1024), Some(3)));
    // Off (the published Qwen configs) means none, whatever sliding_window says.
    let text = SMALL.replace(
        "\"torch_dtype\"",
        "\"use_sliding_window\": false, \"sliding_window\": 4096, \"torch_dtype\"",
    );
    let m = model_from_hf_config(&text, "config.json").unwrap();
    assert_eq!(m.sliding(), None);
}
