//! Tables from CSV files: a header row, numeric feature columns and a target column of class
//! names or numbers, parsed straight into one row-major f32 buffer (no string per value),
//! split with a seed, and standardised with the mean and deviation of the training part.
//! The reading of the text is `csv_parse.rs` (blocks of rows parsed on the engine's threads
//! while this thread reads on, joined in file order, so the values and every error message are
//! those of one reader going through the file), the standardisation's arithmetic
//! `standardise.rs`; this module splits the rows and holds the tables.
//!
//! ```
//! use neurite::data::{CsvOptions, Table, Task};
//! let csv = "height,weight,kind\n1.0,10,small\n1.2,11,small\n3.0,40,large\n3.3,42,large\n";
//! let table = Table::from_reader(csv.as_bytes(), "animals.csv", &CsvOptions::new("kind"))?;
//! assert_eq!((table.len(), table.features()), (4, 2));
//! assert_eq!(table.schema().classes, ["large", "small"]);     // sorted, as scikit-learn's LabelEncoder
//! let (x, y) = table.tensors();
//! assert_eq!(y.to_vec(), vec![1.0, 1.0, 0.0, 0.0]);
//! assert!(x.mean()?.item()?.abs() < 1e-6);                     // standardised
//!
//! // A missing value is an error naming the file, the line and the column.
//! let err = Table::from_reader("a,b\n1,2\n3,\n".as_bytes(), "t.csv", &CsvOptions::new("b").task(Task::Regression));
//! assert!(err.unwrap_err().to_string().contains("t.csv: line 3, column 2 (b): missing value"));
//! # Ok::<(), neurite::Error>(())
//! ```

use std::io::Read;
use std::path::Path;

use super::batches::{BatchSource, Batches};
#[allow(unused_imports)]
use super::csv_parse::*;
pub use super::csv_parse::{escape_controls, CsvOptions};
use super::schema::{Schema, TableSchema, Task};
#[allow(unused_imports)]
use super::standardise::*;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Rows of a table, standardised, with their targets: an [`Examples`](crate::train::Examples)
/// source for `fit`, `evaluate_with` and `predict_with`, and tensors or batches for a
/// hand-written loop.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub(crate) name: String,
    /// `len x features` standardised values, row by row.
    pub(crate) x: Vec<f32>,
    /// Class indices (classification) ...
    pub(crate) labels: Vec<u32>,
    /// ... or target values (regression).
    pub(crate) targets: Vec<f32>,
    /// Whether the file had the target column (a table to predict may not).
    pub(crate) has_targets: bool,
    pub(crate) rows: usize,
    pub(crate) schema: TableSchema,
}

