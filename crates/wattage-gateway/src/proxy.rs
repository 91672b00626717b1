//! The request path. For a priced endpoint: read the body (bounded), authenticate, reserve
//! the budget, rank the upstreams, forward (failing over before any byte reached the client),
//! then pass the response through: whole, or as server-sent events chunk by chunk. The
//! tokens the upstream reports (or, for a stream cut short, the tokens seen) are priced at
//! the batch measured over the request's life, the row is committed to the ledger, and only
//! then does the client get the end of its response.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};
use wattage_engine::{Impacts, Usage};
use wattage_ledger::{ApiKey, Entry};

use crate::budget::{self, Reservation};
use crate::config::{OnLedgerError, Policy};
use crate::{App, Upstream, now_ms};

/// Largest upstream response body held in memory (non-streamed), bytes.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// The three priced endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v1/chat/completions`.
    Chat,
    /// `/v1/completions`.
    Completions,
    /// `/v1/embeddings` (prefill only).
    Embeddings,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
        }
    }
    fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::Completions => "/completions",
            Endpoint::Embeddings => "/embeddings",
        }
    }
}

fn error(status: StatusCode, kind: &str, msg: impl Into<String>) -> Response {
    let body = json!({"error": {"message": msg.into(), "type": kind, "code": status.as_u16()}});
    (status, axum::Json(body)).into_response()
}

/// `POST /v1/chat/completions`.
pub async fn chat(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    priced(app, Endpoint::Chat, headers, body).await
}

/// `POST /v1/completions`.
pub async fn completions(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    priced(app, Endpoint::Completions, headers, body).await
}

/// `POST /v1/embeddings`.
pub async fn embeddings(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    priced(app, Endpoint::Embeddings, headers, body).await
}

/// `GET /metrics`.
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    for u in &app.upstreams {
        app.metrics
            .in_flight
            .with_label_values(&[&u.cfg.name])
            .set(u.in_flight.now());
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// `GET /dashboard`.
pub async fn dashboard_page() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        crate::dashboard::PAGE,
    )
        .into_response()
}

/// `GET /dashboard/data`.
pub async fn dashboard_data(State(app): State<Arc<App>>) -> Response {
    axum::Json(app.dashboard.snapshot(now_ms())).into_response()
}

/// `GET /healthz`: `ok` while the ledger accepts writes; after a failed write, 503 until a
/// probe write succeeds.
pub async fn health(State(app): State<Arc<App>>) -> Response {
    use std::sync::atomic::Ordering;
    if app.ledger_ok.load(Ordering::Relaxed) {
        return "ok".into_response();
    }
    let a = app.clone();
    match tokio::task::spawn_blocking(move || a.ledger.probe_write()).await {
        Ok(Ok(())) => {
            app.ledger_ok.store(true, Ordering::Relaxed);
            "ok".into_response()
        }
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("ledger does not accept writes: {e}"),
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "ledger probe failed").into_response(),
    }
}

/// Headers not forwarded either way (hop-by-hop, recomputed, or secret).
fn skip_header(name: &str) -> bool {
    matches!(
        name,
        "host"
            | "authorization"
            | "content-length"
            | "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "accept-encoding"
            | "x-api-key"
            | "cookie"
    ) || name.starts_with("x-wattage-")
}

fn upstream_request(
    app: &App,
    u: &Upstream,
    method: reqwest::Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> reqwest::RequestBuilder {
    let mut rb = app
        .client
        .request(method, format!("{}{}", u.base, path_and_query))
        .body(body)
        .header("accept-encoding", "identity");
    for (k, v) in headers {
        if !skip_header(k.as_str()) {
            rb = rb.header(k.as_str(), v.as_bytes());
        }
    }
    if let Some(a) = &u.auth {
        rb = rb.header("authorization", a.clone());
    }
    rb
}

fn copy_response_headers(from: &reqwest::header::HeaderMap, to: &mut HeaderMap) {
    for (k, v) in from {
        let n = k.as_str();
        if skip_header(n) || n == "content-encoding" || n == "set-cookie" {
            continue;
        }
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_str().as_bytes()),
            HeaderValue::from_bytes(v.as_bytes()),
        ) {
            to.insert(k, v);
        }
    }
}

