//! Readers for other tools' history files, so that our checker's verdicts can be put beside
//! Knossos's and Porcupine's on the same data.

pub mod edn;
pub mod jepsen;

/// A history file that cannot be read: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FormatError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl FormatError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> FormatError {
        FormatError {
            line,
            message: message.into(),
        }
    }
}
