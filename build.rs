//! Trains the request recogniser's model from the labelled corpus, leaving
//! out its held-out part, and writes it where `src/nlu/model.rs` includes it.
//! Training is deterministic: the same corpus gives the same bytes.

#[path = "src/nlu/learn.rs"]
mod learn;

fn main() {
    let corpus = "src/nlu/corpus/requests.tsv";
    println!("cargo:rerun-if-changed={corpus}");
    println!("cargo:rerun-if-changed=src/nlu/learn.rs");
    let tsv = std::fs::read_to_string(corpus).expect("read the request corpus");
    let examples = learn::parse_corpus(&tsv).unwrap_or_else(|e| panic!("{corpus}: {e}"));
    let train: Vec<learn::Example<'_>> = examples.into_iter().filter(|e| !learn::held_out(e.text)).collect();
    let (bias, w) = learn::train(&train);
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("request_model.bin"), learn::to_bytes(bias, &w)).expect("write the model");
}
