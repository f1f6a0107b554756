//! The document pipeline: deciding what a file is from its bytes ([`sniff`]), storing it
//! ([`store`]), turning it into a print-ready PDF (images placed on paper in [`pdf`], text and
//! Office documents through LibreOffice in [`convert`], PWG and Apple raster from driverless
//! clients decoded in [`raster`]), and deriving the facts printing and
//! pricing need: pages, page sizes, colour per page and a thumbnail ([`pdf`], [`render`]). A PDF
//! whose cross-reference data is damaged but whose objects are intact is rebuilt
//! ([`pdf_repair`]) and the rebuilt file is the one printed.
//!
//! External tools (poppler's `pdftoppm`, LibreOffice's `soffice`) run with time limits and are
//! killed, with their children, when they overrun.

pub mod convert;
pub mod office;
pub mod pdf;
pub mod pdf_repair;
pub mod raster;
pub mod render;
pub mod sniff;
pub mod store;
pub mod tiff;
pub mod tools;

/// Why a document cannot become a print job. Each maps to a stable API error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the file is empty")]
    Empty,
    #[error("executables are not printable")]
    Executable,
    #[error("archives are not printable")]
    Archive,
    #[error("unsupported file type")]
    Unsupported,
    #[error("the file is corrupt: {0}")]
    Corrupt(String),
    #[error("the PDF is encrypted or password-protected")]
    Encrypted,
    #[error("the document unpacks to more than allowed (zip bomb?)")]
    Bomb,
    #[error("the document has {pages} pages; the limit is {limit}")]
    TooManyPages { pages: u32, limit: u32 },
    #[error("the server cannot convert this type (LibreOffice is not installed)")]
    ConverterUnavailable,
    #[error("conversion took longer than {0} s and was stopped")]
    Timeout(u64),
    #[error("conversion failed: {0}")]
    ConversionFailed(String),
    #[error("i/o: {0}")]
    Io(String),
}

impl From<std::io::Error> for DocumentError {
    fn from(e: std::io::Error) -> Self {
        DocumentError::Io(e.to_string())
    }
}