/// `GET /v1/models`: the first upstream's list, plus the names the config lists.
pub async fn models(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(r) = authenticate(&app, &headers) {
        return r;
    }
    let mut data: Vec<Value> = Vec::new();
    if let Some(u) = app.upstreams.first() {
        let r = upstream_request(
            &app,
            u,
            reqwest::Method::GET,
            "/models",
            &headers,
            Bytes::new(),
        )
        .timeout(app.timeout)
        .send()
        .await;
        if let Ok(r) = r
            && r.status().is_success()
            && let Ok(b) = r.bytes().await
            && let Ok(v) = serde_json::from_slice::<Value>(&b)
            && let Some(list) = v.get("data").and_then(Value::as_array)
        {
            data.extend(list.iter().cloned());
        }
    }
    for u in &app.upstreams {
        let listed = u.cfg.models.iter().flatten().chain(u.meters.keys());
        for name in listed {
            if !data
                .iter()
                .any(|m| m.get("id").and_then(Value::as_str) == Some(name))
            {
                data.push(json!({"id": name, "object": "model", "owned_by": u.cfg.name}));
            }
        }
    }
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

/// Any other path under `/v1/`: forwarded to the first upstream untouched, not priced.
pub async fn pass_through(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = authenticate(&app, &headers) {
        return r;
    }
    let limit = usize::try_from(app.cfg.max_body_bytes).unwrap_or(usize::MAX);
    let Ok(body) = axum::body::to_bytes(body, limit).await else {
        app.metrics.refused.with_label_values(&["body"]).inc();
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("request body over {limit} bytes"),
        );
    };
    let Some(u) = app.upstreams.first() else {
        return error(StatusCode::BAD_GATEWAY, "upstream_error", "no upstream");
    };
    let pq = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let pq = pq.strip_prefix("/v1").unwrap_or(pq);
    let Ok(m) = reqwest::Method::from_bytes(method.as_str().as_bytes()) else {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            "method",
        );
    };
    match upstream_request(&app, u, m, pq, &headers, body)
        .timeout(app.timeout)
        .send()
        .await
    {
        Ok(r) => {
            let status =
                StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut h = HeaderMap::new();
            copy_response_headers(r.headers(), &mut h);
            let body = Body::from_stream(r.bytes_stream());
            (status, h, body).into_response()
        }
        Err(e) if e.is_timeout() => error(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            format!("upstream `{}` timed out", u.cfg.name),
        ),
        Err(_) => error(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            format!("upstream `{}` could not be reached", u.cfg.name),
        ),
    }
}

/// The client's key, checked: `Ok(None)` when auth is off.
#[allow(clippy::result_large_err)]
fn authenticate(app: &App, headers: &HeaderMap) -> Result<Option<ApiKey>, Response> {
    if !app.auth_required() {
        return Ok(None);
    }
    let secret = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim);
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        app.metrics.refused.with_label_values(&["auth"]).inc();
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "missing API key: send `Authorization: Bearer <key>`",
        ));
    };
    let hash = wattage_ledger::hash_secret(secret);
    let table = app.keys.read().map(|t| t.clone()).unwrap_or_default();
    match table.by_hash.get(&hash) {
        Some(k) if !k.revoked => Ok(Some(k.clone())),
        Some(_) => {
            app.metrics.refused.with_label_values(&["auth"]).inc();
            Err(error(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "this API key was revoked",
            ))
        }
        None => {
            app.metrics.refused.with_label_values(&["auth"]).inc();
            Err(error(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "unknown API key",
            ))
        }
    }
}

/// The request's id and whether the client chose it (`x-request-id` or `idempotency-key`).
fn request_id(headers: &HeaderMap) -> Result<(String, bool), String> {
    for h in ["x-request-id", "idempotency-key"] {
        if let Some(v) = headers.get(h) {
            let s = v.to_str().unwrap_or("");
            if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(format!(
                    "header `{h}` must be 1 to 128 visible ASCII characters"
                ));
            }
            return Ok((s.to_string(), true));
        }
    }
    Ok((uuid::Uuid::now_v7().to_string(), false))
}

/// Rough prompt and output tokens of a request before it runs (for routing and budget
/// reservations only): 4 bytes of body per prompt token; `max_tokens` or 256 out.
fn expected_usage(body: &Value, len: usize, ep: Endpoint) -> Usage {
    let out = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64))
        .unwrap_or(256)
        .min(1_000_000);
    Usage {
        input_tokens: (len as u64 / 4).max(1),
        cached_input_tokens: 0,
        output_tokens: if ep == Endpoint::Embeddings { 0 } else { out },
    }
}

fn rank(app: &App, model: &str, expect: &Usage) -> Vec<usize> {
    let mut c: Vec<usize> = (0..app.upstreams.len())
        .filter(|&i| app.upstreams[i].serves(model))
        .collect();
    let policy = app
        .cfg
        .routing
        .models
        .get(model)
        .copied()
        .unwrap_or(app.cfg.routing.policy);
    if c.len() < 2 {
        return c;
    }
    let score = |i: usize| -> f64 {
        let u = &app.upstreams[i];
        let load = u.in_flight.now();
        let price = || {
            u.meter_for(model)
                .price_with(expect, u.batch_load().now() + 1.0, u.carbon_now())
                .ok()
        };
        match policy {
            Policy::LeastLoaded => load,
            Policy::LowestEnergy => price().map_or(f64::MAX, |p| p.energy_j_per_output_token),
            Policy::LowestCarbon => price().map_or(f64::MAX, |p| p.co2e_g),
            Policy::LowestCost => price().map_or(f64::MAX, |p| p.cost_usd),
        }
    };
    let mut scored: Vec<(f64, usize)> = c.iter().map(|&i| (score(i), i)).collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    c = scored.into_iter().map(|s| s.1).collect();
    c
}

