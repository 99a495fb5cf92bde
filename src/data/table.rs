//! Tables from CSV files: a header row, numeric feature columns and a target column of class
//! names or numbers, parsed straight into one row-major f32 buffer (no string per value),
//! split with a seed, and standardised with the mean and deviation of the training part.
//! Blocks of rows are parsed on the engine's threads while this thread reads on, and joined in
//! file order, so the values and every error message are those of one reader going through
//! the file. Rows with no quote character (most tables) are split and read to f32 in one pass
//! (numbers by the exact fast path of `decimal`, anything else by `str::parse`); the csv crate
//! reads the header and any text with quotes.
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

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::batches::{BatchSource, Batches};
use super::decimal::{apply_scales, leading_decimal};
use super::schema::{Schema, TableSchema, Task};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// How to read a CSV table: which column is the target, what it holds, and how much of the
/// table to hold out for testing.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    /// The target column's name (as in the header row).
    pub target: String,
    /// Classification (class names or numbers as names) or regression (numbers).
    pub task: Task,
    /// The fraction of the rows held out as the test part, drawn with `seed` (0: none).
    pub test_split: f64,
    /// Seed of the test split.
    pub seed: u64,
    /// The field separator (default `,`).
    pub delimiter: u8,
}

impl CsvOptions {
    /// Reads `target` as class names, with no test split, fields separated by commas.
    pub fn new(target: &str) -> CsvOptions {
        CsvOptions { target: target.to_string(), task: Task::Classification, test_split: 0.0, seed: 0, delimiter: b',' }
    }
    /// Sets what the target holds.
    pub fn task(mut self, task: Task) -> Self {
        self.task = task;
        self
    }
    /// Holds out `fraction` of the rows, drawn with the seed, as the test part.
    pub fn test_split(mut self, fraction: f64) -> Self {
        self.test_split = fraction;
        self
    }
    /// Sets the seed of the test split.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the field separator (`b';'`, `b'\t'`, ...).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// Rows of a table, standardised, with their targets: an [`Examples`](crate::train::Examples)
/// source for `fit`, `evaluate_with` and `predict_with`, and tensors or batches for a
/// hand-written loop.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    name: String,
    /// `len x features` standardised values, row by row.
    x: Vec<f32>,
    /// Class indices (classification) ...
    labels: Vec<u32>,
    /// ... or target values (regression).
    targets: Vec<f32>,
    /// Whether the file had the target column (a table to predict may not).
    has_targets: bool,
    rows: usize,
    schema: TableSchema,
}

/// The most rows a table may have: examples are numbered with u32 in batches.
const MAX_ROWS: usize = u32::MAX as usize;

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
    fn too_far(&self, (row, column, value): (usize, usize, f32)) -> Error {
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

/// A table as read, before it is split and standardised.
struct Parsed {
    /// Feature columns in the order of the model's inputs.
    columns: Vec<String>,
    x: Vec<f32>,
    labels: Vec<u32>,
    values: Vec<f32>,
    /// Class names in the order of `labels` (sorted once all are seen).
    classes: Vec<String>,
    has_target: bool,
    rows: usize,
}

/// What a column of the file is.
#[derive(Clone, Copy)]
enum Role {
    /// The model's input number.
    Feature(usize),
    Target,
}

/// The column's name for messages (`(unnamed)` for an empty header cell), with its control
/// characters escaped: a name comes from a stranger's file, and an escape sequence printed
/// raw would reach the terminal (and could clear it).
fn shown(name: &str) -> String {
    if name.is_empty() {
        "(unnamed)".into()
    } else {
        escape_controls(name)
    }
}

/// `text` with every control character written as its Rust escape (`\u{1b}`, `\n`), the
/// rest as it is. Every name or cell that a message quotes without `{:?}` passes through
/// here; a class name printed to a terminal (`neurite predict`) should too.
///
/// ```
/// use neurite::data::table::escape_controls;
/// assert_eq!(escape_controls("cat\u{1b}[2J"), "cat\\u{1b}[2J");
/// assert_eq!(escape_controls("chat noir"), "chat noir");
/// ```
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// The most names a message lists: a header of 100,000 columns must not become a message of
/// megabytes.
const LISTED: usize = 20;

/// Names for a message, `a, b, c`, escaped as [`shown`] does, cut after [`LISTED`] names
/// with how many there are in all.
pub(crate) fn listed<S: AsRef<str>>(names: &[S]) -> String {
    let mut out = names.iter().take(LISTED).map(|n| shown(n.as_ref())).collect::<Vec<_>>().join(", ");
    if names.len() > LISTED {
        out.push_str(&format!(", ... ({} in all)", names.len()));
    }
    out
}

/// Class names and their numbers.
type ClassIndex = HashMap<Box<str>, u32>;

/// Bytes of raw rows handed to one worker at a time: large enough that starting a block
/// costs nothing, small enough that a batch of them stays a few MiB.
const BLOCK: usize = 1 << 20;

/// What every block's parse needs: the file's name and columns, and the classes a trained
/// model knows.
struct Context<'a> {
    name: &'a str,
    names: &'a [String],
    roles: &'a [Role],
    features: usize,
    task: Task,
    /// With a trained model's schema: its classes and their numbers, fixed.
    known: Option<(&'a [String], &'a ClassIndex)>,
}

