//! Office containers: which format a ZIP or OLE file is, and whether a ZIP unpacks to a sane
//! size (zip bombs). Unpacking is bounded: we stop reading at the limit.

use std::{io::Read, path::Path};

use super::{sniff::OfficeKind, DocumentError};

/// At most this much may be unpacked from one document.
pub const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;
/// Beyond 10 MiB unpacked, a compression ratio above this is a bomb, not a document.
pub const MAX_RATIO: u64 = 100;
const MAX_ENTRIES: usize = 20_000;

/// OOXML or OpenDocument, from the parts inside the ZIP; any other ZIP is an archive.
pub fn zip_kind(path: &Path) -> Result<OfficeKind, DocumentError> {
    let file = std::fs::File::open(path)?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| DocumentError::Corrupt(e.to_string()))?;
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("mimetype") {
        let mut mime = String::new();
        if let Ok(mut entry) = zip.by_name("mimetype") {
            let _ = entry.by_ref().take(128).read_to_string(&mut mime);
        }
        return match mime.trim() {
            "application/vnd.oasis.opendocument.text" => Ok(OfficeKind::Odt),
            "application/vnd.oasis.opendocument.spreadsheet" => Ok(OfficeKind::Ods),
            "application/vnd.oasis.opendocument.presentation" => Ok(OfficeKind::Odp),
            _ => Err(DocumentError::Archive),
        };
    }
    if has("[Content_Types].xml") {
        if names.iter().any(|n| n.starts_with("word/")) {
            return Ok(OfficeKind::Docx);
        }
        if names.iter().any(|n| n.starts_with("xl/")) {
            return Ok(OfficeKind::Xlsx);
        }
        if names.iter().any(|n| n.starts_with("ppt/")) {
            return Ok(OfficeKind::Pptx);
        }
    }
    Err(DocumentError::Archive)
}

/// Word, Excel or PowerPoint 97-2003 (and WPS) from the streams of the OLE container.
pub fn ole_kind(path: &Path) -> Result<OfficeKind, DocumentError> {
    let cfb = cfb::open(path).map_err(|e| DocumentError::Corrupt(e.to_string()))?;
    if cfb.exists("/EncryptedPackage") {
        // A password-protected OOXML document wrapped in OLE.
        return Err(DocumentError::Encrypted);
    }
    if cfb.exists("/WordDocument") {
        Ok(OfficeKind::Doc)
    } else if cfb.exists("/Workbook") || cfb.exists("/Book") {
        Ok(OfficeKind::Xls)
    } else if cfb.exists("/PowerPoint Document") {
        Ok(OfficeKind::Ppt)
    } else {
        Err(DocumentError::Unsupported)
    }
}

/// Unpacks every entry, counting real bytes (declared sizes can lie), and refuses documents
/// that unpack beyond [`MAX_UNPACKED_BYTES`] or at a bomb-like ratio.
pub fn check_zip_bounds(path: &Path) -> Result<(), DocumentError> {
    let compressed = std::fs::metadata(path)?.len().max(1);
    let file = std::fs::File::open(path)?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| DocumentError::Corrupt(e.to_string()))?;
    if zip.len() > MAX_ENTRIES {
        return Err(DocumentError::Bomb);
    }
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| DocumentError::Corrupt(e.to_string()))?;
        loop {
            let n = entry.read(&mut buf).map_err(|e| DocumentError::Corrupt(e.to_string()))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > MAX_UNPACKED_BYTES || (total > 10 * 1024 * 1024 && total / compressed > MAX_RATIO) {
                return Err(DocumentError::Bomb);
            }
        }
    }
    Ok(())
}