/// What is known of a request while it runs.
struct Ctx {
    app: Arc<App>,
    ep: Endpoint,
    id: String,
    key: Option<ApiKey>,
    model: String,
    arrived: Instant,
    arrived_ms: i64,
    want_impacts: bool,
    budget: Option<Reservation>,
    expect_input: u64,
}

impl Ctx {
    fn key_label(&self) -> &str {
        self.key
            .as_ref()
            .map_or(self.app.anonymous.as_str(), |k| k.id.as_str())
    }
}

/// The tokens of a response as far as they are known.
#[derive(Default, Clone, Copy)]
struct Tokens {
    usage: Option<(u64, u64, u64, u64)>,
    counted: u64,
}

fn usage_of(v: &Value) -> Option<(u64, u64, u64, u64)> {
    let u = v.get("usage")?;
    if u.is_null() {
        return None;
    }
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    Some((
        n("/prompt_tokens"),
        n("/prompt_tokens_details/cached_tokens"),
        n("/completion_tokens"),
        n("/completion_tokens_details/reasoning_tokens"),
    ))
}

/// One finished attempt's figures, written to the ledger and metrics.
struct Outcome<'a> {
    u: &'a Upstream,
    status: u16,
    stream: bool,
    tokens: Tokens,
    batch: f64,
    upstream_s: f64,
    ttft_ms: Option<f64>,
}

/// Prices, records (awaiting the commit), counts. Returns the impacts and whether the row
/// is recorded (false in fail-open mode after a ledger error), or `Err` (fail-closed).
async fn settle(ctx: &Ctx, o: Outcome<'_>) -> Result<(Impacts, Option<String>), String> {
    let app = &ctx.app;
    let meter = o.u.meter_for(&ctx.model);
    let (source, input, cached, output, reasoning) = match o.tokens.usage {
        Some((i, c, out, r)) => ("usage", i, c, out, r),
        None => ("counted", ctx.expect_input, 0, o.tokens.counted, 0),
    };
    let usage = Usage {
        input_tokens: input,
        cached_input_tokens: cached,
        output_tokens: if ctx.ep == Endpoint::Embeddings {
            0
        } else {
            output
        },
    };
    let success = (200..300).contains(&o.status) || o.status == 499 || o.tokens.counted > 0;
    let impacts = if success {
        meter
            .price_with(&usage, o.batch, o.u.carbon_now())
            .unwrap_or_else(|_| zero(meter, o.batch))
    } else {
        zero(meter, o.batch)
    };
    let latency_ms = ctx.arrived.elapsed().as_secs_f64() * 1000.0;
    let entry = Entry {
        request_id: ctx.id.clone(),
        time_unix_ms: ctx.arrived_ms,
        key_id: ctx.key.as_ref().map_or(String::new(), |k| k.id.clone()),
        upstream: o.u.cfg.name.clone(),
        model: ctx.model.clone(),
        deployment_model: meter.model().to_string(),
        hardware: meter.hardware().to_string(),
        gpus: meter.gpus(),
        endpoint: ctx.ep.name().to_string(),
        status: o.status,
        stream: o.stream,
        input_tokens: input,
        cached_input_tokens: cached,
        output_tokens: usage.output_tokens,
        reasoning_tokens: reasoning,
        tokens_source: if success { source } else { "none" }.to_string(),
        batch: impacts.batch,
        latency_ms,
        ttft_ms: o.ttft_ms,
        energy_wh: impacts.energy_wh,
        low_wh: impacts.low_wh,
        high_wh: impacts.high_wh,
        co2e_g: impacts.co2e_g,
        water_ml: impacts.water_ml,
        cost_usd: impacts.cost_usd,
        scope: impacts.scope.to_string(),
    };
    let upstream = o.u.cfg.name.as_str();
    let key = ctx.key_label().to_string();
    let model = app.metrics.model_label(&ctx.model).to_string();
    let recorded = app.ledger.append(entry).await;
    app.ledger_ok
        .store(recorded.is_ok(), std::sync::atomic::Ordering::Relaxed);
    let mut flag = None;
    match recorded {
        Ok(a) if a.duplicate => {
            app.metrics.duplicates.with_label_values(&[upstream]).inc();
            flag = Some("duplicate".to_string());
        }
        Ok(_) => {
            let l = [model.as_str(), upstream, key.as_str()];
            let m = &app.metrics;
            m.energy_wh.with_label_values(&l).inc_by(impacts.energy_wh);
            m.co2e_g.with_label_values(&l).inc_by(impacts.co2e_g);
            m.water_ml.with_label_values(&l).inc_by(impacts.water_ml);
            m.cost_usd.with_label_values(&l).inc_by(impacts.cost_usd);
            m.input_tokens.with_label_values(&l).inc_by(input as f64);
            m.output_tokens
                .with_label_values(&l)
                .inc_by(usage.output_tokens as f64);
            app.dashboard.record(
                ctx.arrived_ms,
                &model,
                &key,
                impacts.energy_wh,
                impacts.co2e_g,
                impacts.water_ml,
                impacts.cost_usd,
            );
        }
        Err(e) => {
            let mode = match app.cfg.on_ledger_error {
                OnLedgerError::FailClosed => "fail-closed",
                OnLedgerError::FailOpen => "fail-open",
            };
            app.metrics.ledger_errors.with_label_values(&[mode]).inc();
            eprintln!(
                "wattage serve: ledger write failed for request {} ({mode}): {e}",
                ctx.id
            );
            if app.cfg.on_ledger_error == OnLedgerError::FailClosed {
                settle_budget(ctx, &impacts);
                return Err(format!("the ledger could not record this request: {e}"));
            }
            flag = Some("unrecorded".to_string());
        }
    }
    settle_budget(ctx, &impacts);
    app.metrics
        .requests
        .with_label_values(&[
            model.as_str(),
            upstream,
            key.as_str(),
            &o.status.to_string(),
        ])
        .inc();
    let added = (ctx.arrived.elapsed().as_secs_f64() - o.upstream_s).max(0.0);
    app.metrics
        .added_latency
        .with_label_values(&[ctx.ep.name()])
        .observe(added);
    if let Some(t) = o.ttft_ms {
        app.metrics
            .ttft
            .with_label_values(&[model.as_str()])
            .observe(t / 1000.0);
    }
    Ok((impacts, flag))
}

