//! Named presets: a model, hardware and assumptions that reproduce a published method.

use wattage_catalog::Precision;

use crate::assumptions::Method;

/// A named set of choices; flags given alongside a preset override it.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Name used on the command line.
    pub name: &'static str,
    /// What it reproduces.
    pub description: &'static str,
    /// Catalog model id.
    pub model: &'static str,
    /// Catalog hardware id.
    pub hardware: &'static str,
    /// Accelerators per replica.
    pub gpus: u32,
    /// Precision.
    pub precision: Precision,
    /// Method.
    pub method: Method,
    /// Default prompt tokens.
    pub input_tokens: f64,
    /// Default output tokens.
    pub output_tokens: f64,
    /// Catalog region id.
    pub region: &'static str,
    /// Assumption overrides `(name, value)`.
    pub assumptions: &'static [(&'static str, f64)],
}

/// Every preset.
pub const PRESETS: &[Preset] = &[Preset {
    name: "epoch-2025",
    description: "Epoch AI, 'How much energy does ChatGPT use?' (2025): GPT-4o as 100B active parameters on H100s (989 TFLOP/s bf16) at 10% utilization, 1275 W server share per GPU at 70% power, PUE 1.2",
    model: "gpt-4o-est",
    hardware: "h100-sxm",
    // 400B parameters in bf16 need 16 x 80 GB; the method's energy does not depend on it.
    gpus: 16,
    precision: Precision::Bf16,
    method: Method::Epoch,
    input_tokens: 0.0,
    output_tokens: 500.0,
    region: "us-average",
    assumptions: &[
        ("utilization", 0.10),
        ("prefill_utilization", 1.0 / 3.0),
        ("power_fraction", 0.70),
        ("pue", 1.2),
    ],
}];

/// Finds a preset by name.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}
