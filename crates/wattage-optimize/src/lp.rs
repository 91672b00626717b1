//! A linear program held sparsely, independent of any solver:
//! minimize `c'x` subject to `row_lower <= A x <= row_upper` and `col_lower <= x <= col_upper`,
//! with `A` in compressed sparse column form.
//!
//! The formulation appends triplets `(row, col, value)` as it walks the constraints (row-wise is
//! how the model reads), then [`LpBuilder::finish`] sorts them into columns in one counting pass:
//! O(non-zeros), no per-constraint expression objects.

/// Index of a column (variable).
pub type Col = usize;
/// Index of a row (constraint).
pub type Row = usize;

/// A linear program in compressed sparse column form.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinearProgram {
    /// Objective coefficient of each column.
    pub col_cost: Vec<f64>,
    /// Lower bound of each column (`-inf` allowed).
    pub col_lower: Vec<f64>,
    /// Upper bound of each column (`+inf` allowed).
    pub col_upper: Vec<f64>,
    /// Lower bound of each row (`-inf` allowed).
    pub row_lower: Vec<f64>,
    /// Upper bound of each row (`+inf` allowed).
    pub row_upper: Vec<f64>,
    /// Start of each column in `index`/`value`, plus one final entry (length `cols + 1`).
    pub col_start: Vec<usize>,
    /// Row index of each non-zero, column by column.
    pub index: Vec<Row>,
    /// Value of each non-zero.
    pub value: Vec<f64>,
    /// A constant added to the objective.
    pub offset: f64,
    /// Columns that must take integer values, in increasing order (empty: a linear program).
    pub integer: Vec<Col>,
}

impl LinearProgram {
    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.col_cost.len()
    }
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.row_lower.len()
    }
    /// True when some column must be integer (a mixed-integer program).
    pub fn is_mip(&self) -> bool {
        !self.integer.is_empty()
    }
    /// Number of non-zeros of the matrix.
    pub fn nnz(&self) -> usize {
        self.value.len()
    }
    /// The objective `c'x + offset` at `x`.
    pub fn objective(&self, x: &[f64]) -> f64 {
        self.offset + self.col_cost.iter().zip(x).map(|(c, v)| c * v).sum::<f64>()
    }
    /// `A x`, row by row.
    pub fn row_activity(&self, x: &[f64]) -> Vec<f64> {
        let mut ax = vec![0.0; self.rows()];
        for (j, xj) in x.iter().enumerate().take(self.cols()) {
            for k in self.col_start[j]..self.col_start[j + 1] {
                ax[self.index[k]] += self.value[k] * xj;
            }
        }
        ax
    }
}

/// Column singletons of equality rows substituted out of a [`LinearProgram`]
/// ([`LinearProgram::without_slacks`]), and how to put them back.
///
/// A column `k` whose only non-zero is `a` in an equality row `r` (`a x_k + a_r'x = b`,
/// `lo <= x_k <= up`) is a slack of that row: `x_k = (b - a_r'x) / a`. Substituted, the row
/// becomes the range `b - a up <= a_r'x <= b - a lo` (for `a > 0`; the bounds swap for
/// `a < 0`), the cost `c x_k` moves to the row's other columns (`-c a_r / a`) and to the
/// objective's constant (`c b / a`). It is the same LP: the optimum, and every other
/// variable's value, are unchanged; the row's dual (`d cost / d b`) is the reduced row's plus
/// `c / a`. For an interior-point solver it is two rows and a column fewer per substitution
/// when both bounds are finite (the range's two sides are the column's two bounds), and the
/// barrier is the same, so it converges to the same point.
#[derive(Clone, Debug, PartialEq)]
pub struct Slacks {
    /// For each column of the reduced LP, the original column.
    kept: Vec<Col>,
    /// The substituted columns: (column, its row, its coefficient, its cost, the row's
    /// right-hand side).
    slacks: Vec<(Col, Row, f64, f64, f64)>,
    /// Columns of the original LP.
    cols: usize,
}

impl Slacks {
    /// Number of columns substituted out.
    pub fn len(&self) -> usize {
        self.slacks.len()
    }

    /// True when nothing was substituted.
    pub fn is_empty(&self) -> bool {
        self.slacks.is_empty()
    }

