//! Reporters: consumers of [`RunResult`](crate::runner::RunResult)s. None of
//! them knows how a result was produced. Files are written atomically (a
//! temporary file in the same folder, then a rename) so that a crash never
//! leaves a truncated report behind.

pub mod console;
pub mod diff;
pub mod junit;

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file and a rename, creating
/// the parent folder if needed.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".baton-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/report.xml");
        atomic_write(&path, b"first version, longer").unwrap();
        atomic_write(&path, b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.xml")]);
    }
}
