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
