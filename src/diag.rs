//! Load and validation diagnostics: every problem with an input file is a
//! [`Diagnostic`] that names the file, line and column, and says what was
//! expected. The CLI prints them with a source snippet; tests compare the
//! one-line [`Display`](std::fmt::Display) form.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a source file, 1-based. `line == 0` means "the file as a whole".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub const FILE: Pos = Pos { line: 0, col: 0 };

    pub fn new(line: u64, col: u64) -> Pos {
        Pos {
            line: line.min(u32::MAX as u64) as u32,
            col: col.min(u32::MAX as u64) as u32,
        }
    }

    /// The position of a value deserialized with [`serde_saphyr::Spanned`].
    pub fn of<T>(spanned: &serde_saphyr::Spanned<T>) -> Pos {
        Pos::new(spanned.referenced.line(), spanned.referenced.column())
    }
}

/// One problem with one input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub pos: Pos,
    pub message: String,
    /// A hint shown under the snippet ("did you mean ...").
    pub help: Option<String>,
    /// Whether the file's lines may be shown: not for a file that is not
    /// a baton file, which may hold anything (a secret in a CI log).
    pub quote: bool,
}

impl Diagnostic {
    pub fn new(path: &Path, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            path: path.to_path_buf(),
            pos,
            message: message.into(),
            help: None,
            quote: true,
        }
    }

    /// The same diagnostic, with no snippet of the file.
    pub fn unquoted(mut self) -> Diagnostic {
        self.quote = false;
        self
    }

    pub fn with_help(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }

    /// Renders the diagnostic with the offending source line underlined,
    /// reading the file again (errors are rare; keeping every source in
    /// memory for them is not worth it).
    pub fn render_snippet(&self, color: bool) -> Option<String> {
        use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic};
        if self.pos.line == 0 || !self.quote {
            return None;
        }
        let bytes = crate::files::read_regular(&self.path, crate::files::MAX_FILE_BYTES).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let offset = byte_offset(&text, self.pos)?;
        if !snippet_fits(&text, self.pos) {
            return None;
        }
        let mut diag =
            MietteDiagnostic::new(printable(&self.message)).with_label(LabeledSpan::at(offset..offset, "here"));
        if let Some(help) = &self.help {
            diag = diag.with_help(printable(help));
        }
        let name = printable(&self.path.display().to_string()).into_owned();
        let report = miette::Report::new(diag).with_source_code(miette::NamedSource::new(name, snippet_source(text)));
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let mut out = String::new();
        GraphicalReportHandler::new_themed(theme)
            .render_report(&mut out, report.as_ref())
            .ok()?;
        Some(out)
    }
}

impl fmt::Display for Diagnostic {
    /// One line, safe to print: the path, the message and the help may
    /// hold what a pull request wrote (a file name, a key, a name).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display().to_string();
        if self.pos.line == 0 {
            write!(f, "{}: {}", printable(&path), printable(&self.message))?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                printable(&path),
                self.pos.line,
                self.pos.col,
                printable(&self.message)
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, " ({})", printable(help))?;
        }
        Ok(())
    }
}

/// `text` with every character that is unsafe to print as it is (a
/// control character, line breaks included; a noncharacter; a
/// bidirectional control, which makes text show other than it is) written
/// as an escape, so that a file name or a key from a pull request can
/// neither forge a line of output nor drive the terminal.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(crate::model::name::is_unsafe) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    // As transcripts and JUnit reports write them.
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if crate::model::name::is_unsafe(c) => out.push_str(&format!("\\u{{{:X}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A path as `printable` shows it.
pub fn shown(path: &Path) -> String {
    printable(&path.display().to_string()).into_owned()
}

/// A source text as a snippet may show it: each unsafe character (but line
/// breaks and tabs, which the snippet lays out) becomes U+FFFD, one
/// character for one, so positions stay where they were.
fn snippet_source(text: String) -> String {
    if !text
        .chars()
        .any(|c| crate::model::name::is_unsafe(c) && !matches!(c, '\n' | '\t'))
    {
        return text;
    }
    let mut chars = text.chars().peekable();
    let mut out = String::with_capacity(text.len());
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' if chars.peek() == Some(&'\n') => out.push(c),
            c if crate::model::name::is_unsafe(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Positions of byte offsets in one text, as roxmltree gives them (row:
/// line breaks before, plus one; column: characters since the last line
/// break, plus one), in time independent of the text's length: roxmltree's
/// own `text_pos_at` counts from the start of the text on every call, so a
/// hostile file with many elements took time in the square of its size.
pub struct LineIndex<'t> {
    text: &'t str,
    /// Byte offset of the start of every line.
    starts: Vec<usize>,
    /// The last position asked for, as (offset, line start, column):
    /// positions are mostly asked for in document order, and on a very long
    /// line counting on from the last one keeps the total linear.
    last: std::cell::Cell<(usize, usize, u64)>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t str) -> LineIndex<'t> {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex {
            text,
            starts,
            last: std::cell::Cell::new((0, 0, 1)),
        }
    }

    /// The position of byte `offset` (clamped to the text, and back to a
    /// character boundary).
    pub fn pos(&self, offset: usize) -> Pos {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let (last_offset, last_start, last_col) = self.last.get();
        let col = if last_start == start && last_offset <= offset {
            last_col + self.text[last_offset..offset].chars().count() as u64
        } else {
            1 + self.text[start..offset].chars().count() as u64
        };
        self.last.set((offset, start, col));
        Pos::new(line as u64, col)
    }
}

/// Every diagnostic found while loading, sorted by file and position.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result<T>(mut self, ok: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() {
            Ok(ok)
        } else {
            self.0.sort_by(|a, b| (&a.path, a.pos).cmp(&(&b.path, b.pos)));
            self.0.dedup();
            Err(self)
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// "did you mean 'x'?" for a misspelt name, if one candidate is close enough.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean '{c}'?"))
}

