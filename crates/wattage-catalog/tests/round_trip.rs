//! Every built-in entry printed as a catalog file (`wattage catalog KIND ID --toml`) is
//! accepted unchanged as a user catalog (`--catalog FILE`) and reads back as the same entry;
//! and every field an entry can have is documented in `docs/catalog.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use wattage_catalog::{Catalog, to_toml};

/// An entry as TOML data, to compare two entries field by field.
fn value<T: serde::Serialize>(v: &T) -> toml::Value {
    toml::Value::try_from(v).unwrap()
}

#[test]
fn every_builtin_entry_round_trips_through_a_catalog_file() {
    let builtin = Catalog::builtin();
    let mut n = 0;
    for h in &builtin.hardware {
        let text = to_toml(&[h], &[], &[]).unwrap();
        assert!(text.starts_with("[[hardware]]"), "{text}");
        let mut c = Catalog::default();
        c.merge_toml(&text, "printed")
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", h.id));
        assert_eq!(c.hardware.len(), 1);
        assert_eq!(value(&c.hardware[0]), value(h), "{}", h.id);
        // Printing the entry read back gives the same text.
        assert_eq!(to_toml(&[&c.hardware[0]], &[], &[]).unwrap(), text);
        n += 1;
    }
    for m in &builtin.models {
        let text = to_toml(&[], &[m], &[]).unwrap();
        assert!(text.starts_with("[[model]]"), "{text}");
        let mut c = Catalog::default();
        c.merge_toml(&text, "printed")
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", m.id));
        assert_eq!(value(&c.models[0]), value(m), "{}", m.id);
        assert_eq!(to_toml(&[], &[&c.models[0]], &[]).unwrap(), text);
        n += 1;
    }
    for r in &builtin.regions {
        let text = to_toml(&[], &[], &[r]).unwrap();
        assert!(text.starts_with("[[region]]"), "{text}");
        let mut c = Catalog::default();
        c.merge_toml(&text, "printed")
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", r.id));
        assert_eq!(value(&c.regions[0]), value(r), "{}", r.id);
        assert_eq!(to_toml(&[], &[], &[&c.regions[0]]).unwrap(), text);
        n += 1;
    }
    assert_eq!(
        n,
        builtin.hardware.len() + builtin.models.len() + builtin.regions.len()
    );
    assert!(n > 20, "{n} entries");
    // The whole catalog as one file reads back as the whole catalog.
    let hw: Vec<_> = builtin.hardware.iter().collect();
    let md: Vec<_> = builtin.models.iter().collect();
    let rg: Vec<_> = builtin.regions.iter().collect();
    let text = to_toml(&hw, &md, &rg).unwrap();
    let mut c = Catalog::default();
    c.merge_toml(&text, "printed").unwrap();
    assert_eq!(value(&c.hardware), value(&builtin.hardware));
    assert_eq!(value(&c.models), value(&builtin.models));
    assert_eq!(value(&c.regions), value(&builtin.regions));
}

/// The top-level keys of an entry.
fn keys(v: &toml::Value, out: &mut std::collections::BTreeSet<String>) {
    if let toml::Value::Table(t) = v {
        out.extend(t.keys().cloned());
    }
}

/// The field names of one section of `docs/catalog.md`: the first cell of each table row,
/// in backticks, between the section's heading and the next.
fn documented(doc: &str, heading: &str) -> std::collections::BTreeSet<String> {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("docs/catalog.md has no `{heading}` section"));
    let rest = &doc[start + heading.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end]
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(name, _)| name.to_string()))
        .collect()
}

#[test]
fn every_field_of_every_entry_is_documented() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/catalog.md"
    ))
    .expect("docs/catalog.md");
    let c = Catalog::builtin();
    let check = |heading: &str, entries: Vec<toml::Value>| {
        let mut present = std::collections::BTreeSet::new();
        for e in &entries {
            keys(e, &mut present);
        }
        let doc_fields = documented(&doc, heading);
        let missing: Vec<_> = present.difference(&doc_fields).collect();
        assert!(
            missing.is_empty(),
            "docs/catalog.md `{heading}` lacks {missing:?}"
        );
        // A documented field that no entry has is allowed only if marked optional.
        for f in doc_fields.difference(&present) {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{f}`")))
                .unwrap_or_default();
            assert!(
                row.contains("optional"),
                "docs/catalog.md `{heading}` lists `{f}`, which no built-in entry has and is not marked optional"
            );
        }
    };
    check("## Hardware", c.hardware.iter().map(value).collect());
    check("## Models", c.models.iter().map(value).collect());
    check("## Regions", c.regions.iter().map(value).collect());
}
