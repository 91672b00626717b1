//! Number formatting for tick labels, tiles and tables: thousands separators, SI suffixes for
//! large magnitudes, and never `NaN` or `inf` in the output.

/// Inserts thousands separators into the integer part of an already formatted number.
fn group_thousands(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.find('.') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(frac);
    out
}

/// Formats with a fixed number of decimals and thousands separators; `-0` becomes `0`, and a
/// non-finite value becomes `–` (a report never prints `NaN`).
pub fn fixed(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{v:.decimals$}");
    let s = if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    };
    group_thousands(&s)
}

/// Formats with at most `sig` significant digits for tiles and tables, without trailing zeros:
/// `1234567.0` -> `1,234,567`, `12.345` -> `12.3`, `0.0012345` -> `0.00123`, `0.02` -> `0.02`,
/// `3.2e10` -> `32 billion`.
///
/// ```
/// use wattage_report::format::significant;
/// assert_eq!(significant(1_234_567.0, 3), "1,234,567");
/// assert_eq!(significant(12.345, 3), "12.3");
/// assert_eq!(significant(0.0012345, 3), "0.00123");
/// assert_eq!(significant(3.2e10, 3), "32 billion");
/// assert_eq!(significant(0.02, 3), "0.02");
/// assert_eq!(significant(f64::NAN, 3), "–");
/// ```
pub fn significant(v: f64, sig: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    for (threshold, divisor, word) in [
        (1e12, 1e12, "trillion"),
        (1e9, 1e9, "billion"),
        (1e7, 1e6, "million"),
    ] {
        if a >= threshold {
            let scaled = v / divisor;
            let digits = (scaled.abs().log10().floor() as i64 + 1).max(1) as usize;
            return format!(
                "{} {word}",
                trim_zeros(fixed(scaled, sig.saturating_sub(digits)))
            );
        }
    }
    if a >= 1000.0 || a == 0.0 {
        return fixed(v.round(), 0);
    }
    let digits = a.log10().floor() as i64 + 1;
    let decimals = (sig as i64 - digits).clamp(0, 12) as usize;
    trim_zeros(fixed(v, decimals))
}

fn trim_zeros(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" { "0".into() } else { s }
}

/// A tick formatter for an axis spanning `[lo, hi]`: decimals follow the tick step, magnitudes
/// of a million and more get an SI suffix (`k` is not used: thousands separators read better).
///
/// ```
/// use wattage_report::format::TickFormat;
/// let t = TickFormat::for_range(0.0, 250_000.0);
/// assert_eq!(t.format(125_000.0), "125,000");
/// let t = TickFormat::for_range(0.0, 3.0e9);
/// assert_eq!(t.format(1.5e9), "1.5G");
/// let t = TickFormat::for_range(0.0, 0.4);
/// assert_eq!(t.format(0.25), "0.25");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TickFormat {
    divisor: f64,
    suffix: &'static str,
    decimals: usize,
}

impl TickFormat {
    /// Picks the format for about ten ticks over `[lo, hi]`.
    pub fn for_range(lo: f64, hi: f64) -> Self {
        let max = lo.abs().max(hi.abs());
        let (divisor, suffix) = if max >= 1e12 {
            (1e12, "T")
        } else if max >= 1e9 {
            (1e9, "G")
        } else if max >= 1e6 {
            (1e6, "M")
        } else {
            (1.0, "")
        };
        let span = ((hi - lo).abs() / divisor).max(f64::MIN_POSITIVE);
        // plotters picks steps of 1, 2 or 5 x 10^k; one more decimal covers the 2.5-like cases.
        let step = span / 10.0;
        let decimals = if step >= 1.0 {
            0
        } else {
            ((-step.log10()).ceil() as i64 + 1).clamp(0, 9) as usize
        };
        Self {
            divisor,
            suffix,
            decimals,
        }
    }

    /// Formats one tick value, trimming trailing zeros.
    pub fn format(&self, v: f64) -> String {
        let mut s = trim_zeros(fixed(v / self.divisor, self.decimals));
        if s != "0" {
            s.push_str(self.suffix);
        }
        s
    }
}

/// The scale a quantity in `unit` is best shown in: `(divisor, unit shown, money)`. Energy
/// climbs Wh, kWh, MWh, GWh, TWh; money $, thousand $ is not used (separators read better),
/// then M$ and B$; mass g, kg, t, kt, Mt (with `CO2e` kept after the unit). Other units keep
/// their unit.
fn scale(v: f64, unit: &str) -> (f64, String, bool) {
    let a = v.abs();
    let ladder = |base: f64, steps: &[(f64, &str)], suffix: &str| -> (f64, String) {
        // `base` is the size of `unit` in the ladder's first unit.
        let x = a * base;
        let mut pick = steps[0];
        for s in steps {
            if x >= s.0 * 0.9995 {
                pick = *s;
            }
        }
        (pick.0 / base, format!("{}{suffix}", pick.1))
    };
    const ENERGY: &[(f64, &str)] = &[
        (1.0, "Wh"),
        (1e3, "kWh"),
        (1e6, "MWh"),
        (1e9, "GWh"),
        (1e12, "TWh"),
    ];
    const MASS: &[(f64, &str)] = &[
        (1.0, "g"),
        (1e3, "kg"),
        (1e6, "t"),
        (1e9, "kt"),
        (1e12, "Mt"),
    ];
    let (base, co2) = match unit.strip_suffix(" CO2e") {
        Some(u) => (u, " CO2e"),
        None => (unit, ""),
    };
    match base {
        "Wh" => {
            let (d, u) = ladder(1.0, ENERGY, "");
            (d, u, false)
        }
        "kWh" => {
            let (d, u) = ladder(1e3, ENERGY, "");
            (d, u, false)
        }
        "MWh" => {
            let (d, u) = ladder(1e6, ENERGY, "");
            (d, u, false)
        }
        "g" => {
            let (d, u) = ladder(1.0, MASS, co2);
            (d, u, false)
        }
        "kg" => {
            let (d, u) = ladder(1e3, MASS, co2);
            (d, u, false)
        }
        "t" => {
            let (d, u) = ladder(1e6, MASS, co2);
            (d, u, false)
        }
        "USD" => {
            if a >= 1e9 * 0.9995 {
                (1e9, "B".into(), true)
            } else if a >= 1e6 * 0.9995 {
                (1e6, "M".into(), true)
            } else {
                (1.0, String::new(), true)
            }
        }
        _ => (1.0, unit.to_owned(), false),
    }
}

