//! The simulator's errors: bad settings, files that cannot be written or read, JSON that is
//! not the expected shape.

use std::path::PathBuf;

/// What can go wrong while simulating or verifying.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid setting: {0}")]
    Config(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the output: {0}")]
    Write(#[from] std::io::Error),
    #[error("line {line}: not an interaction: {source}")]
    Json {
        line: u64,
        #[source]
        source: serde_json::Error,
    },
}

impl SimError {
    /// Wraps an I/O error with the path it concerns.
    pub fn at(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SimError {
        let path = path.into();
        move |source| SimError::Io { path, source }
    }
}