impl Context<'_> {
    /// Where a cell is, for a message: `FILE: line L, column C (NAME)`.
    fn cell(&self, line: u64, column: usize) -> String {
        format!("{}: line {line}, column {} ({})", self.name, column + 1, shown(&self.names[column]))
    }
}

/// The rows of one block, as parsed; `error` stops it after `rows` good rows.
#[derive(Default)]
struct Block {
    rows: usize,
    x: Vec<f32>,
    values: Vec<f32>,
    /// Class numbers: the model's with a schema, else into `classes` (this block's, in the
    /// order first seen).
    labels: Vec<u32>,
    classes: Vec<String>,
    error: Option<Error>,
}

/// Parses the rows in `bytes` (no header), the first of them `newlines` line breaks into the
/// file, stopping at the first bad cell or ragged row, exactly as one reader of the whole
/// file would.
fn parse_block(bytes: impl Read, newlines: u64, delimiter: u8, cx: &Context, x: Vec<f32>) -> Block {
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(bytes);
    let mut block = Block { x, ..Block::default() };
    let mut local: HashMap<Box<str>, u32> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    let mut row = vec![0.0f32; cx.features];
    let name = cx.name;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                block.error = Some(csv_error(name, e));
                break;
            }
        }
        let line = record.position().map_or(0, |p| p.line()) + newlines;
        if record.len() != cx.names.len() {
            block.error = Some(Error::Format(format!(
                "{name}: line {line}: {} fields where the header has {} (a ragged row)",
                record.len(),
                cx.names.len()
            )));
            break;
        }
        if let Err(e) = parse_row(&record, line, cx, &mut row, &mut block, &mut local) {
            block.error = Some(e);
            break;
        }
        block.x.extend_from_slice(&row);
        block.rows += 1;
    }
    block
}

/// Parses the rows in `bytes` (no header, no quote character), the first of them `newlines`
/// line breaks into the file: the fast path of [`parse_block`], giving the same rows and the
/// same first error. Each line is split at the delimiter and each feature read by
/// [`leading_decimal`] where it reaches the field's end, by [`number`] otherwise; `None` when the
/// text holds a carriage return other than a line's last byte, which the CSV reader takes as
/// a line break of its own (the caller then gives the block to [`parse_block`]).
fn parse_plain(bytes: &[u8], newlines: u64, delimiter: u8, cx: &Context, x: Vec<f32>) -> Option<Block> {
    let mut block = Block { x, ..Block::default() };
    let mut local: HashMap<Box<str>, u32> = HashMap::new();
    let mut row = vec![0.0f32; cx.features];
    let mut scales = vec![0i8; cx.features];
    let mut line = newlines;
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let mut text = &bytes[start..end];
        // The line and what follows it: numbers are read eight bytes at a time, and stop at
        // the line's end by themselves.
        let onwards = &bytes[start..];
        start = end + 1;
        line += 1;
        if let [rest @ .., b'\r'] = text {
            text = rest;
        }
        if text.is_empty() {
            continue; // as the CSV reader: blank lines hold no record
        }
        match plain_row(text, onwards, line, delimiter, cx, (&mut row, &mut scales), &mut block, &mut local) {
            Ok(()) => {
                apply_scales(&mut row, &scales);
                block.x.extend_from_slice(&row);
                block.rows += 1;
            }
            Err(None) => return None,
            Err(Some(e)) => {
                block.error = Some(e);
                break;
            }
        }
    }
    Some(block)
}

