//! The gateway's configuration: a TOML file (`--config`) or the quick-start flags, both into
//! one [`GatewayConfig`]. Errors name the file, line, column and field, through the engine's
//! TOML locator.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wattage_engine::error::Error;
use wattage_engine::locate::TomlDoc;
use wattage_engine::{EstimateSpec, Meter};

/// What happens to a request whose ledger row cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OnLedgerError {
    /// Answer 503: nothing is served unrecorded.
    #[default]
    FailClosed,
    /// Serve, flag the response `x-wattage-ledger: unrecorded`, log and count the error.
    FailOpen,
}

/// When clients must present a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// When the ledger holds any key.
    #[default]
    Auto,
    /// Always.
    Keys,
    /// Never.
    None,
}

/// Where the batch a request shared is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BatchSource {
    /// The gateway's own count of requests in flight on the upstream.
    #[default]
    InFlight,
    /// vLLM's running sequences, scraped once a second from the upstream's `/metrics`.
    VllmMetrics,
}

/// How the upstreams serving one model name are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Fewest requests in flight.
    #[default]
    LeastLoaded,
    /// Lowest estimated energy per output token at the upstream's current load.
    LowestEnergy,
    /// Lowest estimated emissions now (energy times the carbon intensity now).
    LowestCarbon,
    /// Lowest estimated electricity cost.
    LowestCost,
}

/// How requests to an upstream are priced: the fields of `wattage estimate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    /// Catalog model id, alias or Hugging Face repository.
    pub model: Option<String>,
    /// Accelerator.
    pub hardware: Option<String>,
    /// GPUs each attention and dense layer is sharded over (vLLM's
    /// `--tensor-parallel-size`) [default: the fewest that hold the weights].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensor_parallel_size: Option<u32>,
    /// Attention replicas inside one replica (vLLM's `--data-parallel-size`) [default: 1].
    /// GPUs per replica = tensor x data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_parallel_size: Option<u32>,
    /// Experts spread over all tensor x data GPUs (vLLM's `--enable-expert-parallel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_expert_parallel: Option<bool>,
    /// Deprecated spelling of `tensor_parallel_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<u32>,
    /// Weight precision [default: fp8 for a Hugging Face repository id ending in `-FP8`,
    /// else the model's].
    pub precision: Option<String>,
    /// The KV cache's type, as vLLM's `--kv-cache-dtype` names it: `auto`, `bf16`, `fp16`,
    /// `fp8` (or `bfloat16`, `float16`, `fp8_e4m3`, `fp8_e5m2`) [default: auto, wattage's
    /// rule: fp8 when the weights are 8-bit or narrower, else bf16].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_dtype: Option<String>,
    /// Grid region.
    pub region: Option<String>,
    /// `gpu`, `server` or `facility`.
    pub scope: Option<String>,
    /// Assumption overrides, `NAME=VALUE`.
    pub set: Option<Vec<String>>,
}

impl DeploymentConfig {
    /// `self` with the fields `over` sets replaced.
    pub fn merged(&self, over: &DeploymentConfig) -> DeploymentConfig {
        // The tensor-parallel size under either name comes whole from one side.
        let tp = if over.tensor_parallel_size.is_some() || over.gpus.is_some() {
            over
        } else {
            self
        };
        DeploymentConfig {
            model: over.model.clone().or_else(|| self.model.clone()),
            hardware: over.hardware.clone().or_else(|| self.hardware.clone()),
            tensor_parallel_size: tp.tensor_parallel_size,
            data_parallel_size: over.data_parallel_size.or(self.data_parallel_size),
            enable_expert_parallel: over.enable_expert_parallel.or(self.enable_expert_parallel),
            gpus: tp.gpus,
            precision: over.precision.clone().or_else(|| self.precision.clone()),
            kv_cache_dtype: over
                .kv_cache_dtype
                .clone()
                .or_else(|| self.kv_cache_dtype.clone()),
            region: over.region.clone().or_else(|| self.region.clone()),
            scope: over.scope.clone().or_else(|| self.scope.clone()),
            set: over.set.clone().or_else(|| self.set.clone()),
        }
    }

