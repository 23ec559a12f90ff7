//! The labelled corpus the request model is trained on, and how a corpus is
//! scored: precision and recall of the recogniser on the utterances whose
//! label is certain, and how many fall in the uncertain band.

pub use super::learn::{Example, Label, held_out, parse_corpus};
use super::{Request, Scratch, Vocab};

/// `corpus/requests.tsv`: text, label, language, reason.
pub const REQUESTS_TSV: &str = include_str!("corpus/requests.tsv");

/// Which part of a corpus to score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// What the model was trained on.
    Train,
    /// What training never saw ([`held_out`]).
    HeldOut,
    Whole,
}

impl Part {
    pub fn contains(self, text: &str) -> bool {
        match self {
            Part::Train => !held_out(text),
            Part::HeldOut => held_out(text),
            Part::Whole => true,
        }
    }
}

/// How the recogniser does on a corpus.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Utterances labelled request or not.
    pub certain: usize,
    /// Requests read as requests; not-requests read as requests; requests
    /// read as anything else (no, negated or uncertain).
    pub true_pos: usize,
    pub false_pos: usize,
    pub false_neg: usize,
    /// Certain utterances the recogniser reads as uncertain, and of them
    /// those labelled request (counted in `false_neg` too).
    pub certain_in_band: usize,
    pub requests_in_band: usize,
    /// Utterances labelled uncertain, and those of them read as uncertain.
    pub uncertain: usize,
    pub uncertain_in_band: usize,
    /// The certain utterances read wrongly: (text, label, reading, score).
    pub errors: Vec<(String, Label, Request, f32)>,
}