/// One line of [`parse_plain`] (`text`, which `onwards` starts with) into `row` (mantissas and
/// their `scales`, made values by the caller) and the block's targets; `Err(None)` for a
/// carriage return inside the line.
#[allow(clippy::too_many_arguments)] // a line, where it lies, and the block it goes to
fn plain_row(
    text: &[u8],
    onwards: &[u8],
    line: u64,
    delimiter: u8,
    cx: &Context,
    (row, scales): (&mut [f32], &mut [i8]),
    block: &mut Block,
    local: &mut HashMap<Box<str>, u32>,
) -> std::result::Result<(), Option<Error>> {
    let mut at = 0;
    for (i, role) in cx.roles.iter().enumerate() {
        if i > 0 {
            if at == text.len() {
                return Err(plain_failure(text, line, delimiter, cx, None));
            }
            at += 1; // the delimiter that ended the previous field
        }
        if let Role::Feature(k) = role {
            if let Some((number, used)) = leading_decimal(&onwards[at..]) {
                if text.get(at + used).is_none_or(|&b| b == delimiter) {
                    (row[*k], scales[*k]) = (number.mantissa, number.scale);
                    at += used;
                    continue;
                }
            }
        }
        let end = memchr::memchr(delimiter, &text[at..]).map_or(text.len(), |j| at + j);
        let cell = &text[at..end];
        at = end;
        let failed = match role {
            Role::Feature(k) => number(cell.trim_ascii()).map(|v| (row[*k], scales[*k]) = (v, 0)).err(),
            Role::Target if cell.contains(&b'\r') => return Err(None),
            Role::Target => match cx.task {
                Task::Regression => number(cell.trim_ascii()).map(|v| block.values.push(v)).err(),
                Task::Classification => match class_of(cell.trim_ascii(), line, i, cx, &mut block.classes, local) {
                    Ok(class) => {
                        block.labels.push(class);
                        None
                    }
                    Err(e) => return Err(plain_failure(text, line, delimiter, cx, Some(e))),
                },
            },
        };
        if let Some(why) = failed {
            let at = cx.cell(line, i);
            return Err(plain_failure(text, line, delimiter, cx, Some(Error::Value(format!("{at}: {why}")))));
        }
    }
    if at != text.len() {
        return Err(plain_failure(text, line, delimiter, cx, None));
    }
    Ok(())
}

/// What the CSV reader would report for a line that failed: a carriage return splits it
/// (`None`), a ragged row comes before any cell's error, else the cell's `error`.
fn plain_failure(text: &[u8], line: u64, delimiter: u8, cx: &Context, error: Option<Error>) -> Option<Error> {
    if text.contains(&b'\r') {
        return None;
    }
    let fields = memchr::memchr_iter(delimiter, text).count() + 1;
    if fields != cx.names.len() {
        return Some(Error::Format(format!(
            "{}: line {line}: {fields} fields where the header has {} (a ragged row)",
            cx.name,
            cx.names.len()
        )));
    }
    error
}

/// One record's cells (trimmed of ASCII blanks) into `row` and the block's targets.
fn parse_row(
    record: &csv::ByteRecord,
    line: u64,
    cx: &Context,
    row: &mut [f32],
    block: &mut Block,
    local: &mut HashMap<Box<str>, u32>,
) -> Result<()> {
    for (i, (cell, role)) in record.iter().zip(cx.roles).enumerate() {
        let cell = cell.trim_ascii();
        let at = || cx.cell(line, i);
        match role {
            Role::Feature(k) => row[*k] = number(cell).map_err(|why| Error::Value(format!("{}: {why}", at())))?,
            Role::Target => match cx.task {
                Task::Regression => {
                    block.values.push(number(cell).map_err(|why| Error::Value(format!("{}: {why}", at())))?)
                }
                Task::Classification => {
                    let class = class_of(cell, line, i, cx, &mut block.classes, local)?;
                    block.labels.push(class);
                }
            },
        }
    }
    Ok(())
}

/// The class number of a target cell (trimmed): the model's with a schema, else this block's
/// (`classes` in the order first seen).
fn class_of(
    cell: &[u8],
    line: u64,
    column: usize,
    cx: &Context,
    classes: &mut Vec<String>,
    local: &mut HashMap<Box<str>, u32>,
) -> Result<u32> {
    let at = || cx.cell(line, column);
    let text =
        std::str::from_utf8(cell).map_err(|_| Error::Value(format!("{}: the class name is not UTF-8 text", at())))?;
    if text.is_empty() {
        return Err(Error::Value(format!("{}: missing value (no class)", at())));
    }
    Ok(match cx.known {
        Some((known, index)) => *index.get(text).ok_or_else(|| {
            Error::Value(format!("{}: class {:?} is not one the model knows ({})", at(), excerpt(text), listed(known)))
        })?,
        None => match local.get(text) {
            Some(&c) => c,
            None => {
                let c = classes.len() as u32;
                classes.push(text.to_string());
                local.insert(text.into(), c);
                c
            }
        },
    })
}

