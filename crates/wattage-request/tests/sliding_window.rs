//! Sliding-window attention (Gemma 3, gpt-oss): layers with a window read and attend to at
//! most `window` tokens per query. Worked by hand on Gemma 3 27B, where 52 of 62 layers use a
//! 1,024-token window.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use approx::assert_relative_eq;
use wattage_catalog::{Catalog, Model};
use wattage_request::{
    Assumptions, Deployment, Method, Request, Roofline, RooflineParams, Scope, Step, estimate,
};

fn gemma() -> (Model, Model) {
    let cat = Catalog::builtin();
    let m = cat.model("gemma-3-27b").unwrap().clone();
    let mut full = m.clone();
    full.sliding_window = None;
    full.sliding_layers = None;
    (m, full)
}

fn roofline(m: &Model) -> Roofline {
    let cat = Catalog::builtin();
    let d = Deployment::new(m, cat.hardware("h100").unwrap(), 1, None).unwrap();
    Roofline::new(&d, RooflineParams::default())
}

#[test]
fn the_catalog_records_the_windows() {
    let cat = Catalog::builtin();
    for (id, window, layers) in [
        ("gemma-3-12b", 1024, 40),
        ("gemma-3-27b", 1024, 52),
        ("gpt-oss-20b", 128, 12),
        ("gpt-oss-120b", 128, 18),
    ] {
        let m = cat.model(id).unwrap();
        assert_eq!(
            (m.sliding_window, m.sliding_layers),
            (Some(window), Some(layers)),
            "{id}"
        );
    }
    assert!(cat.model("llama-3.1-70b").unwrap().sliding().is_none());
}

/// Eight sequences decoding at 100k tokens of context: the windowed layers read 1,024 tokens
/// instead of 100,000, so the KV bytes and attention FLOPs fall by 8 x 52/62 x 98,976 tokens'
/// worth. The weights and the per-token FLOPs do not change.
#[test]
fn decode_at_long_context_reads_only_the_window() {
    let (m, full) = gemma();
    let (swa, all) = (roofline(&m), roofline(&full));
    let step = Step::decode(8.0, 100_000.0);
    let (ws, wf) = (swa.work(&step), all.work(&step));
    let fewer_tokens = 8.0 * 52.0 / 62.0 * (100_000.0 - 1024.0);

    let cat = Catalog::builtin();
    let d = Deployment::new(&m, cat.hardware("h100").unwrap(), 1, None).unwrap();
    let kv_bytes = d.kv_bytes_per_token_per_gpu().count();
    assert_relative_eq!(
        wf.bytes_per_gpu() - ws.bytes_per_gpu(),
        fewer_tokens * kv_bytes,
        max_relative = 1e-9
    );
    let flop_per_pair = 4.0 * 62.0 * m.attention_dim();
    assert_relative_eq!(
        wf.flop - ws.flop,
        fewer_tokens * flop_per_pair,
        max_relative = 1e-9
    );
}

/// Within the window nothing changes.
#[test]
fn within_the_window_the_work_is_unchanged() {
    let (m, full) = gemma();
    let (swa, all) = (roofline(&m), roofline(&full));
    for step in [Step::decode(16.0, 900.0), Step::prefill(1000.0)] {
        assert_eq!(swa.work(&step), all.work(&step));
    }
}

/// A 10,000-token prompt: the windowed layers attend to 10,000 x 1,024 pairs at most; the
/// exact count is 1,024 x 1,025 / 2 + 8,976 x 1,024 = 9,716,736. The bound is 5.4% over on
/// those layers, within window / (2 x prompt) = 5.1% of the full-context pairs.
#[test]
fn a_long_prompt_is_bounded_by_the_window() {
    let (m, full) = gemma();
    let (swa, all) = (roofline(&m), roofline(&full));
    let step = Step::prefill(10_000.0);
    let (ws, wf) = (swa.work(&step), all.work(&step));
    let flop_per_pair = 4.0 * 62.0 * m.attention_dim();
    let pairs = |w: &wattage_request::roofline::StepWork| {
        (w.flop - 2.0 * m.active_params() * 10_000.0) / flop_per_pair
    };
    let full_pairs = 10_000.0 * 10_001.0 / 2.0;
    assert_relative_eq!(pairs(&wf), full_pairs, max_relative = 1e-9);
    let share = 52.0 / 62.0;
    let bound = (1.0 - share) * full_pairs + share * 10_000.0 * 1024.0;
    assert_relative_eq!(pairs(&ws), bound, max_relative = 1e-9);
    let exact = (1.0 - share) * full_pairs + share * (1024.0 * 1025.0 / 2.0 + 8976.0 * 1024.0);
    assert!(pairs(&ws) >= exact && (pairs(&ws) - exact) / full_pairs < 1024.0 / 20_000.0);
}

/// End to end: a 100k-token prompt costs much less energy with the window than without, and a
/// short request the same. With the window, eight such sequences fit in the KV cache of two
/// H100s (10/62 x 100,300 + 52/62 x 1,024 = 17,036 tokens each); without it, two do not.
#[test]
fn long_prompts_cost_less_short_ones_the_same() {
    let cat = Catalog::builtin();
    let h = cat.hardware("h100").unwrap();
    let a = Assumptions::for_region(cat.region("us-average").unwrap());
    let (m, full) = gemma();
    let e = |model: &Model, input: f64| {
        let d = Deployment::new(model, h, 2, None).unwrap();
        let r = Request {
            input_tokens: input,
            output_tokens: 300.0,
            batch: 1.0,
        };
        estimate(&d, &r, &a, Method::Roofline, Scope::Gpu)
            .unwrap()
            .energy
            .j()
    };
    assert_relative_eq!(e(&m, 500.0), e(&full, 500.0), max_relative = 1e-12);
    let (long_swa, long_full) = (e(&m, 100_000.0), e(&full, 100_000.0));
    assert!(long_swa < 0.7 * long_full, "{long_swa} vs {long_full}");
    let d = Deployment::new(&m, h, 2, None).unwrap();
    assert_relative_eq!(
        d.kv_footprint_tokens(100_300.0),
        10.0 / 62.0 * 100_300.0 + 52.0 / 62.0 * 1024.0,
        max_relative = 1e-12
    );
    assert!(8.0 * d.kv_footprint_tokens(100_300.0) < d.kv_capacity_tokens());
    assert!(2.0 * 100_300.0 > d.kv_capacity_tokens());
}
