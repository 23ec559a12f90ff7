//! Touching the file system on behalf of a suite, which arrives in a pull
//! request and so is untrusted: [`read`] opens only regular files and caps
//! what it reads while reading; [`root`] finds a suite's project root and
//! keeps every path the suite names inside it.

pub mod read;
pub mod root;

pub use read::{MAX_FILE_BYTES, open_regular, read_regular};
pub use root::{Confinement, Root};
