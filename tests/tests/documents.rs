//! Documents in, exact print-ready jobs out: page counts, sizes, colour per page and
//! thumbnails checked against known truth, for every supported type; refusals that leave
//! nothing behind.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::Value;
use yunyin_e2e::{fixtures, TestApp};

const PROCESSING: Duration = Duration::from_secs(90);

fn colours(job: &Value) -> Vec<bool> {
    job["pages"].as_array().unwrap().iter().map(|p| p["colour"].as_bool().unwrap()).collect()
}

fn papers(job: &Value) -> Vec<String> {
    job["pages"].as_array().unwrap().iter().map(|p| p["paper_size"].as_str().unwrap_or("-").to_string()).collect()
}

fn landscape(job: &Value) -> Vec<bool> {
    job["pages"].as_array().unwrap().iter().map(|p| p["width_pt"].as_f64() > p["height_pt"].as_f64()).collect()
}

async fn processed(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> Value {
    let created = app.upload(token, name, bytes).await.expect(201);
    let job = app.wait_job(token, created["id"].as_str().unwrap(), PROCESSING).await;
    assert_eq!(job["state"], "ready", "{name}: {job}");
    assert_eq!(job["progress"], 100);
    job
}

/// The thumbnail is a PNG of the first page, its longer side 320 px, oriented like the page.
async fn check_thumbnail(app: &TestApp, token: &str, job: &Value) {
    let (status, png) = app.get_bytes(&format!("/api/v1/jobs/{}/thumbnail", job["id"].as_str().unwrap()), token).await;
    assert_eq!(status, 200);
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png).expect("thumbnail is a PNG");
    assert_eq!(img.width().max(img.height()), 320);
    assert_eq!(img.width() > img.height(), landscape(job)[0], "thumbnail orientation follows page 1");
}

#[tokio::test]
async fn pdfs_images_and_text_become_exact_jobs() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "DOCS", "alice").await;

    let mono = processed(&app, &token, "报告.pdf", fixtures::mono_pdf(12)).await;
    assert_eq!(mono["document_kind"], "pdf");
    assert_eq!(mono["file_name"], "报告.pdf");
    assert_eq!(mono["page_count"], 12);
    assert_eq!(mono["colour_page_count"], 0);
    assert!(papers(&mono).iter().all(|p| p == "A4"));
    check_thumbnail(&app, &token, &mono).await;

    let (mixed_bytes, truth) = fixtures::mixed_pdf();
    let mixed = processed(&app, &token, "mixed.pdf", mixed_bytes).await;
    assert_eq!(colours(&mixed), truth, "red box and 12 pt logo are colour; CMY grey and K black are mono");
    assert_eq!(mixed["colour_page_count"], 2);

    let a3 = processed(&app, &token, "a3.pdf", fixtures::a3_landscape_pdf()).await;
    assert_eq!(papers(&a3), vec!["A3", "A4"]);
    assert_eq!(landscape(&a3), vec![true, true], "A3 landscape, and A4 turned by /Rotate 90");
    check_thumbnail(&app, &token, &a3).await;

    let photo = processed(&app, &token, "photo.jpg", fixtures::colour_jpeg()).await;
    assert_eq!(photo["document_kind"], "jpeg");
    assert_eq!((photo["page_count"].as_i64(), colours(&photo)), (Some(1), vec![true]));
    assert_eq!((papers(&photo), landscape(&photo)), (vec!["A4".to_string()], vec![true]), "wide photo on landscape A4");
    check_thumbnail(&app, &token, &photo).await;

    let grey = processed(&app, &token, "scan.png", fixtures::grey_png()).await;
    assert_eq!(grey["document_kind"], "png");
    assert_eq!((colours(&grey), landscape(&grey)), (vec![false], vec![false]), "grey portrait image");

    let text = processed(&app, &token, "说明.txt", fixtures::gbk_text()).await;
    assert_eq!(text["document_kind"], "text-gb18030");
    assert!(text["page_count"].as_i64().unwrap() >= 2, "120 lines of 10.5 pt text need more than one page: {text}");
    assert!(papers(&text).iter().all(|p| p == "A4") && colours(&text).iter().all(|c| !c));

    // The print-ready PDF is served to its owner and is a real PDF of the same page count.
    let (status, pdf) =
        app.get_bytes(&format!("/api/v1/jobs/{}/document", photo["id"].as_str().unwrap()), &token).await;
    assert_eq!(status, 200);
    assert_eq!(lopdf::Document::load_mem(&pdf).unwrap().get_pages().len(), 1);
    // Previews are rendered on request.
    let (status, png) = app
        .get_bytes(&format!("/api/v1/jobs/{}/pages/2/preview?size=200", mixed["id"].as_str().unwrap()), &token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(image::load_from_memory(&png).unwrap().height(), 200);
    let (status, _) =
        app.get_bytes(&format!("/api/v1/jobs/{}/pages/9/preview", mixed["id"].as_str().unwrap()), &token).await;
    assert_eq!(status, 404);
}