/// Parses a block of whole lines with no quote character: by [`parse_plain`] unless the
/// delimiter is a byte that numbers or lines are made of, or a carriage return splits a line.
fn parse_unquoted(bytes: &[u8], newlines: u64, delimiter: u8, cx: &Context, mut x: Vec<f32>) -> Block {
    x.clear();
    if !b"0123456789+-.eE\r\n\"".contains(&delimiter) {
        if let Some(block) = parse_plain(bytes, newlines, delimiter, cx, x) {
            return block;
        }
        x = Vec::new();
    }
    parse_block(bytes, newlines, delimiter, cx, x)
}

/// Reads into `buf` until it holds `want` bytes or the reader ends (then `true`). Reads into
/// the vector's spare room, so a recycled buffer is neither zeroed nor faulted in again.
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    if buf.len() >= want {
        return Ok(false);
    }
    let asked = want - buf.len();
    buf.reserve(asked);
    let got = reader.by_ref().take(asked as u64).read_to_end(buf)?;
    Ok(got < asked)
}

/// Cuts the rows after the header into blocks of whole lines, up to the first line that holds
/// a quote character (from there a quoted field may hold a line break, so one reader must go
/// on); recycles the buffers of parsed blocks.
struct Cutter<R> {
    reader: R,
    /// Bytes read and not yet in a block: part of a line, or the text from the quote's line on.
    pending: Vec<u8>,
    eof: bool,
    /// A quote was found: the rest goes to one reader.
    quoted: bool,
    spare: Vec<Vec<u8>>,
}

impl<R: Read> Cutter<R> {
    /// The next block; `None` at the end or at a quote.
    fn next_block(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if self.quoted {
            return Ok(None);
        }
        let mut want = BLOCK;
        let cut = loop {
            if !self.eof {
                self.eof = fill(&mut self.reader, &mut self.pending, want)?;
            }
            if let Some(q) = memchr::memchr(b'"', &self.pending) {
                self.quoted = true;
                // Whole lines before the quote's line may still go to the workers.
                break memchr::memrchr(b'\n', &self.pending[..q]).map_or(0, |i| i + 1);
            }
            match memchr::memrchr(b'\n', &self.pending) {
                Some(i) => break i + 1,
                None if self.eof => break self.pending.len(),
                None => want = self.pending.len() * 2,
            }
        };
        if cut == 0 {
            return Ok(None);
        }
        // The block keeps the buffer that was read into; the part line after the cut moves to
        // a spare buffer, which the next read fills.
        let mut rest = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(BLOCK));
        rest.clear();
        rest.extend_from_slice(&self.pending[cut..]);
        let mut block = std::mem::replace(&mut self.pending, rest);
        block.truncate(cut);
        Ok(Some(block))
    }
}

/// The rows of the blocks so far, joined in file order: class numbers made file-wide in the
/// order first seen, the first error kept.
struct Joined {
    x: Vec<f32>,
    labels: Vec<u32>,
    values: Vec<f32>,
    classes: Vec<String>,
    index: ClassIndex,
    rows: usize,
    known: bool,
    /// Line breaks before the next block.
    newlines: u64,
}

impl Joined {
    /// Joins a block parsed as if it began the file (its lines counted from its own start, so
    /// that it could be parsed before the line breaks ahead of it were counted); one that
    /// stopped at an error is parsed again from its true line, for the error's message.
    #[cfg(feature = "threads")]
    fn join_counted(
        &mut self,
        block: Block,
        lines: u64,
        bytes: &[u8],
        delimiter: u8,
        cx: &Context,
    ) -> Result<Vec<f32>> {
        let block =
            if block.error.is_some() { parse_unquoted(bytes, self.newlines, delimiter, cx, Vec::new()) } else { block };
        self.newlines += lines;
        self.join(block, cx.name)
    }

    /// Joins a block's rows; gives back its buffer of values for the next block.
    fn join(&mut self, block: Block, name: &str) -> Result<Vec<f32>> {
        if self.rows + block.rows > MAX_ROWS || (self.rows + block.rows == MAX_ROWS && block.error.is_some()) {
            return Err(Error::Value(format!("{name}: more than {MAX_ROWS} rows")));
        }
        self.rows += block.rows;
        self.x.extend_from_slice(&block.x);
        self.values.extend_from_slice(&block.values);
        if self.known || block.classes.is_empty() {
            self.labels.extend_from_slice(&block.labels);
        } else {
            let global: Vec<u32> = block
                .classes
                .into_iter()
                .map(|c| {
                    *self.index.entry(c.clone().into_boxed_str()).or_insert_with(|| {
                        self.classes.push(c);
                        self.classes.len() as u32 - 1
                    })
                })
                .collect();
            self.labels.extend(block.labels.iter().map(|&l| global[l as usize]));
        }
        block.error.map_or(Ok(block.x), Err)
    }
}

