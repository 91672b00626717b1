//! Minimum, maximum and clamp for the step loop.
//!
//! `f64::min` and `f64::max` spend extra instructions on NaN operands, and `f64::clamp`
//! checks its range and can panic. The step loop runs 31.5 million times for a year at 1 s,
//! and every value in it is finite (the scenario is validated, limits are non-negative), so
//! it uses plain comparisons, which compile to single `minsd`/`maxsd` instructions. With a
//! NaN operand they return the second argument; with `lo > hi`, `cl` returns `hi`.

pub(crate) trait Fx {
    /// The smaller of two values.
    fn mn(self, other: f64) -> f64;
    /// The larger of two values.
    fn mx(self, other: f64) -> f64;
    /// The value limited to `[lo, hi]`.
    fn cl(self, lo: f64, hi: f64) -> f64;
}

impl Fx for f64 {
    #[inline(always)]
    fn mn(self, other: f64) -> f64 {
        if self < other { self } else { other }
    }
    #[inline(always)]
    fn mx(self, other: f64) -> f64 {
        if self > other { self } else { other }
    }
    #[inline(always)]
    fn cl(self, lo: f64, hi: f64) -> f64 {
        self.mx(lo).mn(hi)
    }
}

#[cfg(test)]
mod tests {
    use super::Fx;

    #[test]
    fn agrees_with_std_on_finite_values() {
        let v = [
            -3.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            7.25,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for &a in &v {
            for &b in &v {
                assert_eq!(a.mn(b), a.min(b), "{a} {b}");
                assert_eq!(a.mx(b), a.max(b), "{a} {b}");
                for &c in &v {
                    if b <= c {
                        assert_eq!(a.cl(b, c), a.clamp(b, c), "{a} {b} {c}");
                    }
                }
            }
        }
    }
}
