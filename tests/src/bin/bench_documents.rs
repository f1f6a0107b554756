//! Document pipeline benchmarks (issue 3), each beside its baseline in the same run:
//!
//! 1. **Pipeline throughput**, pages/s: page count and per-page colour classification of a
//!    200-page mixed PDF (yunyin: lopdf + pdftoppm ranges in parallel, as the workers do),
//!    against `pdfinfo` + `gs -sDEVICE=inkcov` on the same file.
//! 2. **Upload throughput**, MB/s: a raw-body upload of a large PDF through the running server
//!    (HTTP over loopback, streamed to disk with SHA-256, fsync, type check, job row), against
//!    writing the same bytes to a file in the same directory with fsync.
//!
//! ```text
//! cargo build --release -p yunyin-e2e --bin bench-documents
//! ./target/release/bench-documents
//! ```
//! Options (environment): BENCH_ROUNDS (default 5), BENCH_PAGES (default 200),
//! BENCH_UPLOAD_MB (default 50). Rounds alternate between yunyin and the baseline; the
//! median round of each is reported. Runs on SQLite (the embedded default).

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::Path,
    time::{Duration, Instant},
};

use tokio::io::AsyncWriteExt;
use yunyin_e2e::{fixtures, TestApp};
use yunyin_server::{
    config::LogFormat,
    documents::{pdf, render},
};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Page count and colour flags the way the processing workers get them.
async fn yunyin_pipeline(file: &Path, parallel: u32) -> (usize, usize) {
    let path = file.to_path_buf();
    let facts = tokio::task::spawn_blocking(move || pdf::inspect(&path, 10_000)).await.unwrap().unwrap();
    let n = facts.pages.len() as u32;
    let flags = render::classify_pages(file, n, parallel, Duration::from_secs(600), |_, _| {}).await.unwrap();
    (facts.pages.len(), flags.iter().filter(|c| **c).count())
}

/// `pdfinfo` for the page count, `gs -sDEVICE=inkcov` for ink per page.
async fn baseline_pipeline(file: &Path) -> (usize, usize) {
    let info = tokio::process::Command::new("pdfinfo").arg(file).output().await.expect("pdfinfo (poppler-utils)");
    let pages: usize = String::from_utf8_lossy(&info.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|v| v.trim().parse().unwrap()))
        .expect("pdfinfo page count");
    let ink = tokio::process::Command::new("gs")
        .args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-o", "-", "-sDEVICE=inkcov"])
        .arg(file)
        .output()
        .await
        .expect("gs (ghostscript)");
    let text = String::from_utf8_lossy(&ink.stdout);
    let per_page: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| l.contains("CMYK"))
        .map(|l| l.split_whitespace().take(4).map(|v| v.parse().unwrap_or(0.0)).collect())
        .collect();
    assert_eq!(per_page.len(), pages, "inkcov reports every page");
    // inkcov's notion of colour: any C, M or Y ink.
    (pages, per_page.iter().filter(|c| c[..3].iter().any(|v| *v > 0.0)).count())
}

async fn bench_pipeline(rounds: u64, pages: usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.pdf");
    std::fs::write(&file, fixtures::mixed_pdf_of(pages)).unwrap();
    let cores = std::thread::available_parallelism().map_or(2, |p| p.get()) as u32;
    let expected_colour = (0..pages).filter(|i| i % 4 == 1 || i % 4 == 3).count();

    // Warm-up (page cache, fonts).
    yunyin_pipeline(&file, cores).await;
    baseline_pipeline(&file).await;
    let (mut ours, mut ours_one, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    let mut inkcov_colour = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let (n, colour) = yunyin_pipeline(&file, cores).await;
        ours.push(t.elapsed().as_secs_f64());
        assert_eq!((n, colour), (pages, expected_colour), "yunyin's answer is exact");
        let t = Instant::now();
        yunyin_pipeline(&file, 1).await;
        ours_one.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let (n, colour) = baseline_pipeline(&file).await;
        theirs.push(t.elapsed().as_secs_f64());
        assert_eq!(n, pages);
        inkcov_colour = colour;
    }
    let rate = |secs: f64| pages as f64 / secs;
    let (a, b, c) = (rate(median(ours)), rate(median(ours_one)), rate(median(theirs)));
    println!("## pipeline: {pages}-page mixed PDF, median of {rounds} rounds");
    println!("yunyin ({cores} ranges in parallel): {a:.0} pages/s, {expected_colour} colour pages (exact)");
    println!("yunyin (one range):                  {b:.0} pages/s");
    println!("pdfinfo + gs inkcov:                 {c:.0} pages/s, {inkcov_colour} pages with CMY ink");
    println!("ratio yunyin : baseline = {:.2} (one range: {:.2})", a / c, b / c);
}

