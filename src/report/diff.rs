//! Unified diffs (made with `similar`) and their colouring.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

/// A unified diff of two texts, plain, with three lines of context.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

/// Adds ANSI colour to a unified diff: removals red, additions green, hunk
/// headers cyan. The output stream strips it when colour is off.
pub fn colorize(diff: &str) -> String {
    let red = Style::new().fg_color(Some(AnsiColor::Red.into()));
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let cyan = Style::new().fg_color(Some(AnsiColor::Cyan.into()));
    let bold = Style::new().bold();
    let mut out = String::with_capacity(diff.len() + 64);
    for line in diff.split_inclusive('\n') {
        let style = if line.starts_with("---") || line.starts_with("+++") {
            bold
        } else if line.starts_with('-') {
            red
        } else if line.starts_with('+') {
            green
        } else if line.starts_with("@@") {
            cyan
        } else {
            Style::new()
        };
        let body = line.strip_suffix('\n').unwrap_or(line);
        let _ = write!(out, "{style}{body}{style:#}");
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_the_changed_line_only_as_change() {
        let d = unified("a\nb\nc\n", "a\nB\nc\n", "expected", "actual");
        assert!(d.contains("--- expected\n+++ actual\n"), "{d}");
        assert!(d.contains("-b\n+B\n"), "{d}");
        assert!(d.contains(" a\n"), "{d}");
    }

    #[test]
    fn colour_codes_wrap_lines_and_strip_back_to_the_plain_diff() {
        let d = unified("a\n", "b\n", "x", "y");
        let c = colorize(&d);
        assert!(c.contains("\u{1b}["));
        let stripped: String = anstream::adapter::strip_str(&c).to_string();
        assert_eq!(stripped, d);
    }
}
