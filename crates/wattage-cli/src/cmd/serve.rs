//! `wattage serve`: the metering gateway (`crates/wattage-gateway`, `docs/gateway.md`).

use std::path::PathBuf;

use wattage_gateway::config::{
    AuthMode, BatchSource, DeploymentConfig, GatewayConfig, OnLedgerError, UpstreamConfig,
};
use wattage_gateway::{ServeError, serve};

use crate::common::{Global, ReplicaArgs, user};

/// Arguments of `wattage serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Gateway config file (TOML; see docs/gateway.md); the flags below override it
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Quick start: the upstream's OpenAI-compatible base URL, such as http://127.0.0.1:8000/v1
    #[arg(long)]
    pub upstream: Option<String>,
    /// Quick start: the upstream's replica, as `wattage estimate` describes it (the model
    /// every request is priced as, its accelerator and vLLM layout)
    #[command(flatten)]
    pub replica: ReplicaArgs,
    /// Quick start: grid region for carbon, water, PUE and price
    #[arg(long)]
    pub region: Option<String>,
    /// Quick start: `gpu`, `server` or `facility`
    #[arg(long)]
    pub scope: Option<String>,
    /// Quick start: assumption override NAME=VALUE (repeatable)
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Quick start: environment variable holding the upstream's API key
    #[arg(long = "api-key-env")]
    pub api_key_env: Option<String>,
    /// Quick start: `in-flight` or `vllm-metrics`
    #[arg(long = "batch-source")]
    pub batch_source: Option<String>,
    /// Address to listen on [default: 127.0.0.1:4000]
    #[arg(long)]
    pub listen: Option<String>,
    /// Ledger: a SQLite path or a postgres:// URL [default: ledger.db]
    #[arg(long)]
    pub ledger: Option<String>,
    /// Ed25519 signing key file [default: <ledger>.key; created when absent]
    #[arg(long = "signing-key")]
    pub signing_key: Option<PathBuf>,
    /// `fail-closed` (503 when a row cannot be written) or `fail-open`
    #[arg(long = "on-ledger-error")]
    pub on_ledger_error: Option<String>,
    /// Largest request body, bytes [default: 10485760]
    #[arg(long = "max-body-bytes")]
    pub max_body_bytes: Option<u64>,
    /// Per upstream attempt, until the response starts and between stream chunks [default: 300s]
    #[arg(long)]
    pub timeout: Option<String>,
    /// To connect to an upstream [default: 5s]
    #[arg(long = "connect-timeout")]
    pub connect_timeout: Option<String>,
    /// `auto` (keys required once the ledger has any), `keys` or `none`
    #[arg(long)]
    pub auth: Option<String>,
}

fn pick<T: serde::de::DeserializeOwned>(flag: &str, v: &str) -> anyhow::Result<T> {
    serde_json::from_value(serde_json::Value::String(v.to_string())).map_err(|_| {
        user(format!(
            "`--{flag}`: `{v}` is not one of the accepted values (see --help)"
        ))
    })
}

/// Runs `wattage serve` until SIGINT or SIGTERM.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let (mut cfg, file) = match &a.config {
        Some(p) => {
            let (c, text) = GatewayConfig::load(p)?;
            (c, Some((p.display().to_string(), text)))
        }
        None => (GatewayConfig::default(), None),
    };
    let quick = a.replica.model.is_some()
        || a.replica.hardware.is_some()
        || a.replica.tensor_parallel_size.is_some()
        || a.replica.data_parallel_size.is_some()
        || a.replica.enable_expert_parallel
        || a.replica.precision.is_some()
        || a.replica.kv_cache_dtype.is_some()
        || a.region.is_some()
        || a.scope.is_some()
        || !a.set.is_empty()
        || a.api_key_env.is_some()
        || a.batch_source.is_some();
    match (&a.upstream, cfg.upstreams.is_empty()) {
        (Some(url), _) => {
            if !cfg.upstreams.is_empty() {
                return Err(user(
                    "`--upstream` and a config file with [[upstreams]] were both given; use one",
                ));
            }
            cfg.upstreams.push(UpstreamConfig {
                name: "upstream".into(),
                url: url.clone(),
                api_key_env: a.api_key_env.clone(),
                models: None,
                batch_source: match &a.batch_source {
                    Some(b) => pick("batch-source", b)?,
                    None => BatchSource::InFlight,
                },
                metrics_url: None,
                carbon_series: None,
                deployment: DeploymentConfig {
                    model: a.replica.model.clone(),
                    hardware: a.replica.hardware.clone(),
                    tensor_parallel_size: a.replica.tensor_parallel_size,
                    data_parallel_size: a.replica.data_parallel_size,
                    enable_expert_parallel: a.replica.enable_expert_parallel.then_some(true),
                    gpus: None,
                    precision: a.replica.precision.clone(),
                    kv_cache_dtype: a.replica.kv_cache_dtype.clone(),
                    region: a.region.clone(),
                    scope: a.scope.clone(),
                    set: (!a.set.is_empty()).then(|| a.set.clone()),
                },
                deployments: Default::default(),
            });
        }
        (None, true) => {
            return Err(user(
                "no upstream: give `--upstream URL --model M --hardware H` or `--config gateway.toml`",
            ));
        }
        (None, false) if quick => {
            return Err(user(
                "deployment flags (`--model`, `--hardware`, ...) go with `--upstream`; with a config file set them in its [upstreams.deployment]",
            ));
        }
        (None, false) => {}
    }
    if let Some(v) = a.listen {
        cfg.listen = v;
    }
    if let Some(v) = a.ledger {
        cfg.ledger = v;
    }
    if let Some(v) = a.signing_key {
        cfg.signing_key = Some(v);
    }
    if let Some(v) = &a.on_ledger_error {
        cfg.on_ledger_error = pick::<OnLedgerError>("on-ledger-error", v)?;
    }
    if let Some(v) = a.max_body_bytes {
        cfg.max_body_bytes = v;
    }
    if let Some(v) = a.timeout {
        cfg.timeout = v;
    }
    if let Some(v) = a.connect_timeout {
        cfg.connect_timeout = v;
    }
    if let Some(v) = &a.auth {
        cfg.auth = pick::<AuthMode>("auth", v)?;
    }
    g.warn(&cfg.deprecations());
    let mut cat = g.catalog()?;
    for u in &cfg.upstreams {
        for d in std::iter::once(&u.deployment).chain(u.deployments.values()) {
            if let Some(m) = &d.model {
                wattage_engine::spec::model_file(&wattage_engine::FileSystem, &mut cat, m, None)?;
            }
        }
    }
    let resolved = cfg.resolve(&cat, file.as_ref().map(|(o, t)| (o.as_str(), t.as_str())))?;
    serve(resolved).map_err(|e| match e {
        ServeError::Input(m) => user(m),
        ServeError::Runtime(m) => anyhow::anyhow!(m),
    })
}