/// The line breaks in `bytes`, counted in bytes (255 at most per stretch) so that the compiler
/// counts 32 at a time: a plain `filter().count()` ran at 1 GB/s here.
fn count_lines(bytes: &[u8]) -> u64 {
    bytes.chunks(255).map(|stretch| stretch.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n')) as u64).sum()
}

/// A parsed block: its number in the file, its rows and line breaks (or the panic of its
/// parse, to pass on) and its buffer for reuse.
#[cfg(feature = "threads")]
type Done = (usize, std::thread::Result<(Block, u64)>, Vec<u8>);

/// Cuts, parses and joins every block up to the end or the first quote. With the `threads`
/// feature, called from outside the pool, this thread reads, cuts and joins while the pool
/// parses up to four blocks a thread ahead (reading overlaps parsing; memory stays a few MiB
/// of text); otherwise each block is parsed as it is cut.
fn parse_all<R: Read>(cutter: &mut Cutter<R>, joined: &mut Joined, delimiter: u8, cx: &Context) -> Result<()> {
    let name = cx.name;
    let io_error = |e: std::io::Error| Error::Io(format!("{name}: {e}"));
    #[cfg(feature = "threads")]
    if rayon::current_thread_index().is_none() && rayon::current_num_threads() > 1 {
        let ahead = 4 * rayon::current_num_threads();
        let (tx, rx) = std::sync::mpsc::channel::<Done>();
        return rayon::in_place_scope(|scope| {
            let (mut sent, mut next) = (0usize, 0usize);
            let mut ready: std::collections::BTreeMap<usize, ((Block, u64), Vec<u8>)> = Default::default();
            let mut reading = true;
            // The values' buffers of joined blocks, for the next blocks (allocating and freeing
            // them with each block cost as much as parsing, in page faults and unmapping).
            let mut spare_rows: Vec<Vec<f32>> = Vec::new();
            // An I/O error ends the reading; the blocks before it still come first.
            let mut stop: Option<Error> = None;
            loop {
                while reading && sent - next < ahead {
                    match cutter.next_block() {
                        Ok(Some(bytes)) => {
                            let (tx, index, x) = (tx.clone(), sent, spare_rows.pop().unwrap_or_default());
                            scope.spawn(move |_| {
                                let parse = || (parse_unquoted(&bytes, 0, delimiter, cx, x), count_lines(&bytes));
                                let block = std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse));
                                // The receiver outlives the scope; a send cannot fail.
                                let _ = tx.send((index, block, bytes));
                            });
                            sent += 1;
                        }
                        Ok(None) => reading = false,
                        Err(e) => {
                            stop = Some(io_error(e));
                            reading = false;
                        }
                    }
                }
                if next == sent {
                    return stop.map_or(Ok(()), Err);
                }
                // Block `next` is not joined yet, so a parse is in flight and will send (each
                // spawned parse sends once, a panic included).
                let (index, block, bytes) = rx.recv().expect("a block in flight sends its rows");
                ready.insert(index, (block.unwrap_or_else(|panic| std::panic::resume_unwind(panic)), bytes));
                while let Some(((block, lines), bytes)) = ready.remove(&next) {
                    next += 1;
                    spare_rows.push(joined.join_counted(block, lines, &bytes, delimiter, cx)?);
                    cutter.spare.push(bytes);
                }
            }
        });
    }
    let mut spare_rows = Vec::new();
    while let Some(bytes) = cutter.next_block().map_err(io_error)? {
        let block = parse_unquoted(&bytes, joined.newlines, delimiter, cx, spare_rows);
        joined.newlines += count_lines(&bytes);
        spare_rows = joined.join(block, name)?;
        cutter.spare.push(bytes);
    }
    Ok(())
}
/// Reads the header and every row; with `known`, maps the columns and classes to a trained
/// model's.
///
/// The rows are cut into blocks of whole lines and parsed on the engine's threads, the
/// blocks' rows joined in file order, so the numbers, the class order and the first error
/// are those of one reader going through the file. A block is cut only after a line break
/// in text with no quote character; from the first quote on, the rest of the file is read by
/// one reader (a quoted field may hold a line break).
fn parse(mut reader: impl Read, name: &str, options: &CsvOptions, known: Option<&TableSchema>) -> Result<Parsed> {
    let io_error = |e: std::io::Error| Error::Io(format!("{name}: {e}"));
    // The header: read until its record ends before the bytes held (or the file ends).
    let mut buf: Vec<u8> = Vec::new();
    let mut want = 1 << 16;
    let (header, header_end, eof) = loop {
        let eof = fill(&mut reader, &mut buf, want).map_err(io_error)?;
        let bom = if buf.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(&buf[bom..]);
        let mut header = csv::ByteRecord::new();
        csv.read_byte_record(&mut header).map_err(|e| csv_error(name, e))?;
        let end = bom + csv.position().byte() as usize;
        if eof || end < buf.len() || buf[..end].ends_with(b"\n") {
            break (header, end, eof);
        }
        want *= 2;
    };
    if header.is_empty() || (header.len() == 1 && header[0].trim_ascii().is_empty()) {
        return Err(Error::Format(format!(
            "{name}: the file is empty: a CSV table starts with a header row naming its columns"
        )));
    }
    let mut names = Vec::with_capacity(header.len());
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(header.len());
    for (i, cell) in header.iter().enumerate() {
        let cell = std::str::from_utf8(cell.trim_ascii()).map_err(|_| {
            Error::Format(format!("{name}: line 1, column {}: the column's name is not UTF-8 text", i + 1))
        })?;
        // A set, not a scan of the names so far: a header of 200,000 columns took a minute.
        if let Some(&j) = seen.get(cell) {
            return Err(Error::Format(format!(
                "{name}: line 1: columns {} and {} are both named {:?}",
                j + 1,
                i + 1,
                excerpt(cell)
            )));
        }
        seen.insert(cell, i);
        names.push(cell.to_string());
    }
    drop(seen);
    let target = names.iter().position(|n| *n == options.target);
    if target.is_none() && known.is_none() {
        return Err(Error::Value(format!(
            "{name}: no column named {:?} to predict; the columns are: {}",
            options.target,
            listed(&names)
        )));
    }
    // Each file column's role, and the feature columns in the model's order.
    let (roles, columns): (Vec<Role>, Vec<String>) = match known {
        None => {
            let columns: Vec<String> =
                names.iter().enumerate().filter(|(i, _)| Some(*i) != target).map(|(_, n)| n.clone()).collect();
            let mut k = 0;
            let roles = (0..names.len())
                .map(|i| {
                    if Some(i) == target {
                        Role::Target
                    } else {
                        k += 1;
                        Role::Feature(k - 1)
                    }
                })
                .collect();
            (roles, columns)
        }
        Some(schema) => {
            let mut roles = Vec::with_capacity(names.len());
            for n in &names {
                if Some(roles.len()) == target {
                    roles.push(Role::Target);
                } else if let Some(k) = schema.columns.iter().position(|c| c == n) {
                    roles.push(Role::Feature(k));
                } else {
                    return Err(Error::Value(format!(
                        "{name}: column {:?} is not one the model was trained on (it takes {}, and {:?} as the target)",
                        shown(n),
                        listed(&schema.columns),
                        schema.target
                    )));
                }
            }
            if let Some(missing) = schema.columns.iter().find(|c| !names.contains(c)) {
                return Err(Error::Value(format!(
                    "{name}: no column named {missing:?}, which the model takes; the columns are: {}",
                    listed(&names)
                )));
            }
            (roles, schema.columns.clone())
        }
    };
    let features = columns.len();
    if features == 0 {
        return Err(Error::Value(format!(
            "{name}: no feature columns: the only column is the target {:?}",
            options.target
        )));
    }
    let known_index: Option<ClassIndex> =
        known.map(|s| s.classes.iter().enumerate().map(|(i, c)| (c.clone().into_boxed_str(), i as u32)).collect());
    let cx = Context {
        name,
        names: &names,
        roles: &roles,
        features,
        task: options.task,
        known: known.zip(known_index.as_ref()).map(|(s, i)| (&s.classes[..], i)),
    };
    let pending = buf.split_off(header_end);
    let mut cutter = Cutter { reader, pending, eof, quoted: false, spare: Vec::new() };
    let mut joined = Joined {
        x: Vec::new(),
        labels: Vec::new(),
        values: Vec::new(),
        // Class names as first seen (without a schema), or the model's.
        classes: known.map(|s| s.classes.clone()).unwrap_or_default(),
        index: HashMap::new(),
        rows: 0,
        known: known.is_some(),
        newlines: count_lines(&buf[..header_end]),
    };
    parse_all(&mut cutter, &mut joined, options.delimiter, &cx)?;
    if cutter.quoted {
        // From the quote's line on, one reader takes the rest of the file.
        let rest = std::io::Cursor::new(std::mem::take(&mut cutter.pending)).chain(&mut cutter.reader);
        joined.join(parse_block(rest, joined.newlines, options.delimiter, &cx, Vec::new()), name)?;
    }
    let Joined { mut x, mut labels, values, mut classes, rows, .. } = joined;
    if rows == 0 {
        return Err(Error::Value(format!("{name}: no rows: the file has a header and nothing else")));
    }
    if known.is_none() && options.task == Task::Classification {
        if classes.len() < 2 {
            return Err(Error::Value(format!(
                "{name}: one class only: every row's {:?} is {:?}; a classifier needs two or more (for numbers to predict, use the regression task)",
                options.target,
                classes.first().map(String::as_str).unwrap_or("")
            )));
        }
        sort_classes(&mut classes, &mut labels);
    }
    x.shrink_to_fit();
    Ok(Parsed { columns, x, labels, values, classes, has_target: target.is_some(), rows })
}

