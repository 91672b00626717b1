//! A catalog [`Model`] from a Hugging Face `config.json`.
//!
//! [`model_from_hf_config`] reads the architecture of the model types in
//! [`SUPPORTED_MODEL_TYPES`] and counts the parameters from it, so a model that is not in the
//! built-in catalog can be priced from the one file its repository always has. Counted: the
//! token embedding and an untied output head, attention (grouped-query, or multi-head latent
//! attention with its low-rank projections), dense, shared-expert and routed-expert FFNs
//! (gated: three matrices; Nemotron-H's squared-ReLU MLP: two), routers, Mamba-2 mixers and a
//! multimodal checkpoint's vision tower (a ViT: attention, MLP, patch and position
//! embeddings, projector). Norms, biases and attention sinks are left out: well under 0.1% of
//! any published model. Multi-token-prediction heads (`num_nextn_predict_layers`) are left out
//! too, as the publishers' parameter counts do.
//!
//! Active parameters are the total less the routed experts a token does not use, so they
//! include both embedding tables, as Meta, Mistral, Qwen and DeepSeek count them (OpenAI's
//! gpt-oss card leaves out the input embedding).
//!
//! Fields the reader does not use are ignored. A required field that is missing is an error
//! naming it and the file; so is an unsupported `model_type`, with the supported ones listed.
//! Where transformers gives a field a default that published configs rely on (Gemma 3's
//! `head_dim`, `vocab_size`, `max_position_embeddings` and sliding-window pattern), the
//! reader uses the same default.

use serde_json::{Map, Value};

use crate::{CatalogError, Model, Precision};

/// The `model_type` values [`model_from_hf_config`] reads.
pub const SUPPORTED_MODEL_TYPES: &[&str] = &[
    "llama",
    "qwen2",
    "qwen3",
    "qwen3_moe",
    "mixtral",
    "deepseek_v2",
    "deepseek_v3",
    "gpt_oss",
    "gemma3",
    "llama4",
    "nemotron_h",
];

/// Reads a Hugging Face `config.json` (its text) into a catalog model. `origin` names the file
/// in errors and sources; the model's id comes from `_name_or_path` when the file has one,
/// else from `origin`'s file stem (`Qwen__Qwen3-8B.json` reads as `Qwen/Qwen3-8B`).
///
/// ```
/// let text = r#"{"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096,
///   "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
///   "vocab_size": 128256, "max_position_embeddings": 131072, "torch_dtype": "bfloat16"}"#;
/// let m = wattage_catalog::model_from_hf_config(text, "meta-llama__Llama-3.1-8B.json").unwrap();
/// assert_eq!((m.layers, m.head_dim), (32, 128));
/// assert!((m.params_total_b - 8.03).abs() < 0.01);
/// assert_eq!(m.hf_repos, ["meta-llama/Llama-3.1-8B"]);
/// ```
pub fn model_from_hf_config(text: &str, origin: &str) -> Result<Model, CatalogError> {
    let root: Value = serde_json::from_str(text).map_err(|e| CatalogError::Parse {
        origin: origin.to_string(),
        line: e.line().max(1),
        column: e.column().max(1),
        message: e.to_string(),
    })?;
    let top = Cfg {
        map: root.as_object().ok_or_else(|| CatalogError::Parse {
            origin: origin.to_string(),
            line: 1,
            column: 1,
            message: "a config.json is a JSON object".into(),
        })?,
        prefix: "",
        origin,
        id: String::new(),
    };
    let repo = naming(&top, origin);
    let id = repo
        .rsplit('/')
        .next()
        .unwrap_or(repo.as_str())
        .to_ascii_lowercase();
    let top = Cfg {
        id: id.clone(),
        ..top
    };

    let model_type = top.text("model_type")?;
    let arch = match model_type.as_str() {
        "llama" | "qwen2" | "qwen3" => dense(&top)?,
        "qwen3_moe" => qwen3_moe(&top)?,
        "mixtral" => mixtral(&top)?,
        "deepseek_v2" | "deepseek_v3" => deepseek(&top)?,
        "gpt_oss" => gpt_oss(&top)?,
        "gemma3" | "gemma3_text" => gemma3(&top)?,
        "llama4" | "llama4_text" => llama4(&top)?,
        "nemotron_h" => nemotron_h(&top)?,
        other => {
            return Err(top.invalid(
                "model_type",
                format!(
                    "`{other}` is not supported; supported model types: {}",
                    SUPPORTED_MODEL_TYPES.join(", ")
                ),
            ));
        }
    };
    let precision = precision(&top)?;
    let source = format!("derived from {origin} by wattage");
    let hf_repos = if repo.contains('/') {
        vec![repo.clone()]
    } else {
        Vec::new()
    };
    let model = Model {
        id,
        name: repo,
        aliases: Vec::new(),
        hf_repos,
        estimate: false,
        layers: arch.layers,
        hidden: arch.hidden,
        heads: arch.heads,
        kv_heads: arch.kv_heads,
        head_dim: arch.head_dim,
        ffn: arch.ffn,
        kv_values_per_token_layer: None,
        experts: arch.experts,
        experts_active: arch.experts_active,
        params_total_b: round_b(arch.params_total),
        params_active_b: round_b(arch.params_active),
        precision,
        context: arch.context,
        sliding_window: arch.sliding.map(|s| s.0),
        sliding_layers: arch.sliding.map(|s| s.1),
        reasoning_multiplier: 1.0,
        moe_layers: arch.moe_layers,
        shared_experts: arch.shared_experts,
        kv_lora_rank: arch.mla.map(|m| m.0),
        qk_rope_head_dim: arch.mla.map(|m| m.1),
        attention_layers: arch.attention_layers,
        ssm_layers: arch.ssm.map(|s| s.0),
        ssm_state_values: arch.ssm.map(|s| s.1),
        sources: [("all".to_string(), source)].into_iter().collect(),
    };
    model
        .validate()
        .map_err(|(field, reason)| top.invalid(&field, reason))?;
    Ok(model)
}