/// A4 at 100 dpi, as a driverless client rasterises a page: white, with a coloured or grey
/// block.
fn a4_page(rgb: bool, block: [u8; 3]) -> Vec<u8> {
    let (w, h) = (827u32, 1169u32);
    let unit = if rgb { 3 } else { 1 };
    let mut px = vec![255u8; (w * h) as usize * unit];
    for y in 100..300u32 {
        for x in 100..400u32 {
            let at = ((y * w + x) as usize) * unit;
            px[at..at + unit].copy_from_slice(&block[..unit]);
        }
    }
    px
}

#[tokio::test]
async fn pwg_and_apple_raster_become_pdf_jobs() {
    use yunyin_server::documents::raster::encode;
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "RASTER", "alice").await;

    let mut pwg = b"RaS2".to_vec();
    encode::pwg_page(&mut pwg, 827, 1169, 100, true, &a4_page(true, [220, 20, 20]));
    encode::pwg_page(&mut pwg, 827, 1169, 100, true, &a4_page(true, [90, 90, 90]));
    let job = processed(&app, &token, "from-a-mac.pwg", pwg).await;
    assert_eq!((job["document_kind"].as_str(), job["page_count"].as_i64()), (Some("pwg-raster"), Some(2)));
    assert_eq!(papers(&job), vec!["A4", "A4"], "{job}");
    assert_eq!(colours(&job), vec![true, false], "a red block is colour, a grey one is not");
    check_thumbnail(&app, &token, &job).await;

    let mut urf = b"UNIRAST\0".to_vec();
    urf.extend_from_slice(&1u32.to_be_bytes());
    encode::urf_page(&mut urf, 827, 1169, 100, false, &a4_page(false, [0, 0, 0]));
    let job = processed(&app, &token, "from-an-iphone.urf", urf).await;
    assert_eq!((job["document_kind"].as_str(), job["page_count"].as_i64()), (Some("apple-raster"), Some(1)));
    assert_eq!((papers(&job), colours(&job)), (vec!["A4".to_string()], vec![false]));

    // A raster stream cut short is refused at upload, and nothing is kept.
    let mut cut = b"RaS2".to_vec();
    encode::pwg_page(&mut cut, 827, 1169, 100, false, &a4_page(false, [0, 0, 0]));
    cut.truncate(cut.len() - 10);
    app.upload(&token, "cut.pwg", cut).await.expect_error(422, "file_corrupt");
}

