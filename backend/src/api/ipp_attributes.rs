//! What the IPP Everywhere printer says about itself and its jobs (PWG 5100.14, RFC 8011),
//! as `ipp` crate attributes, and the requested-attributes filter with its groups.

use std::collections::{BTreeMap, HashSet};

use ipp::{
    attribute::IppAttribute,
    model::ValueTag,
    parser::IppParseError,
    value::{IppDateTime, IppName, IppValue},
};

use crate::{
    domain::{ColourMode, PaperSize, Sides},
    services::ipp::{IppJob, IppPrinter, MULTIPLE_OPERATION_TIMEOUT_SECS},
};

type Attr = Result<IppAttribute, IppParseError>;

/// Where the printer is, as the request reached it.
#[derive(Debug, Clone)]
pub struct PrinterPlace {
    /// `ipp://host:port/ipp/print/CODE` (or `ipps://` behind TLS).
    pub printer_uri: String,
    /// `http(s)://host:port`: the web app and the icon.
    pub web_base: String,
    pub tls: bool,
}

/// The operations the printer answers (RFC 8011 5.4.15 codes).
pub const OPERATIONS: [i32; 11] = [0x02, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0a, 0x0b, 0x39, 0x3b, 0x3c];

/// Document formats the printer takes; `application/octet-stream` is "find out".
pub const FORMATS: [&str; 5] =
    ["application/pdf", "image/jpeg", "image/pwg-raster", "image/urf", "application/octet-stream"];

/// Job template attributes a job may carry.
pub const JOB_CREATION_ATTRIBUTES: [&str; 10] = [
    "copies",
    "finishings",
    "ipp-attribute-fidelity",
    "job-name",
    "media",
    "media-col",
    "page-ranges",
    "print-color-mode",
    "print-quality",
    "sides",
];

/// Names that belong to the `job-template` group of a printer's attributes.
const JOB_TEMPLATE_PREFIXES: [&str; 18] = [
    "copies",
    "finishings",
    "media",
    "orientation-requested",
    "output-bin",
    "page-ranges",
    "print-color-mode",
    "print-quality",
    "printer-resolution",
    "sides",
    "print-content-optimize",
    "print-rendering-intent",
    "number-up",
    "job-sheets",
    "overrides",
    "multiple-document-handling",
    "job-hold-until",
    "job-priority",
];

/// Attributes only returned when asked for by name (large, per PWG 5100.7).
const ONLY_BY_NAME: [&str; 1] = ["media-col-database"];

/// The PWG self-describing media names (PWG 5101.1) of our paper sizes, with their size in
/// hundredths of millimetres.
pub fn media_name(p: PaperSize) -> (&'static str, i32, i32) {
    match p {
        PaperSize::A4 => ("iso_a4_210x297mm", 21000, 29700),
        PaperSize::A3 => ("iso_a3_297x420mm", 29700, 42000),
        PaperSize::A5 => ("iso_a5_148x210mm", 14800, 21000),
        PaperSize::B5 => ("jis_b5_182x257mm", 18200, 25700),
        PaperSize::Letter => ("na_letter_8.5x11in", 21590, 27940),
    }
}

/// Our paper size for an IPP media name (self-describing or the legacy short names).
pub fn paper_of_media(name: &str) -> Option<PaperSize> {
    let lower = name.trim().to_ascii_lowercase();
    PaperSize::ALL.into_iter().find(|p| {
        let (pwg, _, _) = media_name(*p);
        let legacy = match p {
            PaperSize::A4 => ["a4", "iso-a4"],
            PaperSize::A3 => ["a3", "iso-a3"],
            PaperSize::A5 => ["a5", "iso-a5"],
            PaperSize::B5 => ["b5", "jis-b5"],
            PaperSize::Letter => ["letter", "na-letter"],
        };
        lower == pwg || legacy.contains(&lower.as_str())
    })
}

