//! Talking IPP to a printer: what it supports (Get-Printer-Attributes), printing a PDF
//! (Print-Job), following the job (Get-Job-Attributes) and finding it again by its tag
//! (Get-Jobs).
//!
//! The `ipp` crate builds and parses the messages; they travel over the workspace's reqwest
//! 0.12 client rather than the crate's own client, which would pull in a second reqwest.
//! Nothing here retries a Print-Job: sending it twice could print twice.

use std::{
    path::Path,
    sync::OnceLock,
    time::{Duration, Instant},
};

use ipp::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

/// Longest wait for a TCP (or TLS) connection to the printer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a query (attributes, job state) to be answered.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for a Print-Job to be sent and answered; large PDFs on slow printers take a while.
const PRINT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long `wait_job` keeps polling a printer that stopped answering before giving up:
/// a short network blip or a printer waking from sleep should not fail a paid job.
const UNREACHABLE_GRACE: Duration = Duration::from_secs(10);
/// IPP `name` values are at most 255 octets.
const MAX_NAME_BYTES: usize = 255;

/// The printer attributes read before printing.
const PRINTER_ATTRIBUTES: &[&str] = &[
    "printer-make-and-model",
    "printer-device-id",
    "printer-serial-number",
    "printer-uuid",
    "printer-name",
    "printer-state",
    "printer-state-reasons",
    "sides-supported",
    "color-supported",
    "media-supported",
    "copies-supported",
    "document-format-supported",
];

/// What went wrong talking to a printer.
#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    /// The printer could not be reached (connection refused, timed out, reset …).
    #[error("printer unreachable: {0}")]
    Unreachable(String),
    /// The printer answered with an unsuccessful IPP status.
    #[error("printer refused the request: {status}: {message}")]
    Refused {
        /// The IPP status code, e.g. `0x040a client-error-document-format-not-supported`.
        status: String,
        /// The printer's status-message, or a description of the status.
        message: String,
    },
    /// The answer was not valid IPP, or lacked what the operation must return; also a bad URI.
    #[error("IPP protocol error: {0}")]
    Protocol(String),
    /// The job did not reach a final state in time.
    #[error("timed out waiting for the printer")]
    Timeout,
}

impl PrinterError {
    /// Whether the printer said "not now" (server-error-service-unavailable, -temporary-error,
    /// -not-accepting-jobs, -busy): RFC 8011 asks the client to try again later. Printers that
    /// take one job at a time answer busy while they print the previous one.
    pub fn is_busy(&self) -> bool {
        match self {
            PrinterError::Refused { status, .. } => {
                ["0x0502", "0x0505", "0x0506", "0x0507"].iter().any(|code| status.starts_with(code))
            }
            _ => false,
        }
    }
}

/// The printer's overall state (`printer-state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    /// Ready for work.
    Idle,
    /// Printing.
    Processing,
    /// Cannot print until someone intervenes; `state_reasons` say why.
    Stopped,
}

/// What a printer says about itself and what it supports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrinterInfo {
    /// `printer-make-and-model`.
    pub make_model: Option<String>,
    /// `printer-serial-number`, else the `SN`/`SERN` key of `printer-device-id`.
    pub serial_number: Option<String>,
    /// `printer-uuid` without the `urn:uuid:` prefix.
    pub uuid: Option<String>,
    /// `printer-name`.
    pub name: Option<String>,
    /// `printer-state`.
    pub state: PrinterState,
    /// `printer-state-reasons`, without the placeholder `none`.
    pub state_reasons: Vec<String>,
    /// `sides-supported` (empty when the printer does not take `sides`).
    pub sides_supported: Vec<String>,
    /// `color-supported`.
    pub color_supported: bool,
    /// `media-supported` (PWG media names such as `iso_a4_210x297mm`).
    pub media_supported: Vec<String>,
    /// Upper bound of `copies-supported`; `None` when the printer does not take `copies`.
    pub copies_max: Option<i32>,
    /// `document-format-supported` (MIME types).
    pub document_formats: Vec<String>,
}

