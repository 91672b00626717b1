//! A replica in vLLM's words in every job: `tensor_parallel_size`, `data_parallel_size`,
//! `enable_expert_parallel` (old spellings read with a deprecation warning), the fewest-GPUs
//! rule per data-parallel rank, and a Hugging Face `config.json` named by a run scenario.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use wattage_engine::{Catalog, FileSystem, Input, ReplicaSpec};

fn scenario(service: &str) -> String {
    format!(
        "name = \"t\"\n\n[[service]]\nname = \"chat\"\nhardware = \"h100-sxm\"\n\
         requests_per_day = 1e6\ninput_tokens = 500\noutput_tokens = 200\n{service}\n\n\
         [site]\nscenario = \"builtin:colossus\"\ninference_load = \"serving\"\n"
    )
}

fn load(service: &str, dir: &Path) -> wattage_engine::Result<wattage_engine::run::Loaded> {
    wattage_engine::run::load(
        &FileSystem,
        Some(&Input::Text {
            text: scenario(service),
            name: "run.toml".into(),
            dir: dir.to_path_buf(),
        }),
    )
}

#[test]
fn data_parallel_ranks_each_take_the_fewest_gpus_that_fit() {
    let cat = Catalog::builtin();
    let d = ReplicaSpec {
        data_parallel_size: Some(2),
        ..ReplicaSpec::new("llama-3.1-70b", "h100-sxm")
    }
    .resolve(&cat)
    .unwrap();
    // 141 GB of bf16 weights per rank need four 80 GB GPUs, as a lone replica does.
    assert_eq!(
        (d.parallelism.tensor, d.parallelism.data, d.gpus),
        (4, 2, 8)
    );
    let e = ReplicaSpec {
        tensor_parallel_size: Some(2),
        data_parallel_size: Some(4),
        enable_expert_parallel: true,
        ..ReplicaSpec::new("qwen3-30b-a3b", "h100-sxm")
    }
    .resolve(&cat)
    .unwrap();
    assert_eq!(e.gpus, 8);
    assert!(e.parallelism.expert);
}

#[test]
fn run_services_take_the_layout_and_warn_about_old_keys() {
    let cat = Catalog::builtin();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let new = load(
        "model = \"llama-3.1-8b\"\ntensor_parallel_size = 2\ndata_parallel_size = 2\nmax_num_seqs = 64",
        dir,
    )
    .unwrap();
    assert!(new.deprecations().is_empty());
    let d = wattage_engine::run::deployments(&cat, &new).unwrap();
    assert_eq!(d[0].gpus, 4);
    assert_eq!(new.scenario.service[0].max_num_seqs(), 64);
    let old = load(
        "model = \"llama-3.1-8b\"\ngpus_per_replica = 2\nmax_batch = 64",
        dir,
    )
    .unwrap();
    let w = old.deprecations();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("`service[0].gpus_per_replica`") && w[0].contains("`tensor_parallel_size`")
    );
    assert!(w[1].contains("`service[0].max_batch`") && w[1].contains("`max_num_seqs`"));
    assert_eq!(
        wattage_engine::run::deployments(&cat, &old).unwrap()[0].gpus,
        2
    );
    assert_eq!(old.scenario.service[0].max_num_seqs(), 64);
    let both = load(
        "model = \"llama-3.1-8b\"\ngpus_per_replica = 2\ntensor_parallel_size = 2",
        dir,
    )
    .unwrap_err();
    assert!(
        both.to_string()
            .contains("give only `tensor_parallel_size`"),
        "{both}"
    );
    // A deployment that does not fit names the service's own key.
    let e = wattage_engine::run::deployments(
        &cat,
        &load("model = \"llama-3.1-70b\"\ngpus_per_replica = 1", dir).unwrap(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("gpus_per_replica"), "{e}");
}

#[test]
fn a_run_service_may_name_a_config_json_beside_the_scenario() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("replica-layout-hf");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../wattage-catalog/tests/fixtures/hf/Qwen__Qwen3-8B.json"),
        dir.join("qwen3-8b.json"),
    )
    .unwrap();
    let loaded = load("model = \"qwen3-8b.json\"", &dir).unwrap();
    let d = wattage_engine::run::deployments(&Catalog::builtin(), &loaded).unwrap();
    assert_eq!(d[0].model.id, "qwen3-8b.json");
    assert_eq!(d[0].model.layers, 36);
    let e = load("model = \"missing.json\"", &dir).unwrap_err();
    assert!(e.to_string().contains("missing.json"), "{e}");
}

#[test]
fn a_replica_takes_vllms_kv_cache_dtype() {
    let cat = Catalog::builtin();
    let resolve = |kv: Option<&str>, precision: Option<&str>| {
        ReplicaSpec {
            tensor_parallel_size: Some(4),
            kv_cache_dtype: kv.map(str::to_string),
            precision: precision.map(str::to_string),
            ..ReplicaSpec::new("llama-3.1-70b", "h100-sxm")
        }
        .resolve(&cat)
    };
    let auto = resolve(None, None).unwrap();
    assert_eq!(auto.kv_precision, wattage_catalog::Precision::Bf16);
    assert_eq!(
        resolve(Some("auto"), Some("fp8")).unwrap().kv_precision,
        wattage_catalog::Precision::Fp8
    );
    let fp8 = resolve(Some("fp8_e4m3"), None).unwrap();
    assert_eq!(fp8.kv_precision, wattage_catalog::Precision::Fp8);
    assert!((fp8.kv_capacity_tokens() / auto.kv_capacity_tokens() - 2.0).abs() < 1e-12);
    let e = resolve(Some("int8"), None).unwrap_err();
    assert_eq!(
        e.location,
        wattage_engine::Location::Param {
            name: "kv_cache_dtype".into()
        }
    );
}

#[test]
fn run_services_take_the_kv_cache_dtype_and_name_a_bad_one_in_the_file() {
    let cat = Catalog::builtin();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let base = "model = \"llama-3.1-70b\"\ntensor_parallel_size = 4";
    let auto = load(base, dir).unwrap();
    let fp8 = load(&format!("{base}\nkv_cache_dtype = \"fp8\""), dir).unwrap();
    let (auto, fp8) = (
        wattage_engine::run::deployments(&cat, &auto).unwrap(),
        wattage_engine::run::deployments(&cat, &fp8).unwrap(),
    );
    assert_eq!(auto[0].kv_precision, wattage_catalog::Precision::Bf16);
    assert_eq!(fp8[0].kv_precision, wattage_catalog::Precision::Fp8);
    assert!(fp8[0].kv_capacity_tokens() > 1.99 * auto[0].kv_capacity_tokens());
    let bad = load(&format!("{base}\nkv_cache_dtype = \"fp4\""), dir).unwrap();
    let e = wattage_engine::run::deployments(&cat, &bad).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("run.toml:")
            && msg.contains("service[0].kv_cache_dtype")
            && msg.contains("fp4"),
        "{msg}"
    );
}
