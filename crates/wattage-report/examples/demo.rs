//! Writes the demo report to a folder: `report.html`, `report.json`, and every chart as `.svg`
//! and `.png`.
//!
//! ```text
//! cargo run -p wattage-report --example demo -- /tmp/wattage-demo
//! ```

use std::path::PathBuf;

use wattage_report::{
    Fonts, KeyFigure, NamedFigures, comparison_report, demo_report, render_html, render_png,
    render_svg,
};

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
    let runs = [
        NamedFigures::new(
            "H100, BF16",
            vec![
                KeyFigure::new("Energy per request", 0.391, "Wh"),
                KeyFigure::new("Site power, mean", 279.0, "MW"),
                KeyFigure::new("Peak site power", 352.0, "MW"),
                KeyFigure::new("Cost per year", 242.0, "M$"),
                KeyFigure::new("Emissions per year", 992.0, "kt CO2e"),
            ],
        ),
        NamedFigures::new(
            "B200, FP8",
            vec![
                KeyFigure::new("Energy per request", 0.19, "Wh"),
                KeyFigure::new("Site power, mean", 214.0, "MW"),
                KeyFigure::new("Peak site power", 281.0, "MW"),
                KeyFigure::new("Cost per year", 205.0, "M$"),
                KeyFigure::new("Emissions per year", 760.0, "kt CO2e"),
            ],
        ),
        NamedFigures::new(
            "B200, FP8, no battery",
            vec![
                KeyFigure::new("Energy per request", 0.19, "Wh"),
                KeyFigure::new("Site power, mean", 214.0, "MW"),
                KeyFigure::new("Peak site power", 281.0, "MW"),
                KeyFigure::new("Cost per year", 198.0, "M$"),
                KeyFigure::new("Emissions per year", 801.0, "kt CO2e"),
            ],
        ),
    ];
    let compare = comparison_report("wattage compare: accelerators and batteries", &runs)?;
    std::fs::write(out.join("compare.html"), render_html(&compare)?)?;
    eprintln!("wrote {}", out.join("report.html").display());
    eprintln!("wrote {}", out.join("compare.html").display());
    Ok(())
}
