//! `wattage catalog`: list and show catalog entries with their sources.

use wattage_catalog::Catalog;
use wattage_engine::Error;

use crate::common::{Global, out, out_json, user};

/// Arguments of `wattage catalog`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to list: hardware, models or regions
    pub kind: String,
    /// Show one entry in full (id, alias or Hugging Face repository)
    pub name: Option<String>,
    /// Print JSON
    #[arg(long, conflicts_with = "toml")]
    pub json: bool,
    /// Print the entry (or, without NAME, every entry of the kind) as a catalog file that
    /// `--catalog FILE` accepts unchanged (docs/catalog.md)
    #[arg(long)]
    pub toml: bool,
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let cat: Catalog = g.catalog()?;
    if a.toml && a.name.is_none() {
        let hw: Vec<_> = cat.hardware.iter().collect();
        let md: Vec<_> = cat.models.iter().collect();
        let rg: Vec<_> = cat.regions.iter().collect();
        let text = match a.kind.as_str() {
            "hardware" | "hw" => wattage_catalog::to_toml(&hw, &[], &[]),
            "models" | "model" => wattage_catalog::to_toml(&[], &md, &[]),
            "regions" | "region" => wattage_catalog::to_toml(&[], &[], &rg),
            k => {
                return Err(user(format!(
                    "unknown catalog `{k}`; expected hardware, models or regions"
                )));
            }
        };
        out(text
            .map_err(|e| anyhow::anyhow!("cannot render: {e}"))?
            .trim_end());
        return Ok(());
    }
    match (a.kind.as_str(), &a.name) {
        ("hardware" | "hw", None) => {
            if a.json {
                return out_json(&cat.hardware);
            }
            out(format!(
                "{:<10} {:<34} {:>9} {:>9} {:>7} {:>8} {:>6}",
                "id", "name", "bf16 TF/s", "fp8 TF/s", "HBM GB", "HBM TB/s", "TDP W"
            ));
            for h in &cat.hardware {
                let p = |x| {
                    h.peak(x)
                        .map_or("-".to_string(), |r| format!("{:.0}", r.tflops()))
                };
                out(format!(
                    "{:<10} {:<34} {:>9} {:>9} {:>7.0} {:>8.2} {:>6.0}",
                    h.id,
                    h.name,
                    p(wattage_catalog::Precision::Bf16),
                    p(wattage_catalog::Precision::Fp8),
                    h.hbm_gb,
                    h.hbm_tb_s,
                    h.tdp_w
                ));
            }
        }
        ("models" | "model", None) => {
            if a.json {
                return out_json(&cat.models);
            }
            out(format!(
                "{:<18} {:<28} {:>8} {:>8} {:>6} {:<5} note",
                "id", "name", "total B", "active B", "layers", "prec"
            ));
            for m in &cat.models {
                out(format!(
                    "{:<18} {:<28} {:>8.1} {:>8.1} {:>6} {:<5} {}",
                    m.id,
                    m.name,
                    m.params_total_b,
                    m.params_active_b,
                    m.layers,
                    m.precision.as_str(),
                    if m.estimate { "estimate" } else { "" }
                ));
            }
        }
        ("regions" | "region", None) => {
            if a.json {
                return out_json(&cat.regions);
            }
            out(format!(
                "{:<16} {:<34} {:>9} {:>5} {:>8} {:>8} {:>7}",
                "id", "name", "gCO2/kWh", "PUE", "WUE L/kWh", "off-site", "$/MWh"
            ));
            for r in &cat.regions {
                out(format!(
                    "{:<16} {:<34} {:>9.0} {:>5.2} {:>8.2} {:>8.2} {:>7.0}",
                    r.id,
                    r.name,
                    r.carbon_g_per_kwh,
                    r.pue,
                    r.wue_onsite_l_per_kwh,
                    r.wue_offsite_l_per_kwh,
                    r.electricity_usd_per_mwh
                ));
            }
        }
        ("hardware" | "hw", Some(n)) => {
            let h = cat.hardware(n).map_err(Error::from)?;
            show(&a, h, wattage_catalog::to_toml(&[h], &[], &[]))?
        }
        ("models" | "model", Some(n)) => {
            let m = cat.model(n).map_err(Error::from)?;
            show(&a, m, wattage_catalog::to_toml(&[], &[m], &[]))?
        }
        ("regions" | "region", Some(n)) => {
            let r = cat.region(n).map_err(Error::from)?;
            show(&a, r, wattage_catalog::to_toml(&[], &[], &[r]))?
        }
        (k, _) => {
            return Err(user(format!(
                "unknown catalog `{k}`; expected hardware, models or regions"
            )));
        }
    }
    Ok(())
}

/// Prints one entry: as JSON, or as a catalog file with this one entry (`toml`, the same with
/// `--toml` or without a format): `--catalog FILE` accepts it unchanged.
fn show<T: serde::Serialize>(a: &Args, v: &T, toml: Result<String, String>) -> anyhow::Result<()> {
    if a.json {
        return out_json(v);
    }
    let text = toml.map_err(|e| anyhow::anyhow!("cannot render: {e}"))?;
    out(text.trim_end());
    Ok(())
}