fn zero(meter: &wattage_engine::Meter, batch: f64) -> Impacts {
    Impacts {
        energy_wh: 0.0,
        low_wh: 0.0,
        high_wh: 0.0,
        energy_j_per_output_token: 0.0,
        co2e_g: 0.0,
        water_ml: 0.0,
        cost_usd: 0.0,
        scope: wattage_engine::estimate::scope_name(meter.scope()),
        batch: batch.max(1.0),
    }
}

fn settle_budget(ctx: &Ctx, i: &Impacts) {
    if let (Some(k), Some(r)) = (&ctx.key, ctx.budget)
        && let Some(b) = &k.budget
    {
        let left = ctx
            .app
            .budgets
            .settle(&k.id, b, r, budget::amount(i, b.unit));
        ctx.app
            .metrics
            .budget_remaining
            .with_label_values(&[&k.id, b.unit.as_str()])
            .set(left);
    }
}

fn impacts_json(i: &Impacts, source: &str, meter: &wattage_engine::Meter) -> Value {
    json!({
        "energy_wh": i.energy_wh,
        "low_wh": i.low_wh,
        "high_wh": i.high_wh,
        "energy_j_per_output_token": i.energy_j_per_output_token,
        "co2e_g": i.co2e_g,
        "water_ml": i.water_ml,
        "cost_usd": i.cost_usd,
        "scope": i.scope,
        "batch": i.batch,
        "tokens_source": source,
        "model": meter.model(),
        "hardware": meter.hardware(),
        "gpus": meter.gpus(),
    })
}

fn impact_headers(h: &mut HeaderMap, i: &Impacts, id: &str) {
    let mut put = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    put("x-wattage-energy-wh", format!("{:.6e}", i.energy_wh));
    put("x-wattage-energy-wh-low", format!("{:.6e}", i.low_wh));
    put("x-wattage-energy-wh-high", format!("{:.6e}", i.high_wh));
    put("x-wattage-co2e-g", format!("{:.6e}", i.co2e_g));
    put("x-wattage-water-ml", format!("{:.6e}", i.water_ml));
    put("x-wattage-request-id", id.to_string());
}

enum Failure {
    Timeout,
    Other,
}