/// Billions, to four decimals (a parameter count is not known better than that).
fn round_b(params: f64) -> f64 {
    (params / 1e9 * 1e4).round() / 1e4
}

/// The repository (or name) the config is for: `_name_or_path`, else `origin`'s file stem
/// with `__` read as `/`.
fn naming(top: &Cfg<'_>, origin: &str) -> String {
    if let Some(Value::String(s)) = top.map.get("_name_or_path") {
        let s = s.trim().trim_end_matches('/');
        // A local path says nothing about the model; a repository id does.
        if !s.is_empty()
            && !s.starts_with('/')
            && !s.starts_with('.')
            && s.matches('/').count() <= 1
        {
            return s.to_string();
        }
    }
    let file = origin.rsplit(['/', '\\']).next().unwrap_or(origin);
    let stem = file.strip_suffix(".json").unwrap_or(file);
    stem.replace("__", "/")
}

/// The architecture as the catalog holds it, with the parameter counts.
#[derive(Debug, Default)]
struct Arch {
    layers: u32,
    hidden: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    ffn: u32,
    experts: u32,
    experts_active: u32,
    context: u32,
    /// (window, layers using it).
    sliding: Option<(u32, u32)>,
    moe_layers: Option<u32>,
    shared_experts: Option<u32>,
    /// (kv_lora_rank, qk_rope_head_dim).
    mla: Option<(u32, u32)>,
    attention_layers: Option<u32>,
    /// (ssm layers, state values per sequence per layer).
    ssm: Option<(u32, u32)>,
    params_total: f64,
    params_active: f64,
}

/// One JSON object of a config (the top level, or a nested `text_config`), with what errors
/// need to name the field.
struct Cfg<'a> {
    map: &'a Map<String, Value>,
    /// `text_config.` for a nested object, so errors name the field as it is written.
    prefix: &'static str,
    origin: &'a str,
    id: String,
}

impl<'a> Cfg<'a> {
    fn invalid(&self, field: &str, reason: impl Into<String>) -> CatalogError {
        CatalogError::Invalid {
            origin: self.origin.to_string(),
            kind: "model",
            id: self.id.clone(),
            field: format!("{}{field}", self.prefix),
            reason: reason.into(),
        }
    }

