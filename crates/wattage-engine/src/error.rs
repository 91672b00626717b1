//! One error type for every job: what went wrong, where (a parameter, or a file with line
//! and column, and the field), and hints, all as data. Front-ends render it in their own
//! words: the CLI names parameters as flags (`--input-tokens`), Python as keywords
//! (`input_tokens`).

use std::fmt;

/// Whether the user can fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad input: a parameter, a file, a field. The CLI exits 2, Python raises `InputError`.
    Input,
    /// Everything else (a file that cannot be written, an internal failure).
    Internal,
}

/// Where an error is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Location {
    /// Not tied to one input.
    Nowhere,
    /// A parameter of a job's spec (snake_case, the same name as the scenario key and the
    /// Python keyword); the CLI shows it as a flag.
    Param {
        /// The parameter's name.
        name: String,
    },
    /// A place in a file (line and column 1-based; 0 when unknown).
    File {
        /// The file's path (or a name such as `built-in default`).
        path: String,
        /// Line, 1-based (0: unknown).
        line: usize,
        /// Column, 1-based (0: unknown).
        column: usize,
    },
}

/// The error of every engine job: [`ErrorData`] behind one pointer, so results stay small
/// (its fields read through `Deref`: `e.message`, `e.location`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Error(Box<ErrorData>);

impl std::ops::Deref for Error {
    type Target = ErrorData;
    fn deref(&self) -> &ErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut ErrorData {
        &mut self.0
    }
}

/// What an [`Error`] holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErrorData {
    /// Input or internal.
    pub kind: ErrorKind,
    /// Where.
    pub location: Location,
    /// The field in the file (a dotted path such as `service[1].peak_hour`), if known.
    pub field: Option<String>,
    /// What is wrong, without the location.
    pub message: String,
    /// The offending line of a file with a caret under the column, when known.
    pub snippet: Option<String>,
    /// What to do about it (may name parameters in backticks, rendered like `message`).
    pub hints: Vec<String>,
}

/// A result with the engine's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a front-end names a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamStyle {
    /// `--input-tokens` (the CLI).
    Flag,
    /// `input_tokens` (Python, scenario files, HTTP).
    Keyword,
}

impl ParamStyle {
    /// The name of parameter `name` (snake_case) in this style.
    pub fn name(self, name: &str) -> String {
        match self {
            Self::Flag => format!("--{}", name.replace('_', "-")),
            Self::Keyword => name.to_string(),
        }
    }
}

