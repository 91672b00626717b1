//! The live dashboard: rolling aggregates of the priced requests ([`Dashboard`]) and the page
//! that draws them ([`PAGE`]).
//!
//! The proxy calls [`Dashboard::record`] once per priced request; `GET /dashboard` returns
//! [`PAGE`], a self-contained HTML file (inline CSS, JS and SVG, no external resource of any
//! kind) that polls the relative URL `dashboard/data` every 2 s; `GET /dashboard/data` returns
//! [`Dashboard::snapshot`] of the current time. Because the page uses a relative URL, it must
//! be served at a path ending in `/dashboard` (a prefix in front of it is fine) or
//! `/dashboard/`.
//!
//! # Memory and cost
//!
//! Memory is bounded whatever the traffic: fixed rings of 5 s buckets over 15 minutes and of
//! 100 ms buckets over the power window, a fixed histogram, and per-name rings for at most
//! [`TRACKED_NAMES`] models and as many keys. Names beyond that are tracked with the
//! Space-Saving rule: a new name takes the slot of the name with the least energy in the window
//! (counting the energy that slot's own name may have missed when it took the slot), and the
//! evicted name's history moves to `"other"`. A name with more than 1/[`TRACKED_NAMES`] of the
//! window's energy is always tracked. [`Dashboard::record`] takes a mutex, does O(1) work and
//! allocates nothing unless a name is seen for the first time (or again after eviction).
//!
//! Non-finite or negative figures are recorded as 0 (the request still counts).
//!
//! # Snapshot JSON
//!
//! ```json
//! {
//!   "now_unix_ms": 1700000000000,
//!   "bucket_ms": 5000,
//!   "power_w": 412.5,
//!   "totals": {"requests": 1234, "energy_wh": 310.2, "co2e_g": 120.4,
//!              "water_ml": 1050.0, "cost_usd": 0.031},
//!   "series": [{"t_unix_ms": 1699999105000, "power_w": 0.0, "requests": 0}, "..."],
//!   "energy_wh_by_model": {"llama-3.1-70b": [0.0, 0.2, "..."], "other": ["..."]},
//!   "energy_wh_by_key": {"key_1a2b": [0.0, 0.2, "..."]},
//!   "wh_per_request": {"edges_wh": [0.0001, 0.000178, "...", 100.0], "counts": [0, 3, "..."]}
//! }
//! ```
//!
//! - `now_unix_ms`: the time the snapshot describes.
//! - `bucket_ms`: the width of a bucket of `series` (5000).
//! - `power_w`: the energy of the requests whose time falls in the 10 s ending at `now`
//!   (resolution 100 ms), as average watts: `3600 * Wh / 10`.
//! - `totals`: every request recorded since start (Wh, g CO2e, mL, USD).
//! - `series`: 180 buckets of 5 s, oldest first, covering the 15 minutes ending at `now`; the
//!   last one holds `now` and is still filling. `t_unix_ms` is a bucket's start (a multiple of
//!   5000), `power_w` its energy over 5 s as average watts (`3600 * Wh / 5`), `requests` the
//!   requests recorded in it.
//! - `energy_wh_by_model`, `energy_wh_by_key`: for each name with energy in the window, 180
//!   numbers aligned with `series`: the name's energy from the window's start through that
//!   bucket (a running sum, Wh). At most the 12 names with the most energy in the window are
//!   listed; the rest are summed under `"other"` (present only when not zero). A name spelled
//!   `other` is counted under `"other"`. A request without a key has the key `""`.
//! - `wh_per_request`: a histogram of the energy of every request since start: 25 log-spaced
//!   `edges_wh` from 1e-4 to 1e2 Wh (4 bins per decade) and 24 `counts`; a request below
//!   1e-4 Wh (including 0) counts in the first bin, one at or above 1e2 Wh in the last, so the
//!   counts sum to `totals.requests`.
//!
//! A request's time is when it arrived (any time the proxy chooses, in ms since the Unix
//! epoch). Requests may be recorded out of order: one older than the window counts in the
//! totals and the histogram only; one newer than the latest moves the window forward.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Value, json};

