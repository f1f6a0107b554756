//! The IPP Everywhere printer of each enterprise at `/ipp/print/{enterprise_code}` (RFC 8011
//! over HTTP, on the API's port; not part of the OpenAPI description: the body is IPP, not
//! JSON). Requests are parsed and answered with the `ipp` crate; a document streams from the
//! request body into the job pipeline without being held in memory.
//!
//! Authentication is HTTP Basic with the user's login and their password or a printing token
//! (`401` with `WWW-Authenticate: Basic realm="yunyin"` asks for them). Get-Printer-Attributes
//! may be anonymous, because operating systems ask what a printer is before they ask for a
//! password; every job operation needs a signed-in user and sees only that user's jobs.

use std::sync::OnceLock;

use futures_util::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    AsyncRead, TryStreamExt,
};
use ipp::{
    attribute::{IppAttribute, IppAttributeGroup},
    model::{DelimiterTag, IppVersion, StatusCode as IppStatus},
    parser::AsyncIppParser,
    reader::AsyncIppReader,
    request::IppRequestResponse,
    value::{IppName, IppValue},
};
use poem::{
    handler,
    http::{header, StatusCode},
    web::{Data, Path},
    Body, Request, Response,
};

use super::ipp_attributes::{
    self as attrs, filter_printer, job_attributes, paper_of_dimensions, paper_of_media, printer_attributes,
    PrinterClock, PrinterPlace, Requested, FORMATS,
};
use crate::{
    documents::DocumentError,
    domain::{PageRanges, PaperSize, Sides},
    infra::now_ms,
    services::{
        authz::UserPrincipal,
        ipp::{IppError, IppJob, IppPrinter, IppService, IppTicket},
        jobs::JobError,
        printing_tokens::{PrintingTokenError, PrintingTokenService},
        sessions::SessionError,
        tenants::TenantError,
    },
};

/// What the IPP routes share.
#[derive(Clone)]
pub struct IppContext {
    pub ipp: IppService,
    pub tokens: PrintingTokenService,
    /// The configured public base URL: `https://…` means clients reach us through TLS.
    pub public_base_url: String,
}

/// Operation codes (RFC 8011 5.4.15, PWG 5100.11/5100.14).
mod op {
    pub const PRINT_JOB: i16 = 0x02;
    pub const VALIDATE_JOB: i16 = 0x04;
    pub const CREATE_JOB: i16 = 0x05;
    pub const SEND_DOCUMENT: i16 = 0x06;
    pub const CANCEL_JOB: i16 = 0x08;
    pub const GET_JOB_ATTRIBUTES: i16 = 0x09;
    pub const GET_JOBS: i16 = 0x0a;
    pub const GET_PRINTER_ATTRIBUTES: i16 = 0x0b;
    pub const CANCEL_MY_JOBS: i16 = 0x39;
    pub const CLOSE_JOB: i16 = 0x3b;
    pub const IDENTIFY_PRINTER: i16 = 0x3c;
}

/// A request's document, streamed from what is left of the body after the attributes.
type DocReader = BufReader<Box<dyn AsyncRead + Send + Unpin>>;

/// An IPP answer before encoding.
struct Reply {
    status: IppStatus,
    message: Option<String>,
    unsupported: Vec<IppAttribute>,
    groups: Vec<(DelimiterTag, Vec<IppAttribute>)>,
}

impl Reply {
    fn status(status: IppStatus, message: impl Into<String>) -> Self {
        Self { status, message: Some(message.into()), unsupported: vec![], groups: vec![] }
    }

    fn ok() -> Self {
        Self { status: IppStatus::SuccessfulOk, message: None, unsupported: vec![], groups: vec![] }
    }

    fn with(mut self, tag: DelimiterTag, attributes: Vec<IppAttribute>) -> Self {
        self.groups.push((tag, attributes));
        self
    }
}

/// The request's operation attributes, read once.
struct Operation {
    attributes: Vec<IppAttribute>,
    job_group: Vec<IppAttribute>,
}

impl Operation {
    fn get(&self, name: &str) -> Option<&IppValue> {
        self.attributes.iter().find(|a| a.name().as_str() == name).map(IppAttribute::value)
    }

    fn string(&self, name: &str) -> Option<String> {
        self.get(name).and_then(value_string)
    }

