//! The topic classifier: cosine similarity of the utterance's word set
//! with each topic's example utterances and description.

use super::Scratch;

/// One topic as the classifier sees it.
#[derive(Debug)]
pub struct TopicModel {
    pub examples: Vec<Box<[u32]>>,
    pub description: Box<[u32]>,
    pub catch_all: bool,
}

/// Weight of a description match against an example-utterance match.
const DESCRIPTION_WEIGHT: f32 = 0.9;

impl TopicModel {
    /// Cosine similarity of the utterance's word set with the closest example.
    pub fn score(&self, s: &Scratch) -> f32 {
        let n = s.content_len();
        if n == 0 {
            return 0.0;
        }
        let best = self
            .examples
            .iter()
            .map(|e| cosine(&s.content, n, e))
            .fold(0.0f32, f32::max);
        best.max(DESCRIPTION_WEIGHT * cosine(&s.content, n, &self.description))
    }
}

fn cosine(a: &[u32], a_len: u32, b: &[u32]) -> f32 {
    if b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0u32);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f32 / ((a_len as f32) * (b.len() as f32)).sqrt()
}
