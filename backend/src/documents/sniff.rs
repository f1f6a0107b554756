//! What a file is, decided from its content (magic bytes, and inside ZIP and OLE containers),
//! never from its name.

use std::{io::Read, path::Path};

use super::{office, raster::RasterKind, DocumentError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Gif,
    Bmp,
    Tiff,
    Webp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    /// GBK and its superset GB18030.
    Gb18030,
}

/// Office formats LibreOffice converts. The extension matters to LibreOffice's filter choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeKind {
    Docx,
    Xlsx,
    Pptx,
    Odt,
    Ods,
    Odp,
    /// Word 97-2003, and Kingsoft WPS Writer files (the same container).
    Doc,
    Xls,
    Ppt,
}

impl OfficeKind {
    pub fn extension(self) -> &'static str {
        match self {
            OfficeKind::Docx => "docx",
            OfficeKind::Xlsx => "xlsx",
            OfficeKind::Pptx => "pptx",
            OfficeKind::Odt => "odt",
            OfficeKind::Ods => "ods",
            OfficeKind::Odp => "odp",
            OfficeKind::Doc => "doc",
            OfficeKind::Xls => "xls",
            OfficeKind::Ppt => "ppt",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Pdf,
    Image(ImageKind),
    Text(TextEncoding),
    Office(OfficeKind),
    /// PWG or Apple raster, as a driverless (IPP Everywhere) client sends it.
    Raster(RasterKind),
}

impl DocumentKind {
    /// Stable name stored with the job and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Image(ImageKind::Jpeg) => "jpeg",
            DocumentKind::Image(ImageKind::Png) => "png",
            DocumentKind::Image(ImageKind::Gif) => "gif",
            DocumentKind::Image(ImageKind::Bmp) => "bmp",
            DocumentKind::Image(ImageKind::Tiff) => "tiff",
            DocumentKind::Image(ImageKind::Webp) => "webp",
            DocumentKind::Text(TextEncoding::Utf8) => "text-utf8",
            DocumentKind::Text(TextEncoding::Gb18030) => "text-gb18030",
            DocumentKind::Office(k) => k.extension(),
            DocumentKind::Raster(RasterKind::Pwg) => "pwg-raster",
            DocumentKind::Raster(RasterKind::Urf) => "apple-raster",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        const ALL: [DocumentKind; 17] = [
            DocumentKind::Pdf,
            DocumentKind::Image(ImageKind::Jpeg),
            DocumentKind::Image(ImageKind::Png),
            DocumentKind::Image(ImageKind::Gif),
            DocumentKind::Image(ImageKind::Bmp),
            DocumentKind::Image(ImageKind::Tiff),
            DocumentKind::Image(ImageKind::Webp),
            DocumentKind::Text(TextEncoding::Utf8),
            DocumentKind::Text(TextEncoding::Gb18030),
            DocumentKind::Office(OfficeKind::Docx),
            DocumentKind::Office(OfficeKind::Xlsx),
            DocumentKind::Office(OfficeKind::Pptx),
            DocumentKind::Office(OfficeKind::Odt),
            DocumentKind::Office(OfficeKind::Ods),
            DocumentKind::Office(OfficeKind::Odp),
            DocumentKind::Office(OfficeKind::Doc),
            DocumentKind::Office(OfficeKind::Xls),
        ];
        ALL.into_iter()
            .chain([
                DocumentKind::Office(OfficeKind::Ppt),
                DocumentKind::Raster(RasterKind::Pwg),
                DocumentKind::Raster(RasterKind::Urf),
            ])
            .find(|k| k.as_str() == raw)
    }

    /// Whether making it print-ready needs LibreOffice.
    pub fn needs_converter(self) -> bool {
        matches!(self, DocumentKind::Office(_) | DocumentKind::Text(_))
    }
}

/// Text files larger than this are not "documents" but data; refuse them.
const MAX_TEXT_BYTES: u64 = 8 * 1024 * 1024;