impl Table {
    /// Reads a CSV file whose header names the columns: every column but `options.target`
    /// is a numeric feature. Standardised with the training part's mean and deviation, and
    /// split as `options.test_split` says (the test part is `None` without a split). Errors
    /// name the file, the line and the column.
    pub fn from_csv(path: &Path, options: &CsvOptions) -> Result<(Table, Option<Table>)> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let name = path.display().to_string();
        let parsed = parse(std::io::BufReader::with_capacity(1 << 16, file), &name, options, None)?;
        split_and_standardise(parsed, &name, options)
    }

    /// [`Table::from_csv`] on any reader (a file's bytes, standard input), the whole table
    /// as one part (no test split); `name` stands for the file in messages.
    pub fn from_reader(reader: impl Read, name: &str, options: &CsvOptions) -> Result<Table> {
        let parsed = parse(reader, name, options, None)?;
        let (table, _) = split_and_standardise(parsed, name, &options.clone().test_split(0.0))?;
        Ok(table)
    }

    /// Reads a CSV file of rows for a model trained on a table with `schema`: the same
    /// feature columns (in any order; no others), standardised with the training part's
    /// numbers, class names among the model's. The target column may be missing: the rows
    /// can then be predicted but not evaluated.
    pub fn from_csv_with(path: &Path, schema: &TableSchema) -> Result<Table> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Table::from_reader_with(std::io::BufReader::with_capacity(1 << 16, file), &path.display().to_string(), schema)
    }

    /// [`Table::from_csv_with`] on any reader.
    pub fn from_reader_with(reader: impl Read, name: &str, schema: &TableSchema) -> Result<Table> {
        let options = CsvOptions::new(&schema.target).task(schema.task);
        let Parsed { x, labels, values, has_target, rows, .. } = parse(reader, name, &options, Some(schema))?;
        let mut table = Table {
            name: name.to_string(),
            x,
            labels,
            targets: values,
            has_targets: has_target,
            rows,
            schema: schema.clone(),
        };
        table.apply_standardisation()?;
        Ok(table)
    }

    /// The file's name (and `-test` for a test part).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Feature columns per row.
    pub fn features(&self) -> usize {
        self.schema.columns.len()
    }

    /// The columns, their standardisation and the class names: what a model trained on this
    /// table must store to read new rows the same way ([`Table::data_schema`] wraps it).
    pub fn schema(&self) -> &TableSchema {
        &self.schema
    }

    /// The schema as a model stores it ([`crate::train::Sequential::set_schema`]).
    pub fn data_schema(&self) -> Schema {
        Schema::Table(self.schema.clone())
    }

    /// Number of classes (0 for regression).
    pub fn classes(&self) -> usize {
        self.schema.classes.len()
    }

    /// Whether the rows have targets (a table read for prediction may not).
    pub fn has_targets(&self) -> bool {
        self.has_targets
    }

    /// The standardised features, row by row.
    pub fn values(&self) -> &[f32] {
        &self.x
    }

    /// The class index of each row (classification).
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The target of each row (regression).
    pub fn targets(&self) -> &[f32] {
        &self.targets
    }

    /// Everything as tensors: `x` of shape (rows, features), standardised; `y` of shape
    /// (rows,): class indices, or target values (zeros when the file had no target column).
    pub fn tensors(&self) -> (Tensor, Tensor) {
        let x = Tensor::from_parts(self.x.clone(), &[self.rows, self.features()]);
        let y: Vec<f32> = match self.schema.task {
            Task::Classification if self.has_targets => self.labels.iter().map(|&l| l as f32).collect(),
            Task::Regression if self.has_targets => self.targets.clone(),
            _ => vec![0.0; self.rows],
        };
        (x, Tensor::from_parts(y, &[self.rows]))
    }

    /// Batches as tensors for a hand-written (PyTorch-style) loop, as
    /// [`Dataset::batches`](super::Dataset::batches): `(x, y)` with x of shape (b,
    /// features), shuffled when `rng` is given.
    pub fn batches(&self, batch_size: usize, rng: Option<&mut Rng>) -> Result<TableBatches<'_>> {
        Batches::new(self, batch_size, rng)
    }

    /// Copies the rows `indices` into `x`.
    pub(crate) fn gather_rows_into(&self, indices: &[u32], x: &mut [f32]) -> Result<()> {
        self.gather_range(indices, 0, self.features(), x)
    }

    /// Features `first..first + count` of the rows `indices` into `x`.
    pub(crate) fn gather_range(&self, indices: &[u32], first: usize, count: usize, x: &mut [f32]) -> Result<()> {
        let f = self.features();
        if first.checked_add(count).is_none_or(|end| end > f) || indices.len().checked_mul(count) != Some(x.len()) {
            return Err(Error::Shape(format!(
                "{}: features {first}..{first}+{count} of {f} for {} rows into {} values",
                self.name,
                indices.len(),
                x.len()
            )));
        }
        for (dst, &i) in x.chunks_exact_mut(count.max(1)).zip(indices) {
            let start = self.row_start(i)? + first;
            dst.copy_from_slice(&self.x[start..start + count]);
        }
        Ok(())
    }

    /// The rows `start..start + count`, in place.
    pub(crate) fn row_span(&self, start: usize, count: usize) -> Option<&[f32]> {
        let f = self.features();
        self.x.get(start.checked_mul(f)?..start.checked_add(count)?.checked_mul(f)?)
    }

    /// The class of each row `indices` into `y`.
    pub(crate) fn gather_labels(&self, indices: &[u32], y: &mut [u32]) -> Result<()> {
        self.need_targets(Task::Classification)?;
        for (d, &i) in y.iter_mut().zip(indices) {
            *d = *self.labels.get(i as usize).ok_or_else(|| self.out_of_range(i))?;
        }
        Ok(())
    }

    /// The target value of each row `indices` into `y`.
    pub(crate) fn gather_values(&self, indices: &[u32], y: &mut [f32]) -> Result<()> {
        self.need_targets(Task::Regression)?;
        for (d, &i) in y.iter_mut().zip(indices) {
            *d = *self.targets.get(i as usize).ok_or_else(|| self.out_of_range(i))?;
        }
        Ok(())
    }

    fn need_targets(&self, task: Task) -> Result<()> {
        if !self.has_targets {
            return Err(Error::Value(format!(
                "{} has no column {:?}: its rows can be predicted, not evaluated",
                self.name, self.schema.target
            )));
        }
        if self.schema.task != task {
            return Err(Error::Value(format!("{}: the targets are for {}, not {task}", self.name, self.schema.task)));
        }
        Ok(())
    }

    fn row_start(&self, i: u32) -> Result<usize> {
        if i as usize >= self.rows {
            return Err(self.out_of_range(i));
        }
        Ok(i as usize * self.features())
    }

    fn out_of_range(&self, i: u32) -> Error {
        Error::Index(format!("{}: row {i} is out of range for {} rows", self.name, self.rows))
    }

    /// `(x - mean) / scale`, column by column, with the schema's numbers; a value that lands
    /// beyond f32's range is an error naming its row and column.
    fn apply_standardisation(&mut self) -> Result<()> {
        let f = self.features();
        match Standardiser::new(&self.schema).in_place(&mut self.x, f, |_| false) {
            Some(at) => Err(self.too_far(at)),
            None => Ok(()),
        }
    }

    /// The error for a value (at row `row`, counted from 0, and `column`) too far from the
    /// training mean to standardise.
    pub(crate) fn too_far(&self, (row, column, value): (usize, usize, f32)) -> Error {
        Error::Value(format!(
            "{}: row {}, column {:?}: {} is too far from the training mean {} (deviation {}) to standardise",
            self.name,
            row + 1,
            self.schema.columns[column],
            value,
            self.schema.mean[column],
            self.schema.scale[column]
        ))
    }
}