    /// The estimate spec the meter resolves.
    pub fn spec(&self) -> EstimateSpec {
        let d = EstimateSpec::default();
        EstimateSpec {
            model: self.model.clone(),
            hardware: self.hardware.clone(),
            tensor_parallel_size: self.tensor_parallel_size,
            data_parallel_size: self.data_parallel_size,
            enable_expert_parallel: self.enable_expert_parallel.unwrap_or(false),
            gpus: self.gpus,
            precision: self.precision.clone(),
            kv_cache_dtype: self.kv_cache_dtype.clone(),
            scope: self.scope.clone().unwrap_or(d.scope),
            region: self.region.clone().unwrap_or(d.region),
            set: self.set.clone().unwrap_or_default(),
            samples: 0,
            ..d
        }
    }
}

/// One upstream server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Its name in the ledger, metrics and errors.
    pub name: String,
    /// Base URL of its OpenAI-compatible API, ending in `/v1`.
    pub url: String,
    /// Environment variable holding the credential sent to it.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Model names it serves (absent: every name).
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Where the batch is measured.
    #[serde(default)]
    pub batch_source: BatchSource,
    /// vLLM's metrics URL [default: the URL without `/v1`, plus `/metrics`].
    #[serde(default)]
    pub metrics_url: Option<String>,
    /// Hourly carbon intensity, CSV `time,co2e_g_per_kwh` (UTC).
    #[serde(default)]
    pub carbon_series: Option<PathBuf>,
    /// How the names it serves are priced.
    #[serde(default)]
    pub deployment: DeploymentConfig,
    /// Names priced differently from `deployment`.
    #[serde(default)]
    pub deployments: BTreeMap<String, DeploymentConfig>,
}

/// Routing policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// The policy of names not listed.
    #[serde(default)]
    pub policy: Policy,
    /// Per model name.
    #[serde(default)]
    pub models: BTreeMap<String, Policy>,
}

fn default_listen() -> String {
    "127.0.0.1:4000".into()
}
fn default_ledger() -> String {
    "ledger.db".into()
}
fn default_max_body() -> u64 {
    10 * 1024 * 1024
}
fn default_timeout() -> String {
    "300s".into()
}
fn default_connect_timeout() -> String {
    "5s".into()
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Ledger: a SQLite path or a `postgres://` URL.
    #[serde(default = "default_ledger")]
    pub ledger: String,
    /// Ed25519 signing key file [default: `<ledger>.key`].
    #[serde(default)]
    pub signing_key: Option<PathBuf>,
    /// What to do when a row cannot be written.
    #[serde(default)]
    pub on_ledger_error: OnLedgerError,
    /// Largest request body accepted, bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// Per upstream attempt: until the response starts, and between chunks of a stream.
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// To open a connection to an upstream.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: String,
    /// When clients must present a key.
    #[serde(default)]
    pub auth: AuthMode,
    /// The upstreams, in order of preference for ties.
    #[serde(default)]
    pub upstreams: Vec<UpstreamConfig>,
    /// Routing policies.
    #[serde(default)]
    pub routing: RoutingConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            ledger: default_ledger(),
            signing_key: None,
            on_ledger_error: OnLedgerError::default(),
            max_body_bytes: default_max_body(),
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            auth: AuthMode::default(),
            upstreams: Vec::new(),
            routing: RoutingConfig::default(),
        }
    }
}

/// Largest `max_body_bytes` accepted (1 GiB): the body is held in memory.
pub const MAX_BODY_LIMIT: u64 = 1 << 30;

/// A configuration checked and resolved: durations parsed, every deployment priced once.
#[derive(Debug)]
pub struct Resolved {
    /// The configuration as given.
    pub config: GatewayConfig,
    /// Per upstream attempt.
    pub timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// One meter per upstream (its default deployment), then per listed name.
    pub meters: Vec<(Meter, BTreeMap<String, Meter>)>,
    /// Hourly carbon series per upstream: (unix second of the hour's start, g/kWh), sorted.
    pub carbon: Vec<Vec<(i64, f64)>>,
}

fn duration(doc: Option<&TomlDoc>, field: &str, text: &str) -> Result<Duration, Error> {
    let t = wattage_units::Time::parse_duration_with_unit(text).map_err(|e| match doc {
        Some(d) => d.error(field, &e),
        None => Error::param(field, e),
    })?;
    if t.s() > 86_400.0 {
        let msg = "at most 1d";
        return Err(match doc {
            Some(d) => d.error(field, msg),
            None => Error::param(field, msg),
        });
    }
    Ok(Duration::from_secs_f64(t.s()))
}

