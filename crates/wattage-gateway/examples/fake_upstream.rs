//! A fake OpenAI-compatible upstream for the gateway's end-to-end tests (`tests/gateway/`) and
//! its benchmark: deterministic answers, in-flight counting, and fault knobs set per request by
//! header (the gateway forwards client headers) or per process by flag.
//!
//! ```text
//! fake_upstream --listen 127.0.0.1:0 [--models a,b] [--name NAME] [--status CODE] [--delay-ms MS]
//! ```
//!
//! Prints `listening on <addr>` once bound. Serves `POST /v1/chat/completions`,
//! `/v1/completions`, `/v1/embeddings`, `GET /v1/models`, `GET /metrics` (vLLM-style:
//! `vllm:num_requests_running{model_name="..."}` is the current in-flight count), any other
//! path under `/v1/` (echoed back, for pass-through tests), `GET /fake/last-request` (the last
//! `/v1/` request's method, path, lower-cased headers and body) and `GET /fake/stats`
//! (requests served, in flight, the `--name`).
//!
//! Tokens: prompt = whitespace-separated words of every message's content (or the prompt, or
//! the embedding input) + 4 per chat message; output = `max_tokens` (or
//! `max_completion_tokens`, default 16), the tokens `"t0 " "t1 " ...` (reasoning tokens
//! `"r0 " ...` first, as `reasoning_content`). Streams send one SSE chunk per token, a final
//! chunk with `finish_reason`, a usage-only chunk (`"choices": []`) when the request has
//! `stream_options.include_usage`, then `data: [DONE]`.
//!
//! Request headers: `x-fake-delay-ms` (before the response), `x-fake-token-delay-ms` (between
//! chunks), `x-fake-reset-after` (abort the connection after N token chunks),
//! `x-fake-no-usage` (never send usage), `x-fake-status` (answer that status with an
//! OpenAI-style error body), `x-fake-cached-tokens`, `x-fake-reasoning-tokens` (reported in
//! `prompt_tokens_details` / `completion_tokens_details`; both are part of the totals).
//! `--status` and `--delay-ms` apply to every request of the process (for failover tests).

use std::io::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Chat,
    Completions,
    Embeddings,
}

struct LastRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

struct App {
    models: Vec<String>,
    name: String,
    fixed_status: Option<u16>,
    fixed_delay_ms: u64,
    in_flight: AtomicI64,
    requests: AtomicU64,
    ids: AtomicU64,
    last: Mutex<Option<LastRequest>>,
}

type Shared = Arc<App>;

/// Counts a request in flight until dropped (the end of its response body, or the client
/// going away).
struct InFlight(Shared);

