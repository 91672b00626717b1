//! The 2025-26 architectures' FLOPs and bytes, worked by hand from the catalog entries'
//! published configs: multi-head latent attention (DeepSeek V3), shared experts and dense first
//! layers (DeepSeek V3), interleaved MoE layers (Llama 4 Maverick), hybrid Mamba-2/attention
//! (Nemotron Nano 9B v2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use approx::assert_relative_eq;
use wattage_catalog::Catalog;
use wattage_request::deploy::Parallelism;
use wattage_request::{Deployment, Roofline, RooflineParams, Step};

fn deploy(model: &str, hw: &str, p: Parallelism) -> Deployment {
    let cat = Catalog::builtin();
    Deployment::with_parallelism(
        cat.model(model).unwrap(),
        cat.hardware(hw).unwrap(),
        p,
        None,
    )
    .unwrap()
}

#[test]
fn latent_attention_caches_one_compressed_vector_and_attends_in_it() {
    // DeepSeek V3: kv_lora_rank 512 + qk_rope_head_dim 64 = 576 values per token per layer,
    // 61 layers, FP8 weights so an FP8 cache: 35,136 bytes per token, the same on every GPU
    // (one latent vector shared by all 128 heads cannot be split by heads).
    let d = deploy("deepseek-v3", "h200", Parallelism::tensor(8));
    assert_eq!(d.kv_bytes_per_token().count(), 61.0 * 576.0 * 1.0);
    assert_eq!(d.kv_shards(), 1.0);
    assert_eq!(d.kv_bytes_per_token_per_gpu().count(), 35_136.0);
    // Absorbed projections: per (query, key) pair and layer, scores over 512 + 64 values
    // and the weighted sum over 512, 2 FLOPs per multiply-add, 128 heads:
    // 2 x 128 x (2 x 512 + 64) = 278,528; 61 layers: 16,990,208 FLOPs per pair.
    let m = &d.model;
    assert_eq!(m.attention_flop_per_pair_layer(), 278_528.0);
    let r = Roofline::new(&d, RooflineParams::default());
    let a = r.work(&Step::decode(1.0, 1000.0));
    let b = r.work(&Step::decode(1.0, 2000.0));
    assert_relative_eq!(b.flop - a.flop, 1000.0 * 16_990_208.0, max_relative = 1e-12);
    // ... and 1000 more cached tokens read, each 35,136 bytes, on each GPU.
    assert_relative_eq!(
        b.other_bytes_gpu - a.other_bytes_gpu,
        1000.0 * 35_136.0,
        max_relative = 1e-12
    );
}

#[test]
fn shared_experts_and_dense_layers_are_read_by_every_token() {
    // DeepSeek V3: 671B total, 37B active, 256 routed experts of which 8 per token. One routed
    // expert (summed over the 58 MoE layers) = (671 - 37) / (256 - 8) = 2.5565B parameters;
    // what every token uses (attention, 3 dense layers, the shared expert, embeddings) =
    // 671 - 256 x 2.5565 = 16.53B.
    let d = deploy("deepseek-v3", "h200", Parallelism::tensor(8));
    let m = &d.model;
    let per_expert = (671e9 - 37e9) / 248.0;
    assert_relative_eq!(m.params_per_expert(), per_expert, max_relative = 1e-12);
    assert_relative_eq!(
        m.shared_params(),
        671e9 - 256.0 * per_expert,
        max_relative = 1e-12
    );
    assert_eq!(m.moe_layer_count(), 58.0);
    // One decode token: 2 FLOPs per shared parameter plus 2 per parameter of its 8 experts.
    let r = Roofline::new(&d, RooflineParams::default());
    let w = r.work(&Step::decode(1.0, 0.0));
    assert_relative_eq!(
        w.dense_flop_gpu * 8.0,
        2.0 * (37e9 - 8.0 * per_expert),
        max_relative = 1e-12
    );
    assert_relative_eq!(
        w.expert_flop_gpu * 8.0,
        2.0 * 8.0 * per_expert,
        max_relative = 1e-12
    );
    // Each GPU reads its eighth of the shared weights (FP8: 1 byte each) every iteration.
    assert_relative_eq!(
        w.dense_bytes_gpu,
        m.shared_params() / 8.0,
        max_relative = 1e-12
    );
}

