//! Running external tools with a time limit, killing the whole process group on overrun
//! (LibreOffice forks; killing only the first process would leave the worker running).

use std::{path::Path, process::Stdio, time::Duration};

use tokio::process::Command;

use super::DocumentError;

/// Output of a finished tool.
pub struct ToolOutput {
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `program args…`; errors on a non-zero exit, and kills it after `limit`.
pub async fn run(
    program: &str,
    args: &[&std::ffi::OsStr],
    cwd: Option<&Path>,
    limit: Duration,
) -> Result<ToolOutput, DocumentError> {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    let child = cmd.spawn().map_err(|e| DocumentError::Io(format!("{program}: {e}")))?;
    // Also kills the group when this future is dropped (a worker stopping mid-conversion).
    let mut guard = GroupGuard(child.id());
    let outcome = tokio::time::timeout(limit, child.wait_with_output()).await;
    let pid = guard.0.take();
    match outcome {
        Ok(Ok(out)) if out.status.success() => {
            Ok(ToolOutput { stdout: out.stdout, stderr: String::from_utf8_lossy(&out.stderr).into_owned() })
        }
        Ok(Ok(out)) => Err(DocumentError::ConversionFailed(format!(
            "{program} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        ))),
        Ok(Err(e)) => Err(DocumentError::Io(format!("{program}: {e}"))),
        Err(_) => {
            if let Some(pid) = pid {
                kill_group(pid);
            }
            Err(DocumentError::Timeout(limit.as_secs()))
        }
    }
}

/// Kills the process group it names when dropped while still armed.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            kill_group(pgid);
        }
    }
}

/// SIGKILL to the process group `pgid` (the tool and everything it forked).
fn kill_group(pgid: u32) {
    // `kill -KILL -- -PGID` keeps this crate free of unsafe libc calls.
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The full path of `program` if it is on PATH (or is itself a path that exists).
pub fn find(program: &str) -> Option<std::path::PathBuf> {
    let candidate = Path::new(program);
    if candidate.components().count() > 1 {
        return candidate.is_file().then(|| candidate.to_path_buf());
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file()))
}
