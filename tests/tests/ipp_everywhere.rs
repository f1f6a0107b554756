//! The server as an IPP Everywhere printer per enterprise (issue 16, section 2), against real
//! IPP clients: CUPS's own conformance files run by `ipptool`, and a real CUPS scheduler that
//! adds the printer with `lpadmin -m everywhere` and prints to it with `lp`. Jobs land held in
//! the user's list and come out of a real printer (ippeveprinter) once released at a print
//! point through the real gateway.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{
    fixtures,
    peers::{ipptool, printer::TestPrinter},
    site::GatewaySite,
    TestApp,
};

fn printer_uri(a: &TestApp, code: &str) -> String {
    format!("{}/ipp/print/{code}", a.base.replacen("http://", "ipp://", 1))
}

async fn printing_token(a: &TestApp, user: &str, name: &str) -> String {
    let made = a.post("/api/v1/me/printing-tokens", Some(user), json!({ "name": name })).await.expect(201);
    made["secret"].as_str().unwrap().to_string()
}

fn write_temp(bytes: &[u8], suffix: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    file
}

/// Plays the user at the print point: every job that has been ready for a few seconds is
/// released there (a job cancelled right after it arrived, as the conformance files do, is
/// left alone). Runs until `stop` says so.
async fn release_ready_jobs(base: String, user: String, code: String, mut stop: tokio::sync::watch::Receiver<bool>) {
    let client = reqwest::Client::new();
    let mut round = 0u32;
    loop {
        let jobs = client.get(format!("{base}/api/v1/jobs?state=ready")).bearer_auth(&user).send().await;
        let list: Vec<Value> = match jobs {
            Ok(r) if r.status() == 200 => {
                r.json::<Value>().await.ok().and_then(|v| v.as_array().cloned()).unwrap_or_default()
            }
            _ => vec![],
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let ids: Vec<String> = list
            .iter()
            .filter(|j| now - j["updated_at"].as_i64().unwrap_or(now) > 2_000)
            .map(|j| j["id"].as_str().unwrap().to_string())
            .collect();
        if !ids.is_empty() {
            round += 1;
            let reply = client
                .post(format!("{base}/api/v1/release/{code}"))
                .bearer_auth(&user)
                .json(&json!({ "release_id": format!("ipp-release-{round:04}"), "job_ids": ids }))
                .send()
                .await
                .unwrap();
            let status = reply.status();
            assert!(!status.is_server_error(), "release: {status} {}", reply.text().await.unwrap_or_default());
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// A PWG Raster stream (PWG 5102.4) of `pages` pages `w_in`×`h_in` inches at `dpi`: white,
/// with a block in the middle (red for colour, mid-grey otherwise), PackBits lines with
/// repeats. `kind` is the sample directory's name: black-1, sgray-8 or srgb-8.
fn pwg_sample(kind: &str, dpi: u32, w_in: f64, h_in: f64, pages: u32, colour: bool) -> Vec<u8> {
    let (space, bits, unit): (u32, u32, usize) = match kind {
        "black-1" => (3, 1, 0),
        "sgray-8" => (18, 8, 1),
        "srgb-8" => (19, 8, 3),
        other => panic!("no encoder for {other}"),
    };
    let width = (w_in * f64::from(dpi)).round() as u32;
    let height = (h_in * f64::from(dpi)).round() as u32;
    let bytes_per_line = if unit == 0 { width.div_ceil(8) } else { width * unit as u32 };
    let mut out = b"RaS2".to_vec();
    for _ in 0..pages {
        let mut h = vec![0u8; 1796];
        h[..9].copy_from_slice(b"PwgRaster");
        let mut put = |at: usize, v: u32| h[at..at + 4].copy_from_slice(&v.to_be_bytes());
        put(276, dpi);
        put(280, dpi);
        put(352, (w_in * 72.0).round() as u32);
        put(356, (h_in * 72.0).round() as u32);
        put(372, width);
        put(376, height);
        put(384, bits);
        put(388, if unit == 0 { 1 } else { 8 * unit as u32 });
        put(392, bytes_per_line);
        put(400, space);
        put(420, unit.max(1) as u32);
        out.extend_from_slice(&h);
        // One line of white and one across the block; each repeated for its rows.
        let (x0, x1) = (width / 4, width * 3 / 4);
        let (y0, y1) = (height / 3, height * 2 / 3);
        let white: Vec<u8> = match unit {
            0 => vec![0u8; bytes_per_line as usize],
            n => vec![0xFF; width as usize * n],
        };
        let mut block = white.clone();
        for x in x0..x1 {
            match unit {
                0 => block[(x / 8) as usize] |= 0x80 >> (x % 8),
                1 => block[x as usize] = 0x80,
                _ => {
                    let px = if colour { [0xE0, 0x20, 0x20] } else { [0x80, 0x80, 0x80] };
                    block[x as usize * 3..x as usize * 3 + 3].copy_from_slice(&px);
                }
            }
        }
        for (rows, line) in [(y0, &white), (y1 - y0, &block), (height - y1, &white)] {
            let mut left = rows;
            while left > 0 {
                let n = left.min(256);
                out.push((n - 1) as u8);
                packbits(&mut out, line, unit.max(1));
                left -= n;
            }
        }
    }
    out
}

/// One line, PackBits as PWG 5102.4 has it: runs of up to 128 equal pixels, else literals.
fn packbits(out: &mut Vec<u8>, line: &[u8], unit: usize) {
    let px: Vec<&[u8]> = line.chunks(unit).collect();
    let mut i = 0;
    while i < px.len() {
        let mut run = 1;
        while i + run < px.len() && px[i + run] == px[i] && run < 128 {
            run += 1;
        }
        if run > 1 || i + 1 == px.len() {
            out.push((run - 1) as u8);
            out.extend_from_slice(px[i]);
            i += run;
        } else {
            let mut lit = 1;
            while i + lit < px.len() && lit < 128 && (i + lit + 1 >= px.len() || px[i + lit] != px[i + lit + 1]) {
                lit += 1;
            }
            out.push((257 - lit) as u8);
            for p in &px[i..i + lit] {
                out.extend_from_slice(p);
            }
            i += lit;
        }
    }
}

/// The documents the conformance files print, made beside a copy of the files in `dir`: the
/// PDFs and JPEGs of `ipp-1.1.test` and the PWG's raster samples of `ipp-everywhere.test`
/// (the PWG distributes them apart from CUPS; Debian ships none).
/// Each sample the printer advertises (150 and 300 dpi; black_1, sgray_8, srgb_8) is a real
/// raster of its size and kind. ipptool 2.4.2 insists that every FILE be readable while it
/// reads the file, even in tests it then skips because the printer does not advertise that
/// resolution or kind; those samples, never sent, are empty files.
fn conformance_files(dir: &std::path::Path) {
    for name in ["ipp-1.1.test", "ipp-2.0.test", "ipp-everywhere.test"] {
        std::fs::copy(ipptool::test_file(name), dir.join(name)).unwrap();
    }
    // The documents ipp-1.1.test prints (from CUPS's source tree, not packaged either).
    let a4 = (595.28, 841.89);
    let letter = (612.0, 792.0);
    let doc = |size: (f64, f64)| {
        fixtures::pdf(
            &(1..=2)
                .map(|n| fixtures::PageSpec { size, content: fixtures::mono_text(n), rotate: None })
                .collect::<Vec<_>>(),
        )
    };
    std::fs::write(dir.join("document-a4.pdf"), doc(a4)).unwrap();
    std::fs::write(dir.join("document-letter.pdf"), doc(letter)).unwrap();
    let photo = |grey: bool| {
        let img = image::RgbImage::from_fn(600, 400, |x, y| {
            let (r, g, b) = ((x * 255 / 600) as u8, (y * 255 / 400) as u8, 0x80u8);
            if grey {
                let l = ((u32::from(r) + u32::from(g) + u32::from(b)) / 3) as u8;
                image::Rgb([l, l, l])
            } else {
                image::Rgb([r, g, b])
            }
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    };
    std::fs::write(dir.join("color.jpg"), photo(false)).unwrap();
    std::fs::write(dir.join("gray.jpg"), photo(true)).unwrap();
    // PostScript is not a format the printer takes: those tests are skipped, never sent.
    std::fs::write(dir.join("document-a4.ps"), b"").unwrap();
    std::fs::write(dir.join("document-letter.ps"), b"").unwrap();

    let text = std::fs::read_to_string(dir.join("ipp-everywhere.test")).unwrap();
    let files: std::collections::BTreeSet<&str> =
        text.lines().filter_map(|l| l.trim().strip_prefix("FILE ")).map(str::trim).collect();
    for file in files {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // pwg-raster-samples-300dpi/srgb-8/onepage-a4-srgb-8-300dpi.pwg
        let mut parts = file.split('/');
        let dpi: u32 =
            parts.next().unwrap().trim_start_matches("pwg-raster-samples-").trim_end_matches("dpi").parse().unwrap();
        let kind = parts.next().unwrap();
        let doc = parts.next().unwrap();
        let advertised = matches!(dpi, 150 | 300) && matches!(kind, "black-1" | "sgray-8" | "srgb-8");
        if !advertised {
            std::fs::write(&path, b"").unwrap();
            continue;
        }
        let (w, h) = if doc.contains("4x6") {
            (4.0, 6.0)
        } else if doc.contains("-a4-") {
            (210.0 / 25.4, 297.0 / 25.4)
        } else {
            (8.5, 11.0)
        };
        let pages = if doc.starts_with("document-") { 3 } else { 1 };
        std::fs::write(&path, pwg_sample(kind, dpi, w, h, pages, !doc.starts_with("gray"))).unwrap();
    }
}

#[tokio::test]
async fn cups_conformance_files_pass() {
    let test = "cups_conformance_files_pass";
    if !ipptool::available_or_skip(test) || !yunyin_e2e::peers::printer::available_or_skip(test) {
        return;
    }
    // Jobs finish at once at the printer (`/bin/true` as its print command): the files wait
    // for released jobs to complete, and simulated print time would only queue them up.
    let printer = TestPrinter::start_with_command("yunyin-ipp-conformance", Some("/bin/true")).await;
    let a = TestApp::spawn().await;
    let site = GatewaySite::set_up(&a, &printer, &a.base, "IPPCONF").await;
    let agent = site.start_agent().await;
    site.credit(&a, 1_000_000).await;
    let secret = printing_token(&a, &site.user, "ipptool").await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let releaser = tokio::spawn(release_ready_jobs(a.base.clone(), site.user.clone(), site.code.clone(), stopped));

    let pdf = write_temp(&fixtures::mono_pdf(2), ".pdf");
    let uri = ipptool::with_credentials(&printer_uri(&a, "IPPCONF"), "alice", &secret);
    let mut failures = Vec::new();
    let samples = tempfile::tempdir().unwrap();
    conformance_files(samples.path());
    for (file, version) in [("ipp-1.1.test", "1.1"), ("ipp-2.0.test", "2.0"), ("ipp-everywhere.test", "2.0")] {
        let path = samples.path().join(file);
        let out = ipptool::run(
            &["-t", "-V", version, "-f", pdf.path().to_str().unwrap(), &uri, path.to_str().unwrap()],
            Duration::from_secs(600),
        )
        .await;
        let text = ipptool::text(&out);
        eprintln!("== ipptool {file}\n{text}");
        // ipptool 2.4.2 can exit 0 with a failed test in an INCLUDEd file: both must be clean.
        if !out.status.success() || text.contains("[FAIL]") {
            failures.push(format!("{file}: {}\n{text}", out.status));
        }
    }
    let _ = stop.send(true);
    releaser.await.unwrap();
    agent.stop().await;
    assert!(failures.is_empty(), "ipptool failed:\n{}", failures.join("\n"));
}

/// A minimal IPP request, encoded by hand (RFC 8010) so the test does not share the server's
/// codec: the operation group's charset, language and printer-uri, then `extra` (already
/// encoded attributes, each `tag, name, value`), then the document.
fn ipp_request(
    operation: u16,
    printer_uri: &str,
    extra: &[(u8, &str, Vec<u8>)],
    job: &[(u8, &str, Vec<u8>)],
    doc: &[u8],
) -> Vec<u8> {
    let mut out = vec![2, 0];
    out.extend_from_slice(&operation.to_be_bytes());
    out.extend_from_slice(&7i32.to_be_bytes());
    let attr = |out: &mut Vec<u8>, tag: u8, name: &str, value: &[u8]| {
        out.push(tag);
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(value);
    };
    out.push(0x01);
    attr(&mut out, 0x47, "attributes-charset", b"utf-8");
    attr(&mut out, 0x48, "attributes-natural-language", b"en");
    attr(&mut out, 0x45, "printer-uri", printer_uri.as_bytes());
    for (tag, name, value) in extra {
        attr(&mut out, *tag, name, value);
    }
    if !job.is_empty() {
        out.push(0x02);
        for (tag, name, value) in job {
            attr(&mut out, *tag, name, value);
        }
    }
    out.push(0x03);
    out.extend_from_slice(doc);
    out
}

/// The status code of an IPP response.
fn ipp_status(body: &[u8]) -> u16 {
    assert!(body.len() >= 8, "not an IPP response: {body:?}");
    u16::from_be_bytes([body[2], body[3]])
}

async fn post_ipp(url: &str, auth: Option<(&str, &str)>, body: Vec<u8>) -> reqwest::Response {
    let client = reqwest::Client::new();
    let mut req = client.post(url).header("content-type", "application/ipp").body(body);
    if let Some((login, secret)) = auth {
        req = req.basic_auth(login, Some(secret));
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn basic_auth_decides_who_prints_and_where() {
    let a = TestApp::spawn().await;
    let admin = a.platform_token().await;
    let (_, alice) = a.enterprise_with_user(&admin, "IPPA", "alice").await;
    let (_, bob) = a.enterprise_with_user(&admin, "IPPB", "bob").await;
    let token = printing_token(&a, &alice, "office PC").await;
    let listed = a.get("/api/v1/me/printing-tokens", Some(&alice)).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["name"], "office PC");
    assert_eq!(listed[0]["hint"].as_str().unwrap(), &token[token.len() - 4..]);
    assert!(listed[0].get("secret").is_none(), "the secret is shown once: {listed}");

    let url_a = format!("{}/ipp/print/IPPA", a.base);
    let uri_a = printer_uri(&a, "IPPA");
    let get_jobs = || ipp_request(0x000a, &uri_a, &[], &[], b"");

    // The page a browser or a probing OS gets, and an enterprise that does not exist.
    let page = a.client.get(&url_a).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("IPP Everywhere"));
    let none = post_ipp(&format!("{}/ipp/print/NOSUCH", a.base), Some(("alice", &token)), get_jobs()).await;
    assert_eq!(none.status(), 404);

    // What the printer is may be asked anonymously; its jobs may not.
    let attrs = post_ipp(&url_a, None, ipp_request(0x000b, &uri_a, &[], &[], b"")).await;
    assert_eq!(attrs.status(), 200);
    assert_eq!(ipp_status(&attrs.bytes().await.unwrap()), 0);
    for auth in [
        None,
        Some(("alice", "wrong-password1")),
        Some(("alice", "ypt_notatokenatallnotatokenatall")),
        Some(("nobody", "passw0rd!")),
    ] {
        let r = post_ipp(&url_a, auth, get_jobs()).await;
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"yunyin\"");
    }
    // Her password and her printing token both sign her in.
    for secret in ["passw0rd!", token.as_str()] {
        let r = post_ipp(&url_a, Some(("alice", secret)), get_jobs()).await;
        assert_eq!(r.status(), 200);
        assert_eq!(ipp_status(&r.bytes().await.unwrap()), 0);
    }
    // Bob of enterprise B has no account at A's printer, whatever he sends; nor has Alice at B's.
    let r = post_ipp(&url_a, Some(("bob", "passw0rd!")), get_jobs()).await;
    assert_eq!(r.status(), 401);
    let uri_b = printer_uri(&a, "IPPB");
    let r = post_ipp(
        &format!("{}/ipp/print/IPPB", a.base),
        Some(("alice", &token)),
        ipp_request(0x000a, &uri_b, &[], &[], b""),
    )
    .await;
    assert_eq!(r.status(), 401);

    // A Print-Job lands in Alice's list, named and set up as the client asked, and held.
    let print = ipp_request(
        0x0002,
        &uri_a,
        &[
            (0x42, "job-name", "季度报告.pdf".as_bytes().to_vec()),
            (0x49, "document-format", b"application/pdf".to_vec()),
        ],
        &[
            (0x21, "copies", 2i32.to_be_bytes().to_vec()),
            (0x44, "sides", b"two-sided-long-edge".to_vec()),
            (0x44, "media", b"iso_a4_210x297mm".to_vec()),
        ],
        &fixtures::mono_pdf(3),
    );
    let r = post_ipp(&url_a, Some(("alice", &token)), print).await;
    assert_eq!(r.status(), 200);
    assert_eq!(ipp_status(&r.bytes().await.unwrap()), 0);
    let jobs = a.get("/api/v1/jobs", Some(&alice)).await.expect(200);
    let job = &jobs.as_array().unwrap()[0];
    assert_eq!(job["file_name"], "季度报告.pdf");
    let job = a.wait_job(&alice, job["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(job["state"], "ready", "{job}");
    assert_eq!(
        (job["options"]["copies"].as_i64(), job["options"]["sides"].as_str()),
        (Some(2), Some("two-sided-long-edge"))
    );
    assert_eq!(job["page_count"].as_i64(), Some(3));
    assert!(a.get("/api/v1/jobs", Some(&bob)).await.expect(200).as_array().unwrap().is_empty());

    // A format the printer does not take is refused as IPP says.
    let ps =
        ipp_request(0x0002, &uri_a, &[(0x49, "document-format", b"application/postscript".to_vec())], &[], b"%!PS\n");
    let r = post_ipp(&url_a, Some(("alice", &token)), ps).await;
    assert_eq!(ipp_status(&r.bytes().await.unwrap()), 0x040a);

    // Revoked, the token no longer signs in (at once, though a success was remembered).
    let id = listed[0]["id"].as_str().unwrap();
    let deleted =
        a.call(reqwest::Method::DELETE, &format!("/api/v1/me/printing-tokens/{id}"), Some(&alice), None, None).await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let r = post_ipp(&url_a, Some(("alice", &token)), get_jobs()).await;
    assert_eq!(r.status(), 401);
}

fn lp_tool(program: &str) -> std::path::PathBuf {
    ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} not installed"))
}

#[tokio::test]
async fn a_cups_client_adds_the_printer_and_its_jobs_print_after_release() {
    let test = "a_cups_client_adds_the_printer_and_its_jobs_print_after_release";
    if !yunyin_e2e::peers::cups::available_or_skip(test) || !yunyin_e2e::peers::printer::available_or_skip(test) {
        return;
    }
    let printer = TestPrinter::start("yunyin-ipp-cups").await;
    let a = TestApp::spawn().await;
    let site = GatewaySite::set_up(&a, &printer, &a.base, "IPPCUPS").await;
    let agent = site.start_agent().await;
    site.credit(&a, 100_000).await;
    let secret = printing_token(&a, &site.user, "Linux PC").await;
    let cups = yunyin_e2e::peers::cups::TestCups::start().await;

    // As a person adds it on Linux: the printer's own attributes make the driver.
    let device = ipptool::with_credentials(&printer_uri(&a, "IPPCUPS"), "alice", &secret);
    let added = std::process::Command::new(lp_tool("lpadmin"))
        .args(["-h", &cups.server(), "-p", "yunyin", "-E", "-v", &device, "-m", "everywhere"])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "lpadmin -m everywhere: {}\n{}",
        String::from_utf8_lossy(&added.stderr),
        cups.log_text()
    );

    let pdf = write_temp(&fixtures::mono_pdf(2), ".pdf");
    let pwg = write_temp(&pwg_sample("srgb-8", 150, 210.0 / 25.4, 297.0 / 25.4, 1, true), ".pwg");
    for (file, title, extra) in [(&pdf, "合同.pdf", vec![]), (&pwg, "scan.pwg", vec!["-o", "raw"])] {
        let out = std::process::Command::new(lp_tool("lp"))
            .args(["-h", &cups.server(), "-d", "yunyin", "-t", title])
            .args(extra)
            .arg(file.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "lp {title}: {}", String::from_utf8_lossy(&out.stderr));
    }

    // Both arrive in Alice's list and are processed into ready, held jobs.
    let mut ready = Vec::new();
    for _ in 0..600 {
        let jobs = a.get("/api/v1/jobs", Some(&site.user)).await.expect(200);
        let list = jobs.as_array().unwrap().clone();
        ready = list.iter().filter(|j| j["state"] == "ready").cloned().collect();
        if ready.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ready.len(), 2, "CUPS's jobs did not both become ready:\n{}", cups.log_text());
    let mut names: Vec<&str> = ready.iter().map(|j| j["file_name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["scan.pwg", "合同.pdf"]);
    let kinds: Vec<&str> = ready.iter().map(|j| j["document_kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"pwg-raster"), "{kinds:?}");

    // Released at the print point, both come out of the printer.
    site.release(&a, "ipp-cups-release-1").await;
    let spooled = printer.wait_spooled(2, Duration::from_secs(120)).await;
    assert_eq!(spooled.len(), 2, "{}", printer.log_text());
    for f in &spooled {
        assert!(std::fs::read(f).unwrap().starts_with(b"%PDF"), "{f:?} is the print-ready PDF");
    }
    agent.stop().await;
}