async fn bench_upload(rounds: u64, mb: usize) {
    let app = TestApp::spawn_with(|c| c.max_upload_mb = (mb as u64) * 2).await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "BENCHUP", "bench").await;
    let bytes = fixtures::pdf_with_payload(mb);
    let size_mb = bytes.len() as f64 / 1e6;
    let baseline_dir = app.dir.path().join("files").join("bench");
    std::fs::create_dir_all(&baseline_dir).unwrap();

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let t = Instant::now();
        let created = app.upload(&token, "scan.pdf", bytes.clone()).await.expect(201);
        let upload = t.elapsed().as_secs_f64();
        // Untimed: let processing finish so it does not overlap the next measurement.
        let job = app.wait_job(&token, created["id"].as_str().unwrap(), Duration::from_secs(300)).await;
        assert_eq!(job["state"], "ready");
        let path = format!("/api/v1/jobs/{}", created["id"].as_str().unwrap());
        app.call(reqwest::Method::DELETE, &path, Some(&token), None, None).await;

        let target = baseline_dir.join(format!("copy-{round}"));
        let t = Instant::now();
        let mut f = tokio::fs::File::create(&target).await.unwrap();
        for chunk in bytes.chunks(64 * 1024) {
            f.write_all(chunk).await.unwrap();
        }
        f.sync_all().await.unwrap();
        let write = t.elapsed().as_secs_f64();
        std::fs::remove_file(&target).unwrap();
        // Round 0 warms up.
        if round > 0 {
            ours.push(upload);
            theirs.push(write);
        }
    }
    // Where the time goes: the PDF check alone (read + parse), and SHA-256 alone.
    let probe = baseline_dir.join("probe.pdf");
    std::fs::write(&probe, &bytes).unwrap();
    let t = Instant::now();
    pdf::inspect(&probe, 10_000).unwrap();
    let inspect = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes);
    let hash = t.elapsed().as_secs_f64();
    assert_eq!(digest.len(), 32);
    let (a, b) = (size_mb / median(ours), size_mb / median(theirs));
    println!("## upload: {size_mb:.1} MB PDF, median of {rounds} rounds");
    println!("yunyin upload (HTTP, hash, fsync, check, job row): {a:.0} MB/s");
    println!("write the same bytes to disk + fsync:              {b:.0} MB/s");
    println!("ratio yunyin : baseline = {:.2}", a / b);
    println!("(of an upload: PDF check {:.0} ms, SHA-256 {:.0} ms)", inspect * 1e3, hash * 1e3);
    app.stop().await;
}

#[tokio::main]
async fn main() {
    std::env::set_var("YUNYIN_TEST_BACKEND", "sqlite");
    std::env::remove_var("YUNYIN_TEST_REDIS_URL");
    yunyin_server::telemetry::init_with_writer(LogFormat::Json, "info", std::io::sink);
    let rounds = env_num("BENCH_ROUNDS", 5).max(1);
    bench_pipeline(rounds, env_num("BENCH_PAGES", 200) as usize).await;
    bench_upload(rounds, env_num("BENCH_UPLOAD_MB", 50) as usize).await;
}
