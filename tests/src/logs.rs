//! The log lines of this test process: the server's real subscriber, installed once per test
//! binary and writing JSON lines here, so a test can check what was (or was not) logged.

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use serde_json::Value;
use yunyin_server::config::LogFormat;

#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
    }

    /// Everything logged so far, one JSON object per line.
    pub fn lines(&self) -> Vec<Value> {
        self.text().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

/// Starts capturing (the first call in a process installs the subscriber with `filter`, e.g.
/// `info` or `debug`; later calls return the same capture).
pub fn capture(filter: &str) -> &'static CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = CapturedLogs::default();
        let sink = captured.clone();
        yunyin_server::telemetry::init_with_writer(LogFormat::Json, filter, move || sink.clone());
        captured
    })
}
