//! Finding an agent's metadata in a Salesforce DX project: which folders to
//! search (the package directories of `sfdx-project.json`, or the folder
//! that holds the metadata type folders), and an index of the files there
//! by type and name. Metadata folders may sit at any depth under a package
//! directory, so the walk is recursive, bounded, and never follows a link.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diag::{Diagnostic, Pos};
use crate::files::Root;
use crate::files::{MAX_FILE_BYTES, read_regular};

/// Files by metadata type, each keyed by its API name.
#[derive(Debug, Default)]
pub struct Index {
    pub bundles: BTreeMap<String, PathBuf>,
    pub planners: BTreeMap<String, PathBuf>,
    pub plugins: BTreeMap<String, PathBuf>,
    pub functions: BTreeMap<String, PathBuf>,
    /// `bots/NAME/vN.botVersion-meta.xml`, with the bot's name.
    pub bot_versions: Vec<(String, PathBuf)>,
    pub bots: BTreeMap<String, PathBuf>,
    /// Agent Script: `aiAuthoringBundles/NAME/NAME.agent`.
    pub authoring: BTreeMap<String, PathBuf>,
}

/// The most directory entries one project walk looks at, and how deep.
const MAX_ENTRIES: usize = 200_000;
const MAX_DEPTH: usize = 32;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Project {
    #[serde(default)]
    package_directories: Vec<PackageDir>,
}

#[derive(Deserialize)]
struct PackageDir {
    path: String,
}

impl Index {
    /// Indexes the project `path` belongs to.
    /// Only folders inside `root` are searched.
    pub fn for_path(path: &Path, root: &Root) -> Result<Index, Diagnostic> {
        let mut index = Index::default();
        let mut seen = 0;
        for dir in search_roots(path)? {
            if root.contains(&dir) {
                index.walk(&dir, 0, &mut seen);
            }
        }
        if seen >= MAX_ENTRIES {
            return Err(Diagnostic::new(
                path,
                Pos::FILE,
                format!(
                    "the project has more than {MAX_ENTRIES} files and folders: name the agent's bundle folder instead"
                ),
            ));
        }
        Ok(index)
    }

    fn walk(&mut self, dir: &Path, depth: usize, seen: &mut usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            *seen += 1;
            if *seen >= MAX_ENTRIES {
                return;
            }
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if name.starts_with('.') || name == "node_modules" {
                continue;
            }
            // Links are not followed: they could lead out of the project.
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                self.walk(&p, depth + 1, seen);
            } else if meta.is_file() {
                self.file(&p, &name);
            }
        }
    }

    fn file(&mut self, p: &Path, name: &str) {
        let parent = |n: usize| {
            p.ancestors()
                .nth(n)
                .and_then(|a| a.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or_default()
        };
        let put = |map: &mut BTreeMap<String, PathBuf>, key: &str| {
            map.entry(key.to_string()).or_insert_with(|| p.to_path_buf());
        };
        if let Some(n) = name.strip_suffix(".genAiPlannerBundle")
            && parent(1) == n
            && parent(2) == "genAiPlannerBundles"
        {
            put(&mut self.bundles, n);
        } else if let Some(n) = name.strip_suffix(".genAiPlanner-meta.xml")
            && parent(1) == "genAiPlanners"
        {
            put(&mut self.planners, n);
        } else if let Some(n) = name.strip_suffix(".genAiPlugin-meta.xml")
            && parent(1) == "genAiPlugins"
        {
            put(&mut self.plugins, n);
        } else if let Some(n) = name.strip_suffix(".genAiFunction-meta.xml")
            && parent(1) == n
            && parent(2) == "genAiFunctions"
        {
            put(&mut self.functions, n);
        } else if let Some(n) = name.strip_suffix(".agent")
            && parent(1) == n
            && parent(2) == "aiAuthoringBundles"
        {
            put(&mut self.authoring, n);
        } else if name.ends_with(".botVersion-meta.xml") && parent(2) == "bots" {
            self.bot_versions.push((parent(1).to_string(), p.to_path_buf()));
        } else if let Some(n) = name.strip_suffix(".bot-meta.xml")
            && parent(1) == n
            && parent(2) == "bots"
        {
            put(&mut self.bots, n);
        }
    }
}

/// Where a project's metadata is: the package directories of the nearest
/// `sfdx-project.json` at or above `path`; else, for a path inside a
/// metadata type folder, the folder above the type folders; else `path`.
fn search_roots(path: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let start = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    if let Some(project) = start.ancestors().find(|a| a.join("sfdx-project.json").is_file()) {
        return package_dirs(project);
    }
    let types = ["genAiPlannerBundles", "genAiPlanners", "aiAuthoringBundles"];
    if let Some(above) = start
        .ancestors()
        .find(|a| {
            a.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| types.contains(&n))
        })
        .and_then(Path::parent)
    {
        return Ok(vec![above.to_path_buf()]);
    }
    Ok(vec![start])
}

fn package_dirs(project: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let file = project.join("sfdx-project.json");
    let bytes = read_regular(&file, MAX_FILE_BYTES)
        .map_err(|e| Diagnostic::new(&file, Pos::FILE, format!("cannot read: {e}")))?;
    let parsed: Project = serde_json::from_slice(&bytes).map_err(|e| {
        // serde_json says column 0 for the start of a line (at the end of
        // the file, say), and its message repeats the position.
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => &message[..i],
            None => &message,
        };
        Diagnostic::new(
            &file,
            Pos::new(e.line().max(1) as u64, e.column().max(1) as u64),
            format!("not a valid sfdx-project.json: {message}"),
        )
        .unquoted()
    })?;
    let mut dirs = Vec::new();
    for d in parsed.package_directories {
        let dir = project.join(&d.path);
        // A package directory outside the project is not searched.
        let inside = Path::new(&d.path)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
        if inside && dir.is_dir() {
            dirs.push(dir);
        }
    }
    if dirs.is_empty() {
        dirs.push(project.to_path_buf());
    }
    Ok(dirs)
}
