//! How baton's files reach the disk (reports, golden transcripts,
//! regression suites): written whole or not at all, through a temporary
//! file beside the target and a rename. This module owns the temporary
//! files too: their names (`.junit.xml.baton-tmp-<pid>-<random>`, so that a
//! person knows what they are), their removal when a run is interrupted by
//! SIGINT or SIGTERM, and the removal of those left by a run that was killed
//! outright. It also refuses to replace what is not a regular file: a
//! rename would put a regular file in place of a device, a FIFO or a
//! symbolic link.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Why a target was refused: it exists and is not a regular file.
#[derive(Debug)]
pub struct NotARegularFile {
    /// "a symbolic link", "a FIFO (named pipe)", ...
    pub what: &'static str,
}

impl std::fmt::Display for NotARegularFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "it is {}; expected a regular file or a new path", self.what)
    }
}

impl std::error::Error for NotARegularFile {}

/// The refusal inside an error of [`atomic_write`], if that is what it is.
pub fn refusal(e: &std::io::Error) -> Option<&NotARegularFile> {
    e.get_ref()?.downcast_ref()
}

fn describe(t: std::fs::FileType) -> &'static str {
    if t.is_symlink() {
        return "a symbolic link";
    }
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// A new path or a regular file may be replaced; anything else is refused.
/// `symlink_metadata` does not follow a symbolic link, so a link is refused
/// even when it points at a regular file: the rename would replace the
/// link, not write where it points.
fn check_target(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => Ok(()),
        Ok(m) => Err(std::io::Error::other(NotARegularFile {
            what: describe(m.file_type()),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

const TAG: &str = ".baton-tmp-";

/// The start of every temporary file name for a target, e.g.
/// `.junit.xml.baton-tmp-`. A very long file name is cut, so that the
/// temporary name stays within the file system's limit.
fn temp_stem(target: &OsStr) -> String {
    let name = target.to_string_lossy();
    let mut cut = name.len().min(100);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}{TAG}", &name[..cut])
}

/// The name of a temporary file for `target` written by process `pid`,
/// less the random characters that end it.
pub fn temp_prefix(target: &OsStr, pid: u32) -> String {
    format!("{}{pid}-", temp_stem(target))
}

/// The pid in the name of a temporary file for the target whose stem is
/// `stem`, if `entry` is one.
fn temp_pid(entry: &OsStr, stem: &str) -> Option<u32> {
    let (pid, random) = entry.to_str()?.strip_prefix(stem)?.split_once('-')?;
    if random.is_empty() {
        return None;
    }
    pid.parse().ok()
}

/// Removes the temporary files for `target` in `dir` left by processes
/// that no longer exist (killed outright, so they could not clean up).
/// Only on Linux, where `/proc/<pid>` tells whether a process lives;
/// elsewhere they are left alone.
fn remove_stale(dir: &Path, target: &OsStr) {
    #[cfg(target_os = "linux")]
    {
        // Without /proc (a container may lack it) every process would look
        // dead, and a live run's temporary file would be removed.
        if !Path::new("/proc/self").exists() {
            return;
        }
        let stem = temp_stem(target);
        let me = std::process::id();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Some(pid) = temp_pid(&entry.file_name(), &stem) else {
                continue;
            };
            let alive = pid == me || Path::new("/proc").join(pid.to_string()).exists();
            if !alive && entry.file_type().is_ok_and(|t| t.is_file()) {
                // Another run may be removing it at the same moment.
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (dir, target);
}

/// Temporary files being written, for the signal handler to remove.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn in_flight() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves the list as valid as before.
    IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A temporary file listed in [`IN_FLIGHT`] while it lives.
struct InFlight(PathBuf);

impl InFlight {
    fn new(path: &Path) -> InFlight {
        in_flight().push(path.to_path_buf());
        InFlight(path.to_path_buf())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut list = in_flight();
        if let Some(i) = list.iter().position(|p| *p == self.0) {
            list.swap_remove(i);
        }
    }
}

/// Exit code after SIGINT or SIGTERM.
pub const EXIT_INTERRUPTED: i32 = 130;

/// On SIGINT or SIGTERM, removes the temporary files being written and
/// exits with [`EXIT_INTERRUPTED`]. For the binary: a library should not
/// take over its host's signals. Fails if a handler is already set.
pub fn remove_temporaries_on_signal() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| {
        // The lock is held until the exit, so that no write starts a new
        // temporary file after the list was emptied.
        let mut list = in_flight();
        for path in list.drain(..) {
            let _ = std::fs::remove_file(path);
        }
        std::process::exit(EXIT_INTERRUPTED);
    })
}

/// Writes `bytes` to `path` through a temporary file and a rename, creating
/// the parent folder if needed. Refuses a target that exists and is not a
/// regular file ([`refusal`] tells), before anything is written. The file
/// gets the mode an ordinary write would give it (an existing file's, else
/// 0666 less the umask), not the temporary file's private 0600.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    check_target(path)?;
    let Some(name) = path.file_name() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path names no file",
        ));
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    remove_stale(dir, name);
    let existing = std::fs::metadata(path).ok().map(|m| m.permissions());
    let prefix = temp_prefix(name, std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix("").rand_bytes(6);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(
            existing
                .clone()
                .unwrap_or_else(|| std::fs::Permissions::from_mode(0o666)),
        );
    }
    let mut tmp = builder.tempfile_in(dir)?;
    let _listed = InFlight::new(tmp.path());
    tmp.write_all(bytes)?;
    if let Some(perms) = existing {
        tmp.as_file().set_permissions(perms)?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable.
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
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
        assert!(!in_flight().iter().any(|p| p.starts_with(dir.path())));
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_readable_like_ordinary_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        atomic_write(&path, b"x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode, 0o600, "private temporary-file mode leaked through");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        atomic_write(&path, b"y").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }

    #[test]
    fn temporary_names_tell_what_they_are_and_whose() {
        let name = OsStr::new("junit.xml");
        assert_eq!(temp_prefix(name, 4242), ".junit.xml.baton-tmp-4242-");
        let stem = temp_stem(name);
        assert_eq!(
            temp_pid(OsStr::new(".junit.xml.baton-tmp-4242-aB3xYz"), &stem),
            Some(4242)
        );
        // Another target's, a torn name, or the report itself: not ours.
        for other in [
            ".fuzz-junit.xml.baton-tmp-4242-aB3xYz",
            ".junit.xml.baton-tmp-4242-",
            ".junit.xml.baton-tmp-x-aB3xYz",
            "junit.xml",
        ] {
            assert_eq!(temp_pid(OsStr::new(other), &stem), None, "{other}");
        }
        // A name at the file system's limit still leaves room for the rest.
        let long = "é".repeat(127);
        assert!(temp_prefix(OsStr::new(&long), u32::MAX).len() < 255 - 6);
    }

    #[cfg(unix)]
    #[test]
    fn what_is_not_a_regular_file_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.xml");
        std::fs::write(&real, "keep").unwrap();
        let link = dir.path().join("link.xml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = atomic_write(&link, b"new").unwrap_err();
        assert_eq!(
            refusal(&e).map(ToString::to_string).as_deref(),
            Some("it is a symbolic link; expected a regular file or a new path")
        );
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "keep");
        let e = atomic_write(dir.path(), b"new").unwrap_err();
        assert_eq!(refusal(&e).map(|r| r.what), Some("a directory"));
        // Nothing but the two files: no temporary file was made.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        // An ordinary error is no refusal.
        let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(refusal(&e).is_none());
    }
}
