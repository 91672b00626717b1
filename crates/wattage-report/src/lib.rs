//! Reports: HTML with inline SVG charts, summary tables
