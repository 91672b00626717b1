//! Discrete-event simulation of LLM serving: a request stream batched on GPU replicas -> utilization, latency, watts, energy per request
