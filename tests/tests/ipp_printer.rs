#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The gateway's IPP client (`yunyin_gateway::printer`) against a real printer: CUPS's
//! ippeveprinter, which keeps every document it receives so the bytes can be compared.
//! ippeveprinter simulates printing for 5–15 s per job, hence the generous limits.

use std::time::Duration;

use yunyin_e2e::{fixtures, peers::printer::TestPrinter};
use yunyin_gateway::printer::{self, IppJobState, PrintOptions, PrinterError, PrinterState};

const POLL: Duration = Duration::from_millis(200);
const JOB_LIMIT: Duration = Duration::from_secs(60);

fn options(copies: u32, sides: &str) -> PrintOptions {
    PrintOptions {
        copies,
        sides: sides.into(),
        colour: false,
        media: "A4".into(),
        job_name: "yunyin-e2e".into(),
        tag: "cmd-1".into(),
        user_name: "alice".into(),
    }
}

fn write_pdf(pdf: &[u8]) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(file.path(), pdf).unwrap();
    file
}

#[tokio::test]
async fn reads_attributes_and_prints_a_pdf_duplex_with_copies() {
    if !yunyin_e2e::peers::printer::available_or_skip("reads_attributes_and_prints_a_pdf_duplex_with_copies") {
        return;
    }
    let p = TestPrinter::start("YunyinTest").await;

    let info = printer::get_printer_attributes(&p.uri).await.unwrap();
    assert!(info.make_model.as_deref().unwrap_or("").contains("Yunyin"), "{info:?}");
    assert_eq!(info.name.as_deref(), Some("YunyinTest"));
    assert_eq!(info.state, PrinterState::Idle);
    assert!(info.state_reasons.is_empty(), "`none` is dropped: {:?}", info.state_reasons);
    assert!(info.sides_supported.iter().any(|s| s == "two-sided-long-edge"), "-2 means duplex: {info:?}");
    assert!(info.color_supported);
    assert!(info.media_supported.iter().any(|m| m == "iso_a4_210x297mm"), "{info:?}");
    assert_eq!(info.copies_max, Some(999));
    assert!(info.document_formats.iter().any(|f| f == "application/pdf"), "{info:?}");
    let uuid = info.uuid.as_deref().expect("printer-uuid");
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "uuid without urn:uuid: prefix: {uuid}");
    // ippeveprinter gives no printer-serial-number and no SN in its printer-device-id.
    assert_eq!(info.serial_number, None);

    let pdf = fixtures::mono_pdf(3);
    let file = write_pdf(&pdf);
    let job_id = printer::print_job(&p.uri, &info, file.path(), &options(2, "two-sided-long-edge")).await.unwrap();
    assert!(job_id > 0);

    let status = printer::wait_job(&p.uri, job_id, POLL, JOB_LIMIT).await.unwrap();
    assert_eq!(status.state, IppJobState::Completed, "{status:?}\n{}", p.log_text());
    assert!(status.reasons.iter().any(|r| r == "job-completed-successfully"), "{status:?}");
    assert!(status.impressions_completed.is_some(), "{status:?}");

    // A finished job is found again by its tag, as a restarted gateway does; no other tag matches.
    assert_eq!(printer::find_job(&p.uri, "cmd-1").await.unwrap(), Some(job_id));
    assert_eq!(printer::find_job(&p.uri, "cmd-2").await.unwrap(), None);

    // The options reached the printer as IPP job attributes.
    let attrs = p.job_attributes_text(job_id);
    for expected in [
        "copies (integer) = 2",
        "sides (keyword) = two-sided-long-edge",
        "print-color-mode (keyword) = monochrome",
        "media (keyword) = iso_a4_210x297mm",
        // ipptool prints `[` escaped.
        r"job-name (nameWithoutLanguage) = yunyin-e2e \[cmd-1]",
        "job-originating-user-name (nameWithoutLanguage) = alice",
        "document-format-supplied (mimeMediaType) = application/pdf",
    ] {
        assert!(attrs.contains(expected), "missing {expected:?} in:\n{attrs}");
    }

    // `-k` keeps the document: exactly the bytes sent.
    let spooled = p.wait_spooled(1, Duration::from_secs(5)).await;
    assert_eq!(spooled.len(), 1, "{spooled:?}");
    let file_of_job = p.spooled_file(job_id).expect("spooled file named after the job id");
    assert_eq!(file_of_job.extension().and_then(|e| e.to_str()), Some("pdf"));
    assert_eq!(std::fs::read(&file_of_job).unwrap(), pdf);
}