/// Our paper size for a `media-size` collection's dimensions (±1 mm).
pub fn paper_of_dimensions(x: i32, y: i32) -> Option<PaperSize> {
    PaperSize::ALL.into_iter().find(|p| {
        let (_, w, h) = media_name(*p);
        (w - x).abs() <= 100 && (h - y).abs() <= 100
    })
}

pub fn sides_keyword(s: Sides) -> &'static str {
    s.as_str()
}

pub fn colour_keyword(c: ColourMode) -> &'static str {
    match c {
        ColourMode::Auto => "auto",
        ColourMode::Mono => "monochrome",
        ColourMode::Colour => "color",
    }
}

pub fn colour_of_keyword(k: &str) -> Option<ColourMode> {
    match k {
        "auto" => Some(ColourMode::Auto),
        "monochrome" | "auto-monochrome" | "process-monochrome" | "bi-level" | "process-bi-level" => {
            Some(ColourMode::Mono)
        }
        "color" => Some(ColourMode::Colour),
        _ => None,
    }
}

fn a(name: &str, value: IppValue) -> Attr {
    Ok(IppAttribute::new(IppName::new(name)?, value))
}

fn kw(v: &str) -> Result<IppValue, IppParseError> {
    IppValue::new_keyword(v)
}

fn kws(vs: &[&str]) -> Result<IppValue, IppParseError> {
    Ok(IppValue::Array(vs.iter().map(|v| kw(v)).collect::<Result<_, _>>()?))
}

fn int(v: i64) -> IppValue {
    IppValue::Integer(i32::try_from(v).unwrap_or(i32::MAX))
}

fn text(v: &str) -> Result<IppValue, IppParseError> {
    // IPP text is at most 1023 octets; names at most 255 (cut on a character boundary).
    IppValue::new_text_without_language(cut(v, 1023))
}

fn name(v: &str) -> Result<IppValue, IppParseError> {
    IppValue::new_name_without_language(cut(v, 255))
}

fn cut(v: &str, max: usize) -> String {
    let mut end = v.len().min(max);
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    v[..end].to_string()
}

fn dpi(d: i32) -> IppValue {
    IppValue::Resolution { cross_feed: d, feed: d, units: 3 }
}

/// The "unknown" out-of-band value (RFC 8010 3.5.2).
fn unknown() -> IppValue {
    IppValue::Other { tag: ValueTag::Unknown as u8, data: bytes::Bytes::new() }
}

/// An IPP dateTime (UTC) for Unix epoch milliseconds.
pub fn date_time(ms: i64) -> IppValue {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let small = |v: i64| u8::try_from(v).unwrap_or(0);
    IppValue::DateTime(IppDateTime {
        year: u16::try_from(year).unwrap_or(1970),
        month: small(month),
        day: small(day),
        hour: small(rem / 3600),
        minutes: small(rem % 3600 / 60),
        seconds: small(rem % 60),
        deci_seconds: small(ms.rem_euclid(1000) / 100),
        utc_dir: '+',
        utc_hours: 0,
        utc_mins: 0,
    })
}

fn media_col(p: PaperSize) -> Result<IppValue, IppParseError> {
    let (_, x, y) = media_name(p);
    let mut size = BTreeMap::new();
    size.insert(IppName::new("x-dimension")?, IppValue::Integer(x));
    size.insert(IppName::new("y-dimension")?, IppValue::Integer(y));
    let mut col = BTreeMap::new();
    col.insert(IppName::new("media-size")?, IppValue::Collection(size));
    for side in ["media-bottom-margin", "media-left-margin", "media-right-margin", "media-top-margin"] {
        col.insert(IppName::new(side)?, IppValue::Integer(MARGIN));
    }
    col.insert(IppName::new("media-source")?, kw("auto")?);
    col.insert(IppName::new("media-type")?, kw("stationery")?);
    Ok(IppValue::Collection(col))
}

