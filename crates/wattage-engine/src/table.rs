//! Tables of records as CSV and Parquet files.
//!
//! Rows are serialized once through the `csv` crate (which fixes the column order and the text
//! of each cell); each column then becomes a typed Parquet column: `INT64` when every cell is an
//! integer, `DOUBLE` when every cell is a number, `UTF8` text otherwise; a column with empty
//! cells is `OPTIONAL`. Files are snappy-compressed and readable by pandas, polars and DuckDB.

use std::sync::Arc;

use parquet::basic::{Compression, ConvertedType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::calendar::Start;
use crate::error::Error;

/// A file a job produced: its path relative to the output folder, and its bytes. Front-ends
/// write them (the CLI into a folder, atomically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Relative path (`summary.json`, `charts/fleet.svg`).
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

impl Artifact {
    /// A file.
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            path: path.into(),
            bytes: bytes.into(),
        }
    }
}

/// One row of a site's time series as every command writes it (`timeseries.csv` of
/// `simulate site` and `run`): calendar time and elapsed seconds, then averages over the
/// interval. Columns are documented in `docs/outputs.md`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SiteRow {
    /// Start of the interval, ISO 8601 in UTC.
    pub time: String,
    /// Start of the interval, seconds since the run's start.
    pub elapsed_s: f64,
    /// IT load, MW.
    pub it_mw: f64,
    /// Facility load (IT plus cooling and power delivery), MW.
    pub facility_mw: f64,
    /// Highest per-step facility load in the interval, MW.
    pub facility_peak_mw: f64,
    /// Bitcoin miners, MW.
    pub miners_mw: f64,
    /// Grid import, negative for export, MW.
    pub grid_mw: f64,
    /// Gas turbines, MW.
    pub turbines_mw: f64,
    /// Solar used, MW.
    pub solar_mw: f64,
    /// Battery net output, negative when charging, MW.
    pub battery_mw: f64,
    /// Unserved load, MW.
    pub unserved_mw: f64,
    /// Energy stored in all batteries at the end of the interval, MWh.
    pub soc_mwh: f64,
    /// The same as a share of the batteries' energy capacity, %.
    pub soc_pct: f64,
    /// Mean grid price, $/MWh.
    pub price_usd_per_mwh: f64,
}

/// A site's series as [`SiteRow`]s, timed from `start`.
pub fn site_rows(series: &[wattage_site::SeriesRow], start: &Start) -> Vec<SiteRow> {
    series
        .iter()
        .map(|r| SiteRow {
            time: start.stamp(r.time_s),
            elapsed_s: r.time_s,
            it_mw: r.it_mw,
            facility_mw: r.facility_mw,
            facility_peak_mw: r.facility_peak_mw,
            miners_mw: r.miners_mw,
            grid_mw: r.grid_mw,
            turbines_mw: r.turbines_mw,
            solar_mw: r.solar_mw,
            battery_mw: r.battery_mw,
            unserved_mw: r.unserved_mw,
            soc_mwh: r.soc_mwh,
            soc_pct: r.soc * 100.0,
            price_usd_per_mwh: r.price_usd_per_mwh,
        })
        .collect()
}

/// `rows` as `stem.csv` and `stem.parquet`.
pub fn table<T: serde::Serialize>(
    stem: &str,
    rows: impl IntoIterator<Item = T>,
) -> Result<[Artifact; 2], Error> {
    let (csv_bytes, parquet_bytes) = encode(rows)?;
    Ok([
        Artifact::new(format!("{stem}.csv"), csv_bytes),
        Artifact::new(format!("{stem}.parquet"), parquet_bytes),
    ])
}

/// The same table as CSV bytes and as Parquet bytes.
pub fn encode<T: serde::Serialize>(
    rows: impl IntoIterator<Item = T>,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(csv_error)?;
    }
    finish(w)
}

fn csv_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("cannot encode CSV: {e}"))
}

/// The CSV written so far, and the same table as Parquet.
fn finish(w: csv::Writer<Vec<u8>>) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let csv_bytes = w.into_inner().map_err(csv_error)?;
    let parquet_bytes = csv_to_parquet(&csv_bytes)?;
    Ok((csv_bytes, parquet_bytes))
}

/// CSV text (with a header), as this module writes it, as the same table in Parquet.
pub fn csv_to_parquet(csv_bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let mut parquet_bytes = Vec::new();
    to_parquet(csv_bytes, &mut parquet_bytes)
        .map_err(|e| Error::internal(format!("cannot encode Parquet: {e}")))?;
    Ok(parquet_bytes)
}

/// A table given as a header and text cells, as CSV bytes and as Parquet bytes.
pub fn encode_records(
    header: &[String],
    rows: &[Vec<String>],
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(csv_error)?;
    for r in rows {
        w.write_record(r).map_err(csv_error)?;
    }
    finish(w)
}

