//! Prometheus metrics, every name prefixed `wattage_`. Label values are bounded: model names
//! come from clients, so past [`MAX_MODEL_LABELS`] distinct names the rest are `other`.

use std::collections::HashSet;
use std::sync::Mutex;

use prometheus::{
    CounterVec, Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry,
    TextEncoder,
};

/// Distinct model label values kept before `other`.
pub const MAX_MODEL_LABELS: usize = 100;

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by model, upstream, key and status.
    pub requests: IntCounterVec,
    /// Energy, Wh.
    pub energy_wh: CounterVec,
    /// Emissions, g CO2e.
    pub co2e_g: CounterVec,
    /// Water, mL.
    pub water_ml: CounterVec,
    /// Electricity cost, USD.
    pub cost_usd: CounterVec,
    /// Prompt tokens.
    pub input_tokens: CounterVec,
    /// Generated tokens.
    pub output_tokens: CounterVec,
    /// Time the gateway adds to a request (all but the upstream's own time), seconds.
    pub added_latency: HistogramVec,
    /// Time to first token of streams, seconds.
    pub ttft: HistogramVec,
    /// Budget left per key, in the budget's unit.
    pub budget_remaining: GaugeVec,
    /// Requests in flight per upstream.
    pub in_flight: GaugeVec,
    /// Upstream failures by kind (`connect`, `timeout`, `status`, `reset`).
    pub upstream_errors: IntCounterVec,
    /// Rows that could not be written.
    pub ledger_errors: IntCounterVec,
    /// Requests whose id was already in the ledger (retries), not counted again.
    pub duplicates: IntCounterVec,
    /// Requests refused: `auth`, `budget`, `body`.
    pub refused: IntCounterVec,
    models: Mutex<HashSet<String>>,
}

fn c(r: &Registry, name: &str, help: &str, labels: &[&str]) -> CounterVec {
    let m = CounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(m.clone())).expect("unique metric");
    m
}
fn ic(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let m = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(m.clone())).expect("unique metric");
    m
}
fn g(r: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let m = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(m.clone())).expect("unique metric");
    m
}
fn h(r: &Registry, name: &str, help: &str, labels: &[&str], buckets: Vec<f64>) -> HistogramVec {
    let m = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("valid metric");
    r.register(Box::new(m.clone())).expect("unique metric");
    m
}

const MUK: &[&str] = &["model", "upstream", "key"];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric. The names are fixed, so registration cannot fail.
    #[allow(clippy::expect_used)]
    pub fn new() -> Self {
        let r = Registry::new();
        Self {
            requests: ic(
                &r,
                "wattage_requests_total",
                "Requests answered",
                &["model", "upstream", "key", "status"],
            ),
            energy_wh: c(
                &r,
                "wattage_energy_wh_total",
                "Energy of requests inside the scope, Wh",
                MUK,
            ),
            co2e_g: c(
                &r,
                "wattage_co2e_g_total",
                "Emissions of requests, g CO2e",
                MUK,
            ),
            water_ml: c(&r, "wattage_water_ml_total", "Water of requests, mL", MUK),
            cost_usd: c(
                &r,
                "wattage_cost_usd_total",
                "Electricity cost of requests, USD",
                MUK,
            ),
            input_tokens: c(&r, "wattage_input_tokens_total", "Prompt tokens", MUK),
            output_tokens: c(
                &r,
                "wattage_output_tokens_total",
                "Generated tokens, reasoning included",
                MUK,
            ),
            added_latency: h(
                &r,
                "wattage_added_latency_seconds",
                "Time the gateway adds to a request, ledger commit included",
                &["endpoint"],
                vec![
                    5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.5,
                ],
            ),
            ttft: h(
                &r,
                "wattage_time_to_first_token_seconds",
                "Time to first token of streamed requests",
                &["model"],
                vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
            ),
            budget_remaining: g(
                &r,
                "wattage_budget_remaining",
                "Budget left in the period, in the budget's unit",
                &["key", "unit"],
            ),
            in_flight: g(&r, "wattage_in_flight", "Requests in flight", &["upstream"]),
            upstream_errors: ic(
                &r,
                "wattage_upstream_errors_total",
                "Failed upstream attempts",
                &["upstream", "kind"],
            ),
            ledger_errors: ic(
                &r,
                "wattage_ledger_errors_total",
                "Ledger rows that could not be written",
                &["mode"],
            ),
            duplicates: ic(
                &r,
                "wattage_duplicate_requests_total",
                "Requests whose id was already in the ledger",
                &["upstream"],
            ),
            refused: ic(
                &r,
                "wattage_refused_requests_total",
                "Requests refused by the gateway",
                &["reason"],
            ),
            models: Mutex::new(HashSet::new()),
            registry: r,
        }
    }

    /// The label for a model name: itself, or `other` once too many names were seen.
    pub fn model_label<'a>(&self, name: &'a str) -> &'a str {
        let mut m = self.models.lock().unwrap_or_else(|p| p.into_inner());
        if m.contains(name) {
            return name;
        }
        if m.len() < MAX_MODEL_LABELS {
            m.insert(name.to_string());
            return name;
        }
        "other"
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