#[tokio::test]
async fn office_documents_convert_through_libreoffice() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "OFFICE", "alice").await;

    let docx = processed(&app, &token, "three-pages.docx", fixtures::kept("three-pages.docx")).await;
    assert_eq!(docx["document_kind"], "docx");
    assert_eq!(colours(&docx), vec![false, true, false], "page two has a red title");
    assert!(papers(&docx).iter().all(|p| p == "A4"));

    let xlsx = processed(&app, &token, "sheet.xlsx", fixtures::kept("sheet.xlsx")).await;
    assert_eq!(xlsx["document_kind"], "xlsx");
    assert_eq!((xlsx["page_count"].as_i64(), colours(&xlsx)), (Some(1), vec![false]));

    let pptx = processed(&app, &token, "slides.pptx", fixtures::kept("slides.pptx")).await;
    assert_eq!(pptx["document_kind"], "pptx");
    assert_eq!(colours(&pptx), vec![false, true], "slide two has a blue rectangle");
    assert_eq!(landscape(&pptx), vec![true, true]);
    check_thumbnail(&app, &token, &pptx).await;
}

#[tokio::test]
async fn misleading_names_do_not_fool_the_sniffer() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "SNIFF", "alice").await;
    let png_named_pdf = processed(&app, &token, "report.pdf", fixtures::grey_png()).await;
    assert_eq!(png_named_pdf["document_kind"], "png");
    assert_eq!(png_named_pdf["file_name"], "report.pdf");
    let refused = app.upload(&token, "holiday.jpg", b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec()).await;
    refused.expect_error(422, "file_type_not_allowed");
    let pdf_named_docx = processed(&app, &token, "letter.docx", fixtures::mono_pdf(2)).await;
    assert_eq!(pdf_named_docx["document_kind"], "pdf");
}

#[tokio::test]
async fn refused_uploads_leave_nothing_behind() {
    let app = TestApp::spawn_with(|c| {
        c.max_upload_mb = 2;
        c.page_limit = 20;
    })
    .await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "REFUSE", "alice").await;

    app.upload(&token, "secret.pdf", fixtures::kept("encrypted.pdf")).await.expect_error(422, "pdf_encrypted");
    app.upload(&token, "broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage".to_vec())
        .await
        .expect_error(422, "file_corrupt");
    app.upload(&token, "bomb.docx", fixtures::zip_bomb_docx(40)).await.expect_error(422, "document_unpacks_too_large");
    app.upload(&token, "archive.zip", fixtures::plain_zip()).await.expect_error(422, "file_type_not_allowed");
    app.upload(&token, "empty.pdf", Vec::new()).await.expect_error(422, "file_empty");
    app.upload(&token, "noise.bin", vec![0u8, 159, 146, 150, 0, 1, 2, 255])
        .await
        .expect_error(422, "unsupported_file_type");
    let long = app.upload(&token, "long.pdf", fixtures::mono_pdf(21)).await;
    long.expect_error(422, "too_many_pages");
    app.upload(&token, "  ", fixtures::mono_pdf(1)).await.expect_error(400, "missing_file_name");

    // Too large: refused from the declared length, and also when streamed without one.
    let big = vec![b'a'; 3_000_000];
    let declared = app.upload(&token, "big.txt", big.clone()).await;
    declared.expect_error(413, "file_too_large");
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let streamed = app
        .client
        .post(app.url("/api/v1/jobs"))
        .query(&[("file_name", "big.txt")])
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 413);
    assert_eq!(streamed.json::<Value>().await.unwrap()["code"], "file_too_large");

    // Nothing was stored: no job, no file, no temporary left over.
    assert_eq!(app.get("/api/v1/jobs", Some(&token)).await.expect(200).as_array().unwrap().len(), 0);
    let files = app.dir.path().join("files");
    assert_eq!(std::fs::read_dir(files.join("tmp")).unwrap().count(), 0, "temporary files left");
    assert!(!files.join("jobs").exists() || std::fs::read_dir(files.join("jobs")).unwrap().count() == 0);
}