    fn integer(&self, name: &str) -> Option<i32> {
        match self.get(name)? {
            IppValue::Integer(n) => Some(*n),
            _ => None,
        }
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            IppValue::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    fn strings(&self, name: &str) -> Option<Vec<String>> {
        match self.get(name)? {
            IppValue::Array(vs) => Some(vs.iter().filter_map(value_string).collect()),
            v => value_string(v).map(|s| vec![s]),
        }
    }
}

fn value_string(v: &IppValue) -> Option<String> {
    Some(match v {
        IppValue::Keyword(s) | IppValue::NameWithoutLanguage(s) | IppValue::MemberAttrName(s) => s.to_string(),
        IppValue::NameWithLanguage { name, .. } => name.to_string(),
        IppValue::TextWithoutLanguage(t) => t.to_string(),
        IppValue::TextWithLanguage { text, .. } => text.to_string(),
        IppValue::Charset(s) | IppValue::NaturalLanguage(s) => s.to_string(),
        IppValue::Uri(s) | IppValue::UriScheme(s) => s.to_string(),
        IppValue::MimeMediaType(s) => s.to_string(),
        _ => return None,
    })
}

fn plain(status: StatusCode, text: &str) -> Response {
    Response::builder().status(status).content_type("text/plain; charset=utf-8").body(text.to_string())
}

fn unauthorized() -> Response {
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header(header::WWW_AUTHENTICATE, "Basic realm=\"yunyin\"")
        .content_type("text/plain; charset=utf-8")
        .body("Sign in with your login and your password or a printing token.")
}

/// Where the request reached us: the printer URI clients should use and the web base.
fn place_of(req: &Request, ctx: &IppContext, code: &str) -> PrinterPlace {
    let forwarded_tls = req.header("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let tls = forwarded_tls || ctx.public_base_url.starts_with("https://");
    let host = req
        .header("x-forwarded-host")
        .or_else(|| req.header(header::HOST))
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".into());
    let (ipp, web) = if tls { ("ipps", "https") } else { ("ipp", "http") };
    PrinterPlace { printer_uri: format!("{ipp}://{host}/ipp/print/{code}"), web_base: format!("{web}://{host}"), tls }
}

/// Login and secret of an `Authorization: Basic` header.
fn basic_credentials(req: &Request) -> Option<(String, String)> {
    use base64::Engine;
    let value = req.header(header::AUTHORIZATION)?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, secret) = text.split_once(':')?;
    Some((login.to_string(), secret.to_string()))
}

/// `GET /ipp/print/{code}`: what this address is, for a person or a probing OS.
#[handler]
pub async fn printer_page(req: &Request, Path(code): Path<String>, ctx: Data<&IppContext>) -> Response {
    match ctx.ipp.printer(&code).await {
        Ok(p) => {
            let place = place_of(req, &ctx, &p.code);
            let name = html_escape(&p.name);
            let uri = html_escape(&place.printer_uri);
            let body = format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name} — yunyin printer</title></head>\
                 <body><h1>{name}: IPP Everywhere printer</h1>\
                 <p>This is the driverless (IPP Everywhere) printer of {name} on yunyin. Add it on a PC or Mac \
                 with the address <code>{uri}</code> and sign in with your login and your password or a \
                 printing token made in the app. Jobs are held until you release them at any print point.</p>\
                 <p><a href=\"{web}/m/\">Open the web app</a></p></body></html>",
                web = html_escape(&place.web_base),
            );
            Response::builder().content_type("text/html; charset=utf-8").body(body)
        }
        Err(IppError::PrinterNotFound) => plain(StatusCode::NOT_FOUND, "No such printer."),
        Err(e) => {
            tracing::error!(error = %e, "IPP printer page");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.")
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `GET /ipp/print/{code}/icon.png`: the printer's icon (`printer-icons`), drawn once.
#[handler]
pub async fn printer_icon() -> Response {
    static ICON: OnceLock<Vec<u8>> = OnceLock::new();
    let png = ICON.get_or_init(|| {
        let img = image::RgbaImage::from_fn(128, 128, |x, y| {
            let inside = (16..112).contains(&x) && (40..100).contains(&y);
            let paper = (36..92).contains(&x) && (12..44).contains(&y);
            if inside {
                image::Rgba([0x1f, 0x6f, 0xeb, 0xff])
            } else if paper {
                image::Rgba([0xf5, 0xf5, 0xf5, 0xff])
            } else {
                image::Rgba([0, 0, 0, 0])
            }
        });
        let mut out = std::io::Cursor::new(Vec::new());
        // Encoding an in-memory RGBA image to PNG cannot fail short of allocation failure;
        // an empty icon is the fallback.
        if img.write_to(&mut out, image::ImageFormat::Png).is_err() {
            return Vec::new();
        }
        out.into_inner()
    });
    Response::builder().content_type("image/png").header(header::CACHE_CONTROL, "max-age=86400").body(png.clone())
}

/// `POST /ipp/print/{code}`: one IPP operation.
#[handler]
#[tracing::instrument(skip_all, fields(code = %code))]
pub async fn ipp_request(req: &Request, Path(code): Path<String>, body: Body, ctx: Data<&IppContext>) -> Response {
    let printer = match ctx.ipp.printer(&code).await {
        Ok(p) => p,
        Err(IppError::PrinterNotFound) => return plain(StatusCode::NOT_FOUND, "No such printer."),
        Err(e) => {
            tracing::error!(error = %e, "IPP printer lookup");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.");
        }
    };
    // Credentials, when sent, are checked before a byte of the body is read.
    let credentials = basic_credentials(req);
    let who = match &credentials {
        None => None,
        Some((login, secret)) => {
            let ip = super::sessions::client_ip(req);
            match ctx.tokens.authenticate_basic(&printer.code, login, secret, &ip).await {
                Ok(who) => Some(who),
                Err(PrintingTokenError::Session(
                    SessionError::InvalidCredentials
                    | SessionError::AccountDisabled
                    | SessionError::AccountLocked { .. }
                    | SessionError::TooManyAttempts { .. }
                    | SessionError::EnterpriseNotFound
                    | SessionError::EnterpriseSuspended,
                )) => return unauthorized(),
                Err(e) => {
                    tracing::error!(error = %e, "IPP authentication");
                    return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.");
                }
            }
        }
    };
    let stream = Box::pin(body.into_bytes_stream());
    let reader: Box<dyn AsyncRead + Send + Unpin> = Box::new(stream.into_async_read());
    let parsed =
        AsyncIppParser::new(AsyncIppReader::new(BufReader::with_capacity(64 * 1024, reader))).parse_parts().await;
    let (head, attributes, rest) = match parsed {
        Ok(parts) => parts,
        Err(e) => {
            tracing::info!(error = %e, "unreadable IPP request");
            return plain(StatusCode::BAD_REQUEST, "Not an IPP request.");
        }
    };
    let version = head.version;
    let request_id = head.request_id;
    let place = place_of(req, &ctx, &printer.code);
    let reply = match check_request(&head, &attributes) {
        Err(reply) => reply,
        Ok(operation) => {
            if who.is_none() && head.operation_or_status != op::GET_PRINTER_ATTRIBUTES {
                // The client is already sending its document: read it to the end (discarding
                // it) so the connection stays usable for the retry with credentials.
                drain(&mut rest.into_inner()).await;
                return unauthorized();
            }
            let login = credentials.as_ref().map(|(login, _)| login.as_str());
            let call = Call { ctx: &ctx, printer: &printer, place: &place, who: who.as_ref(), login };
            let mut rest = rest.into_inner();
            let reply = Box::pin(call.dispatch(head.operation_or_status, &operation, &mut rest)).await;
            // Whatever the operation did not read (a document sent with a refused request)
            // is read to the end, so the client gets the answer on a usable connection.
            drain(&mut rest).await;
            reply
        }
    };
    encode(version, request_id, reply)
}

/// RFC 8011 4.1: version, request-id, and the operation group's first two attributes.
fn check_request(head: &ipp::IppHeader, attributes: &ipp::attribute::IppAttributes) -> Result<Operation, Reply> {
    let major = head.version.0 >> 8;
    if major != 1 && major != 2 {
        return Err(Reply::status(IppStatus::ServerErrorVersionNotSupported, "IPP 1.x and 2.x only"));
    }
    if head.request_id <= 0 {
        return Err(Reply::status(IppStatus::ClientErrorBadRequest, "request-id must be positive"));
    }
    let groups = attributes.groups();
    let Some(first) = groups.first().filter(|g| g.tag() == DelimiterTag::OperationAttributes) else {
        return Err(Reply::status(IppStatus::ClientErrorBadRequest, "missing operation attributes"));
    };
    let list = first.attributes();
    let names: Vec<&str> = list.iter().take(2).map(|a| a.name().as_str()).collect();
    if names != ["attributes-charset", "attributes-natural-language"] {
        return Err(Reply::status(
            IppStatus::ClientErrorBadRequest,
            "attributes-charset and attributes-natural-language must come first",
        ));
    }
    let charset = value_string(list[0].value()).unwrap_or_default().to_ascii_lowercase();
    if charset != "utf-8" && charset != "us-ascii" {
        return Err(Reply::status(IppStatus::ClientErrorCharsetNotSupported, "utf-8 only"));
    }
    if groups.iter().filter(|g| g.tag() == DelimiterTag::OperationAttributes).count() > 1 {
        return Err(Reply::status(IppStatus::ClientErrorBadRequest, "more than one operation group"));
    }
    let operation = Operation {
        attributes: list.to_vec(),
        job_group: groups
            .iter()
            .filter(|g| g.tag() == DelimiterTag::JobAttributes)
            .flat_map(|g| g.attributes().iter().cloned())
            .collect(),
    };
    if operation.get("printer-uri").is_none() && operation.get("job-uri").is_none() {
        return Err(Reply::status(IppStatus::ClientErrorBadRequest, "missing printer-uri"));
    }
    Ok(operation)
}

fn encode(version: IppVersion, request_id: i32, reply: Reply) -> Response {
    let answer_version = if matches!(version.0 >> 8, 1 | 2) { version } else { IppVersion::v1_1() };
    let bytes = match build(answer_version, request_id, reply) {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "encoding an IPP response");
            match build(
                answer_version,
                request_id,
                Reply::status(IppStatus::ServerErrorInternalError, "internal error"),
            ) {
                Ok(bytes) => bytes,
                Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error."),
            }
        }
    };
    Response::builder().content_type("application/ipp").body(bytes)
}

