//! Output files written whole or not at all: a command that fails leaves no empty or partial
//! file behind (as `> file` in a shell does), and an earlier file of that name stays as it
//! was until the new one is complete.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};

/// Writes `bytes` to `path` through a temporary file beside it, renamed over `path` once
/// complete; without a path, to standard output.
pub fn write_whole(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    let Some(path) = path else {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()?;
        return Ok(());
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    temporary.1.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    temporary.1.sync_all().with_context(|| format!("cannot write {}", path.display()))?;
    drop(temporary.1);
    std::fs::rename(&temporary.0, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// A new file of a name no other process uses, in `dir`.
fn tempfile_in(dir: &Path) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let stamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |time| time.as_nanos());
    for attempt in 0..100u32 {
        let path = dir.join(format!(".callstitch-{}-{stamp}-{attempt}.tmp", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "no free temporary name"))
}
