//! Reading input files: regular files only, and never more than a cap.
//!
//! `metadata().len()` is 0 for a device, so a cap checked before reading
//! lets `/dev/zero` fill the memory; opening a FIFO for reading blocks until
//! a writer comes, which is forever. So files are opened without blocking,
//! checked through the open handle (no window between the check and the
//! read), and read through a `take` that stops one byte past the cap.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Larger input files are refused.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// A FIFO, device, socket or folder: names what it is.
    NotRegular(&'static str),
    TooLarge {
        limit: u64,
    },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => f.write_str(&io_reason(e)),
            ReadError::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            ReadError::TooLarge { limit } => write!(f, "it is larger than the limit of {limit} bytes"),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Opens `path` for reading if it is a regular file (symbolic links
/// followed), without ever blocking on a FIFO.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: a FIFO opens at once instead of waiting for a writer;
        // on a regular file it changes nothing. O_NOCTTY: a terminal device
        // never becomes our controlling terminal.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    let kind = kind_of(&file.metadata()?.file_type());
    match kind {
        None => Ok(file),
        Some(kind) => Err(ReadError::NotRegular(kind)),
    }
}

/// Reads a whole regular file of at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Reads a whole regular file of at most `limit` bytes as UTF-8 text; an
/// invalid byte is an error at its line and column, naming the `format`
/// expected ("YAML", "Agent Script").
pub fn read_utf8(path: &Path, limit: u64, format: &str) -> Result<String, crate::diag::Diagnostic> {
    use crate::diag::{Diagnostic, Pos};
    let bytes =
        read_regular(path, limit).map_err(|e| Diagnostic::new(path, Pos::FILE, format!("cannot read file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        // `valid` is valid UTF-8 by construction, so this never fails.
        let col = std::str::from_utf8(&valid[line_start..]).map_or(1, |s| s.chars().count() + 1);
        Diagnostic::new(
            path,
            Pos::new(line as u64, col as u64),
            format!("file is not valid UTF-8: expected UTF-8 encoded {format}"),
        )
        .unquoted()
    })
}

/// What a file that is not a regular file is, in words; `None` for a
/// regular file.
pub fn kind_of(t: &std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a folder");
    }
    if t.is_symlink() {
        return Some("a symbolic link");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("a special file")
}

/// An I/O error in a user's words.
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_up_to_the_cap_and_no_further() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read_regular(&p, 5).unwrap(), b"12345");
        assert!(matches!(read_regular(&p, 4), Err(ReadError::TooLarge { limit: 4 })));
    }

    #[test]
    fn a_folder_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_regular(dir.path(), 10).unwrap_err();
        assert_eq!(e.to_string(), "it is a folder, not a regular file");
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_at_once() {
        let e = read_regular(Path::new("/dev/zero"), MAX_FILE_BYTES).unwrap_err();
        assert_eq!(e.to_string(), "it is a character device, not a regular file");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_regular(&fifo, MAX_FILE_BYTES).unwrap_err();
        assert_eq!(e.to_string(), "it is a FIFO (named pipe), not a regular file");
    }
}
