//! Slot extractors: how a slot's value is found in an utterance.

use std::sync::OnceLock;

use regex::Regex;

/// Compiles a regex with a small lazy-DFA cache. Each thread that uses a
/// regex keeps its own cache; at the default size (megabytes each) the caches
/// of a few slot and `says` patterns would outweigh a whole suite.
pub fn small_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).dfa_size_limit(1 << 17).build()
}

/// The useful line of a regex error ("unclosed character class").
pub fn regex_error_detail(e: &regex::Error) -> String {
    let msg = e.to_string();
    let line = msg.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&msg).trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// The kind of value an extractor finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    Email,
    Phone,
    Digits,
    Pattern,
    /// Whatever the caller says when asked for the slot: no text finds it
    /// by itself, the engine fills it with the answer.
    Answer,
}

/// The built-in shapes' regexes, compiled once. A clone shares the
/// compiled regex (each clone keeps its own small cache): an agent with
/// tens of thousands of slots compiled one regex per slot.
static EMAIL: OnceLock<Regex> = OnceLock::new();
static PHONE: OnceLock<Regex> = OnceLock::new();
static DIGITS: OnceLock<Regex> = OnceLock::new();
static NOTHING: OnceLock<Regex> = OnceLock::new();

fn shared(cell: &OnceLock<Regex>, pattern: &str) -> Regex {
    cell.get_or_init(|| small_regex(pattern).expect("static regex")).clone()
}

/// How a slot's value is found in an utterance.
#[derive(Debug)]
pub struct Extractor {
    pub shape: Shape,
    regex: Regex,
    needs_digit: bool,
    needs_at: bool,
    phone: bool,
}

impl Extractor {
    pub fn email() -> Extractor {
        Extractor {
            shape: Shape::Email,
            regex: shared(&EMAIL, r"(?i-u)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"),
            needs_digit: false,
            needs_at: true,
            phone: false,
        }
    }

    /// A number written with a leading `+`, or of ten digits or more, so
    /// that an eight-digit account number is not taken for a phone number.
    pub fn phone() -> Extractor {
        Extractor {
            shape: Shape::Phone,
            regex: shared(&PHONE, r"(?-u)\+?\(?\d[\d\-\s().]{6,}\d"),
            needs_digit: true,
            needs_at: false,
            phone: true,
        }
    }

    pub fn digits() -> Extractor {
        Extractor {
            shape: Shape::Digits,
            regex: shared(&DIGITS, r"[0-9]+"),
            needs_digit: true,
            needs_at: false,
            phone: false,
        }
    }

    pub fn pattern(regex: Regex) -> Extractor {
        Extractor {
            shape: Shape::Pattern,
            regex,
            needs_digit: false,
            needs_at: false,
            phone: false,
        }
    }

    /// A slot filled by the caller's answer when the agent asks for it.
    pub fn answer() -> Extractor {
        Extractor {
            shape: Shape::Answer,
            // Never consulted: `find` returns before using it.
            regex: shared(&NOTHING, r"[^\s\S]"),
            needs_digit: false,
            needs_at: false,
            phone: false,
        }
    }

    /// The regex source of a `pattern` slot.
    pub fn source(&self) -> &str {
        self.regex.as_str()
    }

    /// The byte range of the slot value in `text`, if there is one: the
    /// first capture group when the pattern has one, else the whole match.
    pub fn find(&self, text: &str) -> Option<(usize, usize)> {
        if self.shape == Shape::Answer {
            return None;
        }
        if self.needs_at && !text.as_bytes().contains(&b'@') {
            return None;
        }
        if self.needs_digit && !text.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        // An empty match fills nothing, and a pattern with a group takes the
        // group's text only where the group matched.
        let found = if self.regex.captures_len() > 1 {
            self.regex
                .captures_iter(text)
                .filter_map(|c| c.get(1))
                .find(|m| !m.is_empty() && self.plausible(m.as_str()))
        } else {
            self.regex
                .find_iter(text)
                .find(|m| !m.is_empty() && self.plausible(m.as_str()))
        };
        found.map(|m| (m.start(), m.end()))
    }

    fn plausible(&self, value: &str) -> bool {
        if !self.phone {
            return true;
        }
        let digits = value.bytes().filter(u8::is_ascii_digit).count();
        digits >= 10 || (value.starts_with('+') && digits >= 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractors_find_values() {
        let text = "it's Jane.Doe+x@example.co.uk thanks";
        let (s, e) = Extractor::email().find(text).unwrap();
        assert_eq!(&text[s..e], "Jane.Doe+x@example.co.uk");
        assert!(Extractor::email().find("jane at example").is_none());
        let text = "call me on +1 (555) 010-9999";
        let (s, e) = Extractor::phone().find(text).unwrap();
        assert_eq!(&text[s..e], "+1 (555) 010-9999");
        let text = "it's (555) 010-9999";
        let (s, e) = Extractor::phone().find(text).unwrap();
        assert_eq!(&text[s..e], "(555) 010-9999");
        assert!(Extractor::phone().find("account 12345678").is_none());
        assert!(Extractor::phone().find("+1 ...... 2").is_none());
        let empty = Extractor::pattern(Regex::new(r"\d*").unwrap());
        assert_eq!(empty.find("get me a human"), None);
        assert_eq!(empty.find("it is 42"), Some((6, 8)));
        let p = Extractor::pattern(Regex::new(r"\b(\d{8})\b").unwrap());
        assert_eq!(p.find("acct 12345678 ok"), Some((5, 13)));
    }
}
