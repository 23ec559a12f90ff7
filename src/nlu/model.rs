//! The trained request model: built by `build.rs` from the labelled corpus
//! (`corpus/requests.tsv`, held-out part excluded) and expanded once, on
//! first use, into a dense weight table. Scoring an utterance is one pass
//! over its normalised text and a table lookup per feature: no allocation.

use std::sync::LazyLock;

use super::learn::{self, SIZE, Weights};

/// Scores at or above this are requests; at or below [`LOW`] they are not;
/// between the two an LLM could go either way, and the recogniser says
/// "uncertain" (fuzz and verify explore both readings).
pub const HIGH: f32 = 0.7;
pub const LOW: f32 = 0.4;

/// The model as `build.rs` wrote it: the number of weights that are not
/// zero, the bias, then (bucket, weight) pairs, all little-endian.
static BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/request_model.bin"));

struct Model {
    bias: f32,
    w: Box<[f32]>,
}

static MODEL: LazyLock<Model> = LazyLock::new(|| {
    let word = |i: usize| <[u8; 4]>::try_from(&BYTES[4 * i..4 * i + 4]).expect("4 bytes");
    let n = u32::from_le_bytes(word(0)) as usize;
    let bias = f32::from_le_bytes(word(1));
    let mut w = vec![0.0f32; SIZE].into_boxed_slice();
    for k in 0..n {
        let bucket = u32::from_le_bytes(word(2 + 2 * k)) as usize;
        w[bucket % SIZE] = f32::from_le_bytes(word(3 + 2 * k));
    }
    Model { bias, w }
});

/// Loads the model now rather than on the first utterance.
pub fn preload() {
    LazyLock::force(&MODEL);
}

fn weights() -> Weights<'static> {
    Weights {
        bias: MODEL.bias,
        w: &MODEL.w,
    }
}

/// The model's logit for a normalised utterance ([`learn::normalize`]).
pub(super) fn model_logit(norm: &str) -> f32 {
    weights().logit(norm)
}

/// The model's logits for the utterances a thread read last, by their
/// normalised text: a suite or a search says the same lines again and
/// again. Direct-mapped, exact (the text is compared, not just its hash),
/// fixed in size: nothing is allocated after a thread's first utterance.
struct LogitCache {
    lens: [u8; CACHE_SLOTS],
    texts: [[u8; CACHE_TEXT]; CACHE_SLOTS],
    logits: [f32; CACHE_SLOTS],
}

const CACHE_SLOTS: usize = 256;
/// Longer utterances are scored every time.
const CACHE_TEXT: usize = 64;

impl Default for LogitCache {
    fn default() -> Self {
        LogitCache {
            lens: [0; CACHE_SLOTS],
            texts: [[0; CACHE_TEXT]; CACHE_SLOTS],
            logits: [0.0; CACHE_SLOTS],
        }
    }
}

impl std::fmt::Debug for LogitCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used = self.lens.iter().filter(|&&l| l > 0).count();
        write!(f, "LogitCache({used} of {CACHE_SLOTS} slots used)")
    }
}

thread_local! {
    static CACHE: std::cell::RefCell<Box<LogitCache>> = std::cell::RefCell::new(Box::default());
}

/// The model's logit for a normalised utterance, from this thread's cache
/// when it read the same text before.
pub(super) fn cached_logit(norm: &str) -> f32 {
    CACHE.with(|c| c.borrow_mut().logit(norm))
}

impl LogitCache {
    /// The model's logit for a normalised utterance.
    fn logit(&mut self, norm: &str) -> f32 {
        let bytes = norm.as_bytes();
        if bytes.is_empty() || bytes.len() > CACHE_TEXT {
            return model_logit(norm);
        }
        let slot = learn::fnv(0x2b99_2ddf, bytes) as usize % CACHE_SLOTS;
        let len = self.lens[slot] as usize;
        if len == bytes.len() && &self.texts[slot][..len] == bytes {
            return self.logits[slot];
        }
        let z = model_logit(norm);
        self.lens[slot] = bytes.len() as u8;
        self.texts[slot][..bytes.len()].copy_from_slice(bytes);
        self.logits[slot] = z;
        z
    }
}

/// The model's score (0 to 1) that `text` asks for a human, before the
/// rules have their say. Allocates: not for the hot path.
pub fn model_score(text: &str) -> f32 {
    let mut norm = String::new();
    learn::normalize(text, &mut norm);
    learn::sigmoid(model_logit(&norm))
}

/// The words of `text` that weigh most for a request (`toward` true) or
/// against one: the run of neighbouring words whose features add up to the
/// most, as the model sees them. For transcripts.
pub fn explain_words(text: &str, toward: bool) -> String {
    let mut norm = String::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    learn::normalize_with(text, &mut norm, |s, e| spans.push((s, e)));
    if spans.is_empty() {
        return String::new();
    }
    let model = weights();
    let mut per_word = vec![0.0f32; spans.len()];
    let mut norm2 = 0.0f32;
    learn::for_each_feature(&norm, |b, x, first, last| {
        norm2 += x * x;
        let (first, last) = (first as usize, (last as usize).min(spans.len() - 1));
        if first > last {
            return;
        }
        let share = model.w[b as usize] * x / (last - first + 1) as f32;
        for p in &mut per_word[first..=last] {
            *p += if toward { share } else { -share };
        }
    });
    // The best run (Kadane); ties keep the earliest, shortest one.
    let (mut best, mut best_span) = (f32::MIN, (0, 0));
    let (mut sum, mut from) = (0.0f32, 0);
    for (i, &c) in per_word.iter().enumerate() {
        if sum <= 0.0 {
            sum = 0.0;
            from = i;
        }
        sum += c;
        if sum > best {
            best = sum;
            best_span = (from, i);
        }
    }
    let (a, b) = best_span;
    text[spans[a].0..spans[b].1].to_string()
}