fn build(version: IppVersion, request_id: i32, reply: Reply) -> Result<bytes::Bytes, ipp::parser::IppParseError> {
    let mut response = IppRequestResponse::new_response(version, reply.status, request_id)?;
    if let Some(message) = reply.message {
        response.attributes_mut().add(
            DelimiterTag::OperationAttributes,
            IppAttribute::new(IppName::new("status-message")?, IppValue::new_text_without_language(message)?),
        );
    }
    let groups = response.attributes_mut().groups_mut();
    if !reply.unsupported.is_empty() {
        let mut group = IppAttributeGroup::new(DelimiterTag::UnsupportedAttributes);
        group.attributes_mut().extend(reply.unsupported);
        groups.push(group);
    }
    for (tag, list) in reply.groups {
        let mut group = IppAttributeGroup::new(tag);
        group.attributes_mut().extend(list);
        groups.push(group);
    }
    Ok(response.to_bytes())
}

/// A job's template attributes, checked: what we can honour goes into the ticket; what we
/// cannot goes back in the unsupported-attributes group.
fn read_ticket(job_group: &[IppAttribute]) -> (IppTicket, Vec<IppAttribute>) {
    let mut ticket = IppTicket::default();
    let mut refused = Vec::new();
    for attr in job_group {
        let v = attr.value();
        let ok = match attr.name().as_str() {
            "copies" => match v {
                IppValue::Integer(n) if (1..=99).contains(n) => {
                    ticket.copies = u32::try_from(*n).ok();
                    true
                }
                _ => false,
            },
            "sides" => match value_string(v).and_then(|s| Sides::parse(&s).ok()) {
                Some(s) => {
                    ticket.sides = Some(s);
                    true
                }
                None => false,
            },
            "print-color-mode" => match value_string(v).and_then(|s| attrs::colour_of_keyword(&s)) {
                Some(c) => {
                    ticket.colour_mode = Some(c);
                    true
                }
                None => false,
            },
            "media" => match value_string(v).and_then(|s| paper_of_media(&s)) {
                Some(p) => {
                    ticket.media = Some(p);
                    true
                }
                None => false,
            },
            "media-col" => match media_col_paper(v) {
                Some(Some(p)) => {
                    ticket.media = Some(p);
                    true
                }
                Some(None) => true,
                None => false,
            },
            "page-ranges" => match page_ranges(v) {
                Some(r) => {
                    ticket.page_ranges = Some(r);
                    true
                }
                None => false,
            },
            "finishings" => matches!(v, IppValue::Enum(3)),
            "print-quality" => matches!(v, IppValue::Enum(3..=5)),
            "orientation-requested" => matches!(v, IppValue::Enum(3..=6)),
            "printer-resolution" => matches!(v, IppValue::Resolution { .. }),
            "output-bin" => value_string(v).is_some_and(|s| s == "face-down"),
            "media-source" | "media-type" | "print-content-optimize" | "print-rendering-intent" => {
                value_string(v).is_some()
            }
            "job-sheets" => value_string(v).is_some_and(|s| s == "none"),
            "multiple-document-handling" | "job-priority" | "job-hold-until" | "number-up" => {
                matches!(v, IppValue::Integer(1)) || value_string(v).is_some_and(|s| s != "indefinite")
            }
            _ => false,
        };
        if !ok {
            refused.push(attr.clone());
        }
    }
    (ticket, refused)
}

