//! An open-loop (or closed-loop) HTTP load generator for the gateway benchmark
//! (`benches/gateway/run.sh`). Loopback only: any URL whose host is not an IP literal in
//! 127.0.0.0/8 or `::1` is refused.
//!
//! Open loop (`--rate R`): request `i` is scheduled at `t0 + i / R` by a dedicated OS thread,
//! whatever the earlier requests are doing, and its latency is measured from that scheduled
//! time to the last byte of the response (free of coordinated omission: a stalled server is
//! charged for the time requests waited to be sent). A request due while `--concurrency-cap`
//! requests are already in flight is not sent and counts as an `over_cap` error.
//!
//! Closed loop (`--rate 0`): `--connections C` workers each send, wait for the whole
//! response, and send again; latency from the send. This measures the most a server does.
//!
//! Both are bounded: at most `--requests N` are scheduled and none after `--max-seconds S`;
//! those still in flight then get at most `--timeout-ms` more. The result is one JSON object
//! on stdout: sent, ok, errors (by kind), achieved throughput (OK responses per second over
//! the phase) and latency percentiles of the OK responses, in milliseconds.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const USAGE: &str = "usage: loadgen --url http://127.0.0.1:PORT/v1/chat/completions \
[--rate REQ_PER_S (0: closed loop)] [--requests N] [--max-seconds S] [--concurrency-cap C] \
[--connections C (closed loop)] [--warmup-seconds W] [--timeout-ms MS] [--threads T] \
[--model NAME] [--max-tokens N] [--stream] [--label TEXT]";

struct Args {
    url: String,
    rate: f64,
    requests: u64,
    max_seconds: f64,
    cap: usize,
    connections: usize,
    warmup_seconds: f64,
    timeout: Duration,
    threads: usize,
    model: String,
    max_tokens: u64,
    stream: bool,
    label: String,
}

fn fail(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    eprintln!("{USAGE}");
    std::process::exit(2)
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> T {
    v.parse()
        .unwrap_or_else(|_| fail(&format!("{flag} takes a number, not `{v}`")))
}

fn parse_args() -> Args {
    let mut a = Args {
        url: String::new(),
        rate: 1000.0,
        requests: 20_000,
        max_seconds: 20.0,
        cap: 1024,
        connections: 64,
        warmup_seconds: 0.0,
        timeout: Duration::from_secs(10),
        threads: 1,
        model: "llama-3.1-70b".into(),
        max_tokens: 16,
        stream: false,
        label: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--stream" {
            a.stream = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let v = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--url" => a.url = v,
            "--rate" => a.rate = num(&flag, &v),
            "--requests" => a.requests = num(&flag, &v),
            "--max-seconds" => a.max_seconds = num(&flag, &v),
            "--concurrency-cap" => a.cap = num(&flag, &v),
            "--connections" => a.connections = num(&flag, &v),
            "--warmup-seconds" => a.warmup_seconds = num(&flag, &v),
            "--timeout-ms" => a.timeout = Duration::from_millis(num(&flag, &v)),
            "--threads" => a.threads = num(&flag, &v),
            "--model" => a.model = v,
            "--max-tokens" => a.max_tokens = num(&flag, &v),
            "--label" => a.label = v,
            _ => fail(&format!("unknown argument {flag}")),
        }
    }
    if a.url.is_empty() {
        fail("--url is required");
    }
    if !(a.rate >= 0.0 && a.rate.is_finite()) {
        fail("--rate must be 0 (closed loop) or a positive number");
    }
    if !(a.max_seconds > 0.0 && a.max_seconds <= 600.0) {
        fail("--max-seconds must be in (0, 600]");
    }
    if !(0.0..=60.0).contains(&a.warmup_seconds) {
        fail("--warmup-seconds must be in [0, 60]");
    }
    if a.requests == 0 || a.requests > 10_000_000 {
        fail("--requests must be in [1, 10000000]");
    }
    if a.cap == 0 || a.connections == 0 || a.threads == 0 {
        fail("--concurrency-cap, --connections and --threads must be at least 1");
    }
    if let Err(e) = check_loopback(&a.url) {
        fail(&e);
    }
    a
}

/// Accepts only `http://` URLs whose host is an IP literal on the loopback range.
fn check_loopback(url: &str) -> Result<(), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if u.scheme() != "http" {
        return Err(format!("`{url}`: only http:// is supported"));
    }
    let host = u.host_str().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => Ok(()),
        Ok(_) => Err(format!(
            "refusing `{url}`: {host} is not a loopback address (127.0.0.0/8 or ::1)"
        )),
        Err(_) => Err(format!(
            "refusing `{url}`: the host must be a loopback IP literal (127.0.0.1 or [::1]), not a name"
        )),
    }
}