    /// The original LP's column values and row duals from the reduced LP's (`reduced` is the
    /// LP [`LinearProgram::without_slacks`] returned).
    pub fn restore(
        &self,
        reduced: &LinearProgram,
        x: &[f64],
        row_dual: &[f64],
    ) -> (Vec<f64>, Vec<f64>) {
        let mut full = vec![0.0; self.cols];
        for (&j, &v) in self.kept.iter().zip(x) {
            full[j] = v;
        }
        let ax = reduced.row_activity(x);
        let mut duals = row_dual.to_vec();
        for &(k, r, a, c, b) in &self.slacks {
            full[k] = (b - ax[r]) / a;
            duals[r] += c / a;
        }
        (full, duals)
    }
}

impl LinearProgram {
    /// This LP with a slack column of each equality row that has one substituted out
    /// ([`Slacks`]), and the record to restore them. Of several column singletons in a row,
    /// the one with the smallest cost per unit of the row is taken (the least cost moved to the
    /// row's other columns), and only if some other column of the row costs at least as much
    /// per unit (so the unserved load, at the value of lost load, stays). A mixed-integer
    /// program, and an LP without slacks, come back as they are (a clone) with an empty
    /// record.
    pub fn without_slacks(&self) -> (LinearProgram, Slacks) {
        let n = self.cols();
        // The best slack of each row: (column, coefficient).
        let mut best: Vec<Option<(Col, f64)>> = vec![None; self.rows()];
        if !self.is_mip() {
            for j in 0..n {
                let (a, b) = (self.col_start[j], self.col_start[j + 1]);
                if b - a != 1 {
                    continue;
                }
                let (r, v) = (self.index[a], self.value[a]);
                let (lo, up) = (self.row_lower[r], self.row_upper[r]);
                if lo != up || !lo.is_finite() || v == 0.0 {
                    continue;
                }
                let per_unit = (self.col_cost[j] / v).abs();
                if best[r].is_none_or(|(k, w)| per_unit < (self.col_cost[k] / w).abs()) {
                    best[r] = Some((j, v));
                }
            }
        }
        // The largest cost per unit of each row among its other columns: a slack costing more
        // is kept, so that substituting never moves a cost larger than those already in the
        // row (a value of lost load moved onto every supply would put the objective's constant
        // orders of magnitude above the objective, and Clarabel's relative gap with it).
        let mut others = vec![0.0_f64; self.rows()];
        for j in 0..n {
            for k in self.col_start[j]..self.col_start[j + 1] {
                let r = self.index[k];
                if best[r].is_some_and(|(s, _)| s != j) {
                    others[r] = others[r].max((self.col_cost[j] / self.value[k]).abs());
                }
            }
        }
        let mut gone = vec![false; n];
        let mut slacks = Vec::new();
        for (r, b) in best.iter().enumerate() {
            if let Some((k, a)) = *b
                && (self.col_cost[k] / a).abs() <= others[r]
            {
                gone[k] = true;
                slacks.push((k, r, a, self.col_cost[k], self.row_upper[r]));
            }
        }
        let kept: Vec<Col> = (0..n).filter(|&j| !gone[j]).collect();
        let record = Slacks {
            kept,
            slacks,
            cols: n,
        };
        if record.is_empty() {
            return (self.clone(), record);
        }
        // Cost per unit of each row moved to its other columns: c / a of its slack.
        let mut moved = vec![0.0; self.rows()];
        let mut lp = LinearProgram {
            offset: self.offset,
            row_lower: self.row_lower.clone(),
            row_upper: self.row_upper.clone(),
            ..LinearProgram::default()
        };
        for &(k, r, a, c, b) in &record.slacks {
            moved[r] = c / a;
            lp.offset += c * b / a;
            let (lo, up) = (self.col_lower[k], self.col_upper[k]);
            // An infinite bound makes that side of the range infinite (`b - a inf`).
            let (from, to) = if a > 0.0 { (up, lo) } else { (lo, up) };
            lp.row_lower[r] = b - a * from;
            lp.row_upper[r] = b - a * to;
        }
        lp.col_start.push(0);
        for &j in &record.kept {
            let (a, b) = (self.col_start[j], self.col_start[j + 1]);
            let mut cost = self.col_cost[j];
            for k in a..b {
                cost -= moved[self.index[k]] * self.value[k];
            }
            lp.col_cost.push(cost);
            lp.col_lower.push(self.col_lower[j]);
            lp.col_upper.push(self.col_upper[j]);
            lp.index.extend_from_slice(&self.index[a..b]);
            lp.value.extend_from_slice(&self.value[a..b]);
            lp.col_start.push(lp.index.len());
        }
        (lp, record)
    }
}

