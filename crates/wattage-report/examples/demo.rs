//! Writes the demo report to a folder: `report.html`, `report.json`, and every chart as `.svg`
//! and `.png`.
//!
//! ```text
//! cargo run -p wattage-report --example demo -- /tmp/wattage-demo
//! ```

use std::path::PathBuf;

use wattage_report::{Fonts, demo_report, render_html, render_png, render_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("wattage-report-demo"), PathBuf::from);
    std::fs::create_dir_all(out.join("charts"))?;
    let report = demo_report();
    std::fs::write(out.join("report.html"), render_html(&report)?)?;
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    let fonts = Fonts::system();
    for chart in report.charts() {
        let stem = out.join("charts").join(&chart.id);
        std::fs::write(stem.with_extension("svg"), render_svg(chart)?)?;
        std::fs::write(stem.with_extension("png"), render_png(chart, &fonts, 1.5)?)?;
    }
    eprintln!("wrote {}", out.join("report.html").display());
    Ok(())
}