/// What became of one request.
#[derive(Clone, Copy)]
enum Outcome {
    Ok(u64),
    Status(u16),
    Transport,
    Timeout,
}

#[derive(Default)]
struct Record {
    latencies_ns: Vec<u64>,
    statuses: std::collections::BTreeMap<u16, u64>,
    transport: u64,
    timeout: u64,
    last_done: Option<Instant>,
}

impl Record {
    fn push(&mut self, o: Outcome, done: Instant) {
        match o {
            Outcome::Ok(ns) => self.latencies_ns.push(ns),
            Outcome::Status(s) => *self.statuses.entry(s).or_default() += 1,
            Outcome::Transport => self.transport += 1,
            Outcome::Timeout => self.timeout += 1,
        }
        if self.last_done.is_none_or(|t| done > t) {
            self.last_done = Some(done);
        }
    }
}

struct Shared {
    client: reqwest::Client,
    url: String,
    body: bytes::Bytes,
    timeout: Duration,
    record: Mutex<Record>,
    in_flight: AtomicUsize,
}

/// Sends one request and reads the whole response; latency counted from `from`.
async fn one(s: &Shared, from: Instant) -> Outcome {
    let fut = async {
        let r = s
            .client
            .post(&s.url)
            .header("content-type", "application/json")
            .body(s.body.clone())
            .send()
            .await;
        let r = match r {
            Ok(r) => r,
            Err(_) => return Outcome::Transport,
        };
        let status = r.status().as_u16();
        match r.bytes().await {
            Ok(_) if status == 200 => {
                Outcome::Ok(u64::try_from(from.elapsed().as_nanos()).unwrap_or(u64::MAX))
            }
            Ok(_) => Outcome::Status(status),
            Err(_) => Outcome::Transport,
        }
    };
    match tokio::time::timeout(s.timeout, fut).await {
        Ok(o) => o,
        Err(_) => Outcome::Timeout,
    }
}

fn record(s: &Shared, o: Outcome) {
    let done = Instant::now();
    if let Ok(mut r) = s.record.lock() {
        r.push(o, done);
    }
}

/// The numbers of one phase.
struct Phase {
    started: Instant,
    scheduled: u64,
    over_cap: u64,
    max_in_flight: usize,
}

/// Open loop: a dedicated thread schedules request `i` at `t0 + i / rate`.
fn open_loop(
    rt: &tokio::runtime::Runtime,
    s: &Arc<Shared>,
    a: &Args,
    seconds: f64,
    n: u64,
) -> Phase {
    let interval = Duration::from_secs_f64(1.0 / a.rate);
    let t0 = Instant::now() + Duration::from_millis(5);
    let deadline = t0 + Duration::from_secs_f64(seconds);
    let handle = rt.handle().clone();
    let mut scheduled = 0u64;
    let mut over_cap = 0u64;
    let mut max_in_flight = 0usize;
    for i in 0..n {
        let at = t0 + interval.mul_f64(i as f64);
        if at >= deadline {
            break;
        }
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
        scheduled += 1;
        let in_flight = s.in_flight.load(Ordering::Relaxed);
        max_in_flight = max_in_flight.max(in_flight);
        if in_flight >= a.cap {
            over_cap += 1;
            continue;
        }
        s.in_flight.fetch_add(1, Ordering::Relaxed);
        let s = s.clone();
        handle.spawn(async move {
            let o = one(&s, at).await;
            record(&s, o);
            s.in_flight.fetch_sub(1, Ordering::Relaxed);
        });
    }
    Phase {
        started: t0,
        scheduled,
        over_cap,
        max_in_flight,
    }
}