/// Name comparisons that help texts may make on one thread. A did-you-mean
/// compares the name with every candidate: an agent with 20,000 unknown
/// references among 20,000 names made 400 million comparisons and ran for
/// minutes. Past the budget, help lists the names instead.
const SUGGESTION_COMPARISONS: u64 = 1_000_000;

thread_local! {
    static SUGGESTIONS_LEFT: std::cell::Cell<u64> = const { std::cell::Cell::new(SUGGESTION_COMPARISONS) };
}

/// The help for an unknown name: "did you mean 'x'?" when one candidate is
/// close (while the comparisons budget lasts), else the list of names that
/// would be accepted.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> Option<String> {
    let n = count(candidates.clone()) as u64;
    let affordable = SUGGESTIONS_LEFT.with(|left| {
        let l = left.get();
        left.set(l.saturating_sub(n));
        l >= n
    });
    affordable
        .then(|| did_you_mean(name, candidates.clone()))
        .flatten()
        .or_else(|| Some(one_of(candidates)))
}

/// The most names an "expected one of" list shows.
const MAX_LISTED: usize = 30;

/// A comma-separated list of names for "expected one of" messages (the
/// first [`MAX_LISTED`], and how many more).
fn one_of<'a>(names: impl IntoIterator<Item = &'a str> + Clone) -> String {
    let total = count(names.clone());
    let listed: Vec<&str> = names.into_iter().take(MAX_LISTED).collect();
    if listed.is_empty() {
        "none are defined".to_string()
    } else if total > listed.len() {
        format!(
            "expected one of: {} and {} more",
            listed.join(", "),
            total - listed.len()
        )
    } else {
        format!("expected one of: {}", listed.join(", "))
    }
}

/// How many items, without walking them when the iterator knows.
fn count<T>(items: impl IntoIterator<Item = T>) -> usize {
    let it = items.into_iter();
    match it.size_hint() {
        (lo, Some(hi)) if lo == hi => lo,
        _ => it.count(),
    }
}

/// The longest line, in bytes, a snippet shows. A hostile file can hold a
/// 10 MB line: drawing it took seconds and put it in the log twice; the
/// `file:line:col` line says where the problem is.
const MAX_SNIPPET_LINE: usize = 1_000;

/// Whether the lines a snippet shows (the one at `pos` and one on each
/// side) are short enough to draw.
fn snippet_fits(text: &str, pos: Pos) -> bool {
    let first = pos.line.saturating_sub(1).max(1) as usize;
    text.split('\n')
        .skip(first - 1)
        .take(pos.line as usize + 2 - first)
        .all(|l| l.len() <= MAX_SNIPPET_LINE)
}