/// The paper a `media-col` names by `media-key` or `media-size`: Some(None) when it names
/// none (only other members), None when it names one we do not have.
fn media_col_paper(v: &IppValue) -> Option<Option<PaperSize>> {
    let IppValue::Collection(members) = v else { return None };
    if let Some(key) = members.iter().find(|(k, _)| k.as_str() == "media-key").and_then(|(_, v)| value_string(v)) {
        return paper_of_media(&key).map(Some);
    }
    match members.iter().find(|(k, _)| k.as_str() == "media-size").map(|(_, v)| v) {
        Some(IppValue::Collection(size)) => {
            let dim = |name: &str| {
                size.iter().find(|(k, _)| k.as_str() == name).and_then(|(_, v)| match v {
                    IppValue::Integer(n) => Some(*n),
                    _ => None,
                })
            };
            paper_of_dimensions(dim("x-dimension")?, dim("y-dimension")?).map(Some)
        }
        Some(_) => None,
        None => Some(None),
    }
}

fn page_ranges(v: &IppValue) -> Option<PageRanges> {
    let ranges: Vec<(i32, i32)> = match v {
        IppValue::RangeOfInteger { min, max } => vec![(*min, *max)],
        IppValue::Array(list) => list
            .iter()
            .map(|r| match r {
                IppValue::RangeOfInteger { min, max } => Some((*min, *max)),
                _ => None,
            })
            .collect::<Option<_>>()?,
        _ => return None,
    };
    if ranges.iter().any(|(a, b)| *a < 1 || b < a) {
        return None;
    }
    let text = ranges
        .iter()
        .map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
        .collect::<Vec<_>>()
        .join(",");
    PageRanges::parse(&text).ok()
}