fn scaled_number(v: f64, divisor: f64, money: bool) -> String {
    let x = v / divisor;
    if money && divisor == 1.0 && x.abs() >= 1.0 {
        fixed(x.round(), 0)
    } else if money && divisor == 1.0 {
        trim_zeros(fixed(x, 2))
    } else if x.abs() >= 1000.0 {
        fixed(x.round(), 0)
    } else {
        significant(x, 3)
    }
}

fn with_unit(number: String, unit: &str, money: bool) -> String {
    if money {
        let (sign, n) = match number.strip_prefix('-') {
            Some(n) => ("-", n.to_owned()),
            None => ("", number),
        };
        format!("{sign}${n}{unit}")
    } else if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

/// A quantity in the unit that fits its size: `0.0012` MWh -> `1.2 kWh`, `1_429_000` MWh ->
/// `1.43 TWh`, `842.5` USD -> `$843`, `1.63e8` USD -> `$163M`, `819_648` t CO2e ->
/// `820 kt CO2e`. Units outside the ladders (`MW`, `m³`, `g/kWh`) are kept.
///
/// ```
/// use wattage_report::format::quantity;
/// assert_eq!(quantity(0.0012, "MWh"), "1.2 kWh");
/// assert_eq!(quantity(1_429_000.0, "MWh"), "1.43 TWh");
/// assert_eq!(quantity(142_900.0, "MWh"), "143 GWh");
/// assert_eq!(quantity(842.5, "USD"), "$843");
/// assert_eq!(quantity(1.628e8, "USD"), "$163M");
/// assert_eq!(quantity(819_648.0, "t CO2e"), "820 kt CO2e");
/// assert_eq!(quantity(0.31, "g CO2e"), "0.31 g CO2e");
/// assert_eq!(quantity(179.2, "MW"), "179 MW");
/// ```
pub fn quantity(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let (d, u, money) = scale(v, unit);
    with_unit(scaled_number(v, d, money), &u, money)
}

/// A low–high range in the scale that fits `central` (so it reads beside it):
/// `quantity_range(1.2e5, 1.5e5, 1.4e5, "MWh")` is `120–150 GWh`.
///
/// ```
/// use wattage_report::format::quantity_range;
/// assert_eq!(quantity_range(1.2e5, 1.5e5, 1.4e5, "MWh"), "120–150 GWh");
/// assert_eq!(quantity_range(1.51e8, 1.7e8, 1.6e8, "USD"), "$151M–$170M");
/// ```
pub fn quantity_range(low: f64, high: f64, central: f64, unit: &str) -> String {
    if !(low.is_finite() && high.is_finite()) {
        return "–".into();
    }
    let (d, u, money) = scale(central, unit);
    if money {
        format!(
            "{}–{}",
            with_unit(scaled_number(low, d, true), &u, true),
            with_unit(scaled_number(high, d, true), &u, true)
        )
    } else {
        with_unit(
            format!(
                "{}–{}",
                scaled_number(low, d, false),
                scaled_number(high, d, false)
            ),
            &u,
            false,
        )
    }
}

/// Text that looks like a number (for right-aligning table cells): digits with signs,
/// separators, a decimal point, percent signs and brackets, as in `214 (-23 %)`.
pub fn looks_numeric(s: &str) -> bool {
    let t = s.trim();
    let t = t.strip_suffix('%').unwrap_or(t).trim_end();
    let mut digits = 0;
    for c in t.chars() {
        match c {
            '0'..='9' => digits += 1,
            ',' | '.' | ' ' | '(' | ')' | '%' | '+' | '-' | '−' => {}
            _ => return false,
        }
    }
    digits > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands() {
        assert_eq!(fixed(1234.5, 1), "1,234.5");
        assert_eq!(fixed(-1234567.0, 0), "-1,234,567");
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(fixed(999.0, 0), "999");
    }

    #[test]
    fn significant_digits() {
        assert_eq!(significant(0.0, 3), "0");
        assert_eq!(significant(0.34, 2), "0.34");
        assert_eq!(significant(12_500_000.0, 3), "12.5 million");
        assert_eq!(significant(f64::INFINITY, 3), "–");
    }

    #[test]
    fn ticks() {
        let t = TickFormat::for_range(0.0, 24.0);
        assert_eq!(t.format(6.0), "6");
        let t = TickFormat::for_range(-50.0, 300.0);
        assert_eq!(t.format(-50.0), "-50");
        assert_eq!(t.format(0.0), "0");
        let t = TickFormat::for_range(0.0, 2_500_000.0);
        assert_eq!(t.format(2_000_000.0), "2M");
        assert_eq!(t.format(500_000.0), "0.5M");
    }

    #[test]
    fn numeric_cells() {
        assert!(looks_numeric("1,234.5"));
        assert!(looks_numeric("-12 %"));
        assert!(!looks_numeric("H100"));
        assert!(!looks_numeric(""));
        assert!(looks_numeric("214 (-23 %)"));
    }
}
