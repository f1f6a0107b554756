//! Headless Chromium driven by Playwright (Node), for the walks through the web app: the
//! scripts live in `mobile/e2e/` and run against the built app in `mobile/dist`.

use std::path::PathBuf;

/// The repository's root (the walks' scripts and the built app are found from it).
pub fn repo() -> PathBuf {
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    tests.parent().map(PathBuf::from).unwrap_or(tests)
}

/// Whether Chromium, Node, Playwright and the built app are here. The test command builds the
/// app first; in CI (`CI=true`) anything missing fails the run.
pub fn available_or_skip(test: &str) -> bool {
    crate::skip::all_present_or_skip(
        test,
        &[
            ("chromium (apt-get install chromium)", PathBuf::from("/usr/bin/chromium").exists()),
            ("node", crate::skip::node_runs()),
            ("mobile/node_modules (npm ci in mobile/)", repo().join("mobile/node_modules/playwright-core").exists()),
            ("mobile/dist (npm run build in mobile/)", repo().join("mobile/dist/index.html").exists()),
        ],
    )
}