impl GatewayConfig {
    /// Deprecation warnings (old key names), for the front-end to show.
    pub fn deprecations(&self) -> Vec<String> {
        let mut w = Vec::new();
        for (i, u) in self.upstreams.iter().enumerate() {
            let named = std::iter::once((format!("upstreams[{i}].deployment"), &u.deployment))
                .chain(
                    u.deployments
                        .iter()
                        .map(|(n, d)| (format!("upstreams[{i}].deployments.{n}"), d)),
                );
            for (at, d) in named {
                if d.gpus.is_some() {
                    w.push(format!(
                        "`{at}.gpus` is deprecated and will be removed in the next release: use `tensor_parallel_size`"
                    ));
                }
            }
        }
        w
    }

    /// Reads a config file.
    pub fn load(path: &Path) -> Result<(Self, String), Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::input(format!("cannot read `{}`: {e}", path.display()))
                .hint("check the path given to `{config}`")
        })?;
        let origin = path.display().to_string();
        let doc = TomlDoc::parse(&origin, &text)?;
        let c: GatewayConfig = doc.deserialize()?;
        Ok((c, text))
    }

    /// Checks every field and resolves the deployments against the catalog. `text` is the
    /// config file's text and `origin` its name (for located errors), when there is one.
    pub fn resolve(
        self,
        cat: &wattage_catalog::Catalog,
        file: Option<(&str, &str)>,
    ) -> Result<Resolved, Error> {
        let doc = match file {
            Some((origin, text)) => Some(TomlDoc::parse(origin, text)?),
            None => None,
        };
        let err = |field: &str, msg: &str| match &doc {
            Some(d) => d.error(field, msg),
            None => Error::param(field, msg),
        };
        let timeout = duration(doc.as_ref(), "timeout", &self.timeout)?;
        let connect_timeout = duration(doc.as_ref(), "connect_timeout", &self.connect_timeout)?;
        if self.max_body_bytes == 0 || self.max_body_bytes > MAX_BODY_LIMIT {
            return Err(err(
                "max_body_bytes",
                &format!("must be 1 to {MAX_BODY_LIMIT} bytes"),
            ));
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(err(
                "listen",
                &format!("`{}` is not an address such as 127.0.0.1:4000", self.listen),
            ));
        }
        if self.upstreams.is_empty() {
            return Err(err(
                "upstreams",
                "no upstream: give `{upstream}` or an [[upstreams]] table",
            ));
        }
        let mut meters = Vec::new();
        let mut carbon = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, u) in self.upstreams.iter().enumerate() {
            let at = |f: &str| format!("upstreams[{i}].{f}");
            if u.name.trim().is_empty() || !names.insert(u.name.clone()) {
                return Err(err(&at("name"), "must be non-empty and unique"));
            }
            let url = u.url.trim_end_matches('/');
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || reqwest::Url::parse(url).is_err()
            {
                return Err(err(
                    &at("url"),
                    &format!(
                        "`{}` is not an http(s) URL such as http://127.0.0.1:8000/v1",
                        u.url
                    ),
                ));
            }
            if let Some(v) = &u.api_key_env
                && std::env::var_os(v).is_none()
            {
                return Err(err(
                    &at("api_key_env"),
                    &format!("the environment variable `{v}` is not set"),
                ));
            }
            let dep = |d: &DeploymentConfig, field: String| {
                Meter::new(cat, &d.spec()).map_err(|e| {
                    let msg = e.render(wattage_engine::ParamStyle::Keyword);
                    match &doc {
                        Some(doc) => doc.error(&field, &msg),
                        None => e,
                    }
                })
            };
            let base = dep(&u.deployment, at("deployment"))?;
            let mut by_name = BTreeMap::new();
            for (name, d) in &u.deployments {
                let m = dep(&u.deployment.merged(d), at("deployments"))?;
                by_name.insert(name.clone(), m);
            }
            meters.push((base, by_name));
            carbon.push(match &u.carbon_series {
                Some(p) => load_series(p).map_err(|e| {
                    Error::input(e).hint(format!(
                        "`{}` is named by {}",
                        p.display(),
                        at("carbon_series")
                    ))
                })?,
                None => Vec::new(),
            });
        }
        Ok(Resolved {
            config: self,
            timeout,
            connect_timeout,
            meters,
            carbon,
        })
    }
}