impl Error {
    /// A bad-input error with no location yet.
    pub fn input(message: impl Into<String>) -> Self {
        Self(Box::new(ErrorData {
            kind: ErrorKind::Input,
            location: Location::Nowhere,
            field: None,
            message: message.into(),
            snippet: None,
            hints: Vec::new(),
        }))
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> Self {
        let mut e = Self::input(message);
        e.kind = ErrorKind::Internal;
        e
    }

    /// A bad value of parameter `name`.
    pub fn param(name: &str, message: impl Into<String>) -> Self {
        Self::input(message).at_param(name)
    }

    /// An error in a file at a line and column, about `field` (empty: unknown).
    pub fn in_file(
        path: impl Into<String>,
        line: usize,
        column: usize,
        field: &str,
        message: impl Into<String>,
    ) -> Self {
        let mut e = Self::input(message);
        e.location = Location::File {
            path: path.into(),
            line,
            column,
        };
        e.field = (!field.is_empty()).then(|| field.to_string());
        e
    }

    /// Places the error at parameter `name`.
    pub fn at_param(mut self, name: &str) -> Self {
        self.location = Location::Param {
            name: name.to_string(),
        };
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hints.push(h.into());
        self
    }

    /// Adds a snippet (the source line and a caret).
    pub fn with_snippet(mut self, s: impl Into<String>) -> Self {
        self.snippet = Some(s.into());
        self
    }

    /// Prefixes the message with context (`optimizing the site: ...`).
    pub fn context(mut self, c: &str) -> Self {
        self.message = format!("{c}: {}", self.message);
        self
    }

    /// True for bad input.
    pub fn is_input(&self) -> bool {
        self.kind == ErrorKind::Input
    }

    /// The error as one text, parameters named in `style`; hints are not included (see
    /// [`Error::hints_in`]).
    pub fn render(&self, style: ParamStyle) -> String {
        let msg = rename_params(&self.message, style);
        match &self.location {
            Location::Nowhere => msg,
            Location::Param { name } => format!("invalid `{}`: {msg}", style.name(name)),
            Location::File { path, line, column } => {
                let loc = if *line > 0 {
                    format!("{path}:{line}:{column}:")
                } else {
                    format!("{path}:")
                };
                let field = self
                    .field
                    .as_deref()
                    .map_or(String::new(), |f| format!(" field `{f}`:"));
                let mut s = format!("{loc}{field} {msg}");
                if let Some(sn) = &self.snippet {
                    s.push('\n');
                    s.push_str(sn);
                }
                s
            }
        }
    }

    /// The hints with parameters named in `style`.
    pub fn hints_in(&self, style: ParamStyle) -> Vec<String> {
        self.hints.iter().map(|h| rename_params(h, style)).collect()
    }
}

impl ParamStyle {
    /// `text` with every `` `{name}` `` parameter reference named in this style.
    pub fn rename(self, text: &str) -> String {
        rename_params(text, self)
    }
}

/// Parameters are written in messages as `` `{name}` `` (braces inside backticks); this
/// renders them in a front-end's style.
fn rename_params(text: &str, style: ParamStyle) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("`{") {
        let after = &rest[i + 2..];
        match after.find("}`") {
            Some(j)
                if after[..j]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                out.push_str(&rest[..i]);
                out.push('`');
                out.push_str(&style.name(&after[..j]));
                out.push('`');
                rest = &after[j + 2..];
            }
            _ => {
                out.push_str(&rest[..i + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(ParamStyle::Keyword))
    }
}

impl std::error::Error for Error {}

impl From<wattage_catalog::UnknownName> for Error {
    fn from(e: wattage_catalog::UnknownName) -> Self {
        let list = match e.kind {
            "hardware" => "hardware",
            "region" => "regions",
            _ => "models",
        };
        Error::input(e.to_string()).hint(format!("`wattage catalog {list}` lists them all"))
    }
}

impl From<wattage_catalog::CatalogError> for Error {
    fn from(e: wattage_catalog::CatalogError) -> Self {
        use wattage_catalog::CatalogError;
        match e {
            CatalogError::Parse {
                origin,
                line,
                column,
                message,
            } => Error::in_file(origin, line, column, "", message),
            CatalogError::Invalid {
                origin,
                kind,
                id,
                field,
                reason,
            } => Error::in_file(origin, 0, 0, &field, format!("{kind} `{id}`: {reason}")),
        }
    }
}

impl From<wattage_report::ReportError> for Error {
    fn from(e: wattage_report::ReportError) -> Self {
        Error::internal(format!("building the report: {e}"))
    }
}

/// A request-model error, placed at the parameter it names.
pub fn request_error(e: wattage_request::EstimateError) -> Error {
    use wattage_request::EstimateError;
    match e {
        EstimateError::Invalid { field, reason } => Error::param(field, reason),
        e @ EstimateError::DoesNotFit { min_gpus, .. } => Error::input(e.to_string())
            .at_param("tensor_parallel_size")
            .hint(format!(
                "use `{{tensor_parallel_size}}` = {min_gpus}, or a narrower `{{precision}}` (fp8 halves bf16 weights)"
            )),
    }
}

/// A site scenario error: in `path` (the scenario file), or in the CSV file it names,
/// resolved beside the scenario.
pub fn site_error(path: &std::path::Path, e: &wattage_site::ScenarioError) -> Error {
    let file = match &e.file {
        Some(f) => path.parent().unwrap_or(std::path::Path::new("")).join(f),
        None => path.to_path_buf(),
    };
    let mut err = Error::in_file(
        file.display().to_string(),
        e.line,
        e.column,
        &e.field,
        e.message.clone(),
    );
    if let Some(s) = &e.snippet {
        err = err.with_snippet(s.clone());
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_render_in_each_style() {
        let e = Error::param("input_tokens", "must be positive, see `{max_num_seqs}`")
            .hint("try `{batch}` = 1");
        assert_eq!(
            e.render(ParamStyle::Flag),
            "invalid `--input-tokens`: must be positive, see `--max-num-seqs`"
        );
        assert_eq!(
            e.render(ParamStyle::Keyword),
            "invalid `input_tokens`: must be positive, see `max_num_seqs`"
        );
        assert_eq!(e.hints_in(ParamStyle::Flag), vec!["try `--batch` = 1"]);
        // Braces that are not a parameter stay as they are.
        assert_eq!(
            rename_params("`{a b}` `{x}`", ParamStyle::Flag),
            "`{a b}` `--x`"
        );
    }

    #[test]
    fn file_errors_show_line_column_and_field() {
        let e = Error::in_file("run.toml", 3, 7, "service[0].peak_hour", "must be 0-24")
            .with_snippet("  |\n  3 | peak_hour = 30\n  |       ^");
        let t = e.render(ParamStyle::Flag);
        assert!(t.starts_with("run.toml:3:7: field `service[0].peak_hour`: must be 0-24\n"));
        assert!(t.contains("peak_hour = 30"));
    }
}
