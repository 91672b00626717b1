//! The per-request energy model: FLOPs and bytes of an LLM request or training run -> time, energy, carbon, water, cost