/// Builds a [`LinearProgram`] from columns, rows and triplets.
#[derive(Debug, Default)]
pub struct LpBuilder {
    lp: LinearProgram,
    rows_t: Vec<Row>,
    cols_t: Vec<Col>,
    vals_t: Vec<f64>,
}

impl LpBuilder {
    /// An empty builder with room for about `cols` columns, `rows` rows and `nnz` non-zeros.
    pub fn with_capacity(cols: usize, rows: usize, nnz: usize) -> Self {
        let mut b = Self::default();
        b.lp.col_cost.reserve(cols);
        b.lp.col_lower.reserve(cols);
        b.lp.col_upper.reserve(cols);
        b.lp.row_lower.reserve(rows);
        b.lp.row_upper.reserve(rows);
        b.rows_t.reserve(nnz);
        b.cols_t.reserve(nnz);
        b.vals_t.reserve(nnz);
        b
    }

    /// Adds a column with its objective coefficient and bounds.
    pub fn col(&mut self, cost: f64, lower: f64, upper: f64) -> Col {
        self.lp.col_cost.push(cost);
        self.lp.col_lower.push(lower);
        self.lp.col_upper.push(upper);
        self.lp.col_cost.len() - 1
    }

    /// Adds `n` columns with the same bounds and cost; returns the first.
    pub fn cols(&mut self, n: usize, cost: f64, lower: f64, upper: f64) -> Col {
        let first = self.lp.col_cost.len();
        self.lp.col_cost.resize(first + n, cost);
        self.lp.col_lower.resize(first + n, lower);
        self.lp.col_upper.resize(first + n, upper);
        first
    }

    /// Marks columns `first..first + n` as integer.
    pub fn integer(&mut self, first: Col, n: usize) {
        self.lp.integer.extend(first..first + n);
    }

    /// Sets the objective coefficient of a column.
    pub fn set_cost(&mut self, c: Col, cost: f64) {
        self.lp.col_cost[c] = cost;
    }

    /// Sets the upper bound of a column.
    pub fn set_upper(&mut self, c: Col, upper: f64) {
        self.lp.col_upper[c] = upper;
    }

    /// Lowers the upper bound of a column to `upper` if that is tighter.
    pub fn tighten_upper(&mut self, c: Col, upper: f64) {
        let u = &mut self.lp.col_upper[c];
        *u = u.min(upper);
    }

    /// Raises the lower bound of a column to `lower` if that is tighter.
    pub fn tighten_lower(&mut self, c: Col, lower: f64) {
        let l = &mut self.lp.col_lower[c];
        *l = l.max(lower);
    }

    /// Adds `delta` to both bounds of a row (a constant moved to the right-hand side).
    pub fn shift_row(&mut self, r: Row, delta: f64) {
        self.lp.row_lower[r] += delta;
        self.lp.row_upper[r] += delta;
    }

    /// Number of rows added so far (the index the next row will get).
    pub fn lp_rows(&self) -> Row {
        self.lp.row_lower.len()
    }

    /// Adds to the objective coefficient of a column.
    pub fn add_cost(&mut self, c: Col, cost: f64) {
        self.lp.col_cost[c] += cost;
    }

    /// Adds a constraint `lower <= sum(coef x) <= upper` with its terms.
    pub fn row(&mut self, lower: f64, upper: f64, terms: &[(Col, f64)]) -> Row {
        let r = self.lp.row_lower.len();
        self.lp.row_lower.push(lower);
        self.lp.row_upper.push(upper);
        for &(c, v) in terms {
            self.entry(r, c, v);
        }
        r
    }

    /// Adds a constraint without terms; fill it with [`LpBuilder::entry`].
    pub fn empty_row(&mut self, lower: f64, upper: f64) -> Row {
        self.row(lower, upper, &[])
    }

    /// Adds one coefficient; zeros are skipped.
    pub fn entry(&mut self, r: Row, c: Col, v: f64) {
        if v != 0.0 {
            self.rows_t.push(r);
            self.cols_t.push(c);
            self.vals_t.push(v);
        }
    }

