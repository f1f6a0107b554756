//! Scan to cloud (扫描记录): what an MFP scanned, whose it is, and what it cost.

use super::ValueError;

/// The file format of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum ScanFormat {
    Pdf,
    Jpeg,
    Png,
    Tiff,
}

/// Whether a scan's price is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum ScanCharge {
    /// Nothing to pay (no scan rate, or an unclaimed scan).
    Free,
    /// Charged to the owner's wallet.
    Paid,
    /// The wallet could not cover it: the owner pays before downloading.
    Unpaid,
}

vocabulary!(ScanFormat { Pdf = "pdf", Jpeg = "jpeg", Png = "png", Tiff = "tiff" });
vocabulary!(ScanCharge { Free = "free", Paid = "paid", Unpaid = "unpaid" });

impl ScanFormat {
    /// The media type a download is served as.
    pub fn content_type(self) -> &'static str {
        match self {
            ScanFormat::Pdf => "application/pdf",
            ScanFormat::Jpeg => "image/jpeg",
            ScanFormat::Png => "image/png",
            ScanFormat::Tiff => "image/tiff",
        }
    }

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ScanFormat::Pdf => "pdf",
            ScanFormat::Jpeg => "jpg",
            ScanFormat::Png => "png",
            ScanFormat::Tiff => "tif",
        }
    }
}

/// How long a scan session stays open after it is opened, and after each scan that arrives.
pub const SCAN_SESSION_MS: i64 = 5 * 60_000;
/// The longest a share link may live.
pub const MAX_SHARE_HOURS: i64 = 7 * 24;

/// A scan record's display name: the name the user gave it, or the file name the MFP chose,
/// trimmed to 1-120 characters, with no path and no control characters; the extension of the
/// scan's format is kept (or added) so a download opens in the right program.
pub fn scan_name(raw: &str, format: ScanFormat) -> Result<String, ValueError> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        return Err(ValueError::FileName);
    }
    let ext = format.extension();
    let stem = match cleaned.rsplit_once('.') {
        Some((stem, e)) if same_format(e, format) && !stem.trim().is_empty() => stem.trim(),
        _ => cleaned,
    };
    let stem: String = stem.chars().take(120 - ext.len() - 1).collect();
    Ok(format!("{}.{ext}", stem.trim_end()))
}

fn same_format(ext: &str, format: ScanFormat) -> bool {
    let ext = ext.to_ascii_lowercase();
    match format {
        ScanFormat::Jpeg => ext == "jpg" || ext == "jpeg",
        ScanFormat::Tiff => ext == "tif" || ext == "tiff",
        _ => ext == format.extension(),
    }
}

/// A scan session: scans that reach the print point's gateway while it is open are its user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSession {
    pub id: String,
    pub enterprise_id: String,
    pub print_point_id: String,
    pub user_id: String,
    pub opened_at: i64,
    pub expires_at: i64,
    pub closed_at: Option<i64>,
}

impl ScanSession {
    /// When the session stops taking scans.
    pub fn ends_at(&self) -> i64 {
        self.closed_at.map_or(self.expires_at, |c| c.min(self.expires_at))
    }

    /// Whether a scan that reached the gateway at `at` falls in this session.
    pub fn covers(&self, at: i64) -> bool {
        self.opened_at <= at && at < self.ends_at()
    }
}

/// A scan record (扫描记录).
#[derive(Debug, Clone)]
pub struct ScanRecord {
    pub id: String,
    pub enterprise_id: String,
    pub print_point_id: String,
    /// None: no session claimed it; the print point's admins see it until it expires.
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub name: String,
    pub format: ScanFormat,
    pub size_bytes: i64,
    pub pages: i64,
    pub price_fen: i64,
    pub charge: ScanCharge,
    pub scanned_at: i64,
    pub received_at: i64,
    pub expires_at: i64,
    /// The share link's token and expiry, while one is live.
    pub share: Option<(String, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_format_extension_and_lose_paths() {
        assert_eq!(scan_name("SCAN_0001.PDF", ScanFormat::Pdf).ok().as_deref(), Some("SCAN_0001.pdf"));
        assert_eq!(scan_name("/scans/a/b.jpeg", ScanFormat::Jpeg).ok().as_deref(), Some("b.jpg"));
        assert_eq!(scan_name("C:\\x\\doc", ScanFormat::Tiff).ok().as_deref(), Some("doc.tif"));
        assert_eq!(scan_name("合同 第1页.pdf", ScanFormat::Pdf).ok().as_deref(), Some("合同 第1页.pdf"));
        // A wrong extension is part of the name, the right one is added.
        assert_eq!(scan_name("photo.png", ScanFormat::Pdf).ok().as_deref(), Some("photo.png.pdf"));
        assert_eq!(scan_name("  ", ScanFormat::Pdf), Err(ValueError::FileName));
        assert_eq!(scan_name("dir/", ScanFormat::Pdf), Err(ValueError::FileName));
        assert_eq!(scan_name("..", ScanFormat::Pdf), Err(ValueError::FileName));
        assert_eq!(scan_name("a\u{0}b.pdf", ScanFormat::Pdf).ok().as_deref(), Some("ab.pdf"));
        let long = "长".repeat(300);
        let named = scan_name(&long, ScanFormat::Pdf).unwrap_or_default();
        assert_eq!(named.chars().count(), 120);
        assert!(named.ends_with(".pdf"));
    }

    #[test]
    fn a_session_covers_scans_from_its_opening_until_it_ends() {
        let s = ScanSession {
            id: "s".into(),
            enterprise_id: "e".into(),
            print_point_id: "p".into(),
            user_id: "u".into(),
            opened_at: 1_000,
            expires_at: 2_000,
            closed_at: None,
        };
        assert!(!s.covers(999));
        assert!(s.covers(1_000));
        assert!(s.covers(1_999));
        assert!(!s.covers(2_000));
        let closed = ScanSession { closed_at: Some(1_500), ..s.clone() };
        assert!(closed.covers(1_499));
        assert!(!closed.covers(1_500));
        // Closing after the expiry changes nothing.
        assert_eq!(ScanSession { closed_at: Some(9_000), ..s }.ends_at(), 2_000);
    }

    #[test]
    fn formats_name_their_media_types() {
        for name in ScanFormat::NAMES {
            let f = ScanFormat::parse(name).unwrap_or(ScanFormat::Pdf);
            assert_eq!(f.as_str(), *name);
            assert!(f.content_type().contains('/'));
        }
        assert!(ScanCharge::parse("owed").is_err());
    }
}