/// What `GET /dashboard` returns: one HTML file with inline CSS, JS and SVG.
pub const PAGE: &str = include_str!("dashboard.html");

/// Width of a bucket of the 15-minute series, ms.
pub const BUCKET_MS: i64 = 5_000;
/// Buckets in the 15-minute series.
pub const BUCKETS: usize = 180;
/// The window over which `power_w` is averaged, ms.
pub const POWER_WINDOW_MS: i64 = 10_000;
/// Names listed by name in `energy_wh_by_model` and `energy_wh_by_key` (the rest: `"other"`).
pub const LISTED_NAMES: usize = 12;
/// Names tracked per dimension (models, keys) with their own series.
pub const TRACKED_NAMES: usize = 48;

const FINE_MS: i64 = 100;
const FINE_IN_WINDOW: i64 = POWER_WINDOW_MS / FINE_MS;
const FINE_SLOTS: usize = 128;
const HIST_MIN_EXP: i32 = -4;
const HIST_PER_DECADE: i32 = 4;
const HIST_BINS: usize = 24;
const OTHER: &str = "other";

/// Rolling aggregates of the priced requests, for the live page. `Send + Sync`; cheap to record
/// into (see the module docs).
pub struct Dashboard {
    state: Mutex<State>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Dashboard")
            .field("requests", &s.requests)
            .field("energy_wh", &s.energy_wh)
            .finish_non_exhaustive()
    }
}