/// Sorts the class names (as numbers when every name is one, else as text) and renumbers the
/// labels to match, so that the outputs' order does not depend on the rows' order.
fn sort_classes(classes: &mut Vec<String>, labels: &mut [u32]) {
    let numbers: Option<Vec<f64>> = classes.iter().map(|c| c.parse::<f64>().ok().filter(|v| v.is_finite())).collect();
    let mut order: Vec<usize> = (0..classes.len()).collect();
    match numbers {
        Some(v) => order.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then_with(|| classes[a].cmp(&classes[b]))),
        None => order.sort_by(|&a, &b| classes[a].cmp(&classes[b])),
    }
    let mut new_index = vec![0u32; classes.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new as u32;
    }
    labels.iter_mut().for_each(|l| *l = new_index[*l as usize]);
    *classes = order.iter().map(|&i| std::mem::take(&mut classes[i])).collect();
}

/// A numeric field: finite, present.
fn number(cell: &[u8]) -> std::result::Result<f32, String> {
    let text = std::str::from_utf8(cell).map_err(|_| "the value is not UTF-8 text".to_string())?;
    if text.is_empty() {
        return Err("missing value".into());
    }
    match text.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) if v.is_nan() => Err(format!("missing value ({text})")),
        Ok(_) => Err(format!("{} is not a finite number (or is beyond f32's range)", excerpt(text))),
        Err(_) => {
            let lower = text.to_ascii_lowercase();
            if ["na", "n/a", "null", "none", "?", "-", "nil"].contains(&lower.as_str()) {
                Err(format!("missing value ({text})"))
            } else {
                Err(format!(
                    "{:?} is not a number (features must be numeric; encode categories as numbers or one-hot columns)",
                    excerpt(text)
                ))
            }
        }
    }
}

