//! Print-job vocabulary: options (copies, sides, colour, paper, ranges, n-up, orientation)
//! and the job's states with their allowed transitions.

use super::{Fen, ValueError};

/// Paper sizes a job can be printed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaperSize {
    A4,
    A3,
    A5,
    B5,
    Letter,
}

impl PaperSize {
    pub const ALL: [PaperSize; 5] = [PaperSize::A4, PaperSize::A3, PaperSize::A5, PaperSize::B5, PaperSize::Letter];

    pub fn as_str(self) -> &'static str {
        match self {
            PaperSize::A4 => "A4",
            PaperSize::A3 => "A3",
            PaperSize::A5 => "A5",
            PaperSize::B5 => "B5",
            PaperSize::Letter => "Letter",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        PaperSize::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or(ValueError::UnknownVariant)
    }

    /// Portrait width and height in PostScript points (1/72 inch). B5 is JIS B5, the size
    /// Chinese copiers call B5.
    pub fn points(self) -> (f64, f64) {
        let mm = |w: f64, h: f64| (w * 72.0 / 25.4, h * 72.0 / 25.4);
        match self {
            PaperSize::A4 => mm(210.0, 297.0),
            PaperSize::A3 => mm(297.0, 420.0),
            PaperSize::A5 => mm(148.0, 210.0),
            PaperSize::B5 => mm(182.0, 257.0),
            PaperSize::Letter => (612.0, 792.0),
        }
    }

    /// The named size a page of `w`×`h` points is, either way round (±3 mm), if any.
    pub fn recognise(w: f64, h: f64) -> Option<PaperSize> {
        let (short, long) = if w <= h { (w, h) } else { (h, w) };
        let tolerance = 3.0 * 72.0 / 25.4;
        PaperSize::ALL.into_iter().find(|p| {
            let (pw, ph) = p.points();
            (pw - short).abs() <= tolerance && (ph - long).abs() <= tolerance
        })
    }
}

/// 单双面.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sides {
    OneSided,
    TwoSidedLongEdge,
    TwoSidedShortEdge,
}

impl Sides {
    pub fn as_str(self) -> &'static str {
        match self {
            Sides::OneSided => "one-sided",
            Sides::TwoSidedLongEdge => "two-sided-long-edge",
            Sides::TwoSidedShortEdge => "two-sided-short-edge",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "one-sided" => Ok(Sides::OneSided),
            "two-sided-long-edge" => Ok(Sides::TwoSidedLongEdge),
            "two-sided-short-edge" => Ok(Sides::TwoSidedShortEdge),
            _ => Err(ValueError::UnknownVariant),
        }
    }

    pub fn is_duplex(self) -> bool {
        self != Sides::OneSided
    }
}

/// 彩色/黑白: auto prints each page as it is; mono forces grey; colour forces colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourMode {
    Auto,
    Mono,
    Colour,
}

impl ColourMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ColourMode::Auto => "auto",
            ColourMode::Mono => "mono",
            ColourMode::Colour => "colour",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "auto" => Ok(ColourMode::Auto),
            "mono" => Ok(ColourMode::Mono),
            "colour" | "color" => Ok(ColourMode::Colour),
            _ => Err(ValueError::UnknownVariant),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    Auto,
    Portrait,
    Landscape,
}

impl Orientation {
    pub fn as_str(self) -> &'static str {
        match self {
            Orientation::Auto => "auto",
            Orientation::Portrait => "portrait",
            Orientation::Landscape => "landscape",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "auto" => Ok(Orientation::Auto),
            "portrait" => Ok(Orientation::Portrait),
            "landscape" => Ok(Orientation::Landscape),
            _ => Err(ValueError::UnknownVariant),
        }
    }
}

/// Page ranges such as `1-3,5,8-`: 1-based, inclusive, open-ended at the end allowed.
/// Empty means every page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageRanges(Vec<(u32, Option<u32>)>);

