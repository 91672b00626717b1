//! `wattage serve`: an OpenAI-compatible reverse proxy that prices every request with the
//! engine's [`wattage_engine::Meter`] and writes it to the signed ledger
//! ([`wattage_ledger`]). The user's guide is `docs/gateway.md`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | the TOML config and quick-start flags, checked and resolved |
//! | [`proxy`] | the request path: auth, budget, routing, forwarding, streaming, pricing, ledger |
//! | [`load`] | in-flight counts as time integrals (the measured batch) |
//! | [`budget`] | reservations against per-key budgets |
//! | [`metrics`] | Prometheus metrics |
//! | [`dashboard`] | the live page and its data |
//!
//! Invariants: a response is sent only after its ledger row is committed (or, in fail-open
//! mode, flagged unrecorded); request and response bodies are never stored or logged; client
//! keys are compared by hash and never forwarded; upstream credentials never reach clients.

pub mod budget;
pub mod config;
pub mod dashboard;
pub mod load;
pub mod metrics;
pub mod proxy;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get, post};
use config::{AuthMode, BatchSource, Resolved};
use wattage_engine::Meter;
use wattage_ledger::{ApiKey, Ledger, OpenOptions, Target};

pub use config::GatewayConfig;

/// Errors that stop the gateway from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A configuration or input problem (exit code 2).
    #[error("{0}")]
    Input(String),
    /// Anything else (exit code 1).
    #[error("{0}")]
    Runtime(String),
}

/// One upstream server, resolved.
pub struct Upstream {
    /// Its configuration.
    pub cfg: config::UpstreamConfig,
    /// Base URL without a trailing slash (`http://host:port/v1`).
    pub base: String,
    /// The `authorization` header sent to it.
    pub auth: Option<reqwest::header::HeaderValue>,
    /// How names without their own deployment are priced.
    pub meter: Meter,
    /// Names priced differently.
    pub meters: std::collections::BTreeMap<String, Meter>,
    /// Hourly carbon intensity.
    pub carbon: Vec<(i64, f64)>,
    /// Requests in flight from this gateway.
    pub in_flight: load::Load,
    /// Running sequences scraped from vLLM (with `batch_source = "vllm-metrics"`).
    pub scraped: load::Load,
}

impl Upstream {
    /// The meter that prices `model`.
    pub fn meter_for(&self, model: &str) -> &Meter {
        self.meters.get(model).unwrap_or(&self.meter)
    }

    /// Whether it serves `model`.
    pub fn serves(&self, model: &str) -> bool {
        match &self.cfg.models {
            None => true,
            Some(list) => list.iter().any(|m| m == model) || self.meters.contains_key(model),
        }
    }

    /// The load the batch is measured on.
    pub fn batch_load(&self) -> &load::Load {
        match self.cfg.batch_source {
            BatchSource::InFlight => &self.in_flight,
            BatchSource::VllmMetrics => &self.scraped,
        }
    }

    /// Carbon intensity now, if a series is given.
    pub fn carbon_now(&self) -> Option<f64> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        config::series_at(&self.carbon, now)
    }
}

/// The keys the ledger holds, by hash.
#[derive(Default)]
pub struct KeyTable {
    /// Whether any key exists (revoked ones included).
    pub any: bool,
    /// By SHA-256 hex of the secret.
    pub by_hash: HashMap<String, ApiKey>,
}

/// Everything a request handler needs.
pub struct App {
    /// The upstreams, in config order.
    pub upstreams: Vec<Upstream>,
    /// HTTP client to the upstreams.
    pub client: reqwest::Client,
    /// The ledger.
    pub ledger: Ledger,
    /// Metrics.
    pub metrics: metrics::Metrics,
    /// Dashboard data.
    pub dashboard: dashboard::Dashboard,
    /// API keys.
    pub keys: RwLock<Arc<KeyTable>>,
    /// Budgets.
    pub budgets: budget::Budgets,
    /// The configuration.
    pub cfg: GatewayConfig,
    /// Per upstream attempt.
    pub timeout: Duration,
    /// Ledger label for unauthenticated requests.
    pub anonymous: String,
    /// False from a failed ledger write until a write succeeds again (`/healthz`).
    pub ledger_ok: std::sync::atomic::AtomicBool,
}

impl App {
    /// Whether requests must present a key.
    pub fn auth_required(&self) -> bool {
        match self.cfg.auth {
            AuthMode::Keys => true,
            AuthMode::None => false,
            AuthMode::Auto => self.keys.read().map(|k| k.any).unwrap_or(true),
        }
    }

    fn reload_keys(&self) -> Result<(), String> {
        let keys = self.ledger.keys().map_err(|e| e.to_string())?;
        let now_ms = now_ms();
        for k in &keys {
            if let Some(b) = &k.budget {
                let start = b.period.start(now_ms);
                if let Ok(t) = self.ledger.usage_since(&k.id, start) {
                    self.budgets.set_used(&k.id, start, t.in_unit(b.unit));
                }
                self.metrics
                    .budget_remaining
                    .with_label_values(&[&k.id, b.unit.as_str()])
                    .set(self.budgets.remaining(&k.id, b));
            }
        }
        let table = KeyTable {
            any: !keys.is_empty(),
            by_hash: keys.into_iter().map(|k| (k.hash_hex.clone(), k)).collect(),
        };
        if let Ok(mut w) = self.keys.write() {
            *w = Arc::new(table);
        }
        Ok(())
    }
}