/// How the user asked for a document to be printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintOptions {
    /// Number of copies (at least 1).
    pub copies: u32,
    /// `one-sided`, `two-sided-long-edge` or `two-sided-short-edge`.
    pub sides: String,
    /// True prints in colour, false in monochrome.
    pub colour: bool,
    /// Paper size: `A4`, `A3`, `A5`, `B5` or `Letter`.
    pub media: String,
    /// Job name shown on the printer.
    pub job_name: String,
    /// Unique to this print; appended to the job name (`name [tag]`) so that [`find_job`] can
    /// recognise the job on the printer after the gateway restarted mid-send.
    pub tag: String,
    /// Name of the user printing (`requesting-user-name`).
    pub user_name: String,
}

/// A job's state (`job-state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IppJobState {
    /// Waiting to be processed.
    Pending,
    /// Held (`pending-held`) until released on the printer.
    Held,
    /// Being processed.
    Processing,
    /// Processing stopped (`processing-stopped`), usually because the printer is stopped.
    Stopped,
    /// Canceled by a user or operator.
    Canceled,
    /// Aborted by the printer.
    Aborted,
    /// Printed.
    Completed,
}

impl IppJobState {
    /// Whether the job will not change state again.
    pub fn is_terminal(self) -> bool {
        matches!(self, IppJobState::Canceled | IppJobState::Aborted | IppJobState::Completed)
    }

    fn from_enum(value: i32) -> Option<Self> {
        Some(match value {
            3 => IppJobState::Pending,
            4 => IppJobState::Held,
            5 => IppJobState::Processing,
            6 => IppJobState::Stopped,
            7 => IppJobState::Canceled,
            8 => IppJobState::Aborted,
            9 => IppJobState::Completed,
            _ => return None,
        })
    }
}

/// Where a job is, as the printer says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStatus {
    /// `job-state`.
    pub state: IppJobState,
    /// `job-state-reasons`, without the placeholder `none`.
    pub reasons: Vec<String>,
    /// `job-impressions-completed` (sides printed), when the printer says.
    pub impressions_completed: Option<i32>,
    /// `job-media-sheets-completed`, else `job-pages-completed`, when the printer says.
    pub pages_completed: Option<i32>,
}

/// Reads what the printer at `uri` (`ipp://`, `ipps://`, `http://` or `https://`) is and supports.
pub async fn get_printer_attributes(uri: &str) -> Result<PrinterInfo, PrinterError> {
    let target = Target::parse(uri)?;
    let op = IppOperationBuilder::get_printer_attributes(target.uri.clone())
        .attributes(PRINTER_ATTRIBUTES)
        .build()
        .map_err(protocol)?;
    let response = target.query(op.into()).await?;
    let group = response
        .attributes()
        .groups_of(DelimiterTag::PrinterAttributes)
        .next()
        .ok_or_else(|| PrinterError::Protocol("no printer attributes in the answer".into()))?;
    let get = |name: &str| group.get(name).map(|a| a.value());
    let text = |name: &str| get(name).map(|v| v.to_string()).filter(|s| !s.is_empty());

    let state = match get("printer-state").and_then(|v| v.as_enum().copied()) {
        Some(3) => PrinterState::Idle,
        Some(4) => PrinterState::Processing,
        Some(5) => PrinterState::Stopped,
        other => return Err(PrinterError::Protocol(format!("bad or missing printer-state: {other:?}"))),
    };
    let copies_max = get("copies-supported").and_then(|v| match v {
        IppValue::RangeOfInteger { max, .. } => Some(*max),
        IppValue::Integer(max) => Some(*max),
        _ => None,
    });
    Ok(PrinterInfo {
        make_model: text("printer-make-and-model"),
        serial_number: text("printer-serial-number")
            .or_else(|| text("printer-device-id").and_then(|id| device_id_serial(&id))),
        uuid: text("printer-uuid").map(|u| u.strip_prefix("urn:uuid:").map(str::to_string).unwrap_or(u)),
        name: text("printer-name"),
        state,
        state_reasons: reasons(get("printer-state-reasons")),
        sides_supported: strings(get("sides-supported")),
        color_supported: matches!(get("color-supported"), Some(IppValue::Boolean(true))),
        media_supported: strings(get("media-supported")),
        copies_max,
        document_formats: strings(get("document-format-supported")),
    })
}