impl PageRanges {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Self::default());
        }
        let mut ranges = Vec::new();
        for part in raw.split(',') {
            let part = part.trim();
            // ASCII digits only ("+5" is no page number), 1 to 999 999 (the API declares it).
            let num = |s: &str| {
                let s = s.trim();
                let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                digits
                    .then(|| s.trim_start_matches('0'))
                    .filter(|d| (1..=6).contains(&d.len()))
                    .and_then(|d| d.parse::<u32>().ok())
            };
            let range = match part.split_once('-') {
                None => num(part).map(|n| (n, Some(n))),
                Some((a, "")) => num(a).map(|a| (a, None)),
                Some((a, b)) => match (num(a), num(b)) {
                    // Written backwards ("5-3"), the same pages.
                    (Some(a), Some(b)) => Some((a.min(b), Some(a.max(b)))),
                    _ => None,
                },
            };
            ranges.push(range.ok_or(ValueError::PageRanges)?);
        }
        if ranges.len() > 100 {
            return Err(ValueError::PageRanges);
        }
        Ok(Self(ranges))
    }

    /// How many of a document's `pages` the ranges select (each page once).
    pub fn select(&self, pages: u32) -> Vec<u32> {
        if self.0.is_empty() {
            return (1..=pages).collect();
        }
        let mut chosen: Vec<u32> =
            self.0.iter().flat_map(|&(a, b)| a..=b.unwrap_or(pages).min(pages)).filter(|p| *p <= pages).collect();
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }

    /// The canonical text form (`1-3,5,8-`).
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|&(a, b)| match b {
                Some(b) if b == a => a.to_string(),
                Some(b) => format!("{a}-{b}"),
                None => format!("{a}-"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Everything a person chooses about how a job prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOptions {
    pub copies: u32,
    pub sides: Sides,
    pub colour_mode: ColourMode,
    pub paper_size: PaperSize,
    pub page_ranges: PageRanges,
    pub pages_per_sheet: u32,
    pub orientation: Orientation,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            copies: 1,
            sides: Sides::OneSided,
            colour_mode: ColourMode::Auto,
            paper_size: PaperSize::A4,
            page_ranges: PageRanges::default(),
            pages_per_sheet: 1,
            orientation: Orientation::Auto,
        }
    }
}

impl JobOptions {
    pub fn parse_copies(n: i64) -> Result<u32, ValueError> {
        u32::try_from(n).ok().filter(|n| (1..=99).contains(n)).ok_or(ValueError::Copies)
    }

    pub fn parse_pages_per_sheet(n: i64) -> Result<u32, ValueError> {
        u32::try_from(n).ok().filter(|n| matches!(n, 1 | 2 | 4)).ok_or(ValueError::PagesPerSheet)
    }
}

/// Where a job is in its life. Stored and sent as its snake_case name (`as_str`); the
/// OpenAPI document lists the names, so clients get an exact union.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    #[default]
    Uploaded,
    Processing,
    /// Print-ready and held until released at a printer.
    Ready,
    Released,
    Printing,
    Completed,
    Failed,
    Cancelled,
    Expired,
}

impl JobState {
    pub const ALL: [JobState; 9] = [
        JobState::Uploaded,
        JobState::Processing,
        JobState::Ready,
        JobState::Released,
        JobState::Printing,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Expired,
    ];

    /// Every name, as the API and the database write them (`ALL`, in order).
    pub const NAMES: &'static [&'static str] =
        &["uploaded", "processing", "ready", "released", "printing", "completed", "failed", "cancelled", "expired"];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Uploaded => "uploaded",
            JobState::Processing => "processing",
            JobState::Ready => "ready",
            JobState::Released => "released",
            JobState::Printing => "printing",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        JobState::ALL.into_iter().find(|s| s.as_str() == raw).ok_or(ValueError::UnknownVariant)
    }

    /// The guarded transitions. Everything else is refused.
    pub fn can_become(self, next: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, next),
            (Uploaded, Processing)
                | (Processing, Uploaded) // released back to the queue on shutdown
                | (Processing, Ready)
                | (Processing, Failed)
                | (Ready, Released)
                | (Released, Printing)
                | (Released, Failed)
                | (Printing, Completed)
                | (Printing, Failed)
                | (Uploaded | Processing | Ready, Cancelled)
                | (Uploaded | Processing | Ready, Expired)
        )
    }

    /// States from which a person may still change options or cancel.
    pub fn is_held(self) -> bool {
        matches!(self, JobState::Uploaded | JobState::Processing | JobState::Ready)
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobState::Completed | JobState::Failed | JobState::Cancelled | JobState::Expired)
    }
}

/// One page of the print-ready document: its size in points as printed (after rotation) and
/// whether anything on it prints in colour. Stored as JSON with the job.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PageFacts {
    pub w: f64,
    pub h: f64,
    pub colour: bool,
}