impl Figures {
    /// Of the utterances read as requests, how many are.
    pub fn precision(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_pos)
    }
    /// Of the requests the recogniser commits on (reads as request or
    /// not, rather than uncertain), how many it reads as requests. The
    /// uncertain ones are neither right nor wrong: fuzz and verify take
    /// both readings. See [`Figures::strict_recall`] and the band size.
    pub fn recall(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_neg - self.requests_in_band)
    }
    /// Of all requests, how many are read as requests (uncertain counts
    /// as missed).
    pub fn strict_recall(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_neg)
    }
    /// The share of certain utterances read as uncertain.
    pub fn band(&self) -> f64 {
        ratio(self.certain_in_band, self.certain)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Reads every example of `part` with the recogniser (rules and model, as
/// the engine does; with the built-in vocabulary only).
pub fn evaluate(examples: &[Example<'_>], part: Part) -> Figures {
    evaluate_with(examples, part, Scratch::reading)
}

/// [`evaluate`] with the rules alone, as the recogniser was before the
/// model: the figures to compare with.
pub fn evaluate_rules_only(examples: &[Example<'_>], part: Part) -> Figures {
    evaluate_with(examples, part, |s| super::Reading {
        request: s.rules_only(),
        score: f32::NAN,
    })
}

fn evaluate_with(examples: &[Example<'_>], part: Part, read: impl Fn(&Scratch) -> super::Reading) -> Figures {
    let vocab = Vocab::new();
    let mut scratch = Scratch::default();
    let mut f = Figures::default();
    for e in examples.iter().filter(|e| part.contains(e.text)) {
        scratch.tokenize(&vocab, e.text);
        let r = read(&scratch);
        let yes = r.request == Request::Yes;
        match e.label {
            Label::Uncertain => {
                f.uncertain += 1;
                f.uncertain_in_band += usize::from(r.request == Request::Uncertain);
            }
            label => {
                f.certain += 1;
                f.certain_in_band += usize::from(r.request == Request::Uncertain);
                let want = label == Label::Request;
                f.requests_in_band += usize::from(want && r.request == Request::Uncertain);
                match (want, yes) {
                    (true, true) => f.true_pos += 1,
                    (false, true) => f.false_pos += 1,
                    (true, false) => f.false_neg += 1,
                    (false, false) => {}
                }
                if want != yes {
                    f.errors.push((e.text.to_string(), label, r.request, r.score));
                }
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<Example<'static>> {
        parse_corpus(REQUESTS_TSV).expect("the corpus parses")
    }

    fn show(name: &str, f: &Figures) -> String {
        format!(
            "{name}: precision {:.3}, recall {:.3} (strict {:.3}) ({} certain: {} true, {} false positives, {} missed); uncertain band: {} of {} certain ({:.1}%), {} of {} labelled uncertain",
            f.precision(),
            f.recall(),
            f.strict_recall(),
            f.certain,
            f.true_pos,
            f.false_pos,
            f.false_neg,
            f.certain_in_band,
            f.certain,
            100.0 * f.band(),
            f.uncertain_in_band,
            f.uncertain
        )
    }

    #[test]
    fn the_corpus_is_large_varied_and_split() {
        let all = corpus();
        assert!(all.len() >= 300, "{} utterances", all.len());
        let mut languages: Vec<&str> = all.iter().map(|e| e.language.split('-').next().unwrap()).collect();
        languages.sort_unstable();
        languages.dedup();
        assert!(languages.len() >= 4, "{languages:?}");
        let held = all.iter().filter(|e| held_out(e.text)).count();
        assert!(held * 100 >= 30 * all.len(), "{held} of {} held out", all.len());
        let mut texts: Vec<&str> = all.iter().map(|e| e.text).collect();
        texts.sort_unstable();
        let before = texts.len();
        texts.dedup();
        assert_eq!(before, texts.len(), "an utterance is in the corpus twice");
        for label in [Label::Request, Label::Not, Label::Uncertain] {
            assert!(all.iter().any(|e| e.label == label), "no {label:?}");
        }
    }

    #[test]
    fn the_recogniser_meets_its_figures_held_out_and_whole() {
        let all = corpus();
        let mut report = String::new();
        for (name, part) in [
            ("train", Part::Train),
            ("held-out", Part::HeldOut),
            ("whole", Part::Whole),
        ] {
            let before = evaluate_rules_only(&all, part);
            report.push_str(&show(&format!("{name}, rules alone (before)"), &before));
            report.push('\n');
            let f = evaluate(&all, part);
            report.push_str(&show(name, &f));
            report.push('\n');
            if part == Part::HeldOut {
                for (text, label, read, score) in &f.errors {
                    report.push_str(&format!("  {label:?} read as {read:?} ({score:.2}): {text}\n"));
                }
            }
        }
        eprintln!("{report}");
        for part in [Part::HeldOut, Part::Whole] {
            let f = evaluate(&all, part);
            assert!(f.precision() >= 0.97, "{part:?}: {report}");
            assert!(f.recall() >= 0.95, "{part:?}: {report}");
        }
    }

    /// Another corpus in the same format, written by other hands, scored
    /// whole: `BATON_REQUEST_CORPUS=path cargo test -- --nocapture other_corpus`.
    #[test]
    fn other_corpus() {
        let Some(path) = std::env::var_os("BATON_REQUEST_CORPUS") else {
            return;
        };
        let tsv = std::fs::read_to_string(&path).expect("read BATON_REQUEST_CORPUS");
        let examples = parse_corpus(&tsv).expect("parse BATON_REQUEST_CORPUS");
        let before = evaluate_rules_only(&examples, Part::Whole);
        eprintln!("{}", show("rules alone (before)", &before));
        let f = evaluate(&examples, Part::Whole);
        eprintln!("{}", show(&path.to_string_lossy(), &f));
        for (text, label, read, score) in &f.errors {
            eprintln!("  {label:?} read as {read:?} ({score:.2}): {text}");
        }
    }

    /// What a turn costs the recogniser (tokenizing and reading, as the
    /// engine does): printed, not asserted. Over the whole corpus the
    /// logit cache misses (every utterance is new); over a dozen lines said
    /// again and again, as in a suite or a search, it hits.
    #[test]
    fn hot_path_cost() {
        let all = corpus();
        let vocab = Vocab::new();
        let mut scratch = Scratch::default();
        let mut time = |texts: &[&str], rounds: usize| {
            let start = std::time::Instant::now();
            let mut yes = 0usize;
            for _ in 0..rounds {
                for t in texts {
                    scratch.tokenize(&vocab, t);
                    yes += usize::from(scratch.reading().request == Request::Yes);
                }
            }
            (start.elapsed() / (rounds * texts.len()) as u32, yes)
        };
        let texts: Vec<&str> = all.iter().map(|e| e.text).collect();
        let (cold, yes) = time(&texts, 20);
        let (warm, _) = time(&texts[..12], 2_000);
        eprintln!(
            "tokenize + reading: {cold:?} per utterance, each new ({yes} requests read); {warm:?} for lines said again"
        );
    }
}