/// Closed loop: `connections` workers send back to back.
fn closed_loop(
    rt: &tokio::runtime::Runtime,
    s: &Arc<Shared>,
    a: &Args,
    seconds: f64,
    n: u64,
) -> Phase {
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(seconds);
    let issued = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..a.connections)
        .map(|_| {
            let (s, issued, stop) = (s.clone(), issued.clone(), stop.clone());
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed)
                    && Instant::now() < deadline
                    && issued.fetch_add(1, Ordering::Relaxed) < n
                {
                    let o = one(&s, Instant::now()).await;
                    record(&s, o);
                }
            })
        })
        .collect();
    rt.block_on(async {
        let grace = deadline + s.timeout;
        for w in workers {
            if tokio::time::timeout_at(grace.into(), w).await.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
        }
    });
    Phase {
        started: t0,
        scheduled: issued.load(Ordering::Relaxed).min(n),
        over_cap: 0,
        max_in_flight: a.connections,
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

fn ms(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

fn run_phase(
    rt: &tokio::runtime::Runtime,
    s: &Arc<Shared>,
    a: &Args,
    seconds: f64,
    n: u64,
) -> (Phase, Record) {
    if let Ok(mut r) = s.record.lock() {
        *r = Record::default();
    }
    let phase = if a.rate > 0.0 {
        open_loop(rt, s, a, seconds, n)
    } else {
        closed_loop(rt, s, a, seconds, n)
    };
    // Let the requests still in flight finish (each is bounded by the timeout).
    let grace = Instant::now() + s.timeout + Duration::from_millis(500);
    while s.in_flight.load(Ordering::Relaxed) > 0 && Instant::now() < grace {
        std::thread::sleep(Duration::from_millis(2));
    }
    let rec = s
        .record
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    (phase, rec)
}

fn main() {
    let a = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("tokio runtime: {e}")));
    let client = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_else(|e| fail(&format!("HTTP client: {e}")));
    let mut body = json!({
        "model": a.model,
        "messages": [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "Say hello to the benchmark in a few words."}
        ],
        "max_tokens": a.max_tokens,
        "temperature": 0
    });
    if a.stream {
        body["stream"] = Value::Bool(true);
    }
    let shared = Arc::new(Shared {
        client,
        url: a.url.clone(),
        body: bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        timeout: a.timeout,
        record: Mutex::new(Record::default()),
        in_flight: AtomicUsize::new(0),
    });
    let mut warmup = Value::Null;
    if a.warmup_seconds > 0.0 {
        let (p, r) = run_phase(&rt, &shared, &a, a.warmup_seconds, u64::MAX);
        let errors = p.scheduled - r.latencies_ns.len() as u64;
        warmup = json!({"seconds": a.warmup_seconds, "sent": p.scheduled, "ok": r.latencies_ns.len(), "errors": errors});
    }
    let (p, mut r) = run_phase(&rt, &shared, &a, a.max_seconds, a.requests);
    r.latencies_ns.sort_unstable();
    let ok = r.latencies_ns.len() as u64;
    let status_errors: u64 = r.statuses.values().sum();
    let unfinished = p
        .scheduled
        .saturating_sub(p.over_cap + ok + status_errors + r.transport + r.timeout);
    let errors = p.scheduled - ok;
    let elapsed = r.last_done.map_or(0.0, |t| {
        t.saturating_duration_since(p.started).as_secs_f64()
    });
    let throughput = if elapsed > 0.0 {
        ok as f64 / elapsed
    } else {
        0.0
    };
    let statuses: serde_json::Map<String, Value> = r
        .statuses
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let mean = if ok > 0 {
        r.latencies_ns.iter().map(|&x| x as f64).sum::<f64>() / ok as f64 / 1e6
    } else {
        f64::NAN
    };
    let out = json!({
        "label": a.label,
        "url": a.url,
        "mode": if a.rate > 0.0 { "open" } else { "closed" },
        "target_rate": a.rate,
        "connections": if a.rate > 0.0 { Value::Null } else { json!(a.connections) },
        "concurrency_cap": a.cap,
        "stream": a.stream,
        "requests_cap": a.requests,
        "max_seconds": a.max_seconds,
        "warmup": warmup,
        "sent": p.scheduled,
        "ok": ok,
        "errors": errors,
        "error_kinds": {
            "over_cap": p.over_cap,
            "status": statuses,
            "transport": r.transport,
            "timeout": r.timeout,
            "unfinished": unfinished,
        },
        "max_in_flight": p.max_in_flight,
        "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
        "throughput_rps": (throughput * 10.0).round() / 10.0,
        "latency_ms": {
            "mean": ms(mean),
            "p50": ms(percentile(&r.latencies_ns, 50.0)),
            "p90": ms(percentile(&r.latencies_ns, 90.0)),
            "p99": ms(percentile(&r.latencies_ns, 99.0)),
            "p999": ms(percentile(&r.latencies_ns, 99.9)),
            "max": ms(r.latencies_ns.last().map_or(f64::NAN, |&x| x as f64 / 1e6)),
        },
    });
    println!("{out}");
    rt.shutdown_timeout(Duration::from_millis(100));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        assert!(check_loopback("http://127.0.0.1:4000/v1/chat/completions").is_ok());
        assert!(check_loopback("http://127.8.9.10:1/").is_ok());
        assert!(check_loopback("http://[::1]:4000/v1").is_ok());
        assert!(check_loopback("http://10.0.0.1:4000/v1").is_err());
        assert!(check_loopback("http://192.168.1.1/").is_err());
        assert!(check_loopback("http://example.com/").is_err());
        assert!(check_loopback("http://localhost:4000/").is_err());
        assert!(check_loopback("https://127.0.0.1/").is_err());
        assert!(check_loopback("http://[::2]/").is_err());
    }

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1_000_000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
    }
}