async fn priced(app: Arc<App>, ep: Endpoint, headers: HeaderMap, body: Body) -> Response {
    let arrived = Instant::now();
    let arrived_ms = now_ms();
    let key = match authenticate(&app, &headers) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let limit = usize::try_from(app.cfg.max_body_bytes).unwrap_or(usize::MAX);
    let raw = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            app.metrics.refused.with_label_values(&["body"]).inc();
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                format!("request body over the gateway's limit of {limit} bytes (max_body_bytes)"),
            );
        }
    };
    let mut body: Value = match serde_json::from_slice(&raw) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            app.metrics.refused.with_label_values(&["body"]).inc();
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "the request body must be a JSON object",
            );
        }
        Err(e) => {
            app.metrics.refused.with_label_values(&["body"]).inc();
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                format!("the request body is not valid JSON: {e}"),
            );
        }
    };
    let id = match (request_id(&headers), &key) {
        // With keys, a client's own id is scoped to its key: one key cannot make another's
        // request count as a retry of its own (and so go unrecorded).
        (Ok((id, true)), Some(k)) => format!("{}/{id}", k.id),
        (Ok((id, _)), _) => id,
        (Err(m), _) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", m),
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let stream =
        ep != Endpoint::Embeddings && body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let want_impacts = headers
        .get("x-wattage-impacts")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let expect = expected_usage(&body, raw.len(), ep);
    let order = rank(&app, &model, &expect);
    if order.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!("no upstream serves the model `{model}`"),
        );
    }
    // Budget: hold the high estimate on the first-choice upstream.
    let mut reservation = None;
    if let Some(k) = &key
        && let Some(b) = &k.budget
    {
        let u = &app.upstreams[order[0]];
        let est = u
            .meter_for(&model)
            .price_with(&expect, u.batch_load().now() + 1.0, u.carbon_now())
            .map_or(0.0, |i| {
                budget::amount(
                    &Impacts {
                        energy_wh: i.high_wh,
                        co2e_g: i.co2e_g * i.high_wh / i.energy_wh.max(f64::MIN_POSITIVE),
                        water_ml: i.water_ml * i.high_wh / i.energy_wh.max(f64::MIN_POSITIVE),
                        cost_usd: i.cost_usd * i.high_wh / i.energy_wh.max(f64::MIN_POSITIVE),
                        ..i
                    },
                    b.unit,
                )
            });
        match app.budgets.reserve(&k.id, b, k.shadow, est, arrived_ms) {
            Ok(r) => reservation = Some(r),
            Err(left) => {
                app.metrics.refused.with_label_values(&["budget"]).inc();
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "budget_exceeded",
                    format!(
                        "key `{}` is over its {} budget of {} {} (this request needs about {est:.4})",
                        k.name,
                        b.period,
                        b.amount,
                        b.unit.as_str()
                    ),
                );
                let h = r.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&format!("{left:.6}")) {
                    h.insert("x-wattage-budget-remaining", v);
                }
                h.insert(
                    "x-wattage-budget-unit",
                    HeaderValue::from_static(b.unit.as_str()),
                );
                return r;
            }
        }
    }
    let client_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let out_body = if stream {
        if let Some(o) = body.as_object_mut() {
            let so = o.entry("stream_options").or_insert_with(|| json!({}));
            if !so.is_object() {
                *so = json!({});
            }
            if let Some(so) = so.as_object_mut() {
                so.insert("include_usage".into(), Value::Bool(true));
            }
        }
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
    } else {
        raw.clone()
    };
    let ctx = Ctx {
        app: app.clone(),
        ep,
        id,
        key,
        model,
        arrived,
        arrived_ms,
        want_impacts,
        budget: reservation,
        expect_input: expect.input_tokens,
    };
    // Try the upstreams in order until one answers without a server error.
    let mut attempts = Vec::new();
    let mut all_timeouts = true;
    for &i in &order {
        let u = &app.upstreams[i];
        let start_mark = u.batch_load().mark();
        u.in_flight.add(1.0);
        let sent = Instant::now();
        let r = tokio::time::timeout(
            app.timeout,
            upstream_request(
                &app,
                u,
                reqwest::Method::POST,
                ep.path(),
                &headers,
                out_body.clone(),
            )
            .send(),
        )
        .await;
        let fail = match r {
            Ok(Ok(resp)) if resp.status().is_server_error() => {
                app.metrics
                    .upstream_errors
                    .with_label_values(&[&u.cfg.name, "status"])
                    .inc();
                all_timeouts = false;
                Some((Failure::Other, format!("status {}", resp.status().as_u16())))
            }
            Ok(Ok(resp)) => {
                return if stream && resp.status().is_success() {
                    stream_response(ctx, i, resp, start_mark, sent, client_usage).await
                } else {
                    whole_response(ctx, i, resp, start_mark, sent).await
                };
            }
            Ok(Err(e)) => {
                let kind = if e.is_timeout() { "timeout" } else { "connect" };
                app.metrics
                    .upstream_errors
                    .with_label_values(&[u.cfg.name.as_str(), kind])
                    .inc();
                if e.is_timeout() {
                    Some((Failure::Timeout, "timed out".into()))
                } else {
                    all_timeouts = false;
                    Some((Failure::Other, "could not connect or send".into()))
                }
            }
            Err(_) => {
                app.metrics
                    .upstream_errors
                    .with_label_values(&[&u.cfg.name, "timeout"])
                    .inc();
                Some((
                    Failure::Timeout,
                    format!("no response within {:?}", app.timeout),
                ))
            }
        };
        u.in_flight.add(-1.0);
        if let Some((f, why)) = fail {
            if matches!(f, Failure::Other) {
                all_timeouts = false;
            }
            attempts.push(json!({"upstream": u.cfg.name, "error": why}));
        }
    }
    if let (Some(k), Some(r)) = (&ctx.key, ctx.budget)
        && let Some(b) = &k.budget
    {
        app.budgets.settle(&k.id, b, r, 0.0);
    }
    let (status, kind) = if all_timeouts {
        (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout")
    } else {
        (StatusCode::BAD_GATEWAY, "upstream_error")
    };
    app.metrics
        .requests
        .with_label_values(&[
            app.metrics.model_label(&ctx.model),
            "",
            ctx.key_label(),
            &status.as_u16().to_string(),
        ])
        .inc();
    let body = json!({"error": {
        "message": format!("every upstream serving `{}` failed", ctx.model),
        "type": kind,
        "code": status.as_u16(),
        "attempts": attempts,
    }});
    (status, axum::Json(body)).into_response()
}

