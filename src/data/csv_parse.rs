//! Reading a CSV table's text into values: blocks of whole lines parsed on the engine's
//! threads while the calling thread reads on, joined in file order, so that the values and
//! every error message are those of one reader going through the file. Rows with no quote
//! character are split and read to f32 in one pass (numbers by the exact fast path of
//! `decimal`); the csv crate reads the header and any text with quotes. What
//! [`super::table`] builds its tables from.

use std::collections::HashMap;
use std::io::Read;

use super::decimal::{apply_scales, leading_decimal};
use super::schema::{TableSchema, Task};
use crate::error::{Error, Result};

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

/// The most rows a table may have: examples are numbered with u32 in batches.
pub(crate) const MAX_ROWS: usize = u32::MAX as usize;

/// The column's name for messages (`(unnamed)` for an empty header cell), with its control
/// characters escaped: a name comes from a stranger's file, and an escape sequence printed
/// raw would reach the terminal (and could clear it).
pub(crate) fn shown(name: &str) -> String {
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

/// A table as read, before it is split and standardised.
pub(crate) struct Parsed {
    /// Feature columns in the order of the model's inputs.
    pub(crate) columns: Vec<String>,
    pub(crate) x: Vec<f32>,
    pub(crate) labels: Vec<u32>,
    pub(crate) values: Vec<f32>,
    /// Class names in the order of `labels` (sorted once all are seen).
    pub(crate) classes: Vec<String>,
    pub(crate) has_target: bool,
    pub(crate) rows: usize,
}

/// What a column of the file is.
#[derive(Clone, Copy)]
pub(crate) enum Role {
    /// The model's input number.
    Feature(usize),
    Target,
}

/// Class names and their numbers.
pub(crate) type ClassIndex = HashMap<Box<str>, u32>;

/// Bytes of raw rows handed to one worker at a time: large enough that starting a block
/// costs nothing, small enough that a batch of them stays a few MiB.
pub(crate) const BLOCK: usize = 1 << 20;

/// What every block's parse needs: the file's name and columns, and the classes a trained
/// model knows.
pub(crate) struct Context<'a> {
    pub(crate) name: &'a str,
    pub(crate) names: &'a [String],
    pub(crate) roles: &'a [Role],
    pub(crate) features: usize,
    pub(crate) task: Task,
    /// With a trained model's schema: its classes and their numbers, fixed.
    pub(crate) known: Option<(&'a [String], &'a ClassIndex)>,
}

impl Context<'_> {
    /// Where a cell is, for a message: `FILE: line L, column C (NAME)`.
    pub(crate) fn cell(&self, line: u64, column: usize) -> String {
        format!("{}: line {line}, column {} ({})", self.name, column + 1, shown(&self.names[column]))
    }
}

/// The rows of one block, as parsed; `error` stops it after `rows` good rows.
#[derive(Default)]
pub(crate) struct Block {
    pub(crate) rows: usize,
    pub(crate) x: Vec<f32>,
    pub(crate) values: Vec<f32>,
    /// Class numbers: the model's with a schema, else into `classes` (this block's, in the
    /// order first seen).
    pub(crate) labels: Vec<u32>,
    pub(crate) classes: Vec<String>,
    pub(crate) error: Option<Error>,
}

/// Parses the rows in `bytes` (no header), the first of them `newlines` line breaks into the
/// file, stopping at the first bad cell or ragged row, exactly as one reader of the whole
/// file would.
pub(crate) fn parse_block(bytes: impl Read, newlines: u64, delimiter: u8, cx: &Context, x: Vec<f32>) -> Block {
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
pub(crate) fn parse_plain(bytes: &[u8], newlines: u64, delimiter: u8, cx: &Context, x: Vec<f32>) -> Option<Block> {
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
pub(crate) fn plain_row(
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
pub(crate) fn plain_failure(
    text: &[u8],
    line: u64,
    delimiter: u8,
    cx: &Context,
    error: Option<Error>,
) -> Option<Error> {
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
pub(crate) fn parse_row(
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
pub(crate) fn class_of(
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
pub(crate) fn parse_unquoted(bytes: &[u8], newlines: u64, delimiter: u8, cx: &Context, mut x: Vec<f32>) -> Block {
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
pub(crate) fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
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
pub(crate) struct Cutter<R> {
    pub(crate) reader: R,
    /// Bytes read and not yet in a block: part of a line, or the text from the quote's line on.
    pub(crate) pending: Vec<u8>,
    pub(crate) eof: bool,
    /// A quote was found: the rest goes to one reader.
    pub(crate) quoted: bool,
    pub(crate) spare: Vec<Vec<u8>>,
}

impl<R: Read> Cutter<R> {
    /// The next block; `None` at the end or at a quote.
    pub(crate) fn next_block(&mut self) -> std::io::Result<Option<Vec<u8>>> {
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
pub(crate) struct Joined {
    pub(crate) x: Vec<f32>,
    pub(crate) labels: Vec<u32>,
    pub(crate) values: Vec<f32>,
    pub(crate) classes: Vec<String>,
    pub(crate) index: ClassIndex,
    pub(crate) rows: usize,
    pub(crate) known: bool,
    /// Line breaks before the next block.
    pub(crate) newlines: u64,
}

impl Joined {
    /// Joins a block parsed as if it began the file (its lines counted from its own start, so
    /// that it could be parsed before the line breaks ahead of it were counted); one that
    /// stopped at an error is parsed again from its true line, for the error's message.
    #[cfg(feature = "threads")]
    pub(crate) fn join_counted(
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
    pub(crate) fn join(&mut self, block: Block, name: &str) -> Result<Vec<f32>> {
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
pub(crate) fn count_lines(bytes: &[u8]) -> u64 {
    bytes.chunks(255).map(|stretch| stretch.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n')) as u64).sum()
}

/// A parsed block: its number in the file, its rows and line breaks (or the panic of its
/// parse, to pass on) and its buffer for reuse.
#[cfg(feature = "threads")]
pub(crate) type Done = (usize, std::thread::Result<(Block, u64)>, Vec<u8>);

/// Cuts, parses and joins every block up to the end or the first quote. With the `threads`
/// feature, called from outside the pool, this thread reads, cuts and joins while the pool
/// parses up to four blocks a thread ahead (reading overlaps parsing; memory stays a few MiB
/// of text); otherwise each block is parsed as it is cut.
pub(crate) fn parse_all<R: Read>(
    cutter: &mut Cutter<R>,
    joined: &mut Joined,
    delimiter: u8,
    cx: &Context,
) -> Result<()> {
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
pub(crate) fn parse(
    mut reader: impl Read,
    name: &str,
    options: &CsvOptions,
    known: Option<&TableSchema>,
) -> Result<Parsed> {
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
pub(crate) fn sort_classes(classes: &mut Vec<String>, labels: &mut [u32]) {
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
pub(crate) fn number(cell: &[u8]) -> std::result::Result<f32, String> {
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
pub(crate) fn excerpt(text: &str) -> String {
    let mut shown: String = text.chars().take(40).collect();
    if shown.len() < text.len() {
        shown.push_str("...");
    }
    shown
}

/// A CSV reader's error, with the file and the line.
pub(crate) fn csv_error(name: &str, e: csv::Error) -> Error {
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
