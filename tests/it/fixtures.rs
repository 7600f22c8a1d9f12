//! Where the integration tests find their fixtures.
//!
//! - The oracle values (numbers this team computed with statsmodels, scikit-learn,
//!   utilsforecast and exact Markov solutions) live in `tests/data/` inside the crate, so
//!   the tests that compare with them always run.
//! - The real third-party datasets (Olist, Maven, the ChannelAttribution example file)
//!   may not be copied into the crate; they are read from `../shared/data/` beside the
//!   checkout. When that folder is absent, a test that needs it **fails** if the
//!   environment variable `CI` is set, and otherwise skips with a notice naming the path.

use std::path::{Path, PathBuf};

/// The text of an oracle file in `tests/data/` (always present: a missing file fails).
pub fn oracle(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("oracle file {} unreadable: {e}", path.display()))
}

/// The path of a real dataset under `../shared/data/` (e.g. `"real/maven_crm_sales_pipeline.csv"`),
/// or `None` after a notice when it is absent locally.
///
/// # Panics
/// When the file is absent and `CI` is set: in CI every test must run.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is absent and CI is set: the real-data tests must run in CI \
         (place the shared data folder beside the checkout)",
        path.display()
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "skipped: {} is absent (set CI to make this a failure)",
            path.display()
        );
    }
    None
}

/// [`shared`], opened.
pub fn shared_file(rel: &str) -> Option<std::fs::File> {
    let path = shared(rel)?;
    Some(
        std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("{} exists but cannot be opened: {e}", path.display())),
    )
}