    /// Sorts the triplets into compressed sparse columns (duplicates are summed by the solver
    /// contract; the formulation never emits them).
    pub fn finish(self) -> LinearProgram {
        let mut lp = self.lp;
        let ncols = lp.col_cost.len();
        let nnz = self.vals_t.len();
        let mut start = vec![0usize; ncols + 1];
        for &c in &self.cols_t {
            start[c + 1] += 1;
        }
        for j in 0..ncols {
            start[j + 1] += start[j];
        }
        let mut next = start.clone();
        let mut index = vec![0usize; nnz];
        let mut value = vec![0.0; nnz];
        for k in 0..nnz {
            let c = self.cols_t[k];
            let p = next[c];
            index[p] = self.rows_t[k];
            value[p] = self.vals_t[k];
            next[c] += 1;
        }
        lp.integer.sort_unstable();
        lp.integer.dedup();
        lp.col_start = start;
        lp.index = index;
        lp.value = value;
        lp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// min 2x + y + 5z s.t. x + y + z = 4 (row 0), y - z = 1 (row 1), x in [0, 10], z >= 0:
    /// x is row 0's slack (y and z are in both rows). Optimum x = 3, y = 1, z = 0, cost 7; the
    /// duals are 2 (x is marginal) and -1 (one more y costs 1 and saves an x).
    #[test]
    fn slacks_substituted_out_give_the_same_optimum_values_and_duals() {
        let mut b = LpBuilder::default();
        let x = b.col(2.0, 0.0, 10.0);
        let y = b.col(1.0, f64::NEG_INFINITY, f64::INFINITY);
        let z = b.col(5.0, 0.0, f64::INFINITY);
        b.row(4.0, 4.0, &[(x, 1.0), (y, 1.0), (z, 1.0)]);
        b.row(1.0, 1.0, &[(y, 1.0), (z, -1.0)]);
        let lp = b.finish();
        let (reduced, slacks) = lp.without_slacks();
        assert_eq!(slacks.len(), 1);
        assert_eq!(reduced.cols(), 2);
        // x = 4 - y - z in [0, 10]: -6 <= y + z <= 4; its cost 2 moves to y and z.
        assert_eq!((reduced.row_lower[0], reduced.row_upper[0]), (-6.0, 4.0));
        assert_eq!(reduced.col_cost, vec![-1.0, 3.0]);
        assert_eq!(reduced.offset, 8.0);
        let (full, _) = slacks.restore(&reduced, &[1.0, 0.0], &[0.0, 0.0]);
        assert_eq!(full, vec![3.0, 1.0, 0.0]);
        assert_eq!(reduced.objective(&[1.0, 0.0]), lp.objective(&full));
        // Solved reduced and restored: the original LP's values and duals.
        let o = crate::OptimizeOptions::default();
        let r = crate::solve_lp(&reduced, &o, crate::Solver::Clarabel).expect("optimum");
        let (x2, d2) = slacks.restore(&reduced, &r.x, &r.row_dual);
        let want = [3.0, 1.0, 0.0, 2.0, -1.0];
        for (a, b) in x2.iter().chain(&d2).zip(want) {
            assert!((a - b).abs() < 1e-6, "{x2:?} {d2:?}");
        }
        assert!((r.objective - 7.0).abs() < 1e-7, "{}", r.objective);
    }

    /// A slack costing more per unit than every other column of its row stays (the unserved
    /// load at the value of lost load).
    #[test]
    fn a_slack_dearer_than_its_row_stays() {
        let mut b = LpBuilder::default();
        let g = b.col(40.0, 0.0, 50.0);
        let l = b.col(10_000.0, 0.0, 100.0);
        b.row(100.0, 100.0, &[(g, 1.0), (l, 1.0)]);
        b.row(-1.0, 1.0, &[(g, 1.0)]);
        let lp = b.finish();
        // g is in two rows, l is the only singleton and costs 250 times g.
        let (reduced, slacks) = lp.without_slacks();
        assert!(slacks.is_empty());
        assert_eq!(reduced, lp);
    }

    #[test]
    fn triplets_become_columns() {
        let mut b = LpBuilder::default();
        let x = b.col(1.0, 0.0, 10.0);
        let y = b.col(2.0, 0.0, 10.0);
        b.row(1.0, f64::INFINITY, &[(y, 3.0), (x, 1.0)]);
        b.row(0.0, 4.0, &[(x, 2.0)]);
        let lp = b.finish();
        assert_eq!(lp.col_start, vec![0, 2, 3]);
        assert_eq!(lp.index, vec![0, 1, 0]);
        assert_eq!(lp.value, vec![1.0, 2.0, 3.0]);
        assert_eq!(lp.row_activity(&[1.0, 1.0]), vec![4.0, 2.0]);
    }
}