async fn whole_response(
    ctx: Ctx,
    i: usize,
    resp: reqwest::Response,
    start_mark: crate::load::Mark,
    sent: Instant,
) -> Response {
    let app = ctx.app.clone();
    let u = &app.upstreams[i];
    let status = resp.status().as_u16();
    let mut headers = HeaderMap::new();
    copy_response_headers(resp.headers(), &mut headers);
    let body = tokio::time::timeout(app.timeout, read_limited(resp, MAX_RESPONSE_BYTES)).await;
    let end_mark = u.batch_load().mark();
    u.in_flight.add(-1.0);
    let upstream_s = sent.elapsed().as_secs_f64();
    // An upstream that fails mid-body did work: its row is recorded (no tokens known).
    let failed = |status: u16| Outcome {
        u,
        status,
        stream: false,
        tokens: Tokens::default(),
        batch: u.batch_load().mean(start_mark, end_mark),
        upstream_s,
        ttft_ms: None,
    };
    let body = match body {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            let _ = settle(&ctx, failed(502)).await;
            return error(StatusCode::BAD_GATEWAY, "upstream_error", e);
        }
        Err(_) => {
            let _ = settle(&ctx, failed(504)).await;
            return error(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                format!(
                    "upstream `{}` did not finish within {:?}",
                    u.cfg.name, app.timeout
                ),
            );
        }
    };
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let tokens = Tokens {
        usage: parsed.as_ref().and_then(usage_of),
        counted: 0,
    };
    let o = Outcome {
        u,
        status,
        stream: false,
        tokens,
        batch: u.batch_load().mean(start_mark, end_mark),
        upstream_s,
        ttft_ms: None,
    };
    let (impacts, flag) = match settle(&ctx, o).await {
        Ok(x) => x,
        Err(m) => return error(StatusCode::SERVICE_UNAVAILABLE, "ledger_error", m),
    };
    impact_headers(&mut headers, &impacts, &ctx.id);
    if let Some(f) = flag
        && let Ok(v) = HeaderValue::from_str(&f)
    {
        headers.insert("x-wattage-ledger", v);
    }
    let source = if tokens.usage.is_some() {
        "usage"
    } else {
        "counted"
    };
    let body = match parsed {
        Some(Value::Object(mut o)) if ctx.want_impacts => {
            o.insert(
                "impacts".into(),
                impacts_json(&impacts, source, u.meter_for(&ctx.model)),
            );
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Bytes::from(serde_json::to_vec(&o).unwrap_or_default())
        }
        _ => body,
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, headers, body).into_response()
}

async fn read_limited(resp: reqwest::Response, limit: usize) -> Result<Bytes, String> {
    let mut out = Vec::new();
    let mut s = resp.bytes_stream();
    while let Some(chunk) = s.next().await {
        let c = chunk.map_err(|e| format!("upstream connection failed mid-response: {e}"))?;
        if out.len() + c.len() > limit {
            return Err(format!("upstream response over {limit} bytes"));
        }
        out.extend_from_slice(&c);
    }
    Ok(Bytes::from(out))
}

/// Server-sent events of one stream, parsed as they pass.
#[derive(Default)]
struct Sse {
    buf: Vec<u8>,
}