    /// A value that is present and not null.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn text(&self, key: &str) -> Result<String, CatalogError> {
        match self.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(self.invalid(key, "must be a string")),
            None => Err(self.invalid(
                key,
                "missing from the file (the model's architecture family)",
            )),
        }
    }

    fn opt_u32(&self, key: &str) -> Result<Option<u32>, CatalogError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.invalid(key, format!("must be a whole number, got {v}"))),
        }
    }

    /// A required whole number; `what` says what it is, for the error.
    fn u32(&self, key: &str, what: &str) -> Result<u32, CatalogError> {
        self.opt_u32(key)?
            .ok_or_else(|| self.invalid(key, format!("missing from the file ({what})")))
    }

    fn bool_or(&self, key: &str, default: bool) -> bool {
        self.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    /// The nested object `key` (Gemma 3's and Llama 4's `text_config`), or this one.
    fn nested(&self, key: &'static str) -> Result<Cfg<'a>, CatalogError> {
        match self.get(key) {
            Some(Value::Object(map)) => Ok(Cfg {
                map,
                prefix: "text_config.",
                origin: self.origin,
                id: self.id.clone(),
            }),
            Some(_) => Err(self.invalid(key, "must be an object")),
            None => Ok(Cfg {
                map: self.map,
                prefix: self.prefix,
                origin: self.origin,
                id: self.id.clone(),
            }),
        }
    }
}

/// What every model type shares: layers, width, attention heads, vocabulary, context.
struct Base {
    layers: u32,
    hidden: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    vocab: u32,
    context: u32,
    tied: bool,
}

impl Base {
    fn read(c: &Cfg<'_>, tied_default: bool) -> Result<Self, CatalogError> {
        Self::read_with(c, tied_default, None, None)
    }

    /// With transformers' defaults for the vocabulary and context, where a model type's
    /// published configs leave them out.
    fn read_with(
        c: &Cfg<'_>,
        tied_default: bool,
        vocab_default: Option<u32>,
        context_default: Option<u32>,
    ) -> Result<Self, CatalogError> {
        let layers = c.u32("num_hidden_layers", "the number of transformer layers")?;
        let hidden = c.u32("hidden_size", "the model's hidden dimension")?;
        let heads = c.u32("num_attention_heads", "the number of attention heads")?;
        if heads == 0 {
            return Err(c.invalid("num_attention_heads", "must be at least 1"));
        }
        let kv_heads = c.opt_u32("num_key_value_heads")?.unwrap_or(heads);
        let head_dim = match c.opt_u32("head_dim")? {
            Some(d) => d,
            None => hidden / heads,
        };
        let vocab = match (c.opt_u32("vocab_size")?, vocab_default) {
            (Some(v), _) | (None, Some(v)) => v,
            (None, None) => c.u32("vocab_size", "the vocabulary size")?,
        };
        let context = match (c.opt_u32("max_position_embeddings")?, context_default) {
            (Some(v), _) | (None, Some(v)) => v,
            (None, None) => c.u32(
                "max_position_embeddings",
                "the longest context the model takes, in tokens",
            )?,
        };
        Ok(Base {
            layers,
            hidden,
            heads,
            kv_heads,
            head_dim,
            vocab,
            context,
            tied: c.bool_or("tie_word_embeddings", tied_default),
        })
    }

    fn h(&self) -> f64 {
        f64::from(self.hidden)
    }

    /// Token embedding plus an untied output head.
    fn embeddings(&self) -> f64 {
        let table = f64::from(self.vocab) * self.h();
        if self.tied { table } else { 2.0 * table }
    }

    /// Grouped-query attention of one layer: q, k, v and output projections.
    fn gqa(&self) -> f64 {
        let q = f64::from(self.heads) * f64::from(self.head_dim);
        let kv = f64::from(self.kv_heads) * f64::from(self.head_dim);
        2.0 * self.h() * q + 2.0 * self.h() * kv
    }

    /// A gated FFN (gate, up, down) of width `ffn`.
    fn gated(&self, ffn: u32) -> f64 {
        3.0 * self.h() * f64::from(ffn)
    }

    fn arch(&self) -> Arch {
        Arch {
            layers: self.layers,
            hidden: self.hidden,
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            experts: 1,
            experts_active: 1,
            context: self.context,
            ..Arch::default()
        }
    }
}

/// Routed experts of a model with `moe_layers` MoE layers, `experts` of `per_expert`
/// parameters each, `active` per token, and a router per MoE layer: (total, active) added to
/// the shared parameters.
fn routed(base: &Base, moe_layers: u32, experts: u32, active: u32, per_expert: f64) -> (f64, f64) {
    let l = f64::from(moe_layers);
    let router = l * base.h() * f64::from(experts);
    (
        l * f64::from(experts) * per_expert + router,
        l * f64::from(active) * per_expert + router,
    )
}

/// `sliding_window` with the layers that use it: `layer_types` when the file lists them,
/// else `fallback` (the model type's rule).
fn sliding(
    c: &Cfg<'_>,
    layers: u32,
    fallback: impl FnOnce() -> Result<u32, CatalogError>,
) -> Result<Option<(u32, u32)>, CatalogError> {
    let Some(window) = c.opt_u32("sliding_window")? else {
        return Ok(None);
    };
    let n = match c.get("layer_types") {
        Some(Value::Array(types)) => {
            if types.len() != layers as usize {
                return Err(c.invalid(
                    "layer_types",
                    format!(
                        "lists {} layers, but num_hidden_layers is {layers}",
                        types.len()
                    ),
                ));
            }
            types
                .iter()
                .filter(|t| t.as_str() == Some("sliding_attention"))
                .count() as u32
        }
        _ => fallback()?,
    };
    Ok((n > 0).then_some((window, n)))
}

/// Llama, Qwen 2 and Qwen 3 dense models.
fn dense(c: &Cfg<'_>) -> Result<Arch, CatalogError> {
    let b = Base::read(c, false)?;
    let ffn = c.u32("intermediate_size", "the feed-forward width")?;
    let total = b.embeddings() + f64::from(b.layers) * (b.gqa() + b.gated(ffn));
    Ok(Arch {
        ffn,
        sliding: qwen_sliding(c, b.layers)?,
        params_total: total,
        params_active: total,
        ..b.arch()
    })
}

/// Qwen's `use_sliding_window`: layers from `max_window_layers` on use the window; Llama and
/// Mistral-style configs with a `sliding_window` use it in every layer.
fn qwen_sliding(c: &Cfg<'_>, layers: u32) -> Result<Option<(u32, u32)>, CatalogError> {
    if c.get("use_sliding_window").is_some() && !c.bool_or("use_sliding_window", false) {
        return Ok(None);
    }
    sliding(c, layers, || {
        Ok(match c.opt_u32("max_window_layers")? {
            Some(m) if c.get("use_sliding_window").is_some() => layers.saturating_sub(m),
            _ => layers,
        })
    })
}

fn qwen3_moe(c: &Cfg<'_>) -> Result<Arch, CatalogError> {
    let b = Base::read(c, false)?;
    let ffn = c.u32(
        "moe_intermediate_size",
        "the feed-forward width of each expert",
    )?;
    let experts = c.u32("num_experts", "the number of routed experts per layer")?;
    let active = c.u32("num_experts_per_tok", "the experts each token is routed to")?;
    let step = c.opt_u32("decoder_sparse_step")?.unwrap_or(1).max(1);
    let mlp_only: Vec<u64> = match c.get("mlp_only_layers") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).collect(),
        _ => Vec::new(),
    };
    let moe_layers = (0..b.layers)
        .filter(|i| !mlp_only.contains(&u64::from(*i)) && (i + 1) % step == 0)
        .count() as u32;
    let dense_layers = b.layers - moe_layers;
    let dense_ffn = if dense_layers > 0 {
        c.u32("intermediate_size", "the width of the dense layers' FFN")?
    } else {
        0
    };
    let shared = b.embeddings()
        + f64::from(b.layers) * b.gqa()
        + f64::from(dense_layers) * b.gated(dense_ffn);
    let (t, a) = routed(&b, moe_layers, experts, active, b.gated(ffn));
    Ok(Arch {
        ffn,
        experts,
        experts_active: active,
        moe_layers: (moe_layers < b.layers).then_some(moe_layers),
        sliding: qwen_sliding(c, b.layers)?,
        params_total: shared + t,
        params_active: shared + a,
        ..b.arch()
    })
}

