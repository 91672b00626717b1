//! SVG to PNG with `resvg` (pure Rust: no system libraries, no browser).
//!
//! Text needs fonts. [`Fonts::system`] loads the machine's fonts (the one place this crate reads
//! files, on request); [`Fonts::from_data`] takes font files the caller read or embedded. With no
//! font at all the PNG is still produced, without text.

use std::sync::Arc;

use resvg::{tiny_skia, usvg};

use crate::chart::render_svg;
use crate::error::ReportError;
use crate::model::Chart;

/// The fonts used to draw text into PNGs.
#[derive(Clone, Debug)]
pub struct Fonts(Arc<usvg::fontdb::Database>);

impl Fonts {
    /// The fonts installed on this machine (reads the system font folders).
    pub fn system() -> Self {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        Self::finish(db)
    }

    /// Fonts from TrueType/OpenType file contents.
    pub fn from_data(fonts: Vec<Vec<u8>>) -> Self {
        let mut db = usvg::fontdb::Database::new();
        for f in fonts {
            db.load_font_data(f);
        }
        Self::finish(db)
    }

    /// No fonts: PNGs without text (for tests that only need pixels).
    pub fn none() -> Self {
        Self::finish(usvg::fontdb::Database::new())
    }

    fn finish(mut db: usvg::fontdb::Database) -> Self {
        // Generic `sans-serif` maps to the first sans family present.
        let families: Vec<String> = db
            .faces()
            .flat_map(|f| f.families.iter().map(|(n, _)| n.clone()))
            .collect();
        for wanted in [
            "DejaVu Sans",
            "Liberation Sans",
            "Noto Sans",
            "Arial",
            "Helvetica",
        ] {
            if families.iter().any(|f| f == wanted) {
                db.set_sans_serif_family(wanted);
                break;
            }
        }
        Self(Arc::new(db))
    }

    /// How many font faces are loaded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no font is loaded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Rasterises an SVG document to PNG bytes at `scale` (2.0 for sharp images on HiDPI screens).
pub fn svg_to_png(svg: &str, fonts: &Fonts, scale: f32) -> Result<Vec<u8>, ReportError> {
    if !(scale.is_finite() && scale > 0.0 && scale <= 8.0) {
        return Err(ReportError::Png {
            message: format!("scale {scale} is outside (0, 8]"),
        });
    }
    let opt = usvg::Options {
        fontdb: fonts.0.clone(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| ReportError::Png {
        message: e.to_string(),
    })?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or_else(|| ReportError::Png {
            message: "empty image".into(),
        })?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| ReportError::Png {
            message: format!("cannot allocate {}x{}", size.width(), size.height()),
        })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| ReportError::Png {
        message: e.to_string(),
    })
}

/// Renders a chart straight to PNG bytes.
pub fn render_png(chart: &Chart, fonts: &Fonts, scale: f32) -> Result<Vec<u8>, ReportError> {
    svg_to_png(&render_svg(chart)?, fonts, scale)
}