fn byte_offset(text: &str, pos: Pos) -> Option<usize> {
    let mut line_start = 0usize;
    for _ in 1..pos.line {
        line_start += text[line_start..].find('\n')? + 1;
    }
    let line = &text[line_start..];
    let col_bytes = line
        .char_indices()
        .nth(pos.col.saturating_sub(1) as usize)
        .map(|(i, _)| i)
        .unwrap_or_else(|| line.find('\n').unwrap_or(line.len()));
    Some(line_start + col_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_and_column() {
        let d = Diagnostic::new(
            Path::new("suites/a.yaml"),
            Pos::new(12, 9),
            "unknown action 'createcas'",
        )
        .with_help(did_you_mean("createcas", ["createcase", "verify_account"]));
        assert_eq!(
            d.to_string(),
            "suites/a.yaml:12:9: unknown action 'createcas' (did you mean 'createcase'?)"
        );
    }

    #[test]
    fn line_index_agrees_with_roxmltree() {
        let text = "<a>\n  <b>é</b><c/>\n\n<d>‘x’<e/></d>\n</a>";
        let doc = roxmltree::Document::parse(text).unwrap();
        let index = LineIndex::new(text);
        let nodes: Vec<usize> = doc.descendants().map(|n| n.range().start).collect();
        // In document order, backwards, and past the end.
        for &o in nodes.iter().chain(nodes.iter().rev()).chain([text.len() + 5].iter()) {
            let p = doc.text_pos_at(o);
            assert_eq!(index.pos(o), Pos::new(p.row.into(), p.col.into()), "offset {o}");
        }
    }

    #[test]
    fn long_lists_of_names_are_cut() {
        let names: Vec<String> = (0..100).map(|i| format!("topic{i}")).collect();
        let help = suggest("zzz", names.iter().map(String::as_str)).unwrap();
        assert!(help.starts_with("expected one of: topic0, topic1, "), "{help}");
        assert!(help.ends_with(", topic29 and 70 more"), "{help}");
    }

    /// 20,000 unknown references among 20,000 names made 400 million
    /// comparisons for did-you-means; past the budget, help lists names.
    #[test]
    fn did_you_mean_has_a_budget() {
        let names: Vec<String> = (0..1_000).map(|i| format!("name_{i}")).collect();
        let names = || names.iter().map(String::as_str);
        let calls = SUGGESTION_COMPARISONS / 1_000;
        for _ in 0..calls {
            assert_eq!(suggest("name_7x", names()).as_deref(), Some("did you mean 'name_7'?"));
        }
        let help = suggest("name_7x", names()).unwrap();
        assert!(help.starts_with("expected one of: name_0, "), "{help}");
    }

    /// A key, a file name or a did-you-mean from a pull request went to the
    /// log as it was: a line break forged a line, an escape drove the
    /// terminal, a right-to-left override reversed the text.
    #[test]
    fn errors_print_no_unsafe_character() {
        let d = Diagnostic::new(
            Path::new("suites/a\nb\u{1b}[31m.yaml"),
            Pos::new(3, 1),
            "unknown field 'x\u{202E}y\r'",
        )
        .with_help(Some("did you mean 'a\u{FFFE}'?".into()));
        assert_eq!(
            d.to_string(),
            "suites/a\\nb\\x1b[31m.yaml:3:1: unknown field 'x\\u{202E}y\\r' (did you mean 'a\\u{FFFE}'?)"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.yaml");
        std::fs::write(&file, "a: 1\r\nb: \"x\u{202E}\u{1b}[2J\ry\"\r\nc: 3\n").unwrap();
        let snippet = Diagnostic::new(&file, Pos::new(2, 4), "bad")
            .render_snippet(false)
            .unwrap();
        assert!(
            !snippet.chars().any(|c| crate::model::name::is_unsafe(c) && c != '\n'),
            "{snippet:?}"
        );
        assert!(snippet.contains("b: \"x\u{FFFD}\u{FFFD}[2J\u{FFFD}y\""), "{snippet}");
    }

    #[test]
    fn snippets_are_not_drawn_for_huge_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.yaml");
        let long = "x".repeat(MAX_SNIPPET_LINE + 1);
        let at = |line| Diagnostic::new(&file, Pos::new(line, 1), "bad");
        std::fs::write(&file, format!("a: 1\nb: 2\nc: 3\n{long}\n")).unwrap();
        assert!(at(1).render_snippet(false).is_some());
        assert!(at(2).render_snippet(false).is_some());
        // The long line, and the lines next to it.
        for line in 3..=5 {
            assert!(at(line).render_snippet(false).is_none(), "line {line}");
        }
        std::fs::write(&file, format!("a: 1\n{}: 2\n", "k".repeat(10 << 20))).unwrap();
        assert!(at(2).render_snippet(false).is_none());
    }

    #[test]
    fn byte_offset_counts_characters_not_bytes() {
        let text = "a: 1\nb: ‘é’ x\n";
        assert_eq!(byte_offset(text, Pos::new(2, 1)), Some(5));
        let off = byte_offset(text, Pos::new(2, 8)).unwrap();
        assert_eq!(&text[off..off + 1], "x");
    }
}