/// Prints the PDF file `pdf` on the printer at `uri` with Print-Job and returns the printer's job
/// id. Options are sent only where `info` says the printer supports them, so a printer without
/// duplex still prints (one-sided) rather than refusing the job.
pub async fn print_job(uri: &str, info: &PrinterInfo, pdf: &Path, opts: &PrintOptions) -> Result<i32, PrinterError> {
    let target = Target::parse(uri)?;
    let file = tokio::fs::File::open(pdf)
        .await
        .map_err(|e| PrinterError::Protocol(format!("cannot read {}: {e}", pdf.display())))?;
    let file_len = file.metadata().await.ok().map(|m| m.len());

    let mut builder = IppOperationBuilder::print_job(target.uri.clone(), IppPayload::empty())
        .document_format("application/pdf")
        .job_title(tagged_name(&opts.job_name, &opts.tag));
    if !opts.user_name.is_empty() {
        builder = builder.user_name(truncate_name(&opts.user_name));
    }
    for (name, value) in job_attributes(info, opts) {
        builder = builder.attribute(IppAttribute::with_name(name, value).map_err(protocol)?);
    }
    let request: IppRequestResponse = builder.build().map_err(protocol)?.into();

    // Stream the document after the IPP message rather than loading it into memory.
    let head = request.to_bytes();
    let content_length = file_len.map(|n| n + head.len() as u64);
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(std::io::Cursor::new(head).chain(file)));
    let response = target.send(body, content_length, PRINT_TIMEOUT).await?;
    let group = response.attributes().groups_of(DelimiterTag::JobAttributes).next();
    group
        .and_then(|g| g.get("job-id"))
        .and_then(|a| a.value().as_integer().copied())
        .ok_or_else(|| PrinterError::Protocol("Print-Job answer has no job-id".into()))
}

/// Reads the state of job `job_id` on the printer at `uri` (Get-Job-Attributes).
pub async fn job_state(uri: &str, job_id: i32) -> Result<JobStatus, PrinterError> {
    let target = Target::parse(uri)?;
    let op = IppOperationBuilder::get_job_attributes(target.uri.clone(), job_id).build().map_err(protocol)?;
    let response = target.query(op.into()).await?;
    let group = response
        .attributes()
        .groups_of(DelimiterTag::JobAttributes)
        .next()
        .ok_or_else(|| PrinterError::Protocol("no job attributes in the answer".into()))?;
    let get = |name: &str| group.get(name).map(|a| a.value());
    let int = |name: &str| get(name).and_then(|v| v.as_integer().copied());
    let state = get("job-state")
        .and_then(|v| v.as_enum().copied())
        .and_then(IppJobState::from_enum)
        .ok_or_else(|| PrinterError::Protocol("bad or missing job-state".into()))?;
    Ok(JobStatus {
        state,
        reasons: reasons(get("job-state-reasons")),
        impressions_completed: int("job-impressions-completed"),
        pages_completed: int("job-media-sheets-completed").or_else(|| int("job-pages-completed")),
    })
}

/// Looks among the printer's jobs, finished ones included (Get-Jobs, `which-jobs=all`), for the
/// one whose name carries `tag`; its job id, or `None` when the printer has no such job.
pub async fn find_job(uri: &str, tag: &str) -> Result<Option<i32>, PrinterError> {
    let target = Target::parse(uri)?;
    let mut request: IppRequestResponse =
        IppOperationBuilder::get_jobs(target.uri.clone()).build().map_err(protocol)?.into();
    let keyword = |s: &str| IppValue::Keyword(ipp::value::IppKeyword::new_truncated(s));
    let operation = request.attributes_mut();
    operation.add(
        DelimiterTag::OperationAttributes,
        IppAttribute::with_name("which-jobs", keyword("all")).map_err(protocol)?,
    );
    operation.add(
        DelimiterTag::OperationAttributes,
        IppAttribute::with_name("requested-attributes", IppValue::Array(vec![keyword("job-id"), keyword("job-name")]))
            .map_err(protocol)?,
    );
    let response = target.query(request).await?;
    let suffix = tag_suffix(tag);
    let found = response.attributes().groups_of(DelimiterTag::JobAttributes).find_map(|job| {
        let name = job.get("job-name")?.value().to_string();
        name.ends_with(&suffix).then(|| job.get("job-id")?.value().as_integer().copied()).flatten()
    });
    Ok(found)
}