fn media_size(p: PaperSize) -> Result<IppValue, IppParseError> {
    let (_, x, y) = media_name(p);
    let mut size = BTreeMap::new();
    size.insert(IppName::new("x-dimension")?, IppValue::Integer(x));
    size.insert(IppName::new("y-dimension")?, IppValue::Integer(y));
    Ok(IppValue::Collection(size))
}

/// Margins a document should keep (hundredths of mm): print points are office printers.
const MARGIN: i32 = 423;

/// The clock of one enterprise's printer: seconds since the enterprise was created, so
/// `printer-up-time` and the jobs' `time-at-*` agree across restarts and instances.
#[derive(Debug, Clone, Copy)]
pub struct PrinterClock {
    pub epoch_ms: i64,
    pub now_ms: i64,
}

impl PrinterClock {
    pub fn at(&self, ms: i64) -> i64 {
        ((ms - self.epoch_ms) / 1000).max(1)
    }

    pub fn up_time(&self) -> i64 {
        self.at(self.now_ms)
    }
}

/// Every printer attribute (`media-col-database` included; the filter leaves it out of
/// "all").
pub fn printer_attributes(
    printer: &IppPrinter,
    place: &PrinterPlace,
    clock: PrinterClock,
    queued: usize,
) -> Result<Vec<IppAttribute>, IppParseError> {
    let mut all = protocol_attributes(place)?;
    all.extend(template_attributes()?);
    all.extend(state_attributes(printer, place, clock, queued)?);
    all.sort_by(|a, b| a.name().as_str().cmp(b.name().as_str()));
    Ok(all)
}

/// What the printer speaks: operations, versions, formats, security.
fn protocol_attributes(place: &PrinterPlace) -> Result<Vec<IppAttribute>, IppParseError> {
    Ok(vec![
        a("charset-configured", IppValue::new_charset("utf-8")?)?,
        a(
            "charset-supported",
            IppValue::Array(vec![IppValue::new_charset("utf-8")?, IppValue::new_charset("us-ascii")?]),
        )?,
        a("color-supported", IppValue::Boolean(true))?,
        a("compression-supported", kws(&["none"])?)?,
        a("document-format-default", IppValue::new_mime_media_type("application/octet-stream")?)?,
        a(
            "document-format-supported",
            IppValue::Array(FORMATS.iter().map(|f| IppValue::new_mime_media_type(*f)).collect::<Result<_, _>>()?),
        )?,
        a("generated-natural-language-supported", IppValue::Array(vec![IppValue::new_natural_language("en")?]))?,
        a("identify-actions-default", kws(&["display"])?)?,
        a("identify-actions-supported", kws(&["display"])?)?,
        a("ipp-features-supported", kws(&["ipp-everywhere"])?)?,
        a("ipp-versions-supported", kws(&["1.1", "2.0"])?)?,
        a("job-creation-attributes-supported", kws(&JOB_CREATION_ATTRIBUTES)?)?,
        a("job-ids-supported", IppValue::Boolean(true))?,
        a("multiple-document-jobs-supported", IppValue::Boolean(false))?,
        a("multiple-operation-time-out", int(MULTIPLE_OPERATION_TIMEOUT_SECS))?,
        a("multiple-operation-time-out-action", kw("abort-job")?)?,
        a("natural-language-configured", IppValue::new_natural_language("en")?)?,
        a("operations-supported", IppValue::Array(OPERATIONS.iter().map(|o| IppValue::Enum(*o)).collect()))?,
        a("pages-per-minute", int(20))?,
        a("pages-per-minute-color", int(20))?,
        a("pdl-override-supported", kw("attempted")?)?,
        a("preferred-attributes-supported", IppValue::Boolean(false))?,
        a("printer-get-attributes-supported", kws(&["document-format"])?)?,
        a("printer-uri-supported", IppValue::new_uri(place.printer_uri.clone())?)?,
        // The raster decoders take any resolution and black_1, sgray/srgb/AdobeRGB 8 and 16 bit
        // and CMYK; what is advertised is what clients should send: 150 or 300 dpi is plenty for
        // office pages and keeps an A4 colour page near 26 MB once decoded (600 dpi: 104 MB).
        a("pwg-raster-document-resolution-supported", IppValue::Array(vec![dpi(150), dpi(300)]))?,
        a("pwg-raster-document-sheet-back", kw("normal")?)?,
        a("pwg-raster-document-type-supported", kws(&["black_1", "sgray_8", "srgb_8"])?)?,
        a("uri-authentication-supported", kws(&["basic"])?)?,
        a("uri-security-supported", kws(&[if place.tls { "tls" } else { "none" }])?)?,
        a("urf-supported", kws(&["V1.4", "CP1", "W8", "SRGB24", "RS150-300", "DM1", "IS1", "MT1", "PQ4", "OB9"])?)?,
        a("which-jobs-supported", kws(&["completed", "not-completed"])?)?,
    ])
}