#[tokio::test]
async fn unsupported_options_fall_back_to_what_the_printer_has() {
    if !yunyin_e2e::peers::printer::available_or_skip("unsupported_options_fall_back_to_what_the_printer_has") {
        return;
    }
    let p = TestPrinter::start("YunyinFallback").await;
    let mut info = printer::get_printer_attributes(&p.uri).await.unwrap();
    // As a simplex printer would say; A3 is not in ippeveprinter's media-supported.
    info.sides_supported.retain(|s| s == "one-sided");
    info.copies_max = Some(3);
    let mut opts = options(5, "two-sided-short-edge");
    opts.media = "A3".into();
    opts.colour = true;

    let file = write_pdf(&fixtures::mono_pdf(1));
    let job_id = printer::print_job(&p.uri, &info, file.path(), &opts).await.unwrap();
    let attrs = p.job_attributes_text(job_id);
    for expected in ["copies (integer) = 3", "sides (keyword) = one-sided", "print-color-mode (keyword) = color"] {
        assert!(attrs.contains(expected), "missing {expected:?} in:\n{attrs}");
    }
    assert!(!attrs.contains("iso_a3"), "A3 must not be sent:\n{attrs}");
}

#[tokio::test]
async fn errors_when_the_printer_refuses_or_is_gone() {
    if !yunyin_e2e::peers::printer::available_or_skip("errors_when_the_printer_refuses_or_is_gone") {
        return;
    }
    let mut p = TestPrinter::start("YunyinGone").await;
    let info = printer::get_printer_attributes(&p.uri).await.unwrap();

    // An IPP error status (no such job) is a refusal, not an outage.
    match printer::job_state(&p.uri, 4242).await {
        Err(PrinterError::Refused { status, .. }) => assert!(status.starts_with("0x0406"), "{status}"),
        other => panic!("expected Refused for an unknown job, got {other:?}"),
    }

    // A job accepted, then the printer dies before finishing it (simulated printing takes 5 s+).
    let file = write_pdf(&fixtures::mono_pdf(1));
    let job_id = printer::print_job(&p.uri, &info, file.path(), &options(1, "one-sided")).await.unwrap();
    p.stop();
    assert!(!p.is_running());
    match printer::wait_job(&p.uri, job_id, POLL, JOB_LIMIT).await {
        Err(PrinterError::Unreachable(e)) => assert!(!e.is_empty()),
        other => panic!("expected Unreachable after the printer died, got {other:?}"),
    }

    // Nothing listens any more: neither printing nor reading attributes can work.
    match printer::print_job(&p.uri, &info, file.path(), &options(1, "one-sided")).await {
        Err(PrinterError::Unreachable(e)) => assert!(e.to_lowercase().contains("refused"), "{e}"),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(matches!(printer::get_printer_attributes(&p.uri).await, Err(PrinterError::Unreachable(_))));
}

#[tokio::test]
async fn wait_job_times_out() {
    if !yunyin_e2e::peers::printer::available_or_skip("wait_job_times_out") {
        return;
    }
    let p = TestPrinter::start("YunyinSlow").await;
    let info = printer::get_printer_attributes(&p.uri).await.unwrap();
    let file = write_pdf(&fixtures::mono_pdf(1));
    let job_id = printer::print_job(&p.uri, &info, file.path(), &options(1, "one-sided")).await.unwrap();
    // Simulated printing takes at least 5 s, so half a second is not enough.
    let result = printer::wait_job(&p.uri, job_id, POLL, Duration::from_millis(500)).await;
    assert!(matches!(result, Err(PrinterError::Timeout)), "{result:?}");
    let status = printer::job_state(&p.uri, job_id).await.unwrap();
    assert!(!status.state.is_terminal(), "{status:?}");
}
