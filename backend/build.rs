//! Builds the mobile web app (`mobile/` → `mobile/dist`) when its output is missing or older
//! than its sources, so that `cargo run` on a fresh clone serves a working app at `/m/`.
//!
//! Node.js and npm do the work (`npm ci` when `node_modules` is missing or stale, then `npm run
//! build`). Without them the server still builds and runs; it answers `/m/` with a page that
//! says what to install, and this script says the same as a cargo warning. Set
//! `YUNYIN_SKIP_APP_BUILD=1` to skip it (packaging, or a build machine without Node).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::SystemTime,
};

/// What the app is built from (relative to `mobile/`), beside the API client in `openapi/`.
const INPUTS: &[&str] =
    &["src", "public", "scripts", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"];

fn main() {
    println!("cargo:rerun-if-env-changed=YUNYIN_SKIP_APP_BUILD");
    let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR") else { return };
    let mobile = Path::new(&manifest).join("../mobile");
    if !mobile.join("package.json").is_file() {
        return; // Built outside the repository (e.g. from a package): no app sources here.
    }
    for input in INPUTS {
        println!("cargo:rerun-if-changed={}", mobile.join(input).display());
    }
    let client = mobile.join("../openapi/client/schema.d.ts");
    println!("cargo:rerun-if-changed={}", client.display());
    let built = mobile.join("dist/index.html");
    // A missing path counts as changed on every build, so a deleted dist is rebuilt.
    println!("cargo:rerun-if-changed={}", built.display());
    if std::env::var_os("YUNYIN_SKIP_APP_BUILD").is_some_and(|v| v != "0") {
        return;
    }

    let inputs: Vec<PathBuf> = INPUTS.iter().map(|i| mobile.join(i)).chain([client]).collect();
    let newest_input = inputs.iter().filter_map(|p| newest(p)).max();
    if modified(&built).is_some_and(|b| newest_input.is_none_or(|i| i <= b)) {
        return; // Up to date.
    }
    if Command::new("npm").arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        println!(
            "cargo:warning=the mobile app is not built and Node.js is missing: install it (Debian: `apt-get install nodejs npm`) and build again; the server runs without the app meanwhile"
        );
        return;
    }
    let installed = mobile.join("node_modules/.package-lock.json");
    let lock_newer = match (modified(&mobile.join("package-lock.json")), modified(&installed)) {
        (Some(lock), Some(inst)) => lock > inst,
        _ => true,
    };
    if lock_newer && !npm(&mobile, &["ci", "--no-audit", "--no-fund", "--loglevel=error"]) {
        return;
    }
    npm(&mobile, &["run", "--silent", "build"]);
}

/// Runs npm in `dir`; a failure is a cargo warning, not a failed build of the server.
fn npm(dir: &Path, args: &[&str]) -> bool {
    match Command::new("npm").args(args).current_dir(dir).output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
            println!("cargo:warning=`npm {}` in mobile/ failed: {last}", args.join(" "));
            false
        }
        Err(e) => {
            println!("cargo:warning=cannot run npm in mobile/: {e}");
            false
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file or of anything below a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = path.metadata().ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path).ok()?.filter_map(Result::ok).filter_map(|e| newest(&e.path())).max()
}