/// Reads an hourly carbon series: CSV with a header `time,co2e_g_per_kwh`, times in RFC 3339
/// (UTC). Errors name the file and line.
pub fn load_series(path: &Path) -> Result<Vec<(i64, f64)>, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{name}`: {e}"))?;
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim().replace(' ', "") == "time,co2e_g_per_kwh" => {}
        _ => {
            return Err(format!(
                "{name}:1: the header must be `time,co2e_g_per_kwh`"
            ));
        }
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (t, v) = line
            .split_once(',')
            .ok_or_else(|| format!("{name}:{n}: expected `time,co2e_g_per_kwh`"))?;
        let t =
            time::OffsetDateTime::parse(t.trim(), &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                format!(
                    "{name}:{n}: field `time`: `{}` is not an RFC 3339 time ({e})",
                    t.trim()
                )
            })?;
        let v: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && (0.0..=5_000.0).contains(v))
            .ok_or_else(|| {
                format!(
                    "{name}:{n}: field `co2e_g_per_kwh`: `{}` is not a number from 0 to 5000",
                    v.trim()
                )
            })?;
        out.push((t.unix_timestamp(), v));
    }
    if out.is_empty() {
        return Err(format!("{name}: no rows"));
    }
    out.sort_by_key(|r| r.0);
    Ok(out)
}

/// The series' value at unix second `now`: the last row at or before it (the first row
/// before the series starts).
pub fn series_at(series: &[(i64, f64)], now: i64) -> Option<f64> {
    if series.is_empty() {
        return None;
    }
    let i = series.partition_point(|r| r.0 <= now);
    Some(series[i.saturating_sub(1)].1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use wattage_engine::Usage;

    const CONFIG: &str = r#"
[[upstreams]]
name = "h100"
url = "http://127.0.0.1:8000/v1"

[upstreams.deployment]
model = "llama-3.1-70b"
hardware = "h100-sxm"
tensor_parallel_size = 4
kv_cache_dtype = "fp8_e4m3"

[upstreams.deployments."bf16-cache"]
kv_cache_dtype = "bfloat16"

[upstreams.deployments."same-cache"]
region = "us-average"
"#;

    fn parse(text: &str) -> GatewayConfig {
        TomlDoc::parse("gateway.toml", text)
            .unwrap()
            .deserialize()
            .unwrap()
    }

    #[test]
    fn a_deployment_takes_vllms_kv_cache_dtype() {
        let c = parse(CONFIG);
        let u = &c.upstreams[0];
        assert_eq!(u.deployment.kv_cache_dtype.as_deref(), Some("fp8_e4m3"));
        assert_eq!(
            u.deployment.spec().kv_cache_dtype.as_deref(),
            Some("fp8_e4m3")
        );
        // A listed name replaces the upstream's cache type, or keeps it when it gives none.
        let bf16 = u.deployment.merged(&u.deployments["bf16-cache"]);
        assert_eq!(bf16.kv_cache_dtype.as_deref(), Some("bfloat16"));
        let same = u.deployment.merged(&u.deployments["same-cache"]);
        assert_eq!(same.kv_cache_dtype.as_deref(), Some("fp8_e4m3"));

        // Priced at a long context, the fp8 cache reads half the KV bytes: less energy.
        let r = c
            .resolve(
                &wattage_catalog::Catalog::builtin(),
                Some(("gateway.toml", CONFIG)),
            )
            .unwrap();
        let (fp8, by_name) = &r.meters[0];
        let long = Usage {
            input_tokens: 30_000,
            cached_input_tokens: 0,
            output_tokens: 500,
        };
        let e_fp8 = fp8.price(&long, 8.0).unwrap().energy_wh;
        let e_bf16 = by_name["bf16-cache"].price(&long, 8.0).unwrap().energy_wh;
        let e_same = by_name["same-cache"].price(&long, 8.0).unwrap().energy_wh;
        assert!(e_fp8 < e_bf16, "fp8 {e_fp8} Wh, bf16 {e_bf16} Wh");
        assert_eq!(e_fp8, e_same);
    }

    #[test]
    fn a_bad_kv_cache_dtype_is_named_in_the_file() {
        let text = CONFIG.replace("\"fp8_e4m3\"", "\"int3\"");
        let e = parse(&text)
            .resolve(
                &wattage_catalog::Catalog::builtin(),
                Some(("gateway.toml", &text)),
            )
            .unwrap_err();
        let msg = e.render(wattage_engine::ParamStyle::Keyword);
        assert!(msg.contains("gateway.toml:"), "{msg}");
        assert!(
            msg.contains("kv_cache_dtype") && msg.contains("int3"),
            "{msg}"
        );
        assert!(e.is_input());
    }
}
