//! The one TOML locator: turns a byte offset, a serde error or a field path (such as
//! `service[1].peak_hour`) into an [`Error`] with the file, line, column, field and the line
//! with a caret under the value.

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::Error;

/// An error at byte `offset` of `text` (the file `origin`), about `field` (may be empty).
pub fn located(origin: &str, text: &str, offset: usize, field: &str, msg: &str) -> Error {
    let (line, col) = wattage_catalog::line_col(text, offset);
    let src = text.lines().nth(line - 1).unwrap_or("");
    Error::in_file(origin, line, col, field, msg).with_snippet(format!(
        "  |\n{line:>3} | {src}\n  | {}^",
        " ".repeat(col.saturating_sub(1))
    ))
}

/// The field a TOML error is about: the key a `missing field` message names; otherwise the
/// dotted path of the key at `offset` (`service[0].input_tokens`), never a value quoted in
/// the message (`invalid type: floating point `1.5``). Empty for a syntax error, which is
/// about no field.
fn field_of(text: &str, offset: usize, msg: &str) -> String {
    let named = || msg.split('`').nth(1).unwrap_or("").to_string();
    if msg.starts_with("missing field") {
        return named();
    }
    match wattage_site::scenario::field_at(text, offset) {
        p if !p.is_empty() => p,
        _ if msg.starts_with("unknown field") => named(),
        _ => String::new(),
    }
}

/// A TOML parse or schema error, located.
pub fn toml_error(origin: &str, text: &str, e: &toml::de::Error) -> Error {
    let off = e.span().map_or(0, |s| s.start);
    located(
        origin,
        text,
        off,
        &field_of(text, off, e.message()),
        e.message().trim(),
    )
}

/// A TOML document with its syntax tree, whose spans locate any field's value.
pub struct TomlDoc<'a> {
    origin: &'a str,
    text: &'a str,
    root: Spanned<DeTable<'a>>,
}

impl<'a> TomlDoc<'a> {
    /// Parses `text` (from `origin`, named in errors).
    pub fn parse(origin: &'a str, text: &'a str) -> Result<Self, Error> {
        let root = DeTable::parse(text).map_err(|e| toml_error(origin, text, &e))?;
        Ok(Self { origin, text, root })
    }

    /// Deserializes the document into `T`, errors located.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(toml::de::Deserializer::from(self.root.clone()))
            .map_err(|e| toml_error(self.origin, self.text, &e))
    }

    /// Byte offset of the value of `field`, a path such as `service[1].peak_hour` or
    /// `site.zoom_day`; when that key is absent, of the nearest enclosing value that is
    /// present (the `[site]` table, the second `[[service]]`), else the start of the file.
    pub fn offset(&self, field: &str) -> usize {
        let mut offset = 0;
        let mut table = Some(self.root.get_ref());
        for seg in field.split('.') {
            let (key, index) = match seg.split_once('[') {
                Some((k, i)) => (k, i.trim_end_matches(']').parse::<usize>().ok()),
                None => (seg, None),
            };
            let Some(mut v) = table.and_then(|t| t.get(key)) else {
                break;
            };
            offset = v.span().start;
            if let Some(i) = index {
                let Some(e) = v.get_ref().get(i) else {
                    break;
                };
                v = e;
                offset = v.span().start;
            }
            table = match v.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            };
        }
        offset
    }

    /// An error about `field`, with its line and a caret under its value.
    pub fn error(&self, field: &str, msg: &str) -> Error {
        located(self.origin, self.text, self.offset(field), field, msg)
    }

    /// An error about `key` of the table at `table` (a path as in [`TomlDoc::offset`]),
    /// for keys that hold dots themselves (`"batteries[0].energy_mwh"`): the field is named
    /// with the key quoted, as TOML writes it.
    pub fn key_error(&self, table: &str, key: &str, msg: &str) -> Error {
        let mut offset = self.offset(table);
        let mut t = Some(self.root.get_ref());
        for seg in table.split('.') {
            t = t.and_then(|x| x.get(seg)).and_then(|v| match v.get_ref() {
                DeValue::Table(x) => Some(x),
                _ => None,
            });
        }
        if let Some(v) = t.and_then(|x| x.get(key)) {
            offset = v.span().start;
        }
        located(
            self.origin,
            self.text,
            offset,
            &format!("{table}.\"{key}\""),
            msg,
        )
    }

    /// The file's name in errors.
    pub fn origin(&self) -> &str {
        self.origin
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Errors point at the key in the right table; an absent key at its table.
    #[test]
    fn fields_locate_in_the_right_table() {
        let text = "name = \"x\"\n\n[[service]]\npeak_hour = 1\n\n[[service]]\nname = \"b\"\npeak_hour = 2\n\n[site]\nscenario = \"s\"\n";
        let doc = TomlDoc::parse("f", text).unwrap();
        let line = |f: &str| wattage_catalog::line_col(text, doc.offset(f)).0;
        assert_eq!(line("service[0].peak_hour"), 4);
        assert_eq!(line("service[1].peak_hour"), 8);
        assert_eq!(line("site.scenario"), 11);
        assert_eq!(line("service[1].max_batch"), 6);
        assert_eq!(line("site.zoom_day"), 10);
        assert_eq!(line("optimize.step_h"), 1);
        let e = doc.error("service[1].peak_hour", "must be 0-24");
        assert_eq!(
            e.location,
            crate::error::Location::File {
                path: "f".into(),
                line: 8,
                column: 13
            }
        );
        assert_eq!(e.field.as_deref(), Some("service[1].peak_hour"));
    }

    #[test]
    fn schema_errors_name_the_field() {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            a: u32,
        }
        let doc = TomlDoc::parse("f.toml", "a = 1\nb = 2\n").unwrap();
        let e = doc.deserialize::<S>().err().unwrap();
        assert_eq!(e.field.as_deref(), Some("b"));
        assert!(matches!(
            e.location,
            crate::error::Location::File { line: 2, .. }
        ));
    }

    /// A type error names the key whose value is wrong, not the value; a syntax error names
    /// no field.
    #[test]
    fn type_errors_name_the_key_not_the_value() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Item {
            n: u64,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct S {
            name: String,
            item: Vec<Item>,
        }
        let text = "name = \"x\"\n[[item]]\nn = 1\n[[item]]\nn = 1.5\n";
        let doc = TomlDoc::parse("f.toml", text).unwrap();
        let e = doc.deserialize::<S>().err().unwrap();
        assert_eq!(e.field.as_deref(), Some("item[1].n"), "{e:?}");
        let doc = TomlDoc::parse("f.toml", "name = 1.5\n").unwrap();
        let e = doc.deserialize::<S>().err().unwrap();
        assert_eq!(e.field.as_deref(), Some("name"), "{e:?}");
        let e = TomlDoc::parse("f.toml", "[item\n").err().unwrap();
        assert_eq!(e.field, None, "{e:?}");
    }
}