/// The iterator of [`Table::batches`].
pub type TableBatches<'a> = Batches<'a, Table>;

impl BatchSource for Table {
    /// x of shape (b, features), y of shape (b,): class indices, the regressor's targets, or
    /// zeros for rows without a target.
    type Batch = (Tensor, Tensor);

    fn examples(&self) -> usize {
        self.rows
    }

    fn batch(&self, indices: &[u32]) -> (Tensor, Tensor) {
        let f = self.features();
        let mut x = Vec::with_capacity(indices.len() * f);
        let mut y = Vec::with_capacity(indices.len());
        for &i in indices {
            let i = i as usize;
            x.extend_from_slice(&self.x[i * f..(i + 1) * f]);
            y.push(match self.schema.task {
                _ if !self.has_targets => 0.0,
                Task::Classification => self.labels[i] as f32,
                Task::Regression => self.targets[i],
            });
        }
        (Tensor::from_parts(x, &[indices.len(), f]), Tensor::from_parts(y, &[indices.len()]))
    }
}

/// Splits the parsed rows (the test rows drawn with the seed, both parts in file order) and
/// standardises both with the training part's mean and deviation. The test rows are copied
/// out (standardised on the way) and the training rows standardised in place and closed up,
/// so the peak is the table plus its test part; the passes over the rows run on the engine's
/// threads.
fn split_and_standardise(parsed: Parsed, name: &str, options: &CsvOptions) -> Result<(Table, Option<Table>)> {
    let Parsed { columns, mut x, mut labels, mut values, classes, has_target, rows } = parsed;
    let f = columns.len();
    let mut test_rows: Vec<usize> = Vec::new();
    if options.test_split > 0.0 {
        test_rows = super::test_split_rows(rows, options.test_split, options.seed)
            .map_err(|e| e.context(format!("{name}: test split of {rows} rows")))?;
    }
    let mut is_test = vec![false; if test_rows.is_empty() { 0 } else { rows }];
    test_rows.iter().for_each(|&i| is_test[i] = true);
    let (mean, scale) = moments(&x, f, &is_test);
    let schema = TableSchema { columns, target: options.target.clone(), task: options.task, mean, scale, classes };
    let standardiser = Standardiser::new(&schema);
    let test = (!test_rows.is_empty()).then(|| {
        let mut test_x = vec![0.0f32; test_rows.len() * f];
        let failed = each_stretch_mut(&mut test_x, f, |first, out| {
            let picked = test_rows[first..].iter().map(|&i| &x[i * f..(i + 1) * f]);
            out.chunks_exact_mut(f)
                .zip(picked)
                .enumerate()
                .find_map(|(r, (out, row))| standardiser.row(row, out).map(|column| (first + r, column, row[column])))
        });
        let table = Table {
            name: format!("{name}-test"),
            x: test_x,
            labels: test_rows.iter().filter_map(|&i| labels.get(i).copied()).collect(),
            targets: test_rows.iter().filter_map(|&i| values.get(i).copied()).collect(),
            has_targets: has_target,
            rows: test_rows.len(),
            schema: schema.clone(),
        };
        (table, failed.into_iter().flatten().next())
    });
    let failed = standardiser.in_place(&mut x, f, |i| is_test.get(i) == Some(&true));
    if !test_rows.is_empty() {
        // Close up the training rows, in file order.
        let mut kept = 0;
        for i in 0..rows {
            if !is_test[i] {
                x.copy_within(i * f..(i + 1) * f, kept * f);
                if !labels.is_empty() {
                    labels[kept] = labels[i];
                }
                if !values.is_empty() {
                    values[kept] = values[i];
                }
                kept += 1;
            }
        }
        x.truncate(kept * f);
        x.shrink_to_fit();
        labels.truncate(kept.min(labels.len()));
        values.truncate(kept.min(values.len()));
    }
    let train = Table {
        name: name.to_string(),
        x,
        labels,
        targets: values,
        has_targets: has_target,
        rows: rows - test_rows.len(),
        schema,
    };
    if let Some((i, column, value)) = failed {
        // The row's number among the training rows.
        let row = i - test_rows.partition_point(|&t| t < i);
        return Err(train.too_far((row, column, value)));
    }
    match test {
        Some((test, Some(at))) => Err(test.too_far(at)),
        test => Ok((train, test.map(|(test, _)| test))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(csv: &str, options: &CsvOptions) -> Result<Table> {
        Table::from_reader(csv.as_bytes(), "t.csv", options)
    }

    fn message(csv: &str, options: &CsvOptions) -> String {
        read(csv, options).unwrap_err().to_string()
    }

    #[test]
    fn a_header_of_200000_columns_is_checked_in_linear_time() {
        // Issue 26: the duplicate-name check compared each name with every earlier one (65 s).
        let mut header: Vec<String> = (0..200_000).map(|i| format!("c{i}")).collect();
        header.push("c7".into());
        let text = format!("{}\n", header.join(","));
        let start = std::time::Instant::now();
        let err = message(&text, &CsvOptions::new("y"));
        assert!(err.contains("columns 8 and 200001 are both named \"c7\""), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "{:?}", start.elapsed());
    }

    #[test]
    fn messages_cut_long_lists_and_escape_control_characters() {
        // 100,000 columns and no target: the message names the first few and the count.
        let header: Vec<String> = (0..100_000).map(|i| format!("column{i}")).collect();
        let err = message(&format!("{}\n1\n", header.join(",")), &CsvOptions::new("y"));
        assert!(err.len() < 1000, "{} bytes", err.len());
        assert!(err.contains("column0, column1,") && err.contains("... (100000 in all)"), "{err}");
        // An escape sequence in a column name or a class name never reaches the terminal.
        let err = message("\x1b[2J,b\n1,2\n", &CsvOptions::new("y"));
        assert!(!err.contains('\x1b') && err.contains("\\u{1b}[2J"), "{err}");
        let t = read("a,y\n1,p\n2,q\n", &CsvOptions::new("y")).unwrap();
        let schema = TableSchema { classes: vec!["\x1b]0;owned\x07".into(), "q".into()], ..t.schema().clone() };
        let err = Table::from_reader_with("a,y\n1,r\n".as_bytes(), "t.csv", &schema).unwrap_err().to_string();
        assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err}");
        assert!(err.contains("\\u{1b}]0;owned\\u{7}, q"), "{err}");
    }

    #[test]
    fn reads_standardises_and_names_classes() {
        let t = read("a,b,y\n1,10,cat\n3,10,dog\n5,10,cat\n", &CsvOptions::new("y")).unwrap();
        assert_eq!(t.schema().columns, ["a", "b"]);
        assert_eq!(t.schema().classes, ["cat", "dog"]);
        assert_eq!(t.labels(), [0, 1, 0]);
        assert_eq!(t.schema().mean, [3.0, 10.0]);
        // Population deviation of 1, 3, 5; a constant column keeps the scale 1.
        assert!((t.schema().scale[0] - (8.0f32 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(t.schema().scale[1], 1.0);
        assert_eq!(t.values()[1], 0.0);
        assert_eq!(t.values()[0], -t.values()[4]);
    }

    #[test]
    fn numeric_class_names_sort_as_numbers() {
        let t = read("x,y\n1,10\n2,9\n3,2\n", &CsvOptions::new("y")).unwrap();
        assert_eq!(t.schema().classes, ["2", "9", "10"]);
        assert_eq!(t.labels(), [2, 1, 0]);
    }

    #[test]
    fn the_target_may_be_anywhere_and_quoted() {
        let t = read("y,\"a\",b\n\"x, y\",1,2\nz,3,4\n", &CsvOptions::new("y")).unwrap();
        assert_eq!(t.schema().classes, ["x, y", "z"]);
        assert_eq!(t.features(), 2);
    }

    #[test]
    fn the_split_is_seeded_and_uses_the_training_rows_only() {
        let csv: String =
            std::iter::once("x,y\n".to_string()).chain((0..10).map(|i| format!("{i},{}\n", i % 2))).collect();
        let options = CsvOptions::new("y").test_split(0.3).seed(7);
        let parsed = parse(csv.as_bytes(), "t", &options, None).unwrap();
        let (train, test) = split_and_standardise(parsed, "t", &options).unwrap();
        let test = test.unwrap();
        assert_eq!((train.len(), test.len()), (7, 3));
        // The mean is the training rows' only: undo the standardisation to find them.
        let raw = |t: &Table| -> Vec<f32> {
            t.values().iter().map(|v| (v * t.schema().scale[0] + t.schema().mean[0]).round()).collect()
        };
        let (a, b) = (raw(&train), raw(&test));
        let mean = a.iter().sum::<f32>() / 7.0;
        assert!((train.schema().mean[0] - mean).abs() < 1e-5);
        let mut all: Vec<f32> = a.iter().chain(&b).copied().collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, (0..10).map(|i| i as f32).collect::<Vec<_>>());
        // Labels stayed with their rows.
        for (v, &l) in a.iter().zip(train.labels()).chain(b.iter().zip(test.labels())) {
            assert_eq!(*v as u32 % 2, l);
        }
        let again = split_and_standardise(parse(csv.as_bytes(), "t", &options, None).unwrap(), "t", &options).unwrap();
        assert_eq!(again.1.unwrap(), test);
    }

    /// The split and standardisation run in stretches of rows on the threads: the tables are the
    /// same, bit for bit, on one thread and on three, and each value is its raw value less the
    /// training rows' mean, over their deviation.
    #[cfg(feature = "threads")]
    #[test]
    fn stretches_on_any_number_of_threads_give_the_same_tables() {
        let csv = big(5 * STRETCH + 77, false);
        let options = CsvOptions::new("y").test_split(0.25).seed(3);
        let read =
            || split_and_standardise(parse(csv.as_bytes(), "t", &options, None).unwrap(), "t", &options).unwrap();
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(read);
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap().install(read);
        assert_eq!(one, three);
        let (train, test) = (one.0, one.1.unwrap());
        // The raw rows, and which are the test part, from the same seed.
        let raw: Vec<[f64; 3]> = (0..5 * STRETCH + 77)
            .map(|i| [(i % 1000) as f64 + 0.25, (i / 3) as f64, -((i % 77) as f64) * 1e-3])
            .collect();
        let test_rows = crate::data::test_split_rows(raw.len(), 0.25, 3).unwrap();
        let train_rows: Vec<usize> = (0..raw.len()).filter(|i| test_rows.binary_search(i).is_err()).collect();
        assert_eq!((train.len(), test.len()), (train_rows.len(), test_rows.len()));
        let schema = train.schema();
        for (c, (&stored_mean, &stored_sd)) in schema.mean.iter().zip(&schema.scale).enumerate() {
            let n = train_rows.len() as f64;
            let mean = train_rows.iter().map(|&i| raw[i][c]).sum::<f64>() / n;
            let sd = (train_rows.iter().map(|&i| (raw[i][c] - mean).powi(2)).sum::<f64>() / n).sqrt();
            assert!((f64::from(stored_mean) - mean).abs() <= 1e-6 * mean.abs().max(1.0), "column {c}");
            assert!((f64::from(stored_sd) - sd).abs() <= 1e-6 * sd, "column {c}");
            for (table, rows) in [(&train, &train_rows), (&test, &test_rows)] {
                for (r, &i) in rows.iter().enumerate() {
                    let expected = (raw[i][c] - mean) / sd;
                    let got = f64::from(table.values()[r * 3 + c]);
                    assert!((got - expected).abs() <= 1e-5 * expected.abs().max(1.0), "row {i}, column {c}");
                }
            }
        }
        // Each label stayed with its row.
        let class = |i: usize| ["p", "q", "r"][(i * 7 + i / 5) % 3];
        for (table, rows) in [(&train, &train_rows), (&test, &test_rows)] {
            for (r, &i) in rows.iter().enumerate() {
                assert_eq!(table.schema().classes[table.labels()[r] as usize], class(i));
            }
        }
    }

    #[test]
    fn regression_reads_numbers() {
        let t = read("x,price\n1,2.5\n2,3.5\n", &CsvOptions::new("price").task(Task::Regression)).unwrap();
        assert_eq!(t.targets(), [2.5, 3.5]);
        assert!(t.schema().classes.is_empty());
        let m = message("x,price\n1,2.5\n2,cheap\n", &CsvOptions::new("price").task(Task::Regression));
        assert!(m.contains("t.csv: line 3, column 2 (price): \"cheap\" is not a number"), "{m}");
    }

    #[test]
    fn every_broken_table_is_one_message_naming_where() {
        let o = CsvOptions::new("y");
        let cases: &[(&str, &str)] = &[
            ("", "t.csv: the file is empty"),
            ("a,y\n", "t.csv: no rows: the file has a header and nothing else"),
            ("a,y\n1,p\n2,p\n", "one class only: every row's \"y\" is \"p\""),
            ("a,b\n1,2\n", "no column named \"y\" to predict; the columns are: a, b"),
            ("a,y\n1,p\n,q\n", "t.csv: line 3, column 1 (a): missing value"),
            ("a,y\n1,p\nNA,q\n", "t.csv: line 3, column 1 (a): missing value (NA)"),
            ("a,y\n1,p\nnan,q\n", "line 3, column 1 (a): missing value (nan)"),
            ("a,y\n1,p\nred,q\n", "t.csv: line 3, column 1 (a): \"red\" is not a number"),
            ("a,y\n1,p\n1e99,q\n", "line 3, column 1 (a): 1e99 is not a finite number"),
            ("a,y\n1,p\n2,q,3\n", "t.csv: line 3: 3 fields where the header has 2 (a ragged row)"),
            ("a,y\n1,p\n2\n", "t.csv: line 3: 1 fields where the header has 2"),
            ("a,y\n1,p\n2,\n", "t.csv: line 3, column 2 (y): missing value (no class)"),
            ("y\np\nq\n", "no feature columns: the only column is the target \"y\""),
            ("a,a,y\n1,2,p\n", "line 1: columns 1 and 2 are both named \"a\""),
            ("a,y\n\u{ff},p\n", "is not a number"),
        ];
        for (csv, want) in cases {
            let m = message(csv, &o);
            assert!(m.contains(want), "{csv:?}: {m}");
        }
        let bytes = b"a,y\n\xff\xfe,p\n2,q\n";
        let m = Table::from_reader(&bytes[..], "t.csv", &o).unwrap_err().to_string();
        assert!(m.contains("t.csv: line 2, column 1 (a): the value is not UTF-8 text"), "{m}");
    }

    #[test]
    fn values_at_the_ends_of_f32_are_standardised_or_refused_by_name() {
        // (3.4e38 - (-3.4e38 ...)) overflows in f32; in f64 it does not.
        let t = read("x,y\n-3.4e38,p\n-3.4e38,q\n-3.4e38,p\n3.4e38,q\n", &CsvOptions::new("y")).unwrap();
        assert!(t.values().iter().all(|v| v.is_finite()), "{:?}", t.values());
        let tiny = read("x,y\n0,p\n2e-10,q\n", &CsvOptions::new("y")).unwrap();
        assert!((tiny.schema().scale[0] - 1e-10).abs() < 1e-15);
        let m = Table::from_reader_with("x\n3e38\n".as_bytes(), "new.csv", tiny.schema()).unwrap_err().to_string();
        assert!(m.contains("new.csv: row 1, column \"x\": 300000000000000000000000000000000000000 is too far"), "{m}");
        // The first bad row in file order is the one named, however far in.
        let mut many = String::from("x\n");
        for i in 0..10_000 {
            many += if i == 6_000 || i == 9_000 { "3e38\n" } else { "1e-10\n" };
        }
        let m = Table::from_reader_with(many.as_bytes(), "many.csv", tiny.schema()).unwrap_err().to_string();
        assert!(m.contains("many.csv: row 6001, column \"x\""), "{m}");
    }

    #[test]
    fn rows_for_a_trained_model_use_its_columns_and_numbers() {
        let t = read("a,b,y\n1,10,cat\n3,20,dog\n", &CsvOptions::new("y")).unwrap();
        let s = t.schema();
        // Columns in another order, no target column.
        let new = Table::from_reader_with("b,a\n20,3\n".as_bytes(), "new.csv", s).unwrap();
        assert_eq!(new.values(), &t.values()[2..4]);
        assert!(!new.has_targets());
        let mut y = [0];
        assert!(new.gather_labels(&[0], &mut y).unwrap_err().to_string().contains("can be predicted, not evaluated"));
        let m = Table::from_reader_with("a,b,y\n1,2,bird\n".as_bytes(), "new.csv", s).unwrap_err().to_string();
        assert!(
            m.contains("new.csv: line 2, column 3 (y): class \"bird\" is not one the model knows (cat, dog)"),
            "{m}"
        );
        let m = Table::from_reader_with("a,c\n1,2\n".as_bytes(), "new.csv", s).unwrap_err().to_string();
        assert!(m.contains("column \"c\" is not one the model was trained on"), "{m}");
        let m = Table::from_reader_with("a\n1\n".as_bytes(), "new.csv", s).unwrap_err().to_string();
        assert!(m.contains("no column named \"b\", which the model takes"), "{m}");
    }

    /// A table of several blocks: `rows` rows of three features and a class, `\n` or `\r\n`.
    fn big(rows: usize, crlf: bool) -> String {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut s = format!("a, b ,c,y{end}");
        for i in 0..rows {
            let class = ["p", "q", "r"][(i * 7 + i / 5) % 3];
            s += &format!("{}.25, {} ,-{}e-3,{class}{end}", i % 1000, i / 3, i % 77);
        }
        s
    }

    #[test]
    fn blocks_parsed_apart_give_what_one_reader_gives() {
        let o = CsvOptions::new("y");
        let plain = big(200_000, false);
        assert!(plain.len() > 3 * BLOCK);
        let a = read(&plain, &o).unwrap();
        // A quote in the first row sends the whole file through one reader; one further on,
        // the rest after it.
        for (at, with) in [("y\n0.25,", "y\n\"0.25\","), ("\n0.25, 50000 ,", "\n\"0.25\", 50000 ,")] {
            let quoted = plain.replacen(at, with, 1);
            assert_ne!(quoted, plain);
            let b = read(&quoted, &o).unwrap();
            assert_eq!((a.values(), a.labels(), &a.schema), (b.values(), b.labels(), &b.schema));
        }
        let c = read(&big(200_000, true), &o).unwrap();
        assert_eq!((a.values(), a.labels(), &a.schema), (c.values(), c.labels(), &c.schema));
        // On a thread of a pool (here of one thread) the blocks are parsed one after another.
        #[cfg(feature = "threads")]
        {
            let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            let d = one.install(|| read(&plain, &o)).unwrap();
            assert_eq!((a.values(), a.labels(), &a.schema), (d.values(), d.labels(), &d.schema));
        }
        assert_eq!(a.schema().classes, ["p", "q", "r"]);
        assert_eq!(a.len(), 200_000);
    }

    #[test]
    fn an_error_deep_in_the_file_names_its_line() {
        let o = CsvOptions::new("y");
        {
            let good = big(150_000, false);
            // Rows 120,000 and 140,000 are lines 120,002 and 140,002; the first is reported.
            let bad = good.replacen("0.25, 40000 ,-34e-3,", "0.25, 40000 ,oops,", 1).replacen(
                "0.25, 46666 ,-14e-3,",
                "0.25, 46666 ,zz,",
                1,
            );
            assert_eq!(bad.len(), good.len() - 6);
            let m = message(&bad, &o);
            assert!(m.contains("t.csv: line 120002, column 3 (c): \"oops\""), "{m}");
            #[cfg(feature = "threads")]
            {
                let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
                assert_eq!(one.install(|| message(&bad, &o)), m);
            }
            let lines: Vec<&str> = good.lines().collect();
            let mut ragged = lines.clone();
            ragged[120_001] = "1,2";
            ragged[140_001] = "x,2,3,p";
            let m = message(&(ragged.join("\n") + "\n"), &o);
            assert!(m.contains("t.csv: line 120002: 2 fields where the header has 4"), "{m}");
            // Windows line ends: the same line (the fast path counts line feeds).
            let crlf = big(150_000, true).replacen("0.25, 40000 ,-34e-3,", "0.25, 40000 ,oops,", 1);
            let m = message(&crlf, &o);
            assert!(m.contains("t.csv: line 120002, column 3 (c): \"oops\""), "{m}");
        }
    }

    /// Every shape of row the fast path may meet, each block parsed by it and by the CSV
    /// reader: the same rows, values (to the bit), classes and first error, or a hand-back
    /// to the reader (a carriage return inside a line).
    #[test]
    fn the_fast_path_reads_what_the_csv_reader_reads() {
        let names: Vec<String> = ["a", "b", "y"].iter().map(|s| s.to_string()).collect();
        let roles = [Role::Feature(0), Role::Feature(1), Role::Target];
        let known_classes = ["p".to_string(), "q".to_string()];
        let known_index: ClassIndex = [("p".into(), 0), ("q".into(), 1)].into_iter().collect();
        let cells = [
            "1",
            "-2.5",
            "+.5",
            "1.",
            "0.000123457",
            "1.23457e+06",
            "1e-3",
            "16777216",
            "0.1234567890123",
            "1e11",
            "-0",
            "inf",
            "NaN",
            "NA",
            "",
            " 3.5 ",
            "\t7",
            "1.2.3",
            "abc",
            "1e",
            "12345678",
            "9.99999e-05",
            "\u{e9}",
            "1\r2",
            "x\r",
            "0x10",
            "1_0",
        ];
        let targets = ["p", "q", " p ", "", "r", "2.5", "1e3", "p\rq", "\u{e9}t\u{e9}", "NA"];
        let mut rng = Rng::new(11);
        let mut pick = |n: usize| rng.below(n as u64) as usize;
        let mut handed_back = 0;
        for case in 0..6000 {
            let delimiter = [b',', b';', b'\t'][case % 3];
            let d = delimiter as char;
            let mut text = String::new();
            for _ in 0..1 + pick(6) {
                let fields = match pick(10) {
                    0 => 2,
                    1 => 4,
                    _ => 3,
                };
                let mut line: Vec<String> = Vec::new();
                for f in 0..fields {
                    let good = pick(8) != 0;
                    line.push(if f == 2 {
                        (if good { targets[pick(2)] } else { targets[pick(targets.len())] }).to_string()
                    } else if good {
                        cells[pick(8)].to_string()
                    } else {
                        cells[pick(cells.len())].to_string()
                    });
                }
                if pick(20) == 0 {
                    line.clear(); // a blank line
                }
                text += &line.join(&d.to_string());
                text += ["\n", "\r\n", "\n", "\r\n", "\r\r\n"][pick(5)];
            }
            if pick(3) == 0 {
                text.pop(); // the file's last line may have no line break
            }
            let task = if case % 2 == 0 { Task::Classification } else { Task::Regression };
            let known = (case % 4 == 0).then_some((&known_classes[..], &known_index));
            let cx = Context { name: "t.csv", names: &names, roles: &roles, features: 2, task, known };
            let bytes = text.as_bytes();
            let slow = parse_block(bytes, 5, delimiter, &cx, Vec::new());
            let Some(fast) = parse_plain(bytes, 5, delimiter, &cx, Vec::new()) else {
                let inner_return = text.split('\n').any(|l| l.strip_suffix('\r').unwrap_or(l).contains('\r'));
                assert!(inner_return, "handed back without a carriage return inside a line: {text:?}");
                handed_back += 1;
                continue;
            };
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            // The CSV reader names the line where it began to look for the record: one early
            // after a blank line, or after a CRLF line break. The fast path counts line breaks,
            // so its line is the true one; there only the rest of the message is compared.
            let blank =
                text.starts_with('\n') || text.starts_with("\r\n") || text.contains("\n\n") || text.contains("\n\r\n");
            let true_lines = !blank && !text.contains('\r');
            let message = |b: &Block| {
                b.error.as_ref().map(|e| {
                    let m = e.to_string();
                    match (true_lines, m.find("line ")) {
                        (false, Some(i)) => {
                            let digits = m[i + 5..].chars().take_while(char::is_ascii_digit).count();
                            format!("{}{}", &m[..i + 5], &m[i + 5 + digits..])
                        }
                        _ => m,
                    }
                })
            };
            // After an error the block is dropped: what a failed row left behind is not compared.
            let kept = |b: &Block| {
                let rows = if b.error.is_some() { b.rows } else { usize::MAX };
                let classes = if b.error.is_some() { vec![] } else { b.classes.clone() };
                let cut = |v: &[u32]| v[..rows.min(v.len())].to_vec();
                (b.rows, bits(&b.x), cut(&bits(&b.values)), cut(&b.labels), classes, message(b))
            };
            assert_eq!(kept(&fast), kept(&slow), "{text:?} ({task:?}, {:?})", d);
        }
        assert!(handed_back > 100, "{handed_back}");
    }
}
