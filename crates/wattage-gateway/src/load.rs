//! The load on an upstream as a time integral, so the mean batch a request shared is the
//! area under the in-flight count over its life divided by its duration.

use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug)]
struct State {
    count: f64,
    area: f64,
    last: Instant,
}

/// A count that changes over time (requests in flight, or running sequences scraped from
/// vLLM) and its running integral, in sequence-seconds.
#[derive(Debug)]
pub struct Load {
    s: Mutex<State>,
    epoch: Instant,
}

/// A reading of the integral.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    area: f64,
    at: Instant,
}

impl Default for Load {
    fn default() -> Self {
        let now = Instant::now();
        Self {
            s: Mutex::new(State {
                count: 0.0,
                area: 0.0,
                last: now,
            }),
            epoch: now,
        }
    }
}

impl Load {
    fn with<R>(&self, f: impl FnOnce(&mut State, Instant) -> R) -> R {
        let now = Instant::now();
        let mut s = self.s.lock().unwrap_or_else(|p| p.into_inner());
        let dt = now.saturating_duration_since(s.last).as_secs_f64();
        s.area += s.count * dt;
        s.last = now;
        f(&mut s, now)
    }

    /// Adds `d` to the count (a request starts: +1, ends: -1).
    pub fn add(&self, d: f64) -> Mark {
        self.with(|s, now| {
            s.count = (s.count + d).max(0.0);
            Mark {
                area: s.area,
                at: now,
            }
        })
    }

    /// Sets the count (a scraped value).
    pub fn set(&self, v: f64) {
        self.with(|s, _| s.count = v.max(0.0));
    }

    /// The integral now.
    pub fn mark(&self) -> Mark {
        self.with(|s, now| Mark {
            area: s.area,
            at: now,
        })
    }

    /// The count now.
    pub fn now(&self) -> f64 {
        self.with(|s, _| s.count)
    }

    /// Mean count between two marks (the count at `from` when they coincide).
    pub fn mean(&self, from: Mark, to: Mark) -> f64 {
        let dt = to.at.saturating_duration_since(from.at).as_secs_f64();
        if dt <= 0.0 {
            return self.now().max(1.0);
        }
        ((to.area - from.area) / dt).max(0.0)
    }

    /// Seconds since this load was created (for tests).
    pub fn age_s(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }
}

/// Running sequences in a vLLM Prometheus exposition: the sum of `vllm:num_requests_running`
/// over its label sets, if present.
pub fn vllm_running(text: &str) -> Option<f64> {
    let mut sum = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("vllm:num_requests_running") else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        let value = rest.rsplit_once('}').map_or(rest, |(_, v)| v).trim();
        let value = value.split_whitespace().next().unwrap_or("");
        if let Ok(v) = value.parse::<f64>()
            && v.is_finite()
            && v >= 0.0
        {
            *sum.get_or_insert(0.0) += v;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn mean_of_a_constant_count_is_that_count() {
        let l = Load::default();
        l.add(3.0);
        let a = l.mark();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = l.mark();
        assert!((l.mean(a, b) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn mean_weights_by_time() {
        let l = Load::default();
        let a = l.add(1.0);
        std::thread::sleep(std::time::Duration::from_millis(50));
        l.add(2.0);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let b = l.mark();
        let m = l.mean(a, b);
        // Half the time at 1, half at 3: about 2 (sleep jitter on a busy machine).
        assert!((m - 2.0).abs() < 0.4, "{m}");
    }

    #[test]
    fn reads_vllm_metrics() {
        let text = "# HELP vllm:num_requests_running Number of requests\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{engine=\"0\",model_name=\"a\"} 7.0\nvllm:num_requests_running{engine=\"1\",model_name=\"a\"} 5\nvllm:num_requests_waiting{model_name=\"a\"} 3\n";
        assert_eq!(vllm_running(text), Some(12.0));
        assert_eq!(vllm_running("nothing here"), None);
    }
}
