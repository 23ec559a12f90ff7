//! A suite's project root, and the rule that every path a suite names
//! (agent, golden transcript, whatever later formats add) resolves inside
//! it, symbolic links followed. A suite comes from a pull request: without
//! the rule, `transcript: ../../victim.cfg` with `--bless` overwrites a file
//! of the CI machine, and `agent: /etc/passwd` copies it into the CI log.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Files whose folder is a project root: a git checkout, a Salesforce DX
/// project.
pub const MARKERS: &[&str] = &[".git", "sfdx-project.json"];

/// How the root of each suite is chosen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Confinement {
    /// The nearest ancestor of the suite holding one of [`MARKERS`], else
    /// the folder given on the command line (a file's own folder).
    #[default]
    Auto,
    /// One root for every suite (`--root DIR`).
    Root(PathBuf),
    /// No confinement (`--allow-outside-root`), for trusted input.
    Off,
}

/// The root of one suite, canonical; `None` when confinement is off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root(Option<PathBuf>);

impl Confinement {
    /// The root for `suite`, a file given as (or found under) the
    /// command-line path `arg`.
    pub fn root_for(&self, suite: &Path, arg: &Path) -> io::Result<Root> {
        match self {
            Confinement::Off => Ok(Root(None)),
            Confinement::Root(dir) => Ok(Root(Some(std::fs::canonicalize(dir)?))),
            Confinement::Auto => {
                let suite = std::fs::canonicalize(suite)?;
                let folder = if suite.is_dir() {
                    &suite
                } else {
                    suite.parent().unwrap_or(&suite)
                };
                if let Some(marked) = folder.ancestors().find(|a| is_marked(a)) {
                    return Ok(Root(Some(marked.to_path_buf())));
                }
                let arg = std::fs::canonicalize(arg)?;
                let fallback = if arg.is_dir() {
                    arg
                } else {
                    arg.parent().map_or(arg.clone(), Path::to_path_buf)
                };
                Ok(Root(Some(fallback)))
            }
        }
    }
}

fn is_marked(dir: &Path) -> bool {
    MARKERS.iter().any(|m| std::fs::symlink_metadata(dir.join(m)).is_ok())
}

impl Root {
    /// No confinement.
    pub fn anywhere() -> Root {
        Root(None)
    }

    /// The root folder, when confined.
    pub fn path(&self) -> Option<&Path> {
        self.0.as_deref()
    }

    /// Whether `path` (relative to the working folder, or absolute)
    /// resolves inside the root. A path that does not exist yet is resolved
    /// as far as it exists, then lexically, which is where writing it would
    /// create it.
    pub fn contains(&self, path: &Path) -> bool {
        match &self.0 {
            None => true,
            Some(root) => resolve(path).is_ok_and(|p| p.starts_with(root)),
        }
    }

    /// Checks a path a suite names; the error is the message of a load
    /// error at the value `written`, `what` saying what the path is for.
    pub fn check(&self, path: &Path, what: &str, written: &str) -> Result<(), String> {
        if self.contains(path) {
            return Ok(());
        }
        let root = self.0.as_deref().unwrap_or(Path::new("/"));
        Err(format!(
            "{what} path '{written}' leaves the project root {}: expected a path inside it \
             (pass --root DIR to choose the root, or --allow-outside-root to allow any path)",
            root.display()
        ))
    }
}

/// The absolute path `path` leads to: symbolic links followed where the
/// path exists, `..` taken lexically where it does not yet. A link that
/// leads nowhere is an error, as writing through it could create a file
/// anywhere.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut out = if path.is_absolute() {
        PathBuf::new()
    } else {
        std::env::current_dir()?
    };
    let mut exists = true;
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out.push(c.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                if exists {
                    match std::fs::symlink_metadata(&out) {
                        Ok(_) => out = std::fs::canonicalize(&out)?,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => exists = false,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
    // `out` began canonical (the working folder is) and every existing
    // step was canonicalized, so no link is left unresolved.
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap().join("proj");
        std::fs::create_dir_all(root.join("suites/golden")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join("suites/s.yaml"), "suite: s").unwrap();
        (dir, root)
    }

    #[test]
    fn the_nearest_marked_ancestor_is_the_root() {
        let (_d, root) = project();
        let suite = root.join("suites/s.yaml");
        let r = Confinement::Auto.root_for(&suite, &suite).unwrap();
        assert_eq!(r.path(), Some(root.as_path()));
    }

    #[test]
    fn without_a_marker_the_command_line_folder_is_the_root() {
        let (_d, root) = project();
        std::fs::remove_dir(root.join(".git")).unwrap();
        let suite = root.join("suites/s.yaml");
        let by_file = Confinement::Auto.root_for(&suite, &suite).unwrap();
        assert_eq!(by_file.path(), Some(root.join("suites").as_path()));
        let by_folder = Confinement::Auto.root_for(&suite, &root).unwrap();
        assert_eq!(by_folder.path(), Some(root.as_path()));
    }

    #[test]
    fn paths_that_leave_are_caught_however_they_are_written() {
        let (_d, root) = project();
        let suites = root.join("suites");
        let r = Confinement::Auto.root_for(&suites.join("s.yaml"), &suites).unwrap();
        assert!(r.contains(&suites.join("golden/new/x.txt")));
        assert!(r.contains(&suites.join("../fixtures/a.yaml")));
        assert!(!r.contains(&suites.join("../../victim.cfg")));
        assert!(!r.contains(&suites.join("golden/new/../../../../x")));
        assert!(!r.contains(Path::new("/etc/passwd")));
        let msg = r.check(&suites.join("../../v"), "transcript", "../../v").unwrap_err();
        assert!(
            msg.starts_with("transcript path '../../v' leaves the project root "),
            "{msg}"
        );
        assert!(msg.contains("--allow-outside-root"), "{msg}");
        assert!(Root::anywhere().contains(Path::new("/etc/passwd")));
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_are_followed() {
        let (d, root) = project();
        let outside = d.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("suites/golden/out")).unwrap();
        std::os::unix::fs::symlink(d.path().join("nowhere"), root.join("suites/dangling")).unwrap();
        let r = Confinement::Auto.root_for(&root.join("suites/s.yaml"), &root).unwrap();
        assert!(!r.contains(&root.join("suites/golden/out/x.txt")));
        assert!(!r.contains(&root.join("suites/dangling")));
    }
}