fn mixtral(c: &Cfg<'_>) -> Result<Arch, CatalogError> {
    let b = Base::read(c, false)?;
    let ffn = c.u32("intermediate_size", "the feed-forward width of each expert")?;
    let experts = c.u32("num_local_experts", "the number of experts per layer")?;
    let active = c.u32("num_experts_per_tok", "the experts each token is routed to")?;
    let shared = b.embeddings() + f64::from(b.layers) * b.gqa();
    let (t, a) = routed(&b, b.layers, experts, active, b.gated(ffn));
    Ok(Arch {
        ffn,
        experts,
        experts_active: active,
        sliding: sliding(c, b.layers, || Ok(b.layers))?,
        params_total: shared + t,
        params_active: shared + a,
        ..b.arch()
    })
}

/// DeepSeek V2/V3 (and R1, V3.1): multi-head latent attention, shared and routed experts,
/// the first `first_k_dense_replace` layers dense.
fn deepseek(c: &Cfg<'_>) -> Result<Arch, CatalogError> {
    let mut b = Base::read(c, false)?;
    let nope = c.u32(
        "qk_nope_head_dim",
        "the query/key head dimension without rotary",
    )?;
    let rope = c.u32(
        "qk_rope_head_dim",
        "the rotary query/key dimension per head",
    )?;
    let v_dim = c.u32("v_head_dim", "the value head dimension")?;
    let kv_rank = c.u32(
        "kv_lora_rank",
        "the rank of the compressed key/value latent",
    )?;
    let q_rank = c.opt_u32("q_lora_rank")?;
    b.head_dim = v_dim;
    let (h, heads) = (b.h(), f64::from(b.heads));
    let qk = f64::from(nope + rope);
    let q = match q_rank {
        Some(r) => h * f64::from(r) + f64::from(r) * heads * qk,
        None => h * heads * qk,
    };
    let kv = h * f64::from(kv_rank + rope) + f64::from(kv_rank) * heads * f64::from(nope + v_dim);
    let attention = q + kv + heads * f64::from(v_dim) * h;

    let ffn = c.u32(
        "moe_intermediate_size",
        "the feed-forward width of each expert",
    )?;
    let experts = c.u32("n_routed_experts", "the number of routed experts per layer")?;
    let active = c.u32("num_experts_per_tok", "the experts each token is routed to")?;
    let n_shared = c.opt_u32("n_shared_experts")?.unwrap_or(0);
    let first_dense = c.opt_u32("first_k_dense_replace")?.unwrap_or(0);
    let freq = c.opt_u32("moe_layer_freq")?.unwrap_or(1).max(1);
    let moe_layers = (0..b.layers)
        .filter(|i| *i >= first_dense && i % freq == 0)
        .count() as u32;
    let dense_layers = b.layers - moe_layers;
    let dense_ffn = if dense_layers > 0 {
        c.u32("intermediate_size", "the width of the dense layers' FFN")?
    } else {
        0
    };
    let shared = b.embeddings()
        + f64::from(b.layers) * attention
        + f64::from(dense_layers) * b.gated(dense_ffn)
        + f64::from(moe_layers) * f64::from(n_shared) * b.gated(ffn);
    let (t, a) = routed(&b, moe_layers, experts, active, b.gated(ffn));
    Ok(Arch {
        ffn,
        experts,
        experts_active: active,
        moe_layers: (moe_layers < b.layers).then_some(moe_layers),
        shared_experts: (n_shared > 0).then_some(n_shared),
        mla: Some((kv_rank, rope)),
        params_total: shared + t,
        params_active: shared + a,
        ..b.arch()
    })
}