/// One column's cells as read from the CSV: their text back to back, where each ends, and
/// whether any is empty.
#[derive(Default)]
struct Cells {
    text: String,
    ends: Vec<usize>,
    optional: bool,
}

impl Cells {
    fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
        self.optional |= cell.is_empty();
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        let mut from = 0;
        self.ends.iter().map(move |&to| {
            let c = &self.text[from..to];
            from = to;
            c
        })
    }

    fn filled(&self) -> impl Iterator<Item = &str> {
        self.iter().filter(|c| !c.is_empty())
    }
}

/// A column's values, typed: `INT64` when every filled cell is an integer, `DOUBLE` when every
/// one is a number, `UTF8` text otherwise (each cell parsed at most once as each type).
enum Values {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Text,
}

fn values(cells: &Cells) -> Values {
    if let Ok(v) = cells.filled().map(str::parse::<i64>).collect() {
        Values::Int(v)
    } else if let Ok(v) = cells.filled().map(str::parse::<f64>).collect() {
        Values::Float(v)
    } else {
        Values::Text
    }
}

/// Converts CSV text (with a header) to Parquet.
fn to_parquet(
    csv_text: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut rd = csv::Reader::from_reader(csv_text);
    let headers: Vec<String> = rd.headers()?.iter().map(str::to_string).collect();
    let mut cols: Vec<Cells> = headers.iter().map(|_| Cells::default()).collect();
    let mut rec = csv::StringRecord::new();
    while rd.read_record(&mut rec)? {
        for (col, c) in cols.iter_mut().zip(rec.iter()) {
            col.push(c);
        }
    }
    let vals: Vec<Values> = cols.iter().map(values).collect();
    let fields = headers
        .iter()
        .zip(&vals)
        .zip(&cols)
        .map(|((name, v), cells)| {
            let rep = if cells.optional {
                Repetition::OPTIONAL
            } else {
                Repetition::REQUIRED
            };
            let b = match v {
                Values::Int(_) => Type::primitive_type_builder(name, Physical::INT64),
                Values::Float(_) => Type::primitive_type_builder(name, Physical::DOUBLE),
                Values::Text => Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
                    .with_converted_type(ConvertedType::UTF8),
            };
            b.with_repetition(rep).build().map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()?,
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("wattage {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let mut writer = SerializedFileWriter::new(out, schema, props)?;
    let mut rg = writer.next_row_group()?;
    let mut i = 0;
    while let Some(mut col) = rg.next_column()? {
        let cells = &cols[i];
        let def: Vec<i16>;
        let levels = if cells.optional {
            def = cells.iter().map(|c| i16::from(!c.is_empty())).collect();
            Some(def.as_slice())
        } else {
            None
        };
        match &vals[i] {
            Values::Int(v) => {
                col.typed::<Int64Type>().write_batch(v, levels, None)?;
            }
            Values::Float(v) => {
                col.typed::<DoubleType>().write_batch(v, levels, None)?;
            }
            Values::Text => {
                let v: Vec<ByteArray> = cells.filled().map(ByteArray::from).collect();
                col.typed::<ByteArrayType>().write_batch(&v, levels, None)?;
            }
        }
        col.close()?;
        i += 1;
    }
    rg.close()?;
    writer.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::Bytes;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    use super::*;

    #[derive(serde::Serialize)]
    struct Row {
        id: u64,
        name: String,
        power_mw: f64,
        note: Option<f64>,
    }

    #[test]
    fn parquet_round_trips_types_and_values() {
        let rows = vec![
            Row {
                id: 1,
                name: "grid".into(),
                power_mw: 12.5,
                note: None,
            },
            Row {
                id: 2,
                name: "gas".into(),
                power_mw: -3.0,
                note: Some(0.25),
            },
        ];
        let [csv, pq] = table("t", &rows).unwrap();
        assert_eq!(csv.path, "t.csv");
        assert!(
            String::from_utf8(csv.bytes)
                .unwrap()
                .starts_with("id,name,power_mw,note\n")
        );
        let r = SerializedFileReader::new(Bytes::from(pq.bytes)).unwrap();
        assert_eq!(r.metadata().file_metadata().num_rows(), 2);
        let got: Vec<_> = r.get_row_iter(None).unwrap().map(|x| x.unwrap()).collect();
        let cols: Vec<(String, Field)> = got[1]
            .get_column_iter()
            .map(|(n, f)| (n.clone(), f.clone()))
            .collect();
        assert_eq!(cols[0], ("id".into(), Field::Long(2)));
        assert_eq!(cols[1], ("name".into(), Field::Str("gas".into())));
        assert_eq!(cols[2], ("power_mw".into(), Field::Double(-3.0)));
        assert_eq!(cols[3], ("note".into(), Field::Double(0.25)));
        let first: Vec<Field> = got[0].get_column_iter().map(|(_, f)| f.clone()).collect();
        assert_eq!(first[3], Field::Null);
    }
}
