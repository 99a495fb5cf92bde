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