fn gpt_oss(c: &Cfg<'_>) -> Result<Arch, CatalogError> {
    let b = Base::read(c, false)?;
    let ffn = c.u32("intermediate_size", "the feed-forward width of each expert")?;
    let experts = c.u32("num_local_experts", "the number of experts per layer")?;
    let active = match c.opt_u32("num_experts_per_tok")? {
        Some(k) => k,
        None => c.u32("experts_per_token", "the experts each token is routed to")?,
    };
    let shared = b.embeddings() + f64::from(b.layers) * b.gqa();
    let (t, a) = routed(&b, b.layers, experts, active, b.gated(ffn));
    // gpt-oss alternates sliding and full attention; `layer_types` lists them.
    let half = b.layers / 2;
    Ok(Arch {
        ffn,
        experts,
        experts_active: active,
        sliding: sliding(c, b.layers, || Ok(half))?,
        params_total: shared + t,
        params_active: shared + a,
        ..b.arch()
    })
}

/// Gemma 3: the language model in `text_config` (multimodal checkpoints) or at the top level
/// (`gemma3_text`); tied embeddings; 5 sliding-window layers to 1 global by default.
fn gemma3(top: &Cfg<'_>) -> Result<Arch, CatalogError> {
    let c = top.nested("text_config")?;
    // transformers' Gemma3TextConfig defaults, which published configs rely on.
    let mut b = Base::read_with(&c, true, Some(262_208), Some(131_072))?;
    if c.opt_u32("head_dim")?.is_none() {
        b.head_dim = 256;
    }
    let ffn = c.u32("intermediate_size", "the feed-forward width")?;
    let pattern = c.opt_u32("sliding_window_pattern")?.unwrap_or(6).max(1);
    let total =
        b.embeddings() + f64::from(b.layers) * (b.gqa() + b.gated(ffn)) + vision(top, b.hidden)?;
    let layers = b.layers;
    Ok(Arch {
        ffn,
        sliding: sliding(&c, layers, || {
            Ok((0..layers).filter(|i| (i + 1) % pattern != 0).count() as u32)
        })?,
        params_total: total,
        params_active: total,
        ..b.arch()
    })
}