/// Job template attributes: defaults and what is supported (`job-template` group).
fn template_attributes() -> Result<Vec<IppAttribute>, IppParseError> {
    let papers = PaperSize::ALL;
    let media: Vec<&str> = papers.iter().map(|p| media_name(*p).0).collect();
    let cols = || papers.iter().map(|p| media_col(*p)).collect::<Result<Vec<_>, _>>();
    Ok(vec![
        a("copies-default", int(1))?,
        a("copies-supported", IppValue::RangeOfInteger { min: 1, max: 99 })?,
        a("finishings-default", IppValue::Enum(3))?,
        a("finishings-supported", IppValue::Array(vec![IppValue::Enum(3)]))?,
        a("job-sheets-default", kw("none")?)?,
        a("job-sheets-supported", kws(&["none"])?)?,
        a("media-bottom-margin-supported", IppValue::Array(vec![IppValue::Integer(MARGIN)]))?,
        a("media-col-database", IppValue::Array(cols()?))?,
        a("media-col-default", media_col(PaperSize::A4)?)?,
        a("media-col-ready", IppValue::Array(cols()?))?,
        a(
            "media-col-supported",
            kws(&[
                "media-bottom-margin",
                "media-left-margin",
                "media-right-margin",
                "media-size",
                "media-source",
                "media-top-margin",
                "media-type",
            ])?,
        )?,
        a("media-default", kw(media_name(PaperSize::A4).0)?)?,
        a("media-left-margin-supported", IppValue::Array(vec![IppValue::Integer(MARGIN)]))?,
        a("media-ready", kws(&media)?)?,
        a("media-right-margin-supported", IppValue::Array(vec![IppValue::Integer(MARGIN)]))?,
        a("media-size-supported", IppValue::Array(papers.iter().map(|p| media_size(*p)).collect::<Result<_, _>>()?))?,
        a("media-source-supported", kws(&["auto"])?)?,
        a("media-supported", kws(&media)?)?,
        a("media-top-margin-supported", IppValue::Array(vec![IppValue::Integer(MARGIN)]))?,
        a("media-type-supported", kws(&["stationery"])?)?,
        a("number-up-default", int(1))?,
        a("number-up-supported", IppValue::Array(vec![int(1)]))?,
        a("orientation-requested-default", IppValue::Enum(3))?,
        a("orientation-requested-supported", IppValue::Array(vec![IppValue::Enum(3), IppValue::Enum(4)]))?,
        a("output-bin-default", kw("face-down")?)?,
        a("output-bin-supported", kws(&["face-down"])?)?,
        a("overrides-supported", kws(&["document-number", "pages"])?)?,
        a("page-ranges-supported", IppValue::Boolean(true))?,
        a("print-color-mode-default", kw("auto")?)?,
        a("print-color-mode-supported", kws(&["auto", "color", "monochrome"])?)?,
        a("print-content-optimize-default", kw("auto")?)?,
        a("print-content-optimize-supported", kws(&["auto"])?)?,
        a("print-quality-default", IppValue::Enum(4))?,
        a("print-quality-supported", IppValue::Array(vec![IppValue::Enum(4)]))?,
        a("print-rendering-intent-default", kw("auto")?)?,
        a("print-rendering-intent-supported", kws(&["auto"])?)?,
        a("printer-resolution-default", dpi(300))?,
        a("printer-resolution-supported", IppValue::Array(vec![dpi(150), dpi(300)]))?,
        a("sides-default", kw("one-sided")?)?,
        a("sides-supported", kws(&["one-sided", "two-sided-long-edge", "two-sided-short-edge"])?)?,
    ])
}