#[test]
fn interleaved_moe_layers_count_the_all_to_alls() {
    // Llama 4 Maverick: MoE in 24 of its 48 layers (interleave step 2), one routed expert of
    // 128 per token, hidden 5120. Eight data-parallel ranks with expert parallelism on eight
    // H100s: dispatch and combine in each MoE layer, 48 exchanges an iteration. A decode step
    // of 8 tokens (one per GPU): each GPU sends its token's hidden state (5120 x 2 bytes) to
    // the expert's GPU, which is another one 7 times in 8: 8,960 bytes at 450 GB/s, after the
    // exchange's latency.
    let d = deploy(
        "llama-4-maverick",
        "h100-sxm",
        Parallelism {
            tensor: 1,
            data: 8,
            expert: true,
        },
    );
    assert_eq!(d.model.moe_layer_count(), 24.0);
    let p = RooflineParams::default();
    let r = Roofline::new(&d, p);
    let c = r.step(&Step::decode(8.0, 500.0));
    let sent = 1.0 * 5120.0 * 2.0 * 7.0 / 8.0;
    let one = p.collective_latency_s + sent / 450e9;
    assert_relative_eq!(c.comm_time.s(), 48.0 * one, max_relative = 1e-9);
    // Tensor parallelism alone: no all-to-all, two all-reduces per layer instead.
    let tp = deploy("llama-4-maverick", "h100-sxm", Parallelism::tensor(8));
    let t = Roofline::new(&tp, p).step(&Step::decode(8.0, 500.0));
    let msg = 8.0 * 5120.0 * 2.0;
    let ring = p.collective_latency_s + 2.0 * 7.0 / 8.0 * msg / 450e9;
    assert_relative_eq!(t.comm_time.s(), 96.0 * ring, max_relative = 1e-9);
}

#[test]
fn hybrid_layers_keep_a_state_not_a_kv_cache() {
    // Nemotron Nano 9B v2: 56 layers, of which 4 attention (8 KV heads x 128, bf16: 4 x 2 x 8
    // x 128 x 2 = 16,384 bytes per token) and 27 Mamba-2 layers, each holding a state of
    // 128 heads x 80 x 128 + a convolution window of 3 x (10,240 + 2 x 8 x 128) = 1,347,584
    // values per sequence (bf16: 72,769,536 bytes over the 27 layers).
    let d = deploy("nemotron-nano-9b-v2", "h100-sxm", Parallelism::tensor(1));
    assert_eq!(d.kv_bytes_per_token().count(), 16_384.0);
    assert_eq!(
        d.ssm_state_bytes_per_seq().count(),
        27.0 * 1_347_584.0 * 2.0
    );
    // A decode step reads and writes each sequence's state once, and reads its KV cache.
    let r = Roofline::new(&d, RooflineParams::default());
    let w = r.work(&Step::decode(1.0, 1000.0));
    assert_relative_eq!(
        w.other_bytes_gpu,
        1000.0 * 16_384.0 + 2.0 * 72_769_536.0,
        max_relative = 1e-12
    );
    // Attention FLOPs only in the 4 attention layers: 4 x 4 x 40 heads x 128 per pair.
    assert_eq!(d.model.attention_layer_count(), 4.0);
    let more = r.work(&Step::decode(1.0, 2000.0));
    assert_relative_eq!(
        more.flop - w.flop,
        1000.0 * 4.0 * 4.0 * 40.0 * 128.0,
        max_relative = 1e-12
    );
    // vLLM's pool holds both: 0.9 x 80 GB - 17.78 GB of weights - 3.2 GB of activations =
    // 51.02 GB, over 72.8 MB of state + 16,384 bytes per token of context per sequence.
    let free = 0.9 * 80e9 - 8.89e9 * 2.0 - 0.04 * 80e9;
    for ctx in [100.0, 1000.0] {
        assert_relative_eq!(
            d.max_sequences(ctx),
            free / (72_769_536.0 + ctx * 16_384.0),
            max_relative = 1e-9
        );
    }
}