/// A cell's text for a message: its first 40 characters, and `...` when there were more (a
/// mistaken column may hold whole paragraphs). Messages quote it with `{:?}`, which escapes
/// control characters.
fn excerpt(text: &str) -> String {
    let mut shown: String = text.chars().take(40).collect();
    if shown.len() < text.len() {
        shown.push_str("...");
    }
    shown
}

/// A CSV reader's error, with the file and the line.
fn csv_error(name: &str, e: csv::Error) -> Error {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => Error::Format(format!(
            "{name}: line {}: {len} fields where the header has {expected_len} (a ragged row)",
            pos.as_ref().map_or(0, |p| p.line())
        )),
        csv::ErrorKind::Io(io) => Error::Io(format!("{name}: {io}")),
        csv::ErrorKind::Utf8 { pos, err } => Error::Format(format!(
            "{name}: line {}, column {}: not UTF-8 text",
            pos.as_ref().map_or(0, |p| p.line()),
            err.field() + 1
        )),
        _ => Error::Format(format!("{name}: {e}")),
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

/// Each column's mean and (population) standard deviation over the rows not marked in
/// `is_test` (all rows when it is empty), in f64, summed a stretch of rows at a time and the
/// stretches in file order; a constant column's deviation is 1, as scikit-learn's
/// `StandardScaler` makes it.
fn moments(x: &[f32], f: usize, is_test: &[bool]) -> (Vec<f32>, Vec<f32>) {
    let f = f.max(1);
    let n = (x.len() / f - is_test.iter().filter(|&&t| t).count()).max(1) as f64;
    let total = |parts: Vec<Vec<f64>>| {
        parts.into_iter().fold(vec![0.0f64; f], |mut all, part| {
            all.iter_mut().zip(part).for_each(|(a, p)| *a += p);
            all
        })
    };
    let sums = each_stretch(x, f, |first, stretch| {
        let mut sum = vec![0.0f64; f];
        for row in training_rows(stretch, f, first, is_test) {
            sum.iter_mut().zip(row).for_each(|(s, &v)| *s += f64::from(v));
        }
        sum
    });
    let mean: Vec<f64> = total(sums).iter().map(|s| s / n).collect();
    let squares = each_stretch(x, f, |first, stretch| {
        let mut sq = vec![0.0f64; f];
        for row in training_rows(stretch, f, first, is_test) {
            sq.iter_mut().zip(row).zip(&mean).for_each(|((s, &v), m)| *s += (f64::from(v) - m).powi(2));
        }
        sq
    });
    let scale = total(squares)
        .iter()
        .map(|s| {
            let d = (s / n).sqrt();
            if d > 1e-12 && (d as f32).is_normal() {
                d as f32
            } else {
                1.0
            }
        })
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), scale)
}