/// Unix time now, ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Builds the application state: resolves the config, opens the ledger, builds the client.
pub fn build(resolved: Resolved) -> Result<Arc<App>, ServeError> {
    let Resolved {
        config: cfg,
        timeout,
        connect_timeout,
        meters,
        carbon,
    } = resolved;
    let target = Target::parse(&cfg.ledger);
    let ledger = Ledger::open(OpenOptions {
        target,
        signing_key: cfg.signing_key.clone(),
        max_group: 256,
    })
    .map_err(|e| ServeError::Input(format!("ledger `{}`: {e}", cfg.ledger)))?;
    let client = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| ServeError::Runtime(format!("HTTP client: {e}")))?;
    let mut upstreams = Vec::new();
    for ((u, (meter, by_name)), carbon) in cfg.upstreams.iter().zip(meters).zip(carbon) {
        let auth = match &u.api_key_env {
            Some(v) => {
                let secret = std::env::var(v).unwrap_or_default();
                let mut h = reqwest::header::HeaderValue::from_str(&format!("Bearer {secret}"))
                    .map_err(|_| {
                        ServeError::Input(format!(
                            "the credential in `{v}` is not a valid header value"
                        ))
                    })?;
                h.set_sensitive(true);
                Some(h)
            }
            None => None,
        };
        upstreams.push(Upstream {
            cfg: u.clone(),
            base: u.url.trim_end_matches('/').to_string(),
            auth,
            meter,
            meters: by_name,
            carbon,
            in_flight: load::Load::default(),
            scraped: load::Load::default(),
        });
    }
    let app = Arc::new(App {
        upstreams,
        client,
        anonymous: "anonymous".into(),
        ledger_ok: std::sync::atomic::AtomicBool::new(true),
        ledger,
        metrics: metrics::Metrics::new(),
        dashboard: dashboard::Dashboard::new(),
        keys: RwLock::new(Arc::new(KeyTable::default())),
        budgets: budget::Budgets::default(),
        cfg,
        timeout,
    });
    // Series that alerts watch exist from the start, at 0.
    let mode = match app.cfg.on_ledger_error {
        config::OnLedgerError::FailClosed => "fail-closed",
        config::OnLedgerError::FailOpen => "fail-open",
    };
    app.metrics.ledger_errors.with_label_values(&[mode]).reset();
    for u in &app.upstreams {
        app.metrics
            .in_flight
            .with_label_values(&[u.cfg.name.as_str()])
            .set(0.0);
    }
    app.reload_keys()
        .map_err(|e| ServeError::Runtime(format!("reading keys from the ledger: {e}")))?;
    Ok(app)
}

/// The router: OpenAI endpoints, metrics, dashboard, health, pass-through.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(proxy::chat))
        .route("/v1/completions", post(proxy::completions))
        .route("/v1/embeddings", post(proxy::embeddings))
        .route("/v1/models", get(proxy::models))
        .route("/v1/{*rest}", any(proxy::pass_through))
        .route("/metrics", get(proxy::metrics))
        .route("/dashboard", get(proxy::dashboard_page))
        .route("/dashboard/data", get(proxy::dashboard_data))
        .route("/healthz", get(proxy::health))
        .with_state(app)
}

fn background(app: &Arc<App>) {
    // Keys (revocations, new keys, budgets used) every second.
    let a = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let b = a.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || b.reload_keys()).await {
                eprintln!("wattage serve: reading keys: {e}");
            }
        }
    });
    // vLLM's running sequences, once a second.
    for i in 0..app.upstreams.len() {
        if app.upstreams[i].cfg.batch_source != BatchSource::VllmMetrics {
            continue;
        }
        let a = app.clone();
        tokio::spawn(async move {
            let u = &a.upstreams[i];
            let url = u
                .cfg
                .metrics_url
                .clone()
                .unwrap_or_else(|| format!("{}/metrics", u.base.trim_end_matches("/v1")));
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let r = a
                    .client
                    .get(&url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await;
                let text = match r {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                match load::vllm_running(&text) {
                    Some(v) => u.scraped.set(v),
                    // Not scrapeable: fall back to the gateway's own count.
                    None => u.scraped.set(u.in_flight.now()),
                }
            }
        });
    }
}

/// Runs the gateway until SIGINT or SIGTERM, then drains in-flight requests.
pub fn serve(resolved: Resolved) -> Result<(), ServeError> {
    let listen: SocketAddr = resolved.config.listen.parse().map_err(|_| {
        ServeError::Input(format!("`{}` is not an address", resolved.config.listen))
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Runtime(format!("tokio runtime: {e}")))?;
    rt.block_on(async move {
        let app = build(resolved)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| ServeError::Input(format!("cannot listen on {listen}: {e}")))?;
        // Stream chunks leave at once (Nagle's algorithm would hold each ~40 ms).
        let listener = {
            use axum::serve::ListenerExt;
            listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            })
        };
        let addr = axum::serve::Listener::local_addr(&listener)
            .map_err(|e| ServeError::Runtime(e.to_string()))?;
        background(&app);
        eprintln!(
            "wattage serve: listening on http://{addr}/v1 · ledger {} (instance {}) · {} upstream(s)",
            app.cfg.ledger,
            app.ledger.instance_id(),
            app.upstreams.len()
        );
        println!("listening on {addr}");
        let shutdown = async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                match signal(SignalKind::terminate()) {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                    }
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
            eprintln!("wattage serve: stopping; finishing requests in flight");
        };
        axum::serve(listener, router(app))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| ServeError::Runtime(e.to_string()))
    })
}