impl Sse {
    /// Appends bytes; returns the complete events (each without its blank-line ending).
    fn push(&mut self, b: &[u8]) -> Vec<Vec<u8>> {
        self.buf.extend_from_slice(b);
        let mut out = Vec::new();
        loop {
            let pos = find_event_end(&self.buf);
            let Some((end, sep)) = pos else { break };
            let ev: Vec<u8> = self.buf.drain(..end + sep).take(end).collect();
            out.push(ev);
        }
        out
    }
}

fn find_event_end(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'\n' && b[i + 1] == b'\n' {
            return Some((i, 2));
        }
        if i + 3 < b.len() && &b[i..i + 4] == b"\r\n\r\n" {
            return Some((i, 4));
        }
        i += 1;
    }
    None
}

/// The `data:` payload of an event (several data lines joined by newlines).
fn event_data(ev: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(ev).ok()?;
    let mut data: Option<String> = None;
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("data:") {
            let d = d.strip_prefix(' ').unwrap_or(d);
            match &mut data {
                Some(s) => {
                    s.push('\n');
                    s.push_str(d);
                }
                None => data = Some(d.to_string()),
            }
        }
    }
    data
}

fn sse(v: &Value) -> Bytes {
    let mut s = b"data: ".to_vec();
    s.extend_from_slice(&serde_json::to_vec(v).unwrap_or_default());
    s.extend_from_slice(b"\n\n");
    Bytes::from(s)
}

/// Tokens a chunk carries: one per choice with content, reasoning or text.
fn chunk_tokens(v: &Value) -> u64 {
    let Some(choices) = v.get("choices").and_then(Value::as_array) else {
        return 0;
    };
    choices
        .iter()
        .filter(|c| {
            let nonempty = |p: &str| {
                c.pointer(p)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
            };
            nonempty("/delta/content")
                || nonempty("/delta/reasoning_content")
                || nonempty("/delta/reasoning")
                || nonempty("/text")
        })
        .count() as u64
}

fn has_finish(v: &Value) -> bool {
    v.get("choices").and_then(Value::as_array).is_some_and(|c| {
        c.iter()
            .any(|c| c.get("finish_reason").is_some_and(|f| !f.is_null()))
    })
}

async fn stream_response(
    ctx: Ctx,
    i: usize,
    resp: reqwest::Response,
    start_mark: crate::load::Mark,
    sent: Instant,
    client_usage: bool,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let mut headers = HeaderMap::new();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    if let Ok(v) = HeaderValue::from_str(&ctx.id) {
        headers.insert("x-wattage-request-id", v);
    }
    tokio::spawn(pump(ctx, i, resp, start_mark, sent, client_usage, tx));
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|x| (x, rx))
    }));
    (StatusCode::OK, headers, body).into_response()
}