/// The vision tower of a multimodal checkpoint (`vision_config`, a ViT) and its projector
/// into the language model's width; 0 when the file has none.
fn vision(top: &Cfg<'_>, text_hidden: u32) -> Result<f64, CatalogError> {
    let Some(Value::Object(map)) = top.get("vision_config") else {
        return Ok(0.0);
    };
    let v = Cfg {
        map,
        prefix: "vision_config.",
        origin: top.origin,
        id: top.id.clone(),
    };
    let (Some(h), Some(l), Some(ffn)) = (
        v.opt_u32("hidden_size")?,
        v.opt_u32("num_hidden_layers")?,
        v.opt_u32("intermediate_size")?,
    ) else {
        return Ok(0.0);
    };
    let (h, l, ffn) = (f64::from(h), f64::from(l), f64::from(ffn));
    let mut p = l * (4.0 * h * h + 2.0 * h * ffn) + h * f64::from(text_hidden);
    if let (Some(image), Some(patch)) = (v.opt_u32("image_size")?, v.opt_u32("patch_size")?) {
        let patches = f64::from(image / patch.max(1)).powi(2);
        let channels = f64::from(v.opt_u32("num_channels")?.unwrap_or(3));
        p += patches * h + channels * f64::from(patch).powi(2) * h;
    }
    Ok(p)
}

/// Llama 4: the language model in `text_config`; MoE every `interleave_moe_layer_step`-th
/// layer, each with one shared expert and top-k routed ones; dense layers
/// `intermediate_size_mlp` wide.
fn llama4(top: &Cfg<'_>) -> Result<Arch, CatalogError> {
    let c = top.nested("text_config")?;
    let b = Base::read(&c, false)?;
    let ffn = c.u32("intermediate_size", "the feed-forward width of each expert")?;
    let experts = c.u32(
        "num_local_experts",
        "the number of routed experts per layer",
    )?;
    let active = c.u32("num_experts_per_tok", "the experts each token is routed to")?;
    let moe_layers = match c.get("moe_layers") {
        Some(Value::Array(a)) => a.len() as u32,
        _ => {
            let step = c.opt_u32("interleave_moe_layer_step")?.unwrap_or(1).max(1);
            (0..b.layers).filter(|i| (i + 1) % step == 0).count() as u32
        }
    };
    let dense_layers = b.layers.saturating_sub(moe_layers);
    let dense_ffn = if dense_layers > 0 {
        c.u32(
            "intermediate_size_mlp",
            "the width of the dense layers' FFN",
        )?
    } else {
        0
    };
    let shared = b.embeddings()
        + f64::from(b.layers) * b.gqa()
        + f64::from(dense_layers) * b.gated(dense_ffn)
        + f64::from(moe_layers) * b.gated(ffn)
        + vision(top, b.hidden)?;
    let (t, a) = routed(&b, moe_layers, experts, active, b.gated(ffn));
    Ok(Arch {
        ffn,
        experts,
        experts_active: active,
        moe_layers: (moe_layers < b.layers).then_some(moe_layers),
        shared_experts: Some(1),
        params_total: shared + t,
        params_active: shared + a,
        ..b.arch()
    })
}