/// Who and where the printer is, and its state.
fn state_attributes(
    printer: &IppPrinter,
    place: &PrinterPlace,
    clock: PrinterClock,
    queued: usize,
) -> Result<Vec<IppAttribute>, IppParseError> {
    let web = &place.web_base;
    let state = if printer.accepting { 3 } else { 5 };
    let config_time = clock.epoch_ms;
    Ok(vec![
        a("printer-config-change-date-time", date_time(config_time))?,
        a("printer-config-change-time", int(clock.at(config_time)))?,
        a("printer-current-time", date_time(clock.now_ms))?,
        a("printer-device-id", text("MFG:Yunyin;MDL:Cloud Printer;CMD:PDF,PWGRaster,URF,JPEG;")?)?,
        a("printer-geo-location", unknown())?,
        a("printer-icons", IppValue::new_uri(format!("{web}/ipp/print/{}/icon.png", printer.code))?)?,
        a("printer-info", text(&printer.name)?)?,
        a("printer-is-accepting-jobs", IppValue::Boolean(printer.accepting))?,
        a("printer-kind", kws(&["document"])?)?,
        a("printer-location", text("")?)?,
        a("printer-make-and-model", text("Yunyin Cloud Printer")?)?,
        a("printer-more-info", IppValue::new_uri(format!("{web}/ipp/print/{}", printer.code))?)?,
        a("printer-name", name(&format!("yunyin-{}", printer.code))?)?,
        a("printer-organization", text(&printer.name)?)?,
        a("printer-organizational-unit", text("")?)?,
        a("printer-state", IppValue::Enum(state))?,
        a("printer-state-change-date-time", date_time(config_time))?,
        a("printer-state-change-time", int(clock.at(config_time)))?,
        a(
            "printer-state-message",
            text(printer.stopped_because.unwrap_or("Ready: jobs are held until released at a print point"))?,
        )?,
        a("printer-state-reasons", kws(&[if printer.accepting { "none" } else { "paused" }])?)?,
        // A cloud queue has no supply of its own: one entry, level unknown (-2), pointing at
        // the web app where the print points' supplies are.
        a(
            "printer-supply",
            IppValue::OctetString(bytes::Bytes::from_static(
                b"index=1;class=supplyThatIsConsumed;type=other;unit=percent;maxcapacity=100;level=-2;",
            )),
        )?,
        a("printer-supply-description", text("Print points' supplies (see the web app)")?)?,
        a("printer-supply-info-uri", IppValue::new_uri(format!("{web}/m/"))?)?,
        a("printer-up-time", int(clock.up_time()))?,
        a("printer-uuid", IppValue::new_uri(format!("urn:uuid:{}", printer.enterprise_id))?)?,
        a("queued-job-count", int(i64::try_from(queued).unwrap_or(i64::MAX)))?,
    ])
}

/// What requested-attributes asks for: names and groups (`all`, `printer-description`,
/// `job-template`, `job-description`); None when not given.
#[derive(Debug, Clone, Default)]
pub struct Requested {
    names: Option<HashSet<String>>,
}

impl Requested {
    pub fn from_values(values: Option<Vec<String>>) -> Self {
        Self { names: values.map(|v| v.into_iter().collect()) }
    }

    /// Everything (as if `all` were asked for).
    pub fn all() -> Self {
        Self { names: Some(HashSet::from(["all".to_string()])) }
    }