/// Polls job `job_id` every `poll` until it is canceled, aborted or completed, and returns that
/// final status. Gives [`PrinterError::Timeout`] after `limit`; a printer that stops answering is
/// tolerated for a few seconds and then gives [`PrinterError::Unreachable`].
pub async fn wait_job(uri: &str, job_id: i32, poll: Duration, limit: Duration) -> Result<JobStatus, PrinterError> {
    let deadline = Instant::now() + limit;
    let mut unreachable_since: Option<Instant> = None;
    loop {
        match job_state(uri, job_id).await {
            Ok(status) if status.state.is_terminal() => return Ok(status),
            Ok(_) => unreachable_since = None,
            Err(PrinterError::Unreachable(e)) => {
                let since = *unreachable_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= UNREACHABLE_GRACE || Instant::now() >= deadline {
                    return Err(PrinterError::Unreachable(e));
                }
            }
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Err(PrinterError::Timeout);
        }
        tokio::time::sleep(poll.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// The job attributes for `opts` that the printer supports.
fn job_attributes(info: &PrinterInfo, opts: &PrintOptions) -> Vec<(&'static str, IppValue)> {
    let mut attrs = Vec::new();
    let keyword = |s: &str| IppValue::Keyword(ipp::value::IppKeyword::new_truncated(s));

    let copies = i32::try_from(opts.copies.max(1)).unwrap_or(i32::MAX);
    match info.copies_max {
        Some(max) => {
            if copies > max {
                tracing::warn!(copies, max, "printer takes fewer copies than asked; clamping");
            }
            attrs.push(("copies", IppValue::Integer(copies.min(max.max(1)))));
        }
        None if copies > 1 => tracing::warn!(copies, "printer does not take copies; printing one"),
        None => {}
    }

    if info.sides_supported.contains(&opts.sides) {
        attrs.push(("sides", keyword(&opts.sides)));
    } else if info.sides_supported.iter().any(|s| s == "one-sided") {
        attrs.push(("sides", keyword("one-sided")));
    }

    // A monochrome-only printer prints monochrome anyway and may not know print-color-mode.
    if info.color_supported {
        attrs.push(("print-color-mode", keyword(if opts.colour { "color" } else { "monochrome" })));
    }

    if let Some(media) = media_keyword(&opts.media, &info.media_supported) {
        attrs.push(("media", keyword(media)));
    } else {
        tracing::warn!(media = %opts.media, "printer does not list this paper size; using its default");
    }
    attrs
}

/// The PWG media name for a paper size, if the printer supports it. B5 is ISO B5 or, on printers
/// sold in China and Japan, often only JIS B5.
fn media_keyword<'a>(media: &str, supported: &'a [String]) -> Option<&'a str> {
    let candidates: &[&str] = match media.to_ascii_uppercase().as_str() {
        "A4" => &["iso_a4_210x297mm"],
        "A3" => &["iso_a3_297x420mm"],
        "A5" => &["iso_a5_148x210mm"],
        "B5" => &["iso_b5_176x250mm", "jis_b5_182x257mm"],
        "LETTER" => &["na_letter_8.5x11in"],
        _ => &[],
    };
    candidates.iter().find_map(|c| supported.iter().find(|s| s.as_str() == *c)).map(String::as_str)
}

/// The serial number from an IEEE 1284 device id (`MFG:…;MDL:…;SN:…;`).
fn device_id_serial(id: &str) -> Option<String> {
    id.split(';').find_map(|pair| {
        let (key, value) = pair.split_once(':')?;
        let key = key.trim().to_ascii_uppercase();
        (matches!(key.as_str(), "SN" | "SERN" | "SERIALNUMBER") && !value.trim().is_empty())
            .then(|| value.trim().to_string())
    })
}

/// A single or multi-valued attribute as strings.
fn strings(value: Option<&IppValue>) -> Vec<String> {
    match value {
        Some(IppValue::Array(values)) => values.iter().map(|v| v.to_string()).collect(),
        Some(IppValue::NoValue) | None => Vec::new(),
        Some(v) => vec![v.to_string()],
    }
}

/// State reasons, dropping `none` (which IPP sends instead of an empty list).
fn reasons(value: Option<&IppValue>) -> Vec<String> {
    strings(value).into_iter().filter(|r| r != "none").collect()
}

/// Cuts a name to the 255 octets IPP allows, on a character boundary (names are often Chinese).
fn truncate_name(name: &str) -> &str {
    truncate_to(name, MAX_NAME_BYTES)
}

fn truncate_to(name: &str, max: usize) -> &str {
    if name.len() <= max {
        return name;
    }
    let mut end = max;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

fn tag_suffix(tag: &str) -> String {
    format!(" [{tag}]")
}

/// The job name with its tag at the end; the name, not the tag, is cut to fit 255 octets.
fn tagged_name(name: &str, tag: &str) -> String {
    if tag.is_empty() {
        return truncate_name(name).to_string();
    }
    let suffix = tag_suffix(truncate_to(tag, MAX_NAME_BYTES / 2));
    format!("{}{suffix}", truncate_to(name, MAX_NAME_BYTES - suffix.len()))
}

fn protocol(e: impl std::fmt::Display) -> PrinterError {
    PrinterError::Protocol(e.to_string())
}

/// The error with its causes: reqwest hides the interesting part (e.g. "Connection refused").
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // Building only fails if the TLS backend cannot start; the default client then fails the
        // same way on use, which reports it as an error instead of a panic here.
        reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).build().unwrap_or_default()
    })
}

