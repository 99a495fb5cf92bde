//! The one error type of the library: every fallible function returns [`Result`], and every
//! message names the shapes, files or values involved so that the caller can act on it.

use std::fmt;

/// What went wrong, with a message that names the shapes, files and values involved.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Shapes that do not fit together (matmul, broadcasting, reshape, concatenation).
    Shape(String),
    /// An index or axis outside a tensor's bounds.
    Index(String),
    /// An argument with a value the function cannot accept (a negative learning rate, ...).
    Value(String),
    /// A file that could not be read or written.
    Io(String),
    /// A file that was read but is not what it claims to be (corrupt IDX, bad model file).
    Format(String),
    /// Autograd misuse: backward on a non-scalar without a gradient, and similar.
    Autograd(String),
    /// Training stopped before its end: divergence (a NaN or infinite loss or parameter, or a
    /// loss grown past [`DIVERGENCE_GROWTH`](crate::train::DIVERGENCE_GROWTH) times its start,
    /// with any optimiser), or an interruption asked for by the caller (Ctrl-C). The message
    /// says where, with which optimiser and learning rate, and what next.
    Stopped(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape(m) => write!(f, "shape error: {m}"),
            Error::Index(m) => write!(f, "index error: {m}"),
            Error::Value(m) => write!(f, "invalid value: {m}"),
            Error::Io(m) => write!(f, "I/O error: {m}"),
            Error::Format(m) => write!(f, "format error: {m}"),
            Error::Autograd(m) => write!(f, "autograd error: {m}"),
            Error::Stopped(m) => write!(f, "training stopped: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error that names the file it happened on.
    pub fn io(path: &std::path::Path, err: impl fmt::Display) -> Error {
        Error::Io(format!("{}: {err}", path.display()))
    }

    /// The same error, of the same kind, with `context` (a file name, what was being done) in
    /// front of its message: `format error: train.gz: truncated` rather than a kind printed
    /// twice.
    pub fn context(self, context: impl fmt::Display) -> Error {
        let with = |m: String| format!("{context}: {m}");
        match self {
            Error::Shape(m) => Error::Shape(with(m)),
            Error::Index(m) => Error::Index(with(m)),
            Error::Value(m) => Error::Value(with(m)),
            Error::Io(m) => Error::Io(with(m)),
            Error::Format(m) => Error::Format(with(m)),
            Error::Autograd(m) => Error::Autograd(with(m)),
            Error::Stopped(m) => Error::Stopped(with(m)),
        }
    }
}

/// Formats a shape the way NumPy prints it: `(3, 2)`, `(3,)`, `()`.
pub fn shape_str(shape: &[usize]) -> String {
    match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}