    pub fn is_given(&self) -> bool {
        self.names.is_some()
    }

    fn has(&self, n: &str) -> bool {
        self.names.as_ref().is_some_and(|s| s.contains(n))
    }

    /// Whether a printer attribute is asked for (no requested-attributes: `all`).
    pub fn wants_printer(&self, attr: &str) -> bool {
        if self.has(attr) {
            return true;
        }
        if ONLY_BY_NAME.contains(&attr) {
            return false;
        }
        if self.names.is_none() || self.has("all") {
            return true;
        }
        let template = JOB_TEMPLATE_PREFIXES.iter().any(|p| attr.starts_with(p));
        if template {
            self.has("job-template")
        } else {
            self.has("printer-description")
        }
    }

    /// Whether a job attribute is asked for; `default` is what is sent when nothing is
    /// asked (Get-Jobs: job-id and job-uri only; Get-Job-Attributes: all).
    pub fn wants_job(&self, attr: &str, default_all: bool) -> bool {
        match &self.names {
            None => default_all || attr == "job-id" || attr == "job-uri",
            Some(_) => {
                let template = matches!(
                    attr,
                    "copies"
                        | "finishings"
                        | "media"
                        | "media-col"
                        | "page-ranges"
                        | "print-color-mode"
                        | "sides"
                        | "print-quality"
                );
                self.has(attr)
                    || self.has("all")
                    || (template && self.has("job-template"))
                    || (!template && self.has("job-description"))
            }
        }
    }
}

/// Keeps the printer attributes asked for.
pub fn filter_printer(attrs: Vec<IppAttribute>, requested: &Requested) -> Vec<IppAttribute> {
    attrs.into_iter().filter(|a| requested.wants_printer(a.name().as_str())).collect()
}

/// The job's attributes, as asked for.
pub fn job_attributes(
    job: &IppJob,
    user_name: &str,
    place: &PrinterPlace,
    clock: PrinterClock,
    requested: &Requested,
    default_all: bool,
) -> Result<Vec<IppAttribute>, IppParseError> {
    let finished = job.state.is_final();
    let started =
        !matches!(job.state, crate::services::ipp::IppJobState::Pending) && !job.reasons.contains(&"job-incoming");
    let mut all = vec![
        a("job-id", int(job.ipp_job_id))?,
        a("job-uri", IppValue::new_uri(format!("{}/{}", place.printer_uri, job.ipp_job_id))?)?,
        a("job-printer-uri", IppValue::new_uri(place.printer_uri.clone())?)?,
        a("job-more-info", IppValue::new_uri(format!("{}/m/", place.web_base))?)?,
        a("job-name", name(&job.name)?)?,
        a("job-originating-user-name", name(user_name)?)?,
        a("job-state", IppValue::Enum(job.state as i32))?,
        a("job-state-reasons", kws(&job.reasons)?)?,
        a("job-state-message", text(state_message(job))?)?,
        a("document-format", IppValue::new_mime_media_type(job.document_format.clone())?)?,
        a("number-of-documents", int(i64::from(job.job_id.is_some())))?,
        a("number-of-intervening-jobs", int(0))?,
        a("time-at-creation", int(clock.at(job.created_at)))?,
        a("time-at-processing", if started { int(clock.at(job.created_at)) } else { IppValue::NoValue })?,
        a("time-at-completed", if finished { int(clock.at(job.updated_at)) } else { IppValue::NoValue })?,
        a("date-time-at-creation", date_time(job.created_at))?,
        a("date-time-at-processing", if started { date_time(job.created_at) } else { IppValue::NoValue })?,
        a("date-time-at-completed", if finished { date_time(job.updated_at) } else { IppValue::NoValue })?,
        a("job-printer-up-time", int(clock.up_time()))?,
        a("job-impressions", job.page_count.map_or(IppValue::NoValue, int))?,
    ];
    let t = &job.ticket;
    if let Some(n) = t.copies {
        all.push(a("copies", int(i64::from(n)))?);
    }
    if let Some(s) = t.sides {
        all.push(a("sides", kw(sides_keyword(s))?)?);
    }
    if let Some(c) = t.colour_mode {
        all.push(a("print-color-mode", kw(colour_keyword(c))?)?);
    }
    if let Some(p) = t.media {
        all.push(a("media", kw(media_name(p).0)?)?);
    }
    Ok(all.into_iter().filter(|a| requested.wants_job(a.name().as_str(), default_all)).collect())
}