/// A printer address: the IPP URI for the message and the HTTP URL to post it to.
struct Target {
    uri: Uri,
    url: String,
}

impl Target {
    fn parse(uri: &str) -> Result<Self, PrinterError> {
        let parsed: Uri = uri.parse().map_err(|e| PrinterError::Protocol(format!("bad printer URI {uri:?}: {e}")))?;
        let (scheme, default_port) = match parsed.scheme_str() {
            Some("ipp") | Some("http") => ("http", 631),
            Some("ipps") | Some("https") => ("https", 443),
            _ => return Err(PrinterError::Protocol(format!("printer URI {uri:?} is not ipp:// or ipps://"))),
        };
        let authority =
            parsed.authority().ok_or_else(|| PrinterError::Protocol(format!("printer URI {uri:?} has no host")))?;
        let port = authority.port_u16().unwrap_or(default_port);
        let path = parsed.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let url = format!("{scheme}://{}:{port}{path}", authority.host());
        Ok(Self { uri: parsed, url })
    }

    /// Sends a request without a document.
    async fn query(&self, request: IppRequestResponse) -> Result<IppRequestResponse, PrinterError> {
        let body = request.to_bytes();
        let len = body.len() as u64;
        self.send(reqwest::Body::from(body), Some(len), QUERY_TIMEOUT).await
    }