#[tokio::test]
async fn multipart_uploads_record_the_content_hash_and_a_safe_name() {
    use sha2::Digest;
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "MULTI", "alice").await;
    let bytes = fixtures::mono_pdf(3);
    let part = reqwest::multipart::Part::bytes(bytes.clone())
        .file_name("C:\\Users\\张三\\季度报告.pdf")
        .mime_str("application/octet-stream")
        .unwrap();
    let resp = app
        .client
        .post(app.url("/api/v1/jobs/multipart"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let created: Value = resp.json().await.unwrap();
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["file_name"], "季度报告.pdf", "the client's path stripped, Unicode kept");
    assert_eq!(created["sha256"].as_str().unwrap(), format!("{:x}", sha2::Sha256::digest(&bytes)));
    assert_eq!(created["size_bytes"].as_u64(), Some(bytes.len() as u64));
    let job = app.wait_job(&token, created["id"].as_str().unwrap(), PROCESSING).await;
    assert_eq!((job["state"].as_str(), job["page_count"].as_i64()), (Some("ready"), Some(3)));
    // The stored file is under the job's id, whatever the name said.
    let stored = app.dir.path().join("files/jobs").join(created["id"].as_str().unwrap()).join("source");
    assert_eq!(std::fs::read(stored).unwrap(), bytes);
    // `file` and nothing else, as the API document says (maxProperties 1): a form with another
    // field, or without `file`, is refused and creates no job.
    let form = |extra: bool| {
        let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name("a.pdf");
        let form =
            if extra { reqwest::multipart::Form::new().text("note", "x") } else { reqwest::multipart::Form::new() };
        form.part(if extra { "file" } else { "document" }, part)
    };
    for extra in [true, false] {
        let resp = app.client.post(app.url("/api/v1/jobs/multipart")).bearer_auth(&token).multipart(form(extra)).send();
        let resp = resp.await.unwrap();
        assert_eq!(resp.status(), 400);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "invalid_request", "{body}");
    }
    let jobs = app.get("/api/v1/jobs", Some(&token)).await.expect(200);
    assert_eq!(jobs.as_array().map(Vec::len), Some(1), "only the first upload made a job");
}