fn state_message(job: &IppJob) -> &'static str {
    match job.reasons.first().copied() {
        Some("job-incoming") => "Waiting for the document",
        Some("job-transforming") => "Processing the document",
        Some("job-hold-until-specified") => "Held: release it at a print point",
        Some("job-queued-for-marker") => "Released, waiting for the printer",
        Some("job-printing") => "Printing",
        Some("job-completed-successfully") => "Printed",
        Some("job-canceled-by-user") => "Canceled",
        _ => "Not printed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[IppAttribute]) -> Vec<String> {
        v.iter().map(|a| a.name().as_str().to_string()).collect()
    }

    fn printer() -> (IppPrinter, PrinterPlace, PrinterClock) {
        (
            IppPrinter {
                enterprise_id: "0190f0f0-0000-7000-8000-000000000001".into(),
                code: "acme".into(),
                name: "Acme".into(),
                accepting: true,
                stopped_because: None,
                created_at: 0,
            },
            PrinterPlace { printer_uri: "ipp://h:1/ipp/print/acme".into(), web_base: "http://h:1".into(), tls: false },
            PrinterClock { epoch_ms: 0, now_ms: 10_000 },
        )
    }

    #[test]
    fn groups_select_printer_attributes() {
        let (p, place, clock) = printer();
        let attrs = printer_attributes(&p, &place, clock, 0).unwrap();
        let all = filter_printer(attrs.clone(), &Requested::from_values(None));
        assert!(names(&all).contains(&"printer-uuid".to_string()));
        assert!(!names(&all).contains(&"media-col-database".to_string()), "only by name");
        let asked = Requested::from_values(Some(vec!["all".into(), "media-col-database".into()]));
        assert!(names(&filter_printer(attrs.clone(), &asked)).contains(&"media-col-database".to_string()));
        let template = filter_printer(attrs.clone(), &Requested::from_values(Some(vec!["job-template".into()])));
        assert!(names(&template).contains(&"sides-supported".to_string()));
        assert!(!names(&template).contains(&"printer-name".to_string()));
        let description =
            filter_printer(attrs.clone(), &Requested::from_values(Some(vec!["printer-description".into()])));
        assert!(names(&description).contains(&"printer-name".to_string()));
        assert!(!names(&description).contains(&"copies-default".to_string()));
        let one = filter_printer(attrs, &Requested::from_values(Some(vec!["printer-uri-supported".into()])));
        assert_eq!(names(&one), vec!["printer-uri-supported"]);
    }

    #[test]
    fn media_names_round_trip() {
        for p in PaperSize::ALL {
            let (n, x, y) = media_name(p);
            assert_eq!(paper_of_media(n), Some(p));
            assert_eq!(paper_of_dimensions(x, y), Some(p));
        }
        assert_eq!(paper_of_media("na-letter"), Some(PaperSize::Letter));
        assert_eq!(paper_of_media("iso_a6_105x148mm"), None);
    }

    #[test]
    fn date_time_is_civil_utc() {
        // 2026-12-04T20:51:01.5Z
        let IppValue::DateTime(d) = date_time(1_796_417_461_500) else { panic!() };
        assert_eq!((d.year, d.month, d.day, d.hour, d.minutes, d.seconds, d.deci_seconds), (2026, 12, 4, 20, 51, 1, 5));
        let IppValue::DateTime(e) = date_time(0) else { panic!() };
        assert_eq!((e.year, e.month, e.day), (1970, 1, 1));
    }
}