/// How a stream ended.
#[derive(PartialEq)]
enum End {
    Done,
    UpstreamFailed(&'static str),
    ClientGone,
}

async fn pump(
    ctx: Ctx,
    i: usize,
    resp: reqwest::Response,
    start_mark: crate::load::Mark,
    sent: Instant,
    client_usage: bool,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let app = ctx.app.clone();
    let u = &app.upstreams[i];
    let mut up = resp.bytes_stream();
    let mut parser = Sse::default();
    let mut tokens = Tokens::default();
    let mut ttft_ms = None;
    let mut held: Option<Value> = None; // the finish or usage chunk, held to carry impacts
    let end = 'outer: loop {
        let next = tokio::select! {
            n = tokio::time::timeout(app.timeout, up.next()) => n,
            () = tx.closed() => break End::ClientGone,
        };
        let chunk = match next {
            Err(_) => break End::UpstreamFailed("timeout"),
            Ok(None) => break End::UpstreamFailed("reset"),
            Ok(Some(Err(_))) => break End::UpstreamFailed("reset"),
            Ok(Some(Ok(c))) => c,
        };
        for ev in parser.push(&chunk) {
            let Some(data) = event_data(&ev) else {
                // Comments and other fields pass through.
                let mut b = ev.clone();
                b.extend_from_slice(b"\n\n");
                if tx.send(Ok(Bytes::from(b))).await.is_err() {
                    break 'outer End::ClientGone;
                }
                continue;
            };
            if data.trim() == "[DONE]" {
                break 'outer End::Done;
            }
            let Ok(v) = serde_json::from_str::<Value>(&data) else {
                let mut b = ev.clone();
                b.extend_from_slice(b"\n\n");
                if tx.send(Ok(Bytes::from(b))).await.is_err() {
                    break 'outer End::ClientGone;
                }
                continue;
            };
            if let Some(u) = usage_of(&v) {
                tokens.usage = Some(u);
            }
            let n = chunk_tokens(&v);
            if n > 0 && ttft_ms.is_none() {
                ttft_ms = Some(ctx.arrived.elapsed().as_secs_f64() * 1000.0);
            }
            tokens.counted += n;
            let usage_only = v
                .get("choices")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
                && v.get("usage").is_some_and(|u| !u.is_null());
            let out = if usage_only {
                if client_usage {
                    // Held: the final chunk, it carries the impacts.
                    held.replace(v).map(|h| sse(&h))
                } else {
                    None // stripped: the client did not ask for usage
                }
            } else if ctx.want_impacts && !client_usage && has_finish(&v) {
                held.replace(v).map(|h| sse(&h))
            } else {
                let mut b = ev.clone();
                b.extend_from_slice(b"\n\n");
                Some(Bytes::from(b))
            };
            if let Some(b) = out
                && tx.send(Ok(b)).await.is_err()
            {
                break 'outer End::ClientGone;
            }
        }
    };
    drop(up);
    let end_mark = u.batch_load().mark();
    u.in_flight.add(-1.0);
    if let End::UpstreamFailed(kind) = &end {
        app.metrics
            .upstream_errors
            .with_label_values(&[u.cfg.name.as_str(), kind])
            .inc();
    }
    let status = match &end {
        End::Done => 200,
        End::ClientGone => 499,
        End::UpstreamFailed("timeout") => 504,
        End::UpstreamFailed(_) => 502,
    };
    // A stream that ended early has no trustworthy usage unless the upstream sent it.
    let o = Outcome {
        u,
        status,
        stream: true,
        tokens,
        batch: u.batch_load().mean(start_mark, end_mark),
        upstream_s: sent.elapsed().as_secs_f64(),
        ttft_ms,
    };
    let settled = settle(&ctx, o).await;
    if end == End::ClientGone {
        return;
    }
    match settled {
        Err(m) => {
            let _ = tx
                .send(Ok(sse(
                    &json!({"error": {"message": m, "type": "ledger_error", "code": 503}}),
                )))
                .await;
        }
        Ok((impacts, flag)) => {
            let source = if tokens.usage.is_some() {
                "usage"
            } else {
                "counted"
            };
            let mut imp = impacts_json(&impacts, source, u.meter_for(&ctx.model));
            if let (Some(f), Some(o)) = (flag, imp.as_object_mut()) {
                o.insert("ledger".into(), Value::String(f));
            }
            if let Some(mut h) = held.take() {
                if ctx.want_impacts
                    && let Some(o) = h.as_object_mut()
                {
                    o.insert("impacts".into(), imp.clone());
                }
                let _ = tx.send(Ok(sse(&h))).await;
            }
            match end {
                End::Done => {
                    let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
                }
                End::UpstreamFailed(kind) => {
                    let _ = tx
                        .send(Ok(sse(&json!({"error": {
                            "message": format!("upstream `{}` failed mid-stream ({kind}); the tokens seen were recorded", u.cfg.name),
                            "type": "upstream_error",
                            "code": status,
                        }}))))
                        .await;
                }
                End::ClientGone => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sse_splits_events_across_chunks() {
        let mut s = Sse::default();
        assert!(s.push(b"data: {\"a\"").is_empty());
        let ev = s.push(b":1}\n\ndata: [DONE]\n\n");
        assert_eq!(ev.len(), 2);
        assert_eq!(event_data(&ev[0]).unwrap(), "{\"a\":1}");
        assert_eq!(event_data(&ev[1]).unwrap(), "[DONE]");
        let ev = s.push(b"data: x\r\n\r\n");
        assert_eq!(event_data(&ev[0]).unwrap(), "x");
    }

    #[test]
    fn counts_content_and_reasoning_deltas() {
        let v = json!({"choices": [{"delta": {"content": "hi"}}, {"delta": {"reasoning_content": "hm"}}, {"delta": {"content": ""}}]});
        assert_eq!(chunk_tokens(&v), 2);
        assert_eq!(chunk_tokens(&json!({"choices": [{"text": "x"}]})), 1);
        assert_eq!(chunk_tokens(&json!({"choices": []})), 0);
    }

    #[test]
    fn usage_counts_cached_and_reasoning_inside() {
        let v = json!({"usage": {"prompt_tokens": 10, "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 3}}});
        assert_eq!(usage_of(&v), Some((10, 4, 7, 3)));
        assert_eq!(usage_of(&json!({"usage": null})), None);
    }

    #[test]
    fn request_ids_are_checked() {
        let mut h = HeaderMap::new();
        assert!(request_id(&h).unwrap().0.len() >= 32);
        assert!(!request_id(&h).unwrap().1);
        h.insert("x-request-id", HeaderValue::from_static("abc-1"));
        assert_eq!(request_id(&h).unwrap(), ("abc-1".to_string(), true));
        h.insert("x-request-id", HeaderValue::from_static("a b"));
        assert!(request_id(&h).is_err());
    }
}
