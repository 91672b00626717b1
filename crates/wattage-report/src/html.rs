//! The self-contained HTML renderer: one file, inline CSS, charts as inline `<svg>`, no script,
//! no font or image from the network, so the report opens anywhere, offline, and prints well.

use std::fmt::Write as _;

use crate::chart::render_inline_svg;
use crate::error::ReportError;
use crate::format::{looks_numeric, significant};
use crate::model::{Assumption, Block, KeyFigure, Report, Table};

/// Escapes text for HTML element content and attribute values.
///
/// ```
/// assert_eq!(wattage_report::html::escape("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root{--text:#1f2937;--muted:#4b5563;--line:#e5e7eb;--bg:#ffffff;--soft:#f6f7f9;--accent:#4e79a7}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",sans-serif}
.page{max-width:1040px;margin:0 auto;padding:32px 24px 48px}
header{border-bottom:3px solid var(--accent);padding-bottom:16px;margin-bottom:24px}
h1{font-size:2rem;line-height:1.2;margin:0 0 6px}
.subtitle{color:var(--muted);font-size:1.1rem;margin:0}
h2{font-size:1.45rem;line-height:1.3;margin:40px 0 12px;padding-top:8px;border-top:1px solid var(--line)}
p{margin:0 0 14px;max-width:72ch}
nav.toc{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:12px 20px;margin:0 0 8px}
nav.toc h2{font-size:1rem;margin:0 0 4px;padding:0;border:0;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
nav.toc ol{margin:0;padding-left:22px;columns:2 260px}
nav.toc a{color:var(--accent);text-decoration:none}
nav.toc a:hover{text-decoration:underline}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px;margin:16px 0 20px}
.tile{border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:6px;padding:10px 14px;background:var(--bg)}
.tile .label{color:var(--muted);font-size:.85rem}
.tile .value{font-size:1.6rem;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.3}
.tile .unit{font-size:1rem;font-weight:500;color:var(--muted);margin-left:4px}
.tile .range,.tile .note{color:var(--muted);font-size:.8rem}
.table-wrap{overflow-x:auto;margin:12px 0 20px}
table{border-collapse:collapse;width:100%;font-size:.92rem;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:0 0 6px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num,th.num{text-align:right;white-space:nowrap}
td:first-child{min-width:9em}
tbody tr:nth-child(even){background:#fafbfc}
figure{margin:20px 0 28px;border:1px solid var(--line);border-radius:8px;padding:8px 8px 4px;background:var(--bg)}
figure svg.chart{display:block;width:100%;height:auto}
figcaption{color:var(--muted);font-size:.9rem;padding:6px 8px 8px}
figcaption .fig-no{font-weight:600;color:var(--text)}
footer{margin-top:48px;padding-top:12px;border-top:1px solid var(--line);color:var(--muted);font-size:.85rem}
@media (max-width:640px){.page{padding:20px 12px}h1{font-size:1.5rem}.tile .value{font-size:1.3rem}}
@media print{
 body{font-size:11pt}
 .page{max-width:none;padding:0}
 nav.toc{break-after:page}
 h2{break-after:avoid}
 figure,table,.tile{break-inside:avoid}
 a{color:inherit;text-decoration:none}
}
"#;

/// Renders a report as one self-contained HTML document.
///
/// The output depends only on the report: the same report gives byte-identical HTML. The report
/// is validated first; a NaN anywhere is an error, not a chart.
pub fn render_html(report: &Report) -> Result<String, ReportError> {
    report.validate()?;
    let mut out = String::with_capacity(64 * 1024);
    let title = escape(&report.title);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light\">\n",
    );
    let _ = writeln!(out, "<title>{title}</title>");
    let _ = writeln!(
        out,
        "<style>{CSS}</style>\n</head>\n<body>\n<div class=\"page\">"
    );
    let _ = writeln!(out, "<header>\n<h1>{title}</h1>");
    if !report.subtitle.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"subtitle\">{}</p>",
            escape(&report.subtitle)
        );
    }
    out.push_str("</header>\n");

    if report.sections.len() > 1 {
        out.push_str("<nav class=\"toc\" aria-label=\"Contents\">\n<h2>Contents</h2>\n<ol>\n");
        for s in &report.sections {
            let _ = writeln!(
                out,
                "<li><a href=\"#{}\">{}</a></li>",
                escape(&s.id),
                escape(&s.title)
            );
        }
        out.push_str("</ol>\n</nav>\n");
    }

    out.push_str("<main>\n");
    let mut figure_no = 0;
    for s in &report.sections {
        let _ = writeln!(
            out,
            "<section id=\"{}\">\n<h2>{}</h2>",
            escape(&s.id),
            escape(&s.title)
        );
        for block in &s.blocks {
            match block {
                Block::Paragraph { text } => {
                    let _ = writeln!(out, "<p>{}</p>", escape(text));
                }
                Block::Figures { figures } => tiles(&mut out, figures),
                Block::Table(t) => table(&mut out, t),
                Block::Assumptions { assumptions } => assumptions_table(&mut out, assumptions),
                Block::Links { links } => {
                    out.push_str("<ul class=\"links\">\n");
                    for l in links {
                        let _ = writeln!(
                            out,
                            "<li><a href=\"{}\">{}</a></li>",
                            escape(&l.href),
                            escape(&l.text)
                        );
                    }
                    out.push_str("</ul>\n");
                }
                Block::Chart(c) => {
                    figure_no += 1;
                    let svg = render_inline_svg(c)?;
                    let _ = write!(
                        out,
                        "<figure id=\"fig-{}\">\n{svg}<figcaption><span class=\"fig-no\">Figure {figure_no}.</span> {}",
                        escape(&c.id),
                        escape(&c.title)
                    );
                    if !c.caption.is_empty() {
                        let _ = write!(out, ". {}", escape(&c.caption));
                    }
                    out.push_str("</figcaption>\n</figure>\n");
                }
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n");
    if !report.generated_by.is_empty() {
        let _ = writeln!(out, "<footer>{}</footer>", escape(&report.generated_by));
    }
    out.push_str("</div>\n</body>\n</html>\n");
    Ok(out)
}

fn tiles(out: &mut String, figures: &[KeyFigure]) {
    out.push_str("<div class=\"tiles\">\n");
    for f in figures {
        let _ = write!(
            out,
            "<div class=\"tile\"><div class=\"label\">{}</div><div class=\"value\">{}",
            escape(&f.label),
            escape(&significant(f.value, 3))
        );
        if !f.unit.is_empty() {
            let _ = write!(out, "<span class=\"unit\">{}</span>", escape(&f.unit));
        }
        out.push_str("</div>");
        if let Some(r) = &f.range {
            let _ = write!(
                out,
                "<div class=\"range\">range {} – {} {}</div>",
                escape(&significant(r.low, 3)),
                escape(&significant(r.high, 3)),
                escape(&f.unit)
            );
        }
        if !f.note.is_empty() {
            let _ = write!(out, "<div class=\"note\">{}</div>", escape(&f.note));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n");
}

fn table(out: &mut String, t: &Table) {
    // A column is numeric when every non-empty cell in it looks like a number.
    let numeric: Vec<bool> = (0..t.headers.len())
        .map(|c| {
            let mut any = false;
            let all = t.rows.iter().all(|r| {
                let cell = r[c].trim();
                any |= !cell.is_empty();
                cell.is_empty() || cell == "–" || looks_numeric(cell)
            });
            all && any
        })
        .collect();
    out.push_str("<div class=\"table-wrap\"><table>\n");
    if !t.caption.is_empty() {
        let _ = writeln!(out, "<caption>{}</caption>", escape(&t.caption));
    }
    out.push_str("<thead><tr>");
    for (h, num) in t.headers.iter().zip(&numeric) {
        let class = if *num { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th scope=\"col\"{class}>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (cell, num) in row.iter().zip(&numeric) {
            let class = if *num { " class=\"num\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn assumptions_table(out: &mut String, assumptions: &[Assumption]) {
    let mut t = Table::new("Resolved assumptions", ["Name", "Value", "Unit", "Source"]);
    for a in assumptions {
        t = t.row([
            a.name.as_str(),
            a.value.as_str(),
            a.unit.as_str(),
            a.source.as_str(),
        ]);
    }
    table(out, &t);
}