/// One operation at one printer, with the signed-in user when there is one.
struct Call<'a> {
    ctx: &'a IppContext,
    printer: &'a IppPrinter,
    place: &'a PrinterPlace,
    who: Option<&'a UserPrincipal>,
    /// The login the user signed in with (`job-originating-user-name`).
    login: Option<&'a str>,
}

impl Call<'_> {
    fn clock(&self) -> PrinterClock {
        PrinterClock { epoch_ms: self.printer.created_at, now_ms: now_ms() }
    }

    async fn dispatch(&self, operation: i16, o: &Operation, rest: &mut DocReader) -> Reply {
        let result = match operation {
            op::GET_PRINTER_ATTRIBUTES => self.get_printer_attributes(o).await,
            op::VALIDATE_JOB => self.validate_job(o),
            op::PRINT_JOB => self.print_job(o, rest).await,
            op::CREATE_JOB => self.create_job(o).await,
            op::SEND_DOCUMENT => self.send_document(o, rest).await,
            op::CANCEL_JOB => self.cancel_job(o).await,
            op::GET_JOB_ATTRIBUTES => self.get_job_attributes(o).await,
            op::GET_JOBS => self.get_jobs(o).await,
            op::CANCEL_MY_JOBS => self.cancel_my_jobs().await,
            op::CLOSE_JOB => self.close_job(o).await,
            op::IDENTIFY_PRINTER => Ok(Reply::ok()),
            _ => Ok(Reply::status(IppStatus::ServerErrorOperationNotSupported, "operation not supported")),
        };
        result.unwrap_or_else(|e| failure(&e))
    }

    fn user(&self) -> Result<&UserPrincipal, IppError> {
        self.who.ok_or(IppError::JobNotFound)
    }

    fn user_name(&self) -> &str {
        self.login.unwrap_or("anonymous")
    }

    async fn get_printer_attributes(&self, o: &Operation) -> Result<Reply, IppError> {
        if let Some(format) = o.string("document-format") {
            if !FORMATS.contains(&format.as_str()) {
                return Ok(format_not_supported(&format));
            }
        }
        let queued = match self.who {
            Some(who) => self.ctx.ipp.queued(who).await?,
            None => 0,
        };
        let requested = Requested::from_values(o.strings("requested-attributes"));
        let all = printer_attributes(self.printer, self.place, self.clock(), queued).map_err(encoding)?;
        Ok(Reply::ok().with(DelimiterTag::PrinterAttributes, filter_printer(all, &requested)))
    }

    /// The checks Print-Job and Create-Job share: format, compression, the job's attributes.
    fn check_job(&self, o: &Operation, with_document: bool) -> Result<(IppTicket, Reply), Reply> {
        if let Some(c) = o.string("compression") {
            if c != "none" {
                return Err(Reply::status(IppStatus::ClientErrorCompressionNotSupported, "compression: none only"));
            }
        }
        if with_document {
            if let Some(format) = o.string("document-format") {
                if !FORMATS.contains(&format.as_str()) {
                    return Err(format_not_supported(&format));
                }
            }
        }
        if !self.printer.accepting {
            let why = self.printer.stopped_because.unwrap_or("not accepting jobs");
            return Err(Reply::status(IppStatus::ServerErrorNotAcceptingJobs, why));
        }
        let (ticket, refused) = read_ticket(&o.job_group);
        let fidelity = o.boolean("ipp-attribute-fidelity").unwrap_or(false);
        if refused.is_empty() {
            return Ok((ticket, Reply::ok()));
        }
        let mut reply = if fidelity {
            Reply::status(IppStatus::ClientErrorAttributesOrValuesNotSupported, "unsupported job attributes")
        } else {
            Reply::status(IppStatus::SuccessfulOkIgnoredOrSubstitutedAttributes, "some job attributes were ignored")
        };
        reply.unsupported = refused;
        if fidelity {
            Err(reply)
        } else {
            Ok((ticket, reply))
        }
    }

    fn validate_job(&self, o: &Operation) -> Result<Reply, IppError> {
        Ok(match self.check_job(o, true) {
            Ok((_, reply)) | Err(reply) => reply,
        })
    }

    fn job_name(o: &Operation) -> String {
        o.string("job-name")
            .or_else(|| o.string("document-name"))
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Untitled".into())
    }

    fn format(o: &Operation) -> String {
        o.string("document-format").unwrap_or_else(|| "application/octet-stream".into())
    }

    async fn print_job(&self, o: &Operation, rest: &mut DocReader) -> Result<Reply, IppError> {
        let (ticket, reply) = match self.check_job(o, true) {
            Ok(pair) => pair,
            Err(reply) => return Ok(reply),
        };
        if !has_document(rest).await {
            return Ok(Reply::status(IppStatus::ClientErrorBadRequest, "Print-Job needs a document"));
        }
        let who = self.user()?;
        let mut body = document_stream(rest);
        let job = self.ctx.ipp.print(who, &Self::job_name(o), &Self::format(o), &ticket, &mut body).await?;
        self.job_reply(reply, &job)
    }

    async fn create_job(&self, o: &Operation) -> Result<Reply, IppError> {
        let (ticket, reply) = match self.check_job(o, false) {
            Ok(pair) => pair,
            Err(reply) => return Ok(reply),
        };
        let who = self.user()?;
        let job = self.ctx.ipp.create(who, &Self::job_name(o), &Self::format(o), &ticket).await?;
        self.job_reply(reply, &job)
    }

    async fn send_document(&self, o: &Operation, rest: &mut DocReader) -> Result<Reply, IppError> {
        let who = self.user()?;
        let Some(id) = job_id(o) else {
            return Ok(Reply::status(IppStatus::ClientErrorBadRequest, "missing job-id"));
        };
        let Some(last) = o.boolean("last-document") else {
            return Ok(Reply::status(IppStatus::ClientErrorBadRequest, "missing last-document"));
        };
        if let Some(format) = o.string("document-format") {
            if !FORMATS.contains(&format.as_str()) {
                return Ok(format_not_supported(&format));
            }
        }
        if let Some(c) = o.string("compression") {
            if c != "none" {
                return Ok(Reply::status(IppStatus::ClientErrorCompressionNotSupported, "compression: none only"));
            }
        }
        let present = has_document(rest).await;
        if !present {
            if !last {
                return Ok(Reply::status(IppStatus::ClientErrorBadRequest, "no document"));
            }
            // The last document is "none": the job is closed with nothing to print.
            let job = self.ctx.ipp.close(who, id).await?;
            return self.job_reply(Reply::ok(), &job);
        }
        if !last {
            return Ok(Reply::status(IppStatus::ServerErrorMultipleDocumentJobsNotSupported, "one document per job"));
        }
        let mut body = document_stream(rest);
        let name = o.string("document-name");
        let job = self.ctx.ipp.send_document(who, id, name.as_deref(), &mut body).await?;
        self.job_reply(Reply::ok(), &job)
    }

    async fn cancel_job(&self, o: &Operation) -> Result<Reply, IppError> {
        let who = self.user()?;
        let Some(id) = job_id(o) else {
            return Ok(Reply::status(IppStatus::ClientErrorBadRequest, "missing job-id"));
        };
        self.ctx.ipp.cancel(who, id).await?;
        Ok(Reply::ok())
    }

    async fn cancel_my_jobs(&self) -> Result<Reply, IppError> {
        let who = self.user()?;
        for job in self.ctx.ipp.list(who, false, 1000).await? {
            match self.ctx.ipp.cancel(who, job.ipp_job_id).await {
                Ok(_) | Err(IppError::NotPossible) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Reply::ok())
    }

    async fn close_job(&self, o: &Operation) -> Result<Reply, IppError> {
        let who = self.user()?;
        let Some(id) = job_id(o) else {
            return Ok(Reply::status(IppStatus::ClientErrorBadRequest, "missing job-id"));
        };
        let job = self.ctx.ipp.close(who, id).await?;
        self.job_reply(Reply::ok(), &job)
    }

    async fn get_job_attributes(&self, o: &Operation) -> Result<Reply, IppError> {
        let who = self.user()?;
        let Some(id) = job_id(o) else {
            return Ok(Reply::status(IppStatus::ClientErrorBadRequest, "missing job-id"));
        };
        let job = self.ctx.ipp.get(who, id).await?;
        let requested = Requested::from_values(o.strings("requested-attributes"));
        let list =
            job_attributes(&job, self.user_name(), self.place, self.clock(), &requested, true).map_err(encoding)?;
        Ok(Reply::ok().with(DelimiterTag::JobAttributes, list))
    }

    async fn get_jobs(&self, o: &Operation) -> Result<Reply, IppError> {
        let who = self.user()?;
        let completed = match o.string("which-jobs").as_deref() {
            None | Some("not-completed") => false,
            Some("completed") => true,
            Some(_) => {
                let mut reply = Reply::status(IppStatus::ClientErrorAttributesOrValuesNotSupported, "which-jobs");
                reply.unsupported =
                    o.attributes.iter().filter(|a| a.name().as_str() == "which-jobs").cloned().collect();
                return Ok(reply);
            }
        };
        let limit = o.integer("limit").map_or(1000, |n| i64::from(n.max(1)));
        let requested = Requested::from_values(o.strings("requested-attributes"));
        let mut reply = Reply::ok();
        for job in self.ctx.ipp.list(who, completed, limit).await? {
            let list = job_attributes(&job, self.user_name(), self.place, self.clock(), &requested, false)
                .map_err(encoding)?;
            reply = reply.with(DelimiterTag::JobAttributes, list);
        }
        Ok(reply)
    }

    fn job_reply(&self, reply: Reply, job: &IppJob) -> Result<Reply, IppError> {
        let wanted = Requested::from_values(Some(
            ["job-id", "job-uri", "job-state", "job-state-reasons", "job-state-message"].map(String::from).to_vec(),
        ));
        let list = job_attributes(job, self.user_name(), self.place, self.clock(), &wanted, false).map_err(encoding)?;
        Ok(reply.with(DelimiterTag::JobAttributes, list))
    }
}