/// Nemotron-H (Nemotron Nano 2): `hybrid_override_pattern` gives each layer's kind, `M`
/// Mamba-2, `*` attention, `-` MLP (squared ReLU: up and down projections), `E` MoE.
fn nemotron_h(c: &Cfg<'_>) -> Result<Arch, CatalogError> {
    let b = Base::read(c, false)?;
    let pattern = c.text("hybrid_override_pattern").map_err(|_| {
        c.invalid(
            "hybrid_override_pattern",
            "missing from the file (the kind of each layer: M Mamba-2, * attention, - MLP, E MoE)",
        )
    })?;
    if pattern.chars().count() != b.layers as usize {
        return Err(c.invalid(
            "hybrid_override_pattern",
            format!(
                "has {} layers, but num_hidden_layers is {}",
                pattern.chars().count(),
                b.layers
            ),
        ));
    }
    if let Some(bad) = pattern.chars().find(|ch| !"M*-E".contains(*ch)) {
        return Err(c.invalid(
            "hybrid_override_pattern",
            format!("layer kind `{bad}` is not one of M, *, -, E"),
        ));
    }
    let count = |k: char| pattern.chars().filter(|ch| *ch == k).count() as u32;
    let (n_mamba, n_attn, n_mlp, n_moe) = (count('M'), count('*'), count('-'), count('E'));
    let h = b.h();
    let two_mat = |w: u32| 2.0 * h * f64::from(w);

    let mut shared = b.embeddings() + f64::from(n_attn) * b.gqa();
    let mut ssm = None;
    if n_mamba > 0 {
        let m_heads = c.u32("mamba_num_heads", "the Mamba-2 heads per layer")?;
        let m_dim = c.u32("mamba_head_dim", "the Mamba-2 head dimension")?;
        let state = c.u32("ssm_state_size", "the Mamba-2 state size")?;
        let groups = c.opt_u32("n_groups")?.unwrap_or(1);
        let conv = c.opt_u32("conv_kernel")?.unwrap_or(4);
        let inner = f64::from(m_heads) * f64::from(m_dim);
        let bc = 2.0 * f64::from(groups) * f64::from(state);
        let mixer = h * (2.0 * inner + bc + f64::from(m_heads))
            + (inner + bc) * f64::from(conv)
            + 3.0 * f64::from(m_heads)
            + inner
            + inner * h;
        shared += f64::from(n_mamba) * mixer;
        let values = f64::from(m_heads) * f64::from(m_dim) * f64::from(state)
            + f64::from(conv.saturating_sub(1)) * (inner + bc);
        let values = u32::try_from(values as u64)
            .map_err(|_| c.invalid("mamba_num_heads", "state too large"))?;
        ssm = Some((n_mamba, values));
    }
    let mut arch = b.arch();
    if n_mlp > 0 {
        let ffn = c.u32("intermediate_size", "the MLP layers' width")?;
        shared += f64::from(n_mlp) * two_mat(ffn);
        arch.ffn = ffn;
    }
    let (mut total, mut active) = (shared, shared);
    if n_moe > 0 {
        let ffn = c.u32(
            "moe_intermediate_size",
            "the feed-forward width of each expert",
        )?;
        let experts = c.u32("n_routed_experts", "the number of routed experts per layer")?;
        let k = c.u32("num_experts_per_tok", "the experts each token is routed to")?;
        let n_shared = c.opt_u32("n_shared_experts")?.unwrap_or(0);
        if n_shared > 0 {
            let width = c
                .opt_u32("moe_shared_expert_intermediate_size")?
                .unwrap_or(ffn);
            let s = f64::from(n_moe) * f64::from(n_shared) * two_mat(width);
            total += s;
            active += s;
        }
        let (t, a) = routed(&b, n_moe, experts, k, two_mat(ffn));
        total += t;
        active += a;
        if n_mlp == 0 {
            arch.ffn = ffn;
        }
        arch.experts = experts;
        arch.experts_active = k;
        arch.moe_layers = Some(n_moe);
        arch.shared_experts = (n_shared > 0).then_some(n_shared);
    }
    if arch.ffn == 0 {
        arch.ffn = c.u32("intermediate_size", "the MLP layers' width")?;
    }
    Ok(Arch {
        attention_layers: Some(n_attn),
        ssm,
        params_total: total,
        params_active: active,
        ..arch
    })
}

/// The precision of the weights: `quantization_config` when the checkpoint is quantized,
/// else `torch_dtype` (or `dtype`), top level or in `text_config`; bf16 when neither says.
fn precision(top: &Cfg<'_>) -> Result<Precision, CatalogError> {
    let text = top.nested("text_config")?;
    if let Some(Value::Object(q)) = top
        .get("quantization_config")
        .or(text.get("quantization_config"))
    {
        return quantized(top, q);
    }
    let dtype = [
        top.get("torch_dtype"),
        top.get("dtype"),
        text.get("torch_dtype"),
        text.get("dtype"),
    ]
    .into_iter()
    .flatten()
    .find_map(Value::as_str);
    match dtype {
        None => Ok(Precision::Bf16),
        Some(d) => d.parse().map_err(|e: String| top.invalid("torch_dtype", e)),
    }
}