    /// Posts an IPP message and parses the answer; an unsuccessful IPP status is an error.
    async fn send(
        &self,
        body: reqwest::Body,
        content_length: Option<u64>,
        timeout: Duration,
    ) -> Result<IppRequestResponse, PrinterError> {
        let mut request =
            client().post(&self.url).header(reqwest::header::CONTENT_TYPE, "application/ipp").timeout(timeout);
        // Some printers refuse chunked uploads, so say the length when it is known.
        if let Some(len) = content_length {
            request = request.header(reqwest::header::CONTENT_LENGTH, len);
        }
        let response = request.body(body).send().await.map_err(|e| PrinterError::Unreachable(describe(&e)))?;
        let http_status = response.status();
        if !http_status.is_success() {
            return Err(PrinterError::Protocol(format!("HTTP {http_status} from {}", self.url)));
        }
        let bytes = response.bytes().await.map_err(|e| PrinterError::Unreachable(describe(&e)))?;
        let parsed = ipp::parser::IppParser::new(ipp::reader::IppReader::new(std::io::Cursor::new(bytes)))
            .parse()
            .map_err(|e| PrinterError::Protocol(format!("bad IPP answer: {e}")))?;

        let status = parsed.header().status_code();
        if !status.is_success() {
            let raw = parsed.header().operation_or_status;
            let message = parsed
                .attributes()
                .groups_of(DelimiterTag::OperationAttributes)
                .next()
                .and_then(|g| g.get("status-message"))
                .map(|a| a.value().to_string())
                .unwrap_or_else(|| status.to_string());
            return Err(PrinterError::Refused { status: format!("0x{raw:04x} {status:?}"), message });
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_printers_are_told_apart_from_refusals() {
        let refused = |status: &str| PrinterError::Refused { status: status.into(), message: String::new() };
        assert!(refused("0x0507 ServerErrorBusy").is_busy());
        assert!(refused("0x0502 ServerErrorServiceUnavailable").is_busy());
        assert!(!refused("0x040a ClientErrorDocumentFormatNotSupported").is_busy());
        assert!(!PrinterError::Unreachable("refused".into()).is_busy());
    }

    fn info() -> PrinterInfo {
        PrinterInfo {
            make_model: None,
            serial_number: None,
            uuid: None,
            name: None,
            state: PrinterState::Idle,
            state_reasons: vec![],
            sides_supported: vec!["one-sided".into()],
            color_supported: false,
            media_supported: vec!["iso_a4_210x297mm".into(), "jis_b5_182x257mm".into()],
            copies_max: Some(5),
            document_formats: vec!["application/pdf".into()],
        }
    }

    fn opts() -> PrintOptions {
        PrintOptions {
            copies: 9,
            sides: "two-sided-long-edge".into(),
            colour: true,
            media: "B5".into(),
            job_name: "doc".into(),
            tag: "t".into(),
            user_name: "u".into(),
        }
    }

    #[test]
    fn options_follow_what_the_printer_supports() {
        let attrs: Vec<(&str, String)> =
            job_attributes(&info(), &opts()).into_iter().map(|(n, v)| (n, v.to_string())).collect();
        assert_eq!(
            attrs,
            vec![("copies", "5".into()), ("sides", "one-sided".into()), ("media", "jis_b5_182x257mm".into())]
        );
    }

    #[test]
    fn unsupported_media_is_left_to_the_printer() {
        assert_eq!(media_keyword("A3", &info().media_supported), None);
        assert_eq!(media_keyword("a4", &info().media_supported), Some("iso_a4_210x297mm"));
    }

    #[test]
    fn serial_from_device_id() {
        assert_eq!(device_id_serial("MFG:HP;MDL:X;SN:CN123;"), Some("CN123".into()));
        assert_eq!(device_id_serial("MFG:Yunyin;MDL:Test 1;CMD:PDF;"), None);
    }

    #[test]
    fn names_are_cut_on_a_character_boundary() {
        let long = "打".repeat(100);
        let cut = truncate_name(&long);
        assert!(cut.len() <= MAX_NAME_BYTES && long.starts_with(cut));
    }

    #[test]
    fn the_tag_survives_cutting_the_name() {
        let long = "打".repeat(100);
        let named = tagged_name(&long, "0193-abcd");
        assert!(named.len() <= MAX_NAME_BYTES && named.ends_with(&tag_suffix("0193-abcd")), "{named}");
        assert!(named.starts_with("打打"));
        assert_eq!(tagged_name("报告.pdf", "c1"), "报告.pdf [c1]");
        assert_eq!(tagged_name("报告.pdf", ""), "报告.pdf");
    }

    #[test]
    fn uris_map_to_http() {
        assert_eq!(
            Target::parse("ipp://localhost:8631/ipp/print").map(|t| t.url).ok().as_deref(),
            Some("http://localhost:8631/ipp/print")
        );
        assert_eq!(
            Target::parse("ipp://printer/ipp/print").map(|t| t.url).ok().as_deref(),
            Some("http://printer:631/ipp/print")
        );
        assert!(matches!(Target::parse("lpd://x/q"), Err(PrinterError::Protocol(_))));
    }
}