/// job-id, or the last segment of job-uri.
fn job_id(o: &Operation) -> Option<i64> {
    if let Some(n) = o.integer("job-id") {
        return Some(i64::from(n));
    }
    o.string("job-uri")?.rsplit('/').next()?.parse().ok()
}

/// Reads and discards what is left of a body, up to 1 GB.
async fn drain(rest: &mut DocReader) {
    let mut sink = futures_util::io::sink();
    let _ = futures_util::io::copy(&mut rest.take(1_000_000_000), &mut sink).await;
}

/// Whether anything follows the attributes (without consuming it).
async fn has_document(rest: &mut DocReader) -> bool {
    matches!(rest.fill_buf().await, Ok(buf) if !buf.is_empty())
}

/// The rest of the body as a stream of chunks for the job pipeline.
fn document_stream(
    rest: &mut DocReader,
) -> std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + '_>> {
    Box::pin(futures_util::stream::unfold(rest, |r| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), r))
            }
            Err(e) => Some((Err(e), r)),
        }
    }))
}

fn format_not_supported(format: &str) -> Reply {
    let mut reply = Reply::status(IppStatus::ClientErrorDocumentFormatNotSupported, "document-format not supported");
    if let (Ok(name), Ok(value)) = (IppName::new("document-format"), IppValue::new_mime_media_type(format)) {
        reply.unsupported.push(IppAttribute::new(name, value));
    }
    reply
}