/// Decides what the file at `path` is. Blocking: call from a blocking thread.
pub fn sniff(path: &Path) -> Result<DocumentKind, DocumentError> {
    let size = std::fs::metadata(path)?.len();
    if size == 0 {
        return Err(DocumentError::Empty);
    }
    let mut head = vec![0u8; 1024.min(size as usize)];
    std::fs::File::open(path)?.read_exact(&mut head)?;
    let starts = |magic: &[u8]| head.starts_with(magic);

    if let Some(kind) = RasterKind::of(&head) {
        return Ok(DocumentKind::Raster(kind));
    }
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(DocumentKind::Pdf);
    }
    let image = if starts(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some(ImageKind::Png)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some(ImageKind::Gif)
    } else if starts(b"BM") && head.len() > 14 {
        Some(ImageKind::Bmp)
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some(ImageKind::Tiff)
    } else if starts(b"RIFF") && head.len() >= 12 && &head[8..12] == b"WEBP" {
        Some(ImageKind::Webp)
    } else {
        None
    };
    if let Some(kind) = image {
        return Ok(DocumentKind::Image(kind));
    }
    let executable = starts(b"\x7fELF")
        || starts(b"MZ")
        || starts(&[0xFE, 0xED, 0xFA, 0xCE])
        || starts(&[0xFE, 0xED, 0xFA, 0xCF])
        || starts(&[0xCE, 0xFA, 0xED, 0xFE])
        || starts(&[0xCF, 0xFA, 0xED, 0xFE])
        || starts(&[0xCA, 0xFE, 0xBA, 0xBE])
        || starts(b"\0asm")
        || starts(b"#!");
    if executable {
        return Err(DocumentError::Executable);
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return office::zip_kind(path).map(DocumentKind::Office);
    }
    if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return office::ole_kind(path).map(DocumentKind::Office);
    }
    let archive = starts(&[0x1F, 0x8B])
        || starts(b"BZh")
        || starts(&[0xFD, b'7', b'z', b'X', b'Z', 0])
        || starts(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C])
        || starts(b"Rar!\x1a\x07")
        || starts(&[0x28, 0xB5, 0x2F, 0xFD])
        || (head.len() >= 262 && &head[257..262] == b"ustar");
    if archive {
        return Err(DocumentError::Archive);
    }
    if size <= MAX_TEXT_BYTES {
        let bytes = std::fs::read(path)?;
        if let Some(encoding) = text_encoding(&bytes) {
            return Ok(DocumentKind::Text(encoding));
        }
    }
    Err(DocumentError::Unsupported)
}

/// UTF-8 (with or without BOM) or GB18030 text without binary control bytes.
pub fn text_encoding(bytes: &[u8]) -> Option<TextEncoding> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let binary = |s: &str| s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'));
    if let Ok(text) = std::str::from_utf8(body) {
        return (!binary(text)).then_some(TextEncoding::Utf8);
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    (!had_errors && !binary(&text)).then_some(TextEncoding::Gb18030)
}

/// The text as UTF-8.
pub fn decode_text(bytes: &[u8], encoding: TextEncoding) -> String {
    match encoding {
        TextEncoding::Utf8 => {
            String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).into_owned()
        }
        TextEncoding::Gb18030 => encoding_rs::GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff_bytes(bytes: &[u8]) -> Result<DocumentKind, DocumentError> {
        let dir = tempfile::tempdir().map_err(DocumentError::from)?;
        let path = dir.path().join("f.bin");
        std::fs::write(&path, bytes)?;
        sniff(&path)
    }

    #[test]
    fn magic_bytes_decide() {
        assert_eq!(sniff_bytes(b"%PDF-1.7\n..."), Ok(DocumentKind::Pdf));
        assert_eq!(sniff_bytes(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Ok(DocumentKind::Image(ImageKind::Jpeg)));
        assert_eq!(sniff_bytes(b"\x7fELF\x02\x01"), Err(DocumentError::Executable));
        assert_eq!(sniff_bytes(b"MZ\x90\0"), Err(DocumentError::Executable));
        assert_eq!(sniff_bytes(&[0x1F, 0x8B, 8, 0]), Err(DocumentError::Archive));
        assert_eq!(sniff_bytes(b""), Err(DocumentError::Empty));
        assert_eq!(sniff_bytes(&[0, 1, 2, 3, 0xFF, 0xFE]), Err(DocumentError::Unsupported));
    }

    #[test]
    fn text_in_utf8_and_gbk() {
        assert_eq!(sniff_bytes("你好，世界\n".as_bytes()), Ok(DocumentKind::Text(TextEncoding::Utf8)));
        let (gbk, _, _) = encoding_rs::GBK.encode("打印测试：云印\n");
        assert_eq!(sniff_bytes(&gbk), Ok(DocumentKind::Text(TextEncoding::Gb18030)));
        assert_eq!(decode_text(&gbk, TextEncoding::Gb18030), "打印测试：云印\n");
    }

    #[test]
    fn kinds_round_trip() {
        for k in ["pdf", "jpeg", "text-gb18030", "docx", "ppt"] {
            assert_eq!(DocumentKind::parse(k).map(DocumentKind::as_str), Some(k));
        }
    }
}
