//! Errors of the report layer.

/// Why a report could not be rendered. Each variant names where the problem is, for example
/// ``section 2 `Site`, block 3, chart `power-day`, series `Grid`, values[17]``.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A number is NaN or infinite; reports never show such values.
    #[error("{location} is {value}, not a finite number")]
    NonFinite {
        /// Where.
        location: String,
        /// The offending value.
        value: f64,
    },
    /// A value axis has no unit.
    #[error("{location} has no unit")]
    MissingUnit {
        /// Where.
        location: String,
    },
    /// A required text or list is empty.
    #[error("{location}: `{field}` is empty")]
    Empty {
        /// Where.
        location: String,
        /// Which field.
        field: &'static str,
    },
    /// A list has the wrong length.
    #[error("{location} has {found} entries, expected {expected}")]
    LengthMismatch {
        /// Where.
        location: String,
        /// Expected length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// Too few points to draw.
    #[error("{location} has {found} points, too few to draw")]
    TooFewPoints {
        /// Where.
        location: String,
        /// How many there are.
        found: usize,
    },
    /// Values that must increase do not.
    #[error("{location}: values must increase")]
    NotIncreasing {
        /// Where.
        location: String,
    },
    /// A low/high pair is out of order or out of bounds.
    #[error("{location}: invalid range {low} to {high}")]
    BadRange {
        /// Where.
        location: String,
        /// Low end.
        low: f64,
        /// High end.
        high: f64,
    },
    /// An id has characters other than `a-z0-9-_`, or is empty.
    #[error("{location}: id `{id}` must be non-empty and use only a-z, 0-9, `-` and `_`")]
    BadId {
        /// Where.
        location: String,
        /// The id.
        id: String,
    },
    /// A link is not a plain relative path (see [`crate::Link`]).
    #[error("{location}: link `{href}` must be a relative path of `A-Za-z0-9-_./` without `..`")]
    BadLink {
        /// Where.
        location: String,
        /// The link's target.
        href: String,
    },
    /// Two sections or two charts share an id.
    #[error("id `{id}` is used twice")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// A chart is too small to draw legibly.
    #[error("{location}: size {width}x{height} is too small (at least 200x150)")]
    TooSmall {
        /// Where.
        location: String,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The plotting library failed.
    #[error("drawing chart `{chart}` failed: {message}")]
    Draw {
        /// Chart id.
        chart: String,
        /// The library's message.
        message: String,
    },
    /// SVG to PNG conversion failed.
    #[error("rasterising chart to PNG failed: {message}")]
    Png {
        /// What went wrong.
        message: String,
    },
}