/// The rows of a stretch whose first row is row `first` of the table, less those marked in
/// `is_test`.
fn training_rows<'a>(
    stretch: &'a [f32],
    f: usize,
    first: usize,
    is_test: &'a [bool],
) -> impl Iterator<Item = &'a [f32]> {
    stretch.chunks_exact(f).enumerate().filter(move |(r, _)| is_test.get(first + r) != Some(&true)).map(|(_, row)| row)
}

/// `(x - mean) / deviation` for each column, with a schema's numbers, in f64 (so that values
/// at the two ends of f32's range do not overflow on the way).
struct Standardiser {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl Standardiser {
    fn new(schema: &TableSchema) -> Standardiser {
        let wide = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect();
        Standardiser { mean: wide(&schema.mean), scale: wide(&schema.scale) }
    }

    /// Writes `row` standardised into `out`; the first column whose value lands beyond f32's
    /// range, if one does. No branch in the loop, so that the compiler divides four values at
    /// once.
    #[inline]
    fn row(&self, row: &[f32], out: &mut [f32]) -> Option<usize> {
        for (((z, &v), &m), &s) in out.iter_mut().zip(row).zip(&self.mean).zip(&self.scale) {
            *z = ((f64::from(v) - m) / s) as f32;
        }
        out.iter().position(|z| !z.is_finite())
    }

    /// Standardises the rows of `x` (`f` values each) in place, a stretch at a time on the
    /// engine's threads, leaving those `skip` names as they are; the first row that fails
    /// (counted from 0 in `x`), with its column and value, leaves that row unchanged.
    fn in_place(
        &self,
        x: &mut [f32],
        f: usize,
        skip: impl Fn(usize) -> bool + Sync + Send,
    ) -> Option<(usize, usize, f32)> {
        let failed = each_stretch_mut(x, f, |first, stretch| {
            let mut z = vec![0.0f32; f];
            stretch.chunks_exact_mut(f.max(1)).enumerate().find_map(|(r, row)| {
                let i = first + r;
                if skip(i) {
                    return None;
                }
                match self.row(row, &mut z) {
                    Some(column) => Some((i, column, row[column])),
                    None => {
                        row.copy_from_slice(&z);
                        None
                    }
                }
            })
        });
        failed.into_iter().flatten().next()
    }
}

/// Rows in a stretch of the passes over a table: a fixed number, so that sums over stretches
/// are added in the same order on any number of threads.
const STRETCH: usize = 1024;

/// `work(first_row, rows)` for each stretch of [`STRETCH`] rows (`width` values each) of `x`,
/// on the engine's threads where the build has them; the results in file order.
fn each_stretch<R: Send>(x: &[f32], width: usize, work: impl Fn(usize, &[f32]) -> R + Sync + Send) -> Vec<R> {
    let chunk = STRETCH * width.max(1);
    #[cfg(feature = "threads")]
    {
        use rayon::prelude::*;
        x.par_chunks(chunk).enumerate().map(|(i, rows)| work(i * STRETCH, rows)).collect()
    }
    #[cfg(not(feature = "threads"))]
    x.chunks(chunk).enumerate().map(|(i, rows)| work(i * STRETCH, rows)).collect()
}

/// [`each_stretch`] for work that changes the rows.
fn each_stretch_mut<R: Send>(
    x: &mut [f32],
    width: usize,
    work: impl Fn(usize, &mut [f32]) -> R + Sync + Send,
) -> Vec<R> {
    let chunk = STRETCH * width.max(1);
    #[cfg(feature = "threads")]
    {
        use rayon::prelude::*;
        x.par_chunks_mut(chunk).enumerate().map(|(i, rows)| work(i * STRETCH, rows)).collect()
    }
    #[cfg(not(feature = "threads"))]
    x.chunks_mut(chunk).enumerate().map(|(i, rows)| work(i * STRETCH, rows)).collect()
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