impl InFlight {
    fn new(app: &Shared) -> Self {
        app.in_flight.fetch_add(1, Ordering::Relaxed);
        app.requests.fetch_add(1, Ordering::Relaxed);
        InFlight(app.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The knobs of one request.
#[derive(Default)]
struct Knobs {
    delay_ms: u64,
    token_delay_ms: u64,
    reset_after: Option<usize>,
    no_usage: bool,
    status: Option<u16>,
    cached: usize,
    reasoning: usize,
}

fn header_num<T: std::str::FromStr>(h: &HeaderMap, name: &str) -> Option<T> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
}

impl Knobs {
    fn from(app: &App, h: &HeaderMap) -> Self {
        let no_usage = h
            .get("x-fake-no-usage")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|s| {
                !matches!(
                    s.trim().to_ascii_lowercase().as_str(),
                    "" | "0" | "false" | "no"
                )
            });
        Knobs {
            delay_ms: header_num(h, "x-fake-delay-ms").unwrap_or(app.fixed_delay_ms),
            token_delay_ms: header_num(h, "x-fake-token-delay-ms").unwrap_or(0),
            reset_after: header_num(h, "x-fake-reset-after"),
            no_usage,
            status: header_num(h, "x-fake-status").or(app.fixed_status),
            cached: header_num(h, "x-fake-cached-tokens").unwrap_or(0),
            reasoning: header_num(h, "x-fake-reasoning-tokens").unwrap_or(0),
        }
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Words of a message content: a string, or an array of parts with `text`.
fn content_words(c: &Value) -> usize {
    match c {
        Value::String(s) => words(s),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => words(s),
                Value::Object(o) => o.get("text").and_then(Value::as_str).map_or(0, words),
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

/// Tokens of a prompt or embedding input: a string, strings, token ids, or lists of ids.
fn input_tokens(v: &Value) -> usize {
    match v {
        Value::String(s) => words(s),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => words(s),
                Value::Number(_) => 1,
                Value::Array(ids) => ids.len(),
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

fn prompt_tokens(ep: Endpoint, req: &Value) -> usize {
    match ep {
        Endpoint::Chat => req
            .get("messages")
            .and_then(Value::as_array)
            .map_or(0, |ms| {
                ms.iter()
                    .map(|m| 4 + m.get("content").map_or(0, content_words))
                    .sum()
            }),
        Endpoint::Completions => req.get("prompt").map_or(0, input_tokens),
        Endpoint::Embeddings => req.get("input").map_or(0, input_tokens),
    }
}

fn error_response(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"message": message, "type": "fake_upstream_error",
                                "param": null, "code": status}});
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn json_response(v: &Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

/// What one generation produces.
struct Gen {
    ep: Endpoint,
    id: String,
    created: u64,
    model: String,
    prompt: usize,
    output: usize,
    reasoning: usize,
    cached: usize,
    usage: bool,
}

impl Gen {
    fn usage(&self) -> Value {
        let mut u = json!({"prompt_tokens": self.prompt, "completion_tokens": self.output,
                           "total_tokens": self.prompt + self.output});
        if self.cached > 0 {
            u["prompt_tokens_details"] = json!({"cached_tokens": self.cached});
        }
        if self.reasoning > 0 {
            u["completion_tokens_details"] = json!({"reasoning_tokens": self.reasoning});
        }
        u
    }

    fn token(&self, i: usize) -> String {
        if i < self.reasoning {
            format!("r{i} ")
        } else {
            format!("t{} ", i - self.reasoning)
        }
    }

    fn object(&self, stream: bool) -> &'static str {
        match (self.ep, stream) {
            (Endpoint::Chat, false) => "chat.completion",
            (Endpoint::Chat, true) => "chat.completion.chunk",
            _ => "text_completion",
        }
    }

    fn whole(&self, no_usage: bool) -> Value {
        let reasoning: String = (0..self.reasoning).map(|i| self.token(i)).collect();
        let content: String = (self.reasoning..self.output)
            .map(|i| self.token(i))
            .collect();
        let choice = match self.ep {
            Endpoint::Chat => {
                let mut message = json!({"role": "assistant", "content": content});
                if self.reasoning > 0 {
                    message["reasoning_content"] = Value::String(reasoning);
                }
                json!({"index": 0, "message": message, "logprobs": null, "finish_reason": "length"})
            }
            _ => json!({"index": 0, "text": reasoning + &content, "logprobs": null,
                        "finish_reason": "length"}),
        };
        let mut v = json!({"id": self.id, "object": self.object(false), "created": self.created,
                           "model": self.model, "choices": [choice]});
        if !no_usage {
            v["usage"] = self.usage();
        }
        v
    }

    fn chunk(&self, choice: Value) -> Bytes {
        let mut v = json!({"id": self.id, "object": self.object(true), "created": self.created,
                           "model": self.model, "choices": [choice]});
        if self.usage {
            // As OpenAI does when usage is requested: every chunk carries `usage: null`.
            v["usage"] = Value::Null;
        }
        Bytes::from(format!("data: {v}\n\n"))
    }

    fn token_chunk(&self, i: usize) -> Bytes {
        let tok = self.token(i);
        let choice = match self.ep {
            Endpoint::Chat => {
                let mut delta = if i < self.reasoning {
                    json!({"reasoning_content": tok})
                } else {
                    json!({"content": tok})
                };
                if i == 0 {
                    delta["role"] = Value::String("assistant".into());
                }
                json!({"index": 0, "delta": delta, "logprobs": null, "finish_reason": null})
            }
            _ => json!({"index": 0, "text": tok, "logprobs": null, "finish_reason": null}),
        };
        self.chunk(choice)
    }

    fn finish_chunk(&self) -> Bytes {
        let choice = match self.ep {
            Endpoint::Chat => {
                json!({"index": 0, "delta": {}, "logprobs": null, "finish_reason": "length"})
            }
            _ => json!({"index": 0, "text": "", "logprobs": null, "finish_reason": "length"}),
        };
        self.chunk(choice)
    }

    fn usage_chunk(&self) -> Bytes {
        let v = json!({"id": self.id, "object": self.object(true), "created": self.created,
                       "model": self.model, "choices": [], "usage": self.usage()});
        Bytes::from(format!("data: {v}\n\n"))
    }
}

enum Stage {
    Tokens,
    Finish,
    Usage,
    Done,
    End,
}

struct StreamState {
    _guard: InFlight,
    g: Gen,
    i: usize,
    stage: Stage,
    token_delay: Duration,
    reset_after: Option<usize>,
}

fn sse(guard: InFlight, g: Gen, knobs: &Knobs) -> Response {
    let st = StreamState {
        _guard: guard,
        g,
        i: 0,
        stage: Stage::Tokens,
        token_delay: Duration::from_millis(knobs.token_delay_ms),
        reset_after: knobs.reset_after,
    };
    let stream = futures_util::stream::unfold(st, |mut st| async move {
        loop {
            match st.stage {
                Stage::Tokens => {
                    if st.i >= st.g.output {
                        st.stage = Stage::Finish;
                        continue;
                    }
                    if st.reset_after.is_some_and(|n| st.i >= n) {
                        // Let the chunks already produced reach the socket first: hyper drops
                        // what it has buffered when the body fails.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        st.stage = Stage::End;
                        return Some((Err(std::io::Error::other("x-fake-reset-after")), st));
                    }
                    if st.i > 0 && !st.token_delay.is_zero() {
                        tokio::time::sleep(st.token_delay).await;
                    }
                    let b = st.g.token_chunk(st.i);
                    st.i += 1;
                    return Some((Ok(b), st));
                }
                Stage::Finish => {
                    st.stage = Stage::Usage;
                    return Some((Ok(st.g.finish_chunk()), st));
                }
                Stage::Usage => {
                    st.stage = Stage::Done;
                    if st.g.usage {
                        return Some((Ok(st.g.usage_chunk()), st));
                    }
                }
                Stage::Done => {
                    st.stage = Stage::End;
                    return Some((Ok(Bytes::from_static(b"data: [DONE]\n\n")), st));
                }
                Stage::End => return None,
            }
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| error_response(500, "response build"))
}

fn record(app: &App, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) {
    let mut hs: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (k, v) in headers {
        hs.push((
            k.as_str().to_ascii_lowercase(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        ));
    }
    let last = LastRequest {
        method: method.to_string(),
        path: uri.to_string(),
        headers: hs,
        body: body.clone(),
    };
    if let Ok(mut g) = app.last.lock() {
        *g = Some(last);
    }
}

async fn generate(
    app: Shared,
    ep: Endpoint,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&app, &method, &uri, &headers, &body);
    let guard = InFlight::new(&app);
    let knobs = Knobs::from(&app, &headers);
    if knobs.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(knobs.delay_ms)).await;
    }
    if let Some(s) = knobs.status {
        return error_response(s, &format!("fake upstream answered {s} as asked"));
    }
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return error_response(400, "the request body is not a JSON object"),
    };
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let prompt = prompt_tokens(ep, &req);
    let n = app.ids.fetch_add(1, Ordering::Relaxed);
    let created = now_s();
    if ep == Endpoint::Embeddings {
        let inputs = match req.get("input") {
            Some(Value::Array(items)) if !items.iter().all(Value::is_number) => items.len(),
            _ => 1,
        };
        let data: Vec<Value> = (0..inputs)
            .map(|i| {
                json!({"object": "embedding", "index": i,
                            "embedding": [0.125, -0.25, 0.5, 0.0, 0.75, -0.5, 0.25, 0.0625]})
            })
            .collect();
        let mut v = json!({"object": "list", "data": data, "model": model});
        if !knobs.no_usage {
            v["usage"] = json!({"prompt_tokens": prompt, "total_tokens": prompt});
        }
        return json_response(&v);
    }
    let output = req
        .get("max_completion_tokens")
        .or_else(|| req.get("max_tokens"))
        .and_then(Value::as_u64)
        .map_or(16, |m| m.min(1_000_000) as usize);
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let include_usage = req
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let g = Gen {
        ep,
        id: format!(
            "{}-fake-{n}",
            if ep == Endpoint::Chat {
                "chatcmpl"
            } else {
                "cmpl"
            }
        ),
        created,
        model,
        prompt,
        output,
        reasoning: knobs.reasoning.min(output),
        cached: knobs.cached.min(prompt),
        usage: include_usage && !knobs.no_usage,
    };
    if stream {
        sse(guard, g, &knobs)
    } else {
        json_response(&g.whole(knobs.no_usage))
    }
}

async fn passthrough(
    State(app): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !uri.path().starts_with("/v1/") {
        return error_response(404, &format!("no route {}", uri.path()));
    }
    record(&app, &method, &uri, &headers, &body);
    let _guard = InFlight::new(&app);
    json_response(
        &json!({"object": "fake.passthrough", "method": method.as_str(), "path": uri.path(),
                          "query": uri.query(), "body_bytes": body.len()}),
    )
}

async fn list_models(State(app): State<Shared>) -> Response {
    let data: Vec<Value> = app
        .models
        .iter()
        .map(|m| json!({"id": m, "object": "model", "created": 0, "owned_by": "fake-upstream"}))
        .collect();
    json_response(&json!({"object": "list", "data": data}))
}

async fn metrics(State(app): State<Shared>) -> Response {
    let running = app.in_flight.load(Ordering::Relaxed).max(0);
    let mut s = String::from(
        "# HELP vllm:num_requests_running Number of requests in model execution batches.\n\
         # TYPE vllm:num_requests_running gauge\n",
    );
    for m in &app.models {
        s.push_str(&format!(
            "vllm:num_requests_running{{model_name=\"{m}\"}} {running}\n"
        ));
    }
    s.push_str("# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n");
    s.push_str("# TYPE vllm:num_requests_waiting gauge\n");
    for m in &app.models {
        s.push_str(&format!(
            "vllm:num_requests_waiting{{model_name=\"{m}\"}} 0\n"
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s).into_response()
}

async fn last_request(State(app): State<Shared>) -> Response {
    let guard = match app.last.lock() {
        Ok(g) => g,
        Err(_) => return error_response(500, "poisoned"),
    };
    let Some(last) = guard.as_ref() else {
        return json_response(&Value::Null);
    };
    let mut headers = serde_json::Map::new();
    for (k, v) in &last.headers {
        match headers.get_mut(k) {
            Some(Value::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(v);
            }
            _ => {
                headers.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    let body = serde_json::from_slice::<Value>(&last.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&last.body).into_owned()));
    json_response(
        &json!({"method": last.method, "path": last.path, "headers": headers, "body": body}),
    )
}

async fn stats(State(app): State<Shared>) -> Response {
    json_response(
        &json!({"name": app.name, "requests": app.requests.load(Ordering::Relaxed),
                          "in_flight": app.in_flight.load(Ordering::Relaxed)}),
    )
}

fn route(ep: Endpoint) -> axum::routing::MethodRouter<Shared> {
    post(
        move |State(app): State<Shared>,
              method: Method,
              uri: Uri,
              headers: HeaderMap,
              body: Bytes| { generate(app, ep, method, uri, headers, body) },
    )
}

fn usage_exit(msg: &str) -> ! {
    eprintln!("fake_upstream: {msg}");
    eprintln!(
        "usage: fake_upstream --listen ADDR [--models a,b] [--name NAME] [--status CODE] [--delay-ms MS]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut listen = "127.0.0.1:0".to_string();
    let mut models = vec!["llama-3.1-70b".to_string()];
    let mut name = "fake".to_string();
    let mut fixed_status = None;
    let mut fixed_delay_ms = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage_exit(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--listen" => listen = value(),
            "--models" => {
                models = value()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            }
            "--name" => name = value(),
            "--status" => {
                fixed_status = Some(
                    value()
                        .parse()
                        .unwrap_or_else(|_| usage_exit("--status takes a number")),
                )
            }
            "--delay-ms" => {
                fixed_delay_ms = value()
                    .parse()
                    .unwrap_or_else(|_| usage_exit("--delay-ms takes a number"))
            }
            "-h" | "--help" => usage_exit("a fake OpenAI-compatible upstream"),
            _ => usage_exit(&format!("unknown argument {a}")),
        }
    }
    let app = Arc::new(App {
        models,
        name,
        fixed_status,
        fixed_delay_ms,
        in_flight: AtomicI64::new(0),
        requests: AtomicU64::new(0),
        ids: AtomicU64::new(0),
        last: Mutex::new(None),
    });
    let router = Router::new()
        .route("/v1/chat/completions", route(Endpoint::Chat))
        .route("/v1/completions", route(Endpoint::Completions))
        .route("/v1/embeddings", route(Endpoint::Embeddings))
        .route("/v1/models", get(list_models))
        .route("/metrics", get(metrics))
        .route("/fake/last-request", get(last_request))
        .route("/fake/stats", get(stats))
        .fallback(passthrough)
        .layer(DefaultBodyLimit::disable())
        .with_state(app);
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => usage_exit(&format!("cannot listen on {listen}: {e}")),
    };
    let addr = listener
        .local_addr()
        .map_or(listen.clone(), |a| a.to_string());
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening on {addr}");
    let _ = out.flush();
    // No Nagle: a stream's small chunks would otherwise wait for the peer's delayed ACK
    // (about 40 ms each).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("fake_upstream: {e}");
        std::process::exit(1);
    }
}
