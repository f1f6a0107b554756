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

/// A walk (`mobile/e2e/<script>`) that asks the test for things on stdout and reads the
/// answers on stdin, a line each way; its stderr (the steps) is kept for the report.
pub struct Conversation {
    pub child: tokio::process::Child,
    pub stdin: tokio::process::ChildStdin,
    pub lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    pub stderr: tokio::task::JoinHandle<String>,
}

impl Conversation {
    /// Starts `node mobile/e2e/<script>` in `mobile/` with `env`.
    pub fn start(script: &str, env: &[(&str, &str)]) -> Self {
        use tokio::io::AsyncBufReadExt;
        let mut command = tokio::process::Command::new("node");
        command.arg(repo().join("mobile/e2e").join(script)).current_dir(repo().join("mobile"));
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts the walk");
        let stdin = child.stdin.take().expect("piped stdin");
        let lines = tokio::io::BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let stderr = child.stderr.take().expect("piped stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                text.push_str(&l);
                text.push('\n');
            }
            text
        });
        Self { child, stdin, lines, stderr }
    }

    /// Answers the walk with one line.
    pub async fn answer(&mut self, line: &str) {
        use tokio::io::AsyncWriteExt;
        self.stdin.write_all(format!("{line}\n").as_bytes()).await.expect("the walk reads its answers");
        self.stdin.flush().await.expect("the walk reads its answers");
    }
}