impl Dashboard {
    /// An empty dashboard (no requests yet).
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State::new()),
        }
    }

    /// Records one priced request arriving at `t_unix_ms` for `model` under API key `key`
    /// (`""` without auth): its energy (Wh), emissions (g CO2e), water (mL) and cost (USD).
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        t_unix_ms: i64,
        model: &str,
        key: &str,
        energy_wh: f64,
        co2e_g: f64,
        water_ml: f64,
        cost_usd: f64,
    ) {
        let e = clean(energy_wh);
        self.lock().record(
            t_unix_ms,
            model,
            key,
            e,
            clean(co2e_g),
            clean(water_ml),
            clean(cost_usd),
        );
    }

    /// The dashboard's JSON at `now_unix_ms` (the format is in the module docs).
    pub fn snapshot(&self, now_unix_ms: i64) -> Value {
        self.lock().snapshot(now_unix_ms)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain numbers behind: still worth showing.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn clean(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 { x } else { 0.0 }
}

/// A ring of buckets indexed by absolute bucket number (`t / width`).
#[derive(Clone, Copy)]
struct Head(Option<i64>);

impl Head {
    /// Moves the head of a ring of `len` buckets to `bucket` when that is newer, resetting
    /// (`reset(slot, bucket)`) each bucket it passes, the last `len` at most.
    fn advance(&mut self, bucket: i64, len: usize, mut reset: impl FnMut(usize, i64)) {
        if self.0.is_some_and(|h| bucket <= h) {
            return;
        }
        let oldest = bucket - len as i64 + 1;
        let from = self.0.map_or(oldest, |h| (h + 1).max(oldest));
        for b in from..=bucket {
            reset(slot_of(b, len), b);
        }
        self.0 = Some(bucket);
    }
}

fn slot_of(bucket: i64, len: usize) -> usize {
    // len is a small constant; the remainder is in 0..len.
    usize::try_from(bucket.rem_euclid(len as i64)).unwrap_or(0)
}

struct State {
    requests: u64,
    energy_wh: f64,
    co2e_g: f64,
    water_ml: f64,
    cost_usd: f64,
    hist: [u64; HIST_BINS],
    edges: [f64; HIST_BINS + 1],
    /// 100 ms buckets for `power_w`.
    fine_head: Head,
    fine_id: [i64; FINE_SLOTS],
    fine_wh: [f64; FINE_SLOTS],
    /// 5 s buckets for the series (shared by the per-name rings).
    head: Head,
    bucket_id: [i64; BUCKETS],
    bucket_wh: [f64; BUCKETS],
    bucket_n: [u64; BUCKETS],
    models: Names,
    keys: Names,
}

impl State {
    fn new() -> Self {
        let mut edges = [0.0; HIST_BINS + 1];
        for (i, e) in edges.iter_mut().enumerate() {
            let i = i32::try_from(i).unwrap_or(0);
            *e = 10f64.powf(f64::from(HIST_MIN_EXP) + f64::from(i) / f64::from(HIST_PER_DECADE));
        }
        Self {
            requests: 0,
            energy_wh: 0.0,
            co2e_g: 0.0,
            water_ml: 0.0,
            cost_usd: 0.0,
            hist: [0; HIST_BINS],
            edges,
            fine_head: Head(None),
            fine_id: [i64::MIN; FINE_SLOTS],
            fine_wh: [0.0; FINE_SLOTS],
            head: Head(None),
            bucket_id: [i64::MIN; BUCKETS],
            bucket_wh: [0.0; BUCKETS],
            bucket_n: [0; BUCKETS],
            models: Names::new(),
            keys: Names::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(&mut self, t: i64, model: &str, key: &str, e: f64, co2e: f64, water: f64, cost: f64) {
        self.requests += 1;
        self.energy_wh += e;
        self.co2e_g += co2e;
        self.water_ml += water;
        self.cost_usd += cost;
        let bin = self.bin(e);
        self.hist[bin] += 1;

        // Power window.
        let fb = t.div_euclid(FINE_MS);
        self.fine_head.advance(fb, FINE_SLOTS, |s, b| {
            self.fine_id[s] = b;
            self.fine_wh[s] = 0.0;
        });
        let s = slot_of(fb, FINE_SLOTS);
        if self.fine_id[s] == fb {
            self.fine_wh[s] += e;
        }

        // 15-minute series.
        let b = t.div_euclid(BUCKET_MS);
        self.head.advance(b, BUCKETS, |s, nb| {
            self.bucket_id[s] = nb;
            self.bucket_wh[s] = 0.0;
            self.bucket_n[s] = 0;
            self.models.clear_bucket(s);
            self.keys.clear_bucket(s);
        });
        let s = slot_of(b, BUCKETS);
        if self.bucket_id[s] == b {
            self.bucket_wh[s] += e;
            self.bucket_n[s] += 1;
            self.models.add(model, s, e, b);
            self.keys.add(key, s, e, b);
        }
    }

    /// The histogram bin of an energy (clamped to the first and last bins).
    fn bin(&self, e: f64) -> usize {
        if e.is_nan() || e < self.edges[1] {
            return 0;
        }
        if e >= self.edges[HIST_BINS - 1] {
            return HIST_BINS - 1;
        }
        let guess = ((e.log10() - f64::from(HIST_MIN_EXP)) * f64::from(HIST_PER_DECADE)).floor();
        // guess is finite and, after the checks above, about 1..HIST_BINS-1.
        let mut i = if guess.is_finite() && guess >= 0.0 {
            (guess as usize).min(HIST_BINS - 1)
        } else {
            0
        };
        // Correct rounding at the edges so a value equal to an edge lands in the bin it opens.
        while i > 0 && e < self.edges[i] {
            i -= 1;
        }
        while i + 1 < HIST_BINS && e >= self.edges[i + 1] {
            i += 1;
        }
        i
    }

    fn snapshot(&self, now: i64) -> Value {
        // Power over the last 10 s.
        let fnow = now.div_euclid(FINE_MS);
        let mut wh10 = 0.0;
        for fb in (fnow - FINE_IN_WINDOW + 1)..=fnow {
            let s = slot_of(fb, FINE_SLOTS);
            if self.fine_id[s] == fb {
                wh10 += self.fine_wh[s];
            }
        }
        let power_w = 3600.0 * wh10 / (POWER_WINDOW_MS as f64 / 1000.0);

        // The window's buckets, oldest first, with their ring slots (None: nothing recorded).
        let bnow = now.div_euclid(BUCKET_MS);
        let first = bnow - BUCKETS as i64 + 1;
        let slots: Vec<Option<usize>> = (first..=bnow)
            .map(|b| {
                let s = slot_of(b, BUCKETS);
                (self.bucket_id[s] == b).then_some(s)
            })
            .collect();
        let bucket_s = BUCKET_MS as f64 / 1000.0;
        let series: Vec<Value> = (first..=bnow)
            .zip(&slots)
            .map(|(b, s)| {
                let (wh, n) = s.map_or((0.0, 0), |s| (self.bucket_wh[s], self.bucket_n[s]));
                json!({
                    "t_unix_ms": b * BUCKET_MS,
                    "power_w": 3600.0 * wh / bucket_s,
                    "requests": n,
                })
            })
            .collect();

        let hist: Vec<u64> = self.hist.to_vec();
        json!({
            "now_unix_ms": now,
            "bucket_ms": BUCKET_MS,
            "power_w": power_w,
            "totals": {
                "requests": self.requests,
                "energy_wh": self.energy_wh,
                "co2e_g": self.co2e_g,
                "water_ml": self.water_ml,
                "cost_usd": self.cost_usd,
            },
            "series": series,
            "energy_wh_by_model": self.models.snapshot(&slots),
            "energy_wh_by_key": self.keys.snapshot(&slots),
            "wh_per_request": {
                "edges_wh": self.edges.to_vec(),
                "counts": hist,
            },
        })
    }
}

/// One tracked name: its energy per bucket of the shared ring.
struct Slot {
    name: String,
    wh: Box<[f64; BUCKETS]>,
    /// Energy in the ring (kept as buckets roll out).
    window_wh: f64,
    /// Space-Saving's over-estimate: the rank of the name this slot took over, which this
    /// slot's name may have had in buckets up to `since` (ignored once those have rolled out).
    err_wh: f64,
    since: i64,
}

/// The per-name rings of one dimension (models or keys).
struct Names {
    index: HashMap<String, usize>,
    slots: Vec<Slot>,
    other: Box<[f64; BUCKETS]>,
}

impl Names {
    fn new() -> Self {
        Self {
            index: HashMap::with_capacity(TRACKED_NAMES * 2),
            slots: Vec::with_capacity(TRACKED_NAMES),
            other: Box::new([0.0; BUCKETS]),
        }
    }

    fn clear_bucket(&mut self, s: usize) {
        for slot in &mut self.slots {
            slot.window_wh = (slot.window_wh - slot.wh[s]).max(0.0);
            slot.wh[s] = 0.0;
        }
        self.other[s] = 0.0;
    }

    fn add(&mut self, name: &str, s: usize, e: f64, bucket: i64) {
        if name == OTHER {
            self.other[s] += e;
            return;
        }
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => self.insert(name, bucket),
        };
        let slot = &mut self.slots[i];
        slot.wh[s] += e;
        slot.window_wh += e;
    }

    /// Gives `name` a slot: a free one, or the Space-Saving minimum's (whose history moves to
    /// `other`).
    fn insert(&mut self, name: &str, bucket: i64) -> usize {
        if self.slots.len() < TRACKED_NAMES {
            self.slots.push(Slot {
                name: name.to_owned(),
                wh: Box::new([0.0; BUCKETS]),
                window_wh: 0.0,
                err_wh: 0.0,
                since: bucket,
            });
            let i = self.slots.len() - 1;
            self.index.insert(name.to_owned(), i);
            return i;
        }
        let rank = |s: &Slot| {
            if bucket - s.since < BUCKETS as i64 {
                s.window_wh + s.err_wh
            } else {
                s.window_wh
            }
        };
        let mut min_i = 0;
        let mut min_r = f64::INFINITY;
        for (i, s) in self.slots.iter().enumerate() {
            let r = rank(s);
            if r < min_r {
                min_r = r;
                min_i = i;
            }
        }
        let slot = &mut self.slots[min_i];
        for (o, w) in self.other.iter_mut().zip(slot.wh.iter_mut()) {
            *o += *w;
            *w = 0.0;
        }
        self.index.remove(slot.name.as_str());
        slot.name.clear();
        slot.name.push_str(name);
        slot.window_wh = 0.0;
        slot.err_wh = if min_r.is_finite() { min_r } else { 0.0 };
        slot.since = bucket;
        self.index.insert(name.to_owned(), min_i);
        min_i
    }

    /// The running sums over the window's buckets (`slots`: ring slot of each, oldest first)
    /// of the [`LISTED_NAMES`] largest names, the rest as `"other"`.
    fn snapshot(&self, slots: &[Option<usize>]) -> Value {
        let total = |wh: &[f64; BUCKETS]| -> f64 { slots.iter().flatten().map(|&s| wh[s]).sum() };
        let mut ranked: Vec<(f64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (total(&s.wh), i))
            .filter(|&(t, _)| t > 0.0)
            .collect();
        ranked.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| self.slots[a.1].name.cmp(&self.slots[b.1].name))
        });
        let running = |per: &dyn Fn(usize) -> f64| -> Vec<f64> {
            let mut acc = 0.0;
            slots
                .iter()
                .map(|s| {
                    if let Some(s) = *s {
                        acc += per(s);
                    }
                    acc
                })
                .collect()
        };
        let mut out = serde_json::Map::new();
        for &(_, i) in ranked.iter().take(LISTED_NAMES) {
            let slot = &self.slots[i];
            out.insert(slot.name.clone(), json!(running(&|s| slot.wh[s])));
        }
        let rest: Vec<usize> = ranked.iter().skip(LISTED_NAMES).map(|&(_, i)| i).collect();
        let other =
            running(&|s| self.other[s] + rest.iter().map(|&i| self.slots[i].wh[s]).sum::<f64>());
        if other.last().is_some_and(|&x| x > 0.0) {
            out.insert(OTHER.to_owned(), json!(other));
        }
        Value::Object(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000; // a multiple of 5000

    fn f(v: &Value) -> f64 {
        v.as_f64().unwrap()
    }

    #[test]
    fn empty_snapshot_has_the_full_shape() {
        let d = Dashboard::new();
        let s = d.snapshot(T0);
        assert_eq!(s["now_unix_ms"], T0);
        assert_eq!(f(&s["power_w"]), 0.0);
        assert_eq!(s["totals"]["requests"], 0);
        let series = s["series"].as_array().unwrap();
        assert_eq!(series.len(), BUCKETS);
        assert_eq!(series[BUCKETS - 1]["t_unix_ms"], T0);
        assert_eq!(series[0]["t_unix_ms"], T0 - 179 * BUCKET_MS);
        assert!(s["energy_wh_by_model"].as_object().unwrap().is_empty());
        assert!(s["energy_wh_by_key"].as_object().unwrap().is_empty());
        assert_eq!(
            s["wh_per_request"]["edges_wh"].as_array().unwrap().len(),
            25
        );
        assert_eq!(s["wh_per_request"]["counts"].as_array().unwrap().len(), 24);
    }

    #[test]
    fn power_of_a_known_stream() {
        // 0.01 Wh every 100 ms for 60 s: 0.1 Wh/s = 360 W.
        let d = Dashboard::new();
        for i in 0..600 {
            d.record(T0 + i * 100, "m", "k", 0.01, 0.0, 0.0, 0.0);
        }
        let now = T0 + 59_950;
        let s = d.snapshot(now);
        assert!((f(&s["power_w"]) - 360.0).abs() < 1e-9, "{}", s["power_w"]);
        // Half the window without traffic: half the power.
        let s = d.snapshot(T0 + 64_950);
        assert!((f(&s["power_w"]) - 180.0).abs() < 1e-9, "{}", s["power_w"]);
        // Long after: nothing.
        let s = d.snapshot(T0 + 200_000);
        assert_eq!(f(&s["power_w"]), 0.0);
        // The 5 s buckets hold 50 requests of 0.01 Wh: 0.5 Wh in 5 s = 360 W.
        let s = d.snapshot(now);
        let series = s["series"].as_array().unwrap();
        let last_full = &series[BUCKETS - 2];
        assert_eq!(last_full["requests"], 50);
        assert!((f(&last_full["power_w"]) - 360.0).abs() < 1e-9);
        assert!((f(&s["totals"]["energy_wh"]) - 6.0).abs() < 1e-9);
    }

    #[test]
    fn buckets_roll_over() {
        let d = Dashboard::new();
        d.record(T0, "a", "k", 1.0, 0.0, 0.0, 0.0);
        d.record(T0 + 4_999, "a", "k", 2.0, 0.0, 0.0, 0.0);
        d.record(T0 + 5_000, "b", "k", 4.0, 0.0, 0.0, 0.0);
        let s = d.snapshot(T0 + 5_000);
        let series = s["series"].as_array().unwrap();
        assert_eq!(series[BUCKETS - 2]["t_unix_ms"], T0);
        assert_eq!(series[BUCKETS - 2]["requests"], 2);
        assert!((f(&series[BUCKETS - 2]["power_w"]) - 3600.0 * 3.0 / 5.0).abs() < 1e-9);
        assert_eq!(series[BUCKETS - 1]["requests"], 1);
        let a = s["energy_wh_by_model"]["a"].as_array().unwrap();
        assert_eq!(a.len(), BUCKETS);
        assert_eq!(f(&a[BUCKETS - 3]), 0.0);
        assert_eq!(f(&a[BUCKETS - 2]), 3.0);
        assert_eq!(f(&a[BUCKETS - 1]), 3.0);
        let k = s["energy_wh_by_key"]["k"].as_array().unwrap();
        assert_eq!(f(&k[BUCKETS - 1]), 7.0);

        // 15 minutes later the first bucket has left the window, the second is the oldest.
        let later = T0 + 5_000 + 179 * BUCKET_MS;
        let s = d.snapshot(later);
        let series = s["series"].as_array().unwrap();
        assert_eq!(series[0]["t_unix_ms"], T0 + 5_000);
        assert_eq!(series[0]["requests"], 1);
        assert!(s["energy_wh_by_model"].get("a").is_none());
        assert_eq!(f(&s["energy_wh_by_model"]["b"][0]), 4.0);

        // Recording then reuses the ring: the old buckets are cleared, totals are kept.
        d.record(later, "c", "k", 8.0, 0.0, 0.0, 0.0);
        d.record(later + BUCKET_MS, "c", "k", 8.0, 0.0, 0.0, 0.0);
        let s = d.snapshot(later + BUCKET_MS);
        let series = s["series"].as_array().unwrap();
        let n: u64 = series.iter().map(|b| b["requests"].as_u64().unwrap()).sum();
        assert_eq!(n, 2);
        assert!(s["energy_wh_by_model"].get("b").is_none());
        assert_eq!(f(&s["energy_wh_by_key"]["k"][BUCKETS - 1]), 16.0);
        assert_eq!(s["totals"]["requests"], 5);
        assert!((f(&s["totals"]["energy_wh"]) - 23.0).abs() < 1e-12);

        // A jump far ahead clears everything in the window.
        d.record(later + 3_600_000, "d", "", 1.0, 0.0, 0.0, 0.0);
        let s = d.snapshot(later + 3_600_000);
        let n: u64 = s["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["requests"].as_u64().unwrap())
            .sum();
        assert_eq!(n, 1);
        assert_eq!(s["energy_wh_by_model"].as_object().unwrap().len(), 1);
        assert_eq!(f(&s["energy_wh_by_key"][""][BUCKETS - 1]), 1.0);
    }

    #[test]
    fn out_of_order_and_old_requests() {
        let d = Dashboard::new();
        d.record(T0 + 60_000, "m", "k", 1.0, 1.0, 1.0, 1.0);
        d.record(T0 + 30_000, "m", "k", 2.0, 1.0, 1.0, 1.0); // late, in the window
        d.record(T0 - 3_600_000, "m", "k", 4.0, 1.0, 1.0, 1.0); // older than the window
        let s = d.snapshot(T0 + 60_000);
        assert_eq!(s["totals"]["requests"], 3);
        assert!((f(&s["totals"]["energy_wh"]) - 7.0).abs() < 1e-12);
        let n: u64 = s["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["requests"].as_u64().unwrap())
            .sum();
        assert_eq!(n, 2);
        assert_eq!(f(&s["energy_wh_by_model"]["m"][BUCKETS - 1]), 3.0);
    }

    #[test]
    fn by_key_cap_holds_with_1000_keys() {
        let d = Dashboard::new();
        // Three heavy keys among 1,000 light ones, interleaved over 10 minutes.
        let mut t = T0;
        let mut expected = 0.0;
        for round in 0..3 {
            for k in 0..1000 {
                t += 200;
                let key = format!("light-{k:04}");
                d.record(t, "m", &key, 0.001, 0.0, 0.0, 0.0);
                expected += 0.001;
                if k % 100 == round {
                    for h in 0..3 {
                        d.record(t, "m", &format!("heavy-{h}"), 1.0, 0.0, 0.0, 0.0);
                        expected += 1.0;
                    }
                }
            }
        }
        let s = d.snapshot(t);
        let by_key = s["energy_wh_by_key"].as_object().unwrap();
        assert!(by_key.len() <= LISTED_NAMES + 1, "{} names", by_key.len());
        assert!(by_key.contains_key("other"));
        for h in 0..3 {
            let v = by_key[&format!("heavy-{h}")].as_array().unwrap();
            assert!((f(&v[BUCKETS - 1]) - 30.0).abs() < 1e-9, "heavy-{h}: {v:?}");
        }
        // Nothing is lost: the last running sums add up to the energy in the window.
        let sum: f64 = by_key
            .values()
            .map(|v| f(v.as_array().unwrap().last().unwrap()))
            .sum();
        assert!((sum - expected).abs() < 1e-6, "{sum} vs {expected}");
        let state = d.lock();
        assert!(state.keys.slots.len() <= TRACKED_NAMES);
        assert!(state.keys.index.len() <= TRACKED_NAMES);
        drop(state);
        // Models: a single one, never "other".
        let by_model = s["energy_wh_by_model"].as_object().unwrap();
        assert_eq!(by_model.len(), 1);
    }

    #[test]
    fn histogram_counts_sum_to_requests() {
        let d = Dashboard::new();
        let values = [
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e-9,
            1e-4,
            1e-3,
            0.0123,
            0.5,
            1.0,
            9.99,
            99.0,
            100.0,
            1e6,
        ];
        for (i, &v) in values.iter().enumerate() {
            d.record(T0 + i as i64, "m", "k", v, v, v, v);
        }
        let s = d.snapshot(T0 + 100);
        let counts: Vec<u64> = s["wh_per_request"]["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .collect();
        let edges: Vec<f64> = s["wh_per_request"]["edges_wh"]
            .as_array()
            .unwrap()
            .iter()
            .map(f)
            .collect();
        assert_eq!(counts.iter().sum::<u64>(), values.len() as u64);
        assert_eq!(s["totals"]["requests"], values.len() as u64);
        assert!((edges[0] - 1e-4).abs() < 1e-18);
        assert!((edges[24] - 1e2).abs() < 1e-9);
        assert!((edges[4] - 1e-3).abs() < 1e-15);
        // 0, -1, NaN, inf (all recorded as 0), 1e-9 and 1e-4 fall in the first bin.
        assert_eq!(counts[0], 6);
        // 1e-3 opens the fifth bin; 1.0 opens the 17th; 100 and 1e6 are clamped to the last.
        assert_eq!(counts[4], 1);
        assert_eq!(counts[16], 1);
        assert_eq!(counts[23], 3); // 99, 100, 1e6
        let state = d.lock();
        for (i, &e) in edges.iter().enumerate().take(24).skip(1) {
            assert_eq!(state.bin(e), i, "edge {i}");
            assert_eq!(state.bin(e * 0.999_999), i - 1, "below edge {i}");
        }
        drop(state);
        // Non-finite values leave the totals finite.
        assert!(f(&s["totals"]["energy_wh"]).is_finite());
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Dashboard>();
    }

    #[test]
    fn the_page_has_no_external_reference() {
        assert!(PAGE.starts_with("<!doctype html>"));
        for bad in [
            "http://",
            "https://",
            "src=\"//",
            "href=\"//",
            "@import",
            "url(",
        ] {
            assert!(!PAGE.contains(bad), "the page contains `{bad}`");
        }
        assert!(PAGE.contains("dashboard/data"));
    }
}
