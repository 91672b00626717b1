//! Catalogs of accelerators, language models and grid regions, as data with a source for every
//! number.
//!
//! The built-in catalog is compiled in from the TOML files under `data/` (one table per entry,
//! raw numbers named with their unit, and a `sources` table that gives a source for every numeric
//! field). Users extend or override it with their own files in the same schema: an entry whose
//! `id` matches a built-in one replaces it, a new `id` adds one. This crate does no IO: callers
//! read files and hand their text to [`Catalog::merge_toml`].
//!
//! ```
//! use wattage_catalog::Catalog;
//! let cat = Catalog::builtin();
//! let h100 = cat.hardware("h100").unwrap();
//! assert_eq!(h100.tdp().w(), 700.0);
//! let m = cat.model("meta-llama/Llama-3.1-70B-Instruct").unwrap();
//! assert_eq!(m.layers, 80);
//! ```

mod hf;
mod types;

use std::collections::BTreeSet;

pub use hf::{SUPPORTED_MODEL_TYPES, model_from_hf_config};
pub use types::{Hardware, HardwareRoofline, MAX_VALUES, Model, Precision, Region};

/// What went wrong reading a catalog file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file is not valid TOML or does not match the schema.
    #[error("`{origin}`:{line}:{column}: {message}")]
    Parse {
        /// Where the text came from (a path, or `built-in`).
        origin: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// An entry parsed but its values are impossible.
    #[error("`{origin}`: {kind} `{id}`: field `{field}`: {reason}")]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// `hardware`, `model` or `region`.
        kind: &'static str,
        /// The entry's id.
        id: String,
        /// The offending field.
        field: String,
        /// Why it is rejected.
        reason: String,
    },
}

/// A name that matched no catalog entry, with the closest names that exist.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown {kind} `{name}`{}", suggestion(.suggestions))]
pub struct UnknownName {
    /// `hardware`, `model` or `region`.
    pub kind: &'static str,
    /// The name asked for.
    pub name: String,
    /// Up to three close matches, best first.
    pub suggestions: Vec<String>,
}

fn suggestion(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(
            "; did you mean {}?",
            s.iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The schema of one catalog file; every section is optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    hardware: Vec<Hardware>,
    #[serde(default)]
    model: Vec<Model>,
    #[serde(default)]
    region: Vec<Region>,
}

/// Entries to print as a catalog file (the same schema as [`CatalogFile`]).
#[derive(serde::Serialize)]
struct CatalogFileOut<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    hardware: &'a [&'a Hardware],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    model: &'a [&'a Model],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    region: &'a [&'a Region],
}

/// Entries as the text of a catalog file, `[[hardware]]`, `[[model]]` and `[[region]]`
/// tables in the built-in schema (`docs/catalog.md`): what `wattage catalog ... --toml`
/// prints, and what [`Catalog::merge_toml`] (`--catalog FILE`) accepts unchanged.
pub fn to_toml(
    hardware: &[&Hardware],
    model: &[&Model],
    region: &[&Region],
) -> Result<String, String> {
    toml::to_string_pretty(&CatalogFileOut {
        hardware,
        model,
        region,
    })
    .map_err(|e| e.to_string())
}

/// Hardware, models and regions, looked up by id, alias or Hugging Face repository.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Accelerators.
    pub hardware: Vec<Hardware>,
    /// Language models.
    pub models: Vec<Model>,
    /// Grid regions.
    pub regions: Vec<Region>,
}

const BUILTIN: &[(&str, &str)] = &[
    (
        "built-in hardware.toml",
        include_str!("../data/hardware.toml"),
    ),
    ("built-in models.toml", include_str!("../data/models.toml")),
    (
        "built-in regions.toml",
        include_str!("../data/regions.toml"),
    ),
];

impl Catalog {
    /// The catalog shipped with wattage.
    ///
    /// The built-in files are checked by this crate's tests, so parsing them cannot fail at run
    /// time; should it ever, the error is a bug in wattage and is reported as such.
    pub fn builtin() -> Self {
        Self::try_builtin().unwrap_or_else(|e| panic!("built-in catalog is invalid (a bug): {e}"))
    }