fn encoding(e: ipp::parser::IppParseError) -> IppError {
    IppError::Encoding(e.to_string())
}

/// An error as IPP says it; the cause of an internal error is logged, never sent.
fn failure(e: &IppError) -> Reply {
    match e {
        IppError::JobNotFound => Reply::status(IppStatus::ClientErrorNotFound, "no such job"),
        IppError::NotPossible | IppError::AlreadyHasDocument => {
            Reply::status(IppStatus::ClientErrorNotPossible, "not possible in the job's state")
        }
        IppError::PrinterStopped => Reply::status(IppStatus::ServerErrorNotAcceptingJobs, "not accepting jobs"),
        IppError::PrinterNotFound => Reply::status(IppStatus::ClientErrorNotFound, "no such printer"),
        IppError::Job(JobError::Document(d)) => match d {
            DocumentError::Unsupported
            | DocumentError::Executable
            | DocumentError::Archive
            | DocumentError::ConverterUnavailable => {
                Reply::status(IppStatus::ClientErrorDocumentFormatNotSupported, d.to_string())
            }
            DocumentError::Empty
            | DocumentError::Corrupt(_)
            | DocumentError::Encrypted
            | DocumentError::Bomb
            | DocumentError::TooManyPages { .. } => {
                Reply::status(IppStatus::ClientErrorDocumentFormatError, d.to_string())
            }
            _ => internal(e),
        },
        IppError::Job(JobError::Tenant(TenantError::ModuleNotInEdition(_))) => Reply::status(
            IppStatus::ServerErrorNotAcceptingJobs,
            "the enterprise's edition does not include cloud printing",
        ),
        IppError::Job(JobError::Tenant(TenantError::EditionLimit { .. })) => {
            Reply::status(IppStatus::ServerErrorNotAcceptingJobs, "the enterprise's edition allows no more")
        }
        IppError::Job(JobError::TooLarge { limit }) => {
            Reply::status(IppStatus::ClientErrorRequestEntityTooLong, format!("documents may be at most {limit} bytes"))
        }
        _ => internal(e),
    }
}