fn quantized(top: &Cfg<'_>, q: &Map<String, Value>) -> Result<Precision, CatalogError> {
    let s = |k: &str| {
        q.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let method = s("quant_method");
    let bits = q.get("bits").and_then(Value::as_u64);
    let p = match method.as_str() {
        m if m.contains("fp8") => Precision::Fp8,
        m if m.contains("fp4") => Precision::Fp4,
        "modelopt" => match s("quant_algo").as_str() {
            a if a.contains("fp8") => Precision::Fp8,
            a if a.contains("fp4") => Precision::Fp4,
            a if a.contains("int4") || a.contains("w4a") => Precision::Int4,
            a if a.contains("int8") || a.contains("w8a") => Precision::Int8,
            _ => {
                return Err(unsupported_quant(
                    top,
                    "quantization_config.quant_algo",
                    &s("quant_algo"),
                ));
            }
        },
        "awq" | "gptq" => match bits {
            Some(4) => Precision::Int4,
            Some(8) => Precision::Int8,
            _ => return Err(top.invalid("quantization_config.bits", "must be 4 or 8")),
        },
        "bitsandbytes" => {
            if q.get("load_in_4bit").and_then(Value::as_bool) == Some(true) {
                Precision::Int4
            } else {
                Precision::Int8
            }
        }
        "compressed-tensors" => compressed_tensors(q).ok_or_else(|| {
            unsupported_quant(top, "quantization_config.config_groups", "unrecognised")
        })?,
        other => {
            return Err(unsupported_quant(
                top,
                "quantization_config.quant_method",
                other,
            ));
        }
    };
    Ok(p)
}

/// The weight format of a compressed-tensors checkpoint: the first config group's weights.
fn compressed_tensors(q: &Map<String, Value>) -> Option<Precision> {
    let groups = q.get("config_groups")?.as_object()?;
    let w = groups.values().find_map(|g| g.get("weights"))?;
    let bits = w.get("num_bits")?.as_u64()?;
    let float = w.get("type").and_then(Value::as_str) == Some("float");
    Some(match (bits, float) {
        (8, true) => Precision::Fp8,
        (8, false) => Precision::Int8,
        (4, true) => Precision::Fp4,
        (4, false) => Precision::Int4,
        _ => return None,
    })
}

fn unsupported_quant(top: &Cfg<'_>, field: &str, value: &str) -> CatalogError {
    top.invalid(
        field,
        format!(
            "`{value}` is not a quantization wattage reads; supported: fp8 (fp8, fbgemm_fp8), \
             mxfp4/nvfp4, modelopt, awq, gptq, bitsandbytes, compressed-tensors"
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn naming_reads_repository_from_stem_or_name_or_path() {
        let m = model_from_hf_config(
            r#"{"model_type":"llama","num_hidden_layers":2,"hidden_size":64,"num_attention_heads":4,
                "intermediate_size":128,"vocab_size":100,"max_position_embeddings":512}"#,
            "some/dir/Org__My-Model.json",
        )
        .unwrap();
        assert_eq!(
            (m.id.as_str(), m.name.as_str()),
            ("my-model", "Org/My-Model")
        );
        assert_eq!(m.hf_repos, ["Org/My-Model"]);
        assert_eq!(
            m.source("layers"),
            "derived from some/dir/Org__My-Model.json by wattage"
        );
        let m = model_from_hf_config(
            r#"{"_name_or_path":"acme/tiny","model_type":"qwen3","num_hidden_layers":2,"hidden_size":64,
                "num_attention_heads":4,"intermediate_size":128,"vocab_size":100,
                "max_position_embeddings":512,"torch_dtype":"float16"}"#,
            "config.json",
        )
        .unwrap();
        assert_eq!((m.id.as_str(), m.precision), ("tiny", Precision::Fp16));
    }

    #[test]
    fn unsupported_model_type_lists_the_supported_ones() {
        let e = model_from_hf_config(r#"{"model_type":"bert"}"#, "config.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("config.json") && e.contains("`bert`"), "{e}");
        assert!(e.contains("qwen3_moe") && e.contains("nemotron_h"), "{e}");
    }
}