/// What poppler (the renderer here, and what many printers' interpreters resemble) says about a
/// PDF: its page count, and whatever it complained about on stderr (it reports every repair).
async fn poppler_view(app: &TestApp, name: &str, pdf: &[u8]) -> (Option<usize>, String) {
    let path = app.dir.path().join(name);
    std::fs::write(&path, pdf).unwrap();
    let out = tokio::process::Command::new("pdfinfo").arg(&path).output().await.expect("pdfinfo (poppler-utils)");
    assert!(out.status.success(), "pdfinfo {name}: {}", String::from_utf8_lossy(&out.stderr));
    let pages = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").and_then(|n| n.trim().parse().ok()));
    (pages, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Issue 10: a PDF whose cross-reference data is damaged but whose objects are intact is
/// repaired, and the rebuilt file is the print-ready one: it reads cleanly (lopdf without
/// repair, and poppler without complaint) and has the same pages, page by page.
async fn repaired_for_printing(code: &str, name: &str, bytes: Vec<u8>, pages: usize) {
    let as_is = lopdf::Document::load_mem(&bytes).map(|d| d.get_pages().len());
    assert!(as_is.as_ref().map_or(true, |n| *n != pages), "{name}: damaged as intended, lopdf alone reads {as_is:?}");
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, code, "alice").await;

    let job = processed(&app, &token, name, bytes.clone()).await;
    assert_eq!(job["document_kind"], "pdf");
    assert_eq!(job["page_count"].as_u64(), Some(pages as u64), "{job}");
    assert_eq!(papers(&job), vec!["A4"; pages]);
    assert_eq!(colours(&job), vec![false; pages]);
    check_thumbnail(&app, &token, &job).await;

    let (status, pdf) = app.get_bytes(&format!("/api/v1/jobs/{}/document", job["id"].as_str().unwrap()), &token).await;
    assert_eq!(status, 200);
    assert_ne!(pdf, bytes, "the rebuilt file is printed, not the damaged upload");
    // Whole by its own cross-reference table: `startxref` points at it and lopdf needs no help.
    let tail = String::from_utf8_lossy(&pdf[pdf.len().saturating_sub(64)..]).into_owned();
    let startxref: usize = tail.rsplit("startxref").next().unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(pdf[startxref..].starts_with(b"xref"), "startxref {startxref} points at the table");
    let doc = lopdf::Document::load_mem(&pdf).expect("the print-ready file loads");
    let contents: Vec<String> = doc
        .get_pages()
        .values()
        .map(|id| String::from_utf8_lossy(&doc.get_page_content(*id).unwrap()).into_owned())
        .collect();
    let expected: Vec<String> = (1..=pages).map(fixtures::mono_text).collect();
    assert_eq!(contents, expected, "the same pages, in order");
    let (poppler_pages, complaints) = poppler_view(&app, name, &pdf).await;
    assert_eq!(poppler_pages, Some(pages));
    assert_eq!(complaints, "", "poppler reads the print-ready file without repairing it");
}

#[tokio::test]
async fn a_wrong_startxref_is_repaired() {
    repaired_for_printing("REPAIR1", "wrong-startxref.pdf", fixtures::pdf_wrong_startxref(), 3).await;
}

#[tokio::test]
async fn a_missing_xref_table_is_repaired() {
    repaired_for_printing("REPAIR2", "missing-xref.pdf", fixtures::pdf_missing_xref_table(), 3).await;
}

#[tokio::test]
async fn a_truncated_trailer_is_repaired() {
    repaired_for_printing("REPAIR3", "truncated-trailer.pdf", fixtures::pdf_truncated_trailer(), 3).await;
}

/// The update's third page is there: later definitions win, as in any incremental update.
#[tokio::test]
async fn an_incremental_update_with_a_broken_section_is_repaired() {
    repaired_for_printing("REPAIR4", "broken-update.pdf", fixtures::pdf_broken_incremental_update(), 3).await;
}

#[tokio::test]
async fn a_pdf15_with_a_wrong_xref_stream_offset_is_repaired() {
    repaired_for_printing("REPAIR5", "pdf15.pdf", fixtures::pdf15_wrong_xref_stream_offset(), 3).await;
}

/// A whole PDF is printed as uploaded, byte for byte (repair never touches it).
#[tokio::test]
async fn whole_pdfs_are_printed_as_uploaded() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "WHOLE", "alice").await;
    for (name, whole) in [("classic.pdf", fixtures::mono_pdf_classic(2)), ("xref-stream.pdf", fixtures::mono_pdf(2))] {
        let job = processed(&app, &token, name, whole.clone()).await;
        assert_eq!(job["page_count"], 2);
        let (status, pdf) =
            app.get_bytes(&format!("/api/v1/jobs/{}/document", job["id"].as_str().unwrap()), &token).await;
        assert_eq!(status, 200);
        assert_eq!(pdf, whole, "{name}");
    }
}

/// What no repair can save is still refused as corrupt, and leaves nothing behind.
#[tokio::test]
async fn unrepairable_pdfs_are_still_refused() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "NOREPAIR", "alice").await;

    let good = fixtures::mono_pdf_classic(2);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage".to_vec()),
        ("no-objects.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\nnothing but words\n%%EOF\n".to_vec()),
        ("no-catalog.pdf", fixtures::pdf_without_catalog()),
        // Cut a third of the way in: the catalog (written last) never arrives.
        ("cut-short.pdf", good[..good.len() / 3].to_vec()),
    ];
    for (name, bytes) in cases {
        app.upload(&token, name, bytes).await.expect_error(422, "file_corrupt");
    }
    assert_eq!(app.get("/api/v1/jobs", Some(&token)).await.expect(200).as_array().unwrap().len(), 0);
    app.upload(&token, "secret.pdf", fixtures::kept("encrypted.pdf")).await.expect_error(422, "pdf_encrypted");
}