fn internal(e: &IppError) -> Reply {
    tracing::error!(error = %e, "IPP operation failed");
    Reply::status(IppStatus::ServerErrorInternalError, "internal error")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn attr(name: &str, value: IppValue) -> IppAttribute {
        IppAttribute::new(IppName::new(name).unwrap(), value)
    }

    #[test]
    fn the_ticket_takes_what_we_can_print_and_returns_the_rest() {
        let mut size = BTreeMap::new();
        size.insert(IppName::new("x-dimension").unwrap(), IppValue::Integer(29700));
        size.insert(IppName::new("y-dimension").unwrap(), IppValue::Integer(42000));
        let mut col = BTreeMap::new();
        col.insert(IppName::new("media-size").unwrap(), IppValue::Collection(size));
        let group = vec![
            attr("copies", IppValue::Integer(3)),
            attr("sides", IppValue::new_keyword("two-sided-short-edge").unwrap()),
            attr("print-color-mode", IppValue::new_keyword("monochrome").unwrap()),
            attr("media-col", IppValue::Collection(col)),
            attr(
                "page-ranges",
                IppValue::Array(vec![
                    IppValue::RangeOfInteger { min: 1, max: 3 },
                    IppValue::RangeOfInteger { min: 5, max: 5 },
                ]),
            ),
            attr("finishings", IppValue::Enum(4)),
            attr("x-unknown", IppValue::Integer(1)),
        ];
        let (ticket, refused) = read_ticket(&group);
        assert_eq!(ticket.copies, Some(3));
        assert_eq!(ticket.sides, Some(Sides::TwoSidedShortEdge));
        assert_eq!(ticket.colour_mode, Some(crate::domain::ColourMode::Mono));
        assert_eq!(ticket.media, Some(PaperSize::A3));
        assert_eq!(ticket.page_ranges.as_ref().map(PageRanges::to_text).as_deref(), Some("1-3,5"));
        let names: Vec<&str> = refused.iter().map(|a| a.name().as_str()).collect();
        assert_eq!(names, ["finishings", "x-unknown"]);
    }

    #[test]
    fn values_out_of_range_are_refused() {
        let group = vec![
            attr("copies", IppValue::Integer(0)),
            attr("media", IppValue::new_keyword("iso_a6_105x148mm").unwrap()),
            attr("page-ranges", IppValue::RangeOfInteger { min: 4, max: 2 }),
        ];
        let (ticket, refused) = read_ticket(&group);
        assert!(ticket.copies.is_none() && ticket.media.is_none() && ticket.page_ranges.is_none());
        assert_eq!(refused.len(), 3);
    }

    #[test]
    fn requests_must_start_with_charset_then_language() {
        let mut attributes = ipp::attribute::IppAttributes::new();
        let head = ipp::IppHeader::new(IppVersion::v2_0(), op::GET_PRINTER_ATTRIBUTES, 1);
        attributes.add(
            DelimiterTag::OperationAttributes,
            attr("attributes-natural-language", IppValue::new_natural_language("en").unwrap()),
        );
        attributes.add(
            DelimiterTag::OperationAttributes,
            attr("attributes-charset", IppValue::new_charset("utf-8").unwrap()),
        );
        attributes.add(
            DelimiterTag::OperationAttributes,
            attr("printer-uri", IppValue::new_uri("ipp://h/ipp/print/x").unwrap()),
        );
        let Err(reply) = check_request(&head, &attributes) else { panic!("order not checked") };
        assert_eq!(reply.status, IppStatus::ClientErrorBadRequest);

        let mut good = ipp::attribute::IppAttributes::new();
        good.add(
            DelimiterTag::OperationAttributes,
            attr("attributes-charset", IppValue::new_charset("utf-8").unwrap()),
        );
        good.add(
            DelimiterTag::OperationAttributes,
            attr("attributes-natural-language", IppValue::new_natural_language("en").unwrap()),
        );
        good.add(
            DelimiterTag::OperationAttributes,
            attr("printer-uri", IppValue::new_uri("ipp://h/ipp/print/x").unwrap()),
        );
        assert!(check_request(&head, &good).is_ok());
        let zero = ipp::IppHeader::new(IppVersion::v2_0(), op::GET_PRINTER_ATTRIBUTES, 0);
        assert!(check_request(&zero, &good).is_err());
        let old = ipp::IppHeader::new(IppVersion(0), op::GET_PRINTER_ATTRIBUTES, 1);
        let Err(reply) = check_request(&old, &good) else { panic!("version not checked") };
        assert_eq!(reply.status, IppStatus::ServerErrorVersionNotSupported);
    }
}