/// A print job as the services hand it out: what was uploaded, where it is, how it prints
/// and what it cost. The processing queue's bookkeeping (claims, leases) stays in storage.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub enterprise_id: String,
    pub user_id: String,
    /// The file name as uploaded (display only).
    pub file_name: String,
    /// What the content was sniffed as: `pdf`, `jpeg`, `docx`, `text-utf8`, ….
    pub document_kind: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub state: JobState,
    /// Processing progress, 0-100.
    pub progress: i64,
    /// Why it failed (an API error code).
    pub error_code: Option<String>,
    pub options: JobOptions,
    pub page_count: Option<i64>,
    pub colour_page_count: Option<i64>,
    /// Each page, once processed (empty before).
    pub pages: Vec<PageFacts>,
    /// Price at the enterprise's rates, once processed.
    pub quote: Option<Fen>,
    /// Whether the document files (thumbnail, previews, PDF) are still kept.
    pub files_available: bool,
    /// Where it was released.
    pub print_point_id: Option<String>,
    pub charged: Fen,
    pub refunded: Fen,
    /// Sheets the printer reported printed, when known.
    pub pages_printed: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
    pub finished_at: Option<i64>,
}

/// Who moved a job: its owner, an admin, the gateway that printed it, or the system (a
/// processing worker, a sweep). Stored and sent by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    Admin,
    Gateway,
    System,
}

vocabulary!(ActorKind { User = "user", Admin = "admin", Gateway = "gateway", System = "system" });

/// One recorded state change of a job.
#[derive(Debug, Clone)]
pub struct JobTransition {
    /// Absent for the first.
    pub from_state: Option<JobState>,
    pub to_state: JobState,
    pub at: i64,
    pub actor_kind: ActorKind,
    pub actor_id: String,
    /// Why, when known (e.g. a failure code).
    pub note: Option<String>,
}

/// What an admin's job query asks for; absent parts match everything.
#[derive(Debug, Default, Clone)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub user_id: Option<String>,
    /// Released at this print point.
    pub print_point_id: Option<String>,
    /// Part of the file name, matched literally and without regard to case.
    pub name: Option<String>,
    /// Uploaded at or after (Unix epoch ms).
    pub created_from: Option<i64>,
    /// Uploaded before (Unix epoch ms).
    pub created_before: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_states_in_order() {
        assert_eq!(JobState::NAMES, JobState::ALL.map(JobState::as_str).as_slice());
    }

    #[test]
    fn page_ranges() {
        let r = PageRanges::parse(" 1-3, 5 ,8-").unwrap_or_default();
        assert_eq!(r.select(10), vec![1, 2, 3, 5, 8, 9, 10]);
        assert_eq!(r.select(4), vec![1, 2, 3]);
        assert_eq!(r.to_text(), "1-3,5,8-");
        assert_eq!(PageRanges::parse("").map(|r| r.select(3)), Ok(vec![1, 2, 3]));
        assert_eq!(PageRanges::parse("2-2,1-3").map(|r| r.select(5)), Ok(vec![1, 2, 3]));
        assert_eq!(PageRanges::parse("3-1").map(|r| r.to_text()), Ok("1-3".to_string()), "backwards, the same pages");
        assert_eq!(PageRanges::parse("007").map(|r| r.to_text()), Ok("7".to_string()));
        for bad in ["0", "a", "1-2-3", "-4", "1,,2", "+5", "1000000"] {
            assert_eq!(PageRanges::parse(bad), Err(ValueError::PageRanges), "{bad}");
        }
    }

    #[test]
    fn paper_sizes() {
        assert_eq!(PaperSize::parse("a3"), Ok(PaperSize::A3));
        assert_eq!(PaperSize::recognise(842.0, 595.0), Some(PaperSize::A4));
        assert_eq!(PaperSize::recognise(1190.55, 841.89), Some(PaperSize::A3));
        assert_eq!(PaperSize::recognise(612.0, 792.0), Some(PaperSize::Letter));
        assert_eq!(PaperSize::recognise(100.0, 100.0), None);
    }

    #[test]
    fn options_bounds() {
        assert_eq!(JobOptions::parse_copies(99), Ok(99));
        assert_eq!(JobOptions::parse_copies(0), Err(ValueError::Copies));
        assert_eq!(JobOptions::parse_copies(100), Err(ValueError::Copies));
        assert_eq!(JobOptions::parse_pages_per_sheet(3), Err(ValueError::PagesPerSheet));
        assert_eq!(Sides::parse("two-sided-long-edge").map(Sides::is_duplex), Ok(true));
        assert_eq!(ColourMode::parse("color"), Ok(ColourMode::Colour));
    }

    #[test]
    fn transitions_are_guarded() {
        use JobState::*;
        assert!(Ready.can_become(Released));
        assert!(!Released.can_become(Released), "no double release");
        assert!(!Completed.can_become(Failed));
        assert!(!Ready.can_become(Completed));
        assert!(Processing.can_become(Uploaded));
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Ok(s));
            if s.is_final() {
                assert!(JobState::ALL.iter().all(|n| !s.can_become(*n)), "{s:?} is final");
            }
        }
    }
}