    /// The built-in catalog, or the error in its data files.
    pub fn try_builtin() -> Result<Self, CatalogError> {
        let mut c = Catalog::default();
        for (origin, text) in BUILTIN {
            c.merge_toml(text, origin)?;
        }
        Ok(c)
    }

    /// Adds the entries of a catalog file (TOML text) to this catalog; an entry whose `id` is
    /// already present replaces it. `origin` names the file in errors.
    pub fn merge_toml(&mut self, text: &str, origin: &str) -> Result<(), CatalogError> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            CatalogError::Parse {
                origin: origin.to_string(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        for h in file.hardware {
            h.validate()
                .map_err(|(field, reason)| CatalogError::Invalid {
                    origin: origin.into(),
                    kind: "hardware",
                    id: h.id.clone(),
                    field,
                    reason,
                })?;
            upsert(&mut self.hardware, h, |x| &x.id);
        }
        for m in file.model {
            m.validate()
                .map_err(|(field, reason)| CatalogError::Invalid {
                    origin: origin.into(),
                    kind: "model",
                    id: m.id.clone(),
                    field,
                    reason,
                })?;
            upsert(&mut self.models, m, |x| &x.id);
        }
        for r in file.region {
            r.validate()
                .map_err(|(field, reason)| CatalogError::Invalid {
                    origin: origin.into(),
                    kind: "region",
                    id: r.id.clone(),
                    field,
                    reason,
                })?;
            upsert(&mut self.regions, r, |x| &x.id);
        }
        Ok(())
    }

    /// Finds an accelerator by id or alias (case-insensitive).
    pub fn hardware(&self, name: &str) -> Result<&Hardware, UnknownName> {
        find(&self.hardware, name, "hardware", |h| {
            std::iter::once(h.id.as_str())
                .chain(h.aliases.iter().map(String::as_str))
                .chain(std::iter::once(h.name.as_str()))
                .collect()
        })
    }

    /// Finds a model by id, alias, display name or Hugging Face repository id (case-insensitive).
    pub fn model(&self, name: &str) -> Result<&Model, UnknownName> {
        find(&self.models, name, "model", |m| {
            std::iter::once(m.id.as_str())
                .chain(m.aliases.iter().map(String::as_str))
                .chain(m.hf_repos.iter().map(String::as_str))
                .chain(std::iter::once(m.name.as_str()))
                .collect()
        })
    }

    /// Finds a grid region by id or alias (case-insensitive).
    pub fn region(&self, name: &str) -> Result<&Region, UnknownName> {
        find(&self.regions, name, "region", |r| {
            std::iter::once(r.id.as_str())
                .chain(r.aliases.iter().map(String::as_str))
                .chain(std::iter::once(r.name.as_str()))
                .collect()
        })
    }
}

fn upsert<T>(v: &mut Vec<T>, item: T, id: impl Fn(&T) -> &String) {
    if let Some(slot) = v.iter_mut().find(|x| id(x) == id(&item)) {
        *slot = item;
    } else {
        v.push(item);
    }
}

fn find<'a, T>(
    items: &'a [T],
    name: &str,
    kind: &'static str,
    names: impl Fn(&T) -> Vec<&str>,
) -> Result<&'a T, UnknownName> {
    let want = name.trim().to_ascii_lowercase();
    if let Some(hit) = items
        .iter()
        .find(|it| names(it).iter().any(|n| n.to_ascii_lowercase() == want))
    {
        return Ok(hit);
    }
    let mut scored: Vec<(f64, String)> = items
        .iter()
        .map(|it| {
            let ns = names(it);
            let best = ns
                .iter()
                .map(|n| strsim::jaro_winkler(&n.to_ascii_lowercase(), &want))
                .fold(0.0, f64::max);
            (best, ns[0].to_string())
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut seen = BTreeSet::new();
    let suggestions = scored
        .into_iter()
        .filter(|(s, _)| *s > 0.6)
        .filter(|(_, n)| seen.insert(n.clone()))
        .take(3)
        .map(|(_, n)| n)
        .collect();
    Err(UnknownName {
        kind,
        name: name.to_string(),
        suggestions,
    })
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |i| offset - i - 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    // A test that unwraps fails loudly with the error, which is what a test should do.
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn builtin_parses_and_every_number_has_a_source() {
        let c = Catalog::try_builtin().unwrap();
        for h in &c.hardware {
            for f in h.numeric_fields() {
                assert!(
                    h.source(f) != "unsourced",
                    "hardware `{}` has no source for `{f}`",
                    h.id
                );
            }
        }
        for m in &c.models {
            for f in m.numeric_fields() {
                assert!(
                    m.source(f) != "unsourced",
                    "model `{}` has no source for `{f}`",
                    m.id
                );
            }
        }
        for r in &c.regions {
            for f in r.numeric_fields() {
                assert!(
                    r.source(f) != "unsourced",
                    "region `{}` has no source for `{f}`",
                    r.id
                );
            }
        }
    }

    #[test]
    fn ids_are_unique_and_names_resolve() {
        let c = Catalog::builtin();
        let mut ids = BTreeSet::new();
        for h in &c.hardware {
            assert!(ids.insert(("h", h.id.clone())), "duplicate {}", h.id);
            assert_eq!(c.hardware(&h.id).unwrap().id, h.id);
        }
        for m in &c.models {
            assert!(ids.insert(("m", m.id.clone())), "duplicate {}", m.id);
            for r in &m.hf_repos {
                assert_eq!(c.model(r).unwrap().id, m.id, "{r}");
            }
        }
    }

    #[test]
    fn models_are_found_by_any_hf_repo_in_any_case() {
        let c = Catalog::builtin();
        for (name, id) in [
            (
                "qwen/qwen3-coder-480b-a35b-instruct-fp8",
                "qwen3-coder-480b-a35b",
            ),
            ("QWEN/QWEN3-30B-A3B-THINKING-2507-FP8", "qwen3-30b-a3b"),
            ("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", "qwen3-235b-a22b"),
            ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3-coder-30b-a3b"),
            ("deepseek-ai/deepseek-r1-0528", "deepseek-r1"),
            ("deepseek-ai/DeepSeek-V3.1", "deepseek-v3.1"),
            ("NVIDIA/nvidia-nemotron-nano-9b-v2", "nemotron-nano-9b-v2"),
            ("nvidia/NVIDIA-Nemotron-Nano-12B-v2", "nemotron-nano-12b-v2"),
            ("nvidia/llama-3.1-8b-instruct-fp8", "llama-3.1-8b"),
            ("nvidia/Llama-3.1-70B-Instruct-FP8", "llama-3.1-70b"),
            (
                "meta-llama/llama-4-maverick-17b-128e-instruct-fp8",
                "llama-4-maverick",
            ),
            ("nvidia/Llama-4-Scout-17B-16E-Instruct-FP8", "llama-4-scout"),
            ("OpenAI/GPT-OSS-20B", "gpt-oss-20b"),
            ("  openai/gpt-oss-120b ", "gpt-oss-120b"),
        ] {
            assert_eq!(c.model(name).unwrap().id, id, "{name}");
        }
        // Every repository of every entry, upper-cased, finds its entry.
        for m in &c.models {
            for r in &m.hf_repos {
                assert_eq!(c.model(&r.to_uppercase()).unwrap().id, m.id, "{r}");
            }
        }
    }

    #[test]
    fn new_architecture_fields_are_filled_from_the_configs() {
        let c = Catalog::builtin();
        for id in ["deepseek-v3", "deepseek-r1", "deepseek-v3.1"] {
            let m = c.model(id).unwrap();
            assert_eq!(
                m.kv_values_per_token_layer, None,
                "{id}: derived, not stored"
            );
            assert_eq!(m.kv_values_per_token_layer(), 576.0, "{id}");
            assert!(m.is_latent_attention(), "{id}");
            assert_eq!(
                (m.moe_layer_count(), m.shared_experts),
                (58.0, Some(1)),
                "{id}"
            );
        }
        let m = c.model("llama-4-scout").unwrap();
        assert_eq!((m.moe_layer_count(), m.shared_experts), (48.0, Some(1)));
        let m = c.model("llama-4-maverick").unwrap();
        assert_eq!((m.moe_layer_count(), m.shared_experts), (24.0, Some(1)));
        let m = c.model("nemotron-nano-9b-v2").unwrap();
        assert_eq!((m.attention_layer_count(), m.ssm_layers), (4.0, Some(27)));
        assert_eq!(m.ssm_state_values_per_seq(), 27.0 * 1_347_584.0);
        assert!(!m.is_latent_attention());
        let m = c.model("qwen3-coder-480b-a35b").unwrap();
        assert_eq!(
            (m.layers, m.hidden, m.heads, m.kv_heads, m.ffn),
            (62, 6144, 96, 8, 2560)
        );
        assert_eq!((m.experts, m.experts_active), (160, 8));
    }

    #[test]
    fn unknown_names_suggest_close_ones() {
        let c = Catalog::builtin();
        let e = c.hardware("h10").unwrap_err();
        assert!(e.suggestions.iter().any(|s| s.starts_with("h100")), "{e}");
        let e = c.model("lama-3.1-70b").unwrap_err();
        assert!(e.to_string().contains("llama-3.1-70b"), "{e}");
    }

    #[test]
    fn user_file_overrides_and_extends() {
        let mut c = Catalog::builtin();
        let n = c.hardware.len();
        let text = r#"
[[hardware]]
id = "h100-sxm"
name = "H100 with a lower cap"
vendor = "NVIDIA"
peak_tflops = { bf16 = 989.0 }
hbm_gb = 80
hbm_tb_s = 3.35
tdp_w = 500
idle_w = 70
host_w_per_accel = 575
interconnect_gb_s = 450
sources = { all = "test" }
"#;
        c.merge_toml(text, "mine.toml").unwrap();
        assert_eq!(c.hardware.len(), n);
        assert_eq!(c.hardware("h100-sxm").unwrap().tdp_w, 500.0);
    }

    #[test]
    fn bad_file_names_line_and_field() {
        let mut c = Catalog::default();
        let text = "[[hardware]]\nid = \"x\"\nnmae = \"typo\"\n";
        let e = c.merge_toml(text, "mine.toml").unwrap_err().to_string();
        assert!(e.contains("mine.toml"), "{e}");
        assert!(e.contains(":3:"), "{e}");
        assert!(e.contains("nmae"), "{e}");
        let text = r#"
[[region]]
id = "r"
name = "R"
carbon_g_per_kwh = -5
pue = 1.2
wue_onsite_l_per_kwh = 0.3
wue_offsite_l_per_kwh = 3
electricity_usd_per_mwh = 80
sources = {}
"#;
        let e = c.merge_toml(text, "mine.toml").unwrap_err().to_string();
        assert!(e.contains("carbon_g_per_kwh"), "{e}");
    }

    /// Absurd integers and numbers are errors naming the file, entry and field; the KV
    /// arithmetic of a valid model cannot wrap (`2 x kv_heads x head_dim` was a u32).
    #[test]
    fn absurd_numbers_are_rejected_and_kv_values_do_not_wrap() {
        let model = |kv: u32, dim: u32| {
            format!(
                "[[model]]\nid = \"m\"\nname = \"M\"\nlayers = 4\nhidden = 64\nheads = {kv}\n\
                 kv_heads = {kv}\nhead_dim = {dim}\nffn = 256\nparams_total_b = 0.001\n\
                 params_active_b = 0.001\nprecision = \"bf16\"\ncontext = 4096\n"
            )
        };
        let mut c = Catalog::default();
        let e = c
            .merge_toml(&model(65536, 65536), "mine.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mine.toml") && e.contains("model `m`") && e.contains("field `head_dim`"),
            "{e}"
        );
        // At the largest values accepted the product exceeds u32 and stays exact in f64.
        c.merge_toml(&model(100_000, 4096), "mine.toml").unwrap();
        let m = c.model("m").unwrap();
        assert_eq!(m.kv_values_per_token_layer(), 2.0 * 100_000.0 * 4096.0);
        let hw = "[[hardware]]\nid = \"x\"\nname = \"X\"\nvendor = \"V\"\nhbm_gb = 80\nhbm_tb_s = 3.35\n\
                  tdp_w = 1e308\nidle_w = 60\nhost_w_per_accel = 300\ninterconnect_gb_s = 900\n\
                  peak_tflops = { bf16 = 989 }\n";
        let e = c.merge_toml(hw, "mine.toml").unwrap_err().to_string();
        assert!(
            e.contains("hardware `x`") && e.contains("field `tdp_w`"),
            "{e}"
        );
    }

    #[test]
    fn sliding_window_needs_its_layer_count_within_the_layers() {
        let model = |extra: &str| {
            format!(
                "[[model]]\nid = \"m\"\nname = \"M\"\nlayers = 4\nhidden = 64\nheads = 4\n\
                 kv_heads = 4\nhead_dim = 16\nffn = 256\nparams_total_b = 0.001\n\
                 params_active_b = 0.001\nprecision = \"bf16\"\ncontext = 4096\n{extra}"
            )
        };
        let mut c = Catalog::default();
        let e = c
            .merge_toml(&model("sliding_window = 512\n"), "mine.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sliding_layers"), "{e}");
        let e = c
            .merge_toml(
                &model("sliding_window = 512\nsliding_layers = 5\n"),
                "mine.toml",
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sliding_layers") && e.contains("cannot exceed"),
            "{e}"
        );
        c.merge_toml(
            &model("sliding_window = 512\nsliding_layers = 3\n"),
            "mine.toml",
        )
        .unwrap();
        assert_eq!(c.model("m").unwrap().sliding(), Some((512.0, 0.75)));
    }

    #[test]
    fn moe_models_have_positive_plausible_shared_params() {
        let c = Catalog::builtin();
        for m in c.models.iter().filter(|m| m.is_moe()) {
            let shared = m.shared_params();
            let expert = m.params_per_expert();
            assert!(
                shared > 0.0 && shared < m.active_params(),
                "`{}`: shared params {:.2}B must lie between 0 and active {:.2}B",
                m.id,
                shared / 1e9,
                m.params_active_b
            );
            // One routed expert summed over layers is 3 x hidden x ffn per MoE layer (gated
            // FFN); the MoE layers are all or some (Llama 4 Maverick: every second) of them.
            let per_layer = 3.0 * f64::from(m.hidden) * f64::from(m.ffn);
            let moe_layers = expert / per_layer / f64::from(m.layers);
            assert!(
                (0.45..=1.05).contains(&moe_layers),
                "`{}`: total/active/experts imply {:.2} x layers of experts of width `ffn`",
                m.id,
                moe_layers
            );
        }
    }

    #[test]
    fn dense_model_architecture_matches_its_parameter_count() {
        // Attention plus FFN weights, without embeddings, must be a large share of the
        // parameter count: catches a wrong layers, hidden, heads or ffn value.
        // Hybrid models (Mamba-2 layers besides attention and MLP layers) are checked by
        // counting their full architecture against their config.json (tests/hf_config.rs).
        let c = Catalog::builtin();
        for m in c
            .models
            .iter()
            .filter(|m| !m.is_moe() && m.ssm_layers.is_none())
        {
            let h = f64::from(m.hidden);
            let attn = 2.0 * h * m.attention_dim()
                + 2.0 * h * f64::from(m.kv_heads) * f64::from(m.head_dim);
            let ok = [2.0, 3.0].iter().any(|mats| {
                let body = f64::from(m.layers) * (attn + mats * h * f64::from(m.ffn));
                (0.75..=1.02).contains(&(body / m.total_params()))
            });
            assert!(
                ok,
                "`{}`: architecture does not add up to {}B",
                m.id, m.params_total_b
            );
        }
    }

    #[test]
    fn every_model_fits_on_eight_of_some_accelerator() {
        let c = Catalog::builtin();
        for m in &c.models {
            let weights_gb = m.total_params() * m.precision.bytes() / 1e9;
            assert!(
                c.hardware.iter().any(|h| 8.0 * h.hbm_gb >= weights_gb),
                "`{}`: {weights_gb:.0} GB of weights at {} fit on no 8-accelerator node",
                m.id,
                m.precision
            );
        }
    }

    #[test]
    fn peak_rates_grow_as_precision_shrinks() {
        let c = Catalog::builtin();
        for h in &c.hardware {
            let order = [
                Precision::Fp32,
                Precision::Bf16,
                Precision::Fp8,
                Precision::Fp4,
            ];
            let rates: Vec<f64> = order
                .iter()
                .filter_map(|p| h.peak_tflops.get(p).copied())
                .collect();
            assert!(
                rates.windows(2).all(|w| w[0] <= w[1]),
                "`{}`: peak rates must not fall from fp32 to fp4: {rates:?}",
                h.id
            );
            assert!(h.hbm_tb_s < 20.0 && h.hbm_gb < 500.0, "`{}`: units?", h.id);
        }
    }

    #[test]
    fn catalog_spot_checks() {
        let c = Catalog::builtin();
        // Figures the public cases rely on (../shared/reference/public-cases.md).
        let h100 = c.hardware("h100").unwrap();
        assert!((h100.peak_tflops[&Precision::Bf16] - 989.0).abs() < 1.0);
        assert!((h100.peak_tflops[&Precision::Fp8] - 2000.0).abs() / 2000.0 < 0.02);
        assert_eq!(h100.tdp_w + h100.host_w_per_accel, 1275.0);
        assert_eq!(c.hardware("a100").unwrap().tdp_w, 400.0);
        assert_eq!(c.hardware("v100").unwrap().tdp_w, 300.0);
        assert_eq!(c.region("tva").unwrap().carbon_g_per_kwh, 283.0);
        // Names people type.
        for (name, id) in [
            ("a100", "a100-sxm"),
            ("H200", "h200"),
            ("b200", "b200"),
            ("gb200", "gb200"),
            ("mi300x", "mi300x"),
            ("v5e", "tpu-v5e"),
            ("v5p", "tpu-v5p"),
            ("trillium", "tpu-v6e"),
            ("4090", "rtx-4090"),
            ("RTX 5090", "rtx-5090"),
            ("m4-max", "apple-m4-max"),
            ("x-elite", "snapdragon-x-elite-npu"),
        ] {
            assert_eq!(c.hardware(name).unwrap().id, id, "{name}");
        }
        for (name, id) in [
            ("meta-llama/Llama-3.1-405B-Instruct", "llama-3.1-405b"),
            ("Qwen/Qwen3-30B-A3B", "qwen3-30b-a3b"),
            ("deepseek-ai/DeepSeek-R1", "deepseek-r1"),
            ("openai/gpt-oss-120b", "gpt-oss-120b"),
            ("gpt-4o-mini", "gpt-4o-mini-est"),
            ("o3-mini", "o3-mini-est"),
        ] {
            assert_eq!(c.model(name).unwrap().id, id, "{name}");
        }
        // Architecture from the published configs.
        let m = c.model("llama-3.1-405b").unwrap();
        assert_eq!(
            (m.layers, m.hidden, m.heads, m.kv_heads),
            (126, 16384, 128, 8)
        );
        assert_eq!(m.ffn, 53248);
        let m = c.model("deepseek-v3").unwrap();
        assert_eq!((m.experts, m.experts_active), (256, 8));
        assert_eq!(m.kv_values_per_token_layer(), 576.0);
        assert_eq!(m.precision, Precision::Fp8);
        let m = c.model("qwen3-235b-a22b").unwrap();
        assert_eq!((m.layers, m.hidden, m.kv_heads, m.ffn), (94, 4096, 4, 1536));
        let m = c.model("gpt-oss-120b").unwrap();
        assert_eq!((m.layers, m.hidden, m.head_dim), (36, 2880, 64));
        assert_eq!(m.precision, Precision::Fp4);
        let m = c.model("gpt-3-175b").unwrap();
        assert_eq!((m.layers, m.hidden, m.heads), (96, 12288, 96));
        // Closed models are labelled, and reasoning models carry a multiplier.
        for id in ["gpt-4o-est", "gpt-4o-mini-est", "o3-mini-est", "o1-est"] {
            let m = c.model(id).unwrap();
            assert!(m.estimate, "{id}");
            assert!(m.hf_repos.is_empty(), "{id}");
        }
        assert!(c.model("o1-est").unwrap().reasoning_multiplier > 1.0);
        assert_eq!(c.model("deepseek-r1").unwrap().reasoning_multiplier, 1.0);
    }
}
