//! Raster documents, as driverless clients send them (IPP Everywhere, AirPrint): PWG Raster
//! (PWG 5102.4, `image/pwg-raster`) and Apple Raster (`image/urf`). Each page is decoded (both
//! compress lines the same way: a repeat count per line, then runs and literals of whole
//! pixels) and written as one PDF page at its own size and resolution, one page in memory at a
//! time. Blocking: call from a blocking thread.

use std::{io::Read, path::Path};

use lopdf::{dictionary, Stream};

use super::{pdf::ImagePdf, DocumentError};

/// Which raster format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RasterKind {
    /// PWG Raster: `RaS2`, then per page a 1796-byte header and the compressed lines.
    Pwg,
    /// Apple Raster: `UNIRAST\0`, a page count, then per page a 32-byte header and the lines.
    Urf,
}

impl RasterKind {
    /// The format of a file starting with `head`, if it is a raster one.
    pub fn of(head: &[u8]) -> Option<Self> {
        if head.starts_with(b"RaS2") {
            Some(RasterKind::Pwg)
        } else if head.starts_with(b"UNIRAST\0") {
            Some(RasterKind::Urf)
        } else {
            None
        }
    }
}

/// The largest page side taken, pixels (A3 at 1200 dpi is 14 032).
const MAX_SIDE: u32 = 20_000;

/// How a page's pixels are laid out before they become 8-bit grey or RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// 1 bit per pixel, 1 = ink.
    BlackBits,
    /// One channel, 255 = white (`bytes` per sample: 1 or 2).
    Grey {
        bytes: usize,
    },
    /// One channel of ink, 0 = white.
    Black {
        bytes: usize,
    },
    Rgb {
        bytes: usize,
    },
    Cmyk {
        bytes: usize,
    },
}

impl Layout {
    /// Bytes one compression unit (a pixel; a byte of pixels at 1 bit) takes.
    fn unit(self) -> usize {
        match self {
            Layout::BlackBits => 1,
            Layout::Grey { bytes } | Layout::Black { bytes } => bytes,
            Layout::Rgb { bytes } => 3 * bytes,
            Layout::Cmyk { bytes } => 4 * bytes,
        }
    }

    /// The byte a line's unfilled rest takes: white paper.
    fn white(self) -> u8 {
        match self {
            Layout::Grey { .. } | Layout::Rgb { .. } => 0xFF,
            Layout::BlackBits | Layout::Black { .. } | Layout::Cmyk { .. } => 0,
        }
    }

    fn rgb(self) -> bool {
        matches!(self, Layout::Rgb { .. } | Layout::Cmyk { .. })
    }
}

/// One page's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageHeader {
    width: u32,
    height: u32,
    dpi_x: u32,
    dpi_y: u32,
    layout: Layout,
    /// Bytes per decoded line.
    line_bytes: usize,
}

fn corrupt(what: &str) -> DocumentError {
    DocumentError::Corrupt(format!("raster: {what}"))
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn checked(
    width: u32,
    height: u32,
    dpi_x: u32,
    dpi_y: u32,
    layout: Layout,
    line_bytes: usize,
) -> Result<PageHeader, DocumentError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(corrupt("page size out of range"));
    }
    if !(36..=4800).contains(&dpi_x) || !(36..=4800).contains(&dpi_y) {
        return Err(corrupt("resolution out of range"));
    }
    let needed = match layout {
        Layout::BlackBits => (width as usize).div_ceil(8),
        other => width as usize * other.unit(),
    };
    if line_bytes != needed {
        return Err(corrupt("bytes per line do not match the width"));
    }
    Ok(PageHeader { width, height, dpi_x, dpi_y, layout, line_bytes })
}

/// A PWG page header (the CUPS `cups_page_header2_t` layout, big-endian).
fn pwg_header(h: &[u8; 1796]) -> Result<PageHeader, DocumentError> {
    let (dpi_x, dpi_y) = (be32(h, 276), be32(h, 280));
    let (width, height) = (be32(h, 372), be32(h, 376));
    let (bits_per_colour, bits_per_pixel, bytes_per_line) = (be32(h, 384), be32(h, 388), be32(h, 392));
    let (colour_order, colour_space) = (be32(h, 396), be32(h, 400));
    if colour_order != 0 {
        return Err(corrupt("only chunky pixels are defined for PWG Raster"));
    }
    let bytes = (bits_per_colour / 8) as usize;
    let layout = match (colour_space, bits_per_colour, bits_per_pixel) {
        // 3 black, 18 sgray, 19 srgb, 20 adobergb, 6 cmyk (PWG 5102.4 §4.3.1.31).
        (3, 1, 1) => Layout::BlackBits,
        (3, 8 | 16, _) => Layout::Black { bytes },
        (18, 8 | 16, _) => Layout::Grey { bytes },
        (19 | 20, 8 | 16, _) => Layout::Rgb { bytes },
        (6, 8 | 16, _) => Layout::Cmyk { bytes },
        _ => return Err(corrupt("unsupported colour space or depth")),
    };
    if bits_per_pixel as usize != layout.unit() * 8 && layout != Layout::BlackBits {
        return Err(corrupt("bits per pixel do not match the colour space"));
    }
    checked(width, height, dpi_x, dpi_y, layout, bytes_per_line as usize)
}

/// An Apple Raster page header.
fn urf_header(h: &[u8; 32]) -> Result<PageHeader, DocumentError> {
    let (bits_per_pixel, colour_space) = (h[0], h[1]);
    let (width, height, dpi) = (be32(h, 12), be32(h, 16), be32(h, 20));
    let layout = match (colour_space, bits_per_pixel) {
        // 0 sGray, 4 DeviceGray; 1 sRGB, 3 AdobeRGB, 5 DeviceRGB; 6 DeviceCMYK.
        (0 | 4, 8) => Layout::Grey { bytes: 1 },
        (0 | 4, 16) => Layout::Grey { bytes: 2 },
        (1 | 3 | 5, 24) => Layout::Rgb { bytes: 1 },
        (1 | 3 | 5, 48) => Layout::Rgb { bytes: 2 },
        (6, 32) => Layout::Cmyk { bytes: 1 },
        (6, 64) => Layout::Cmyk { bytes: 2 },
        _ => return Err(corrupt("unsupported colour space or depth")),
    };
    checked(width, height, dpi, dpi, layout, width as usize * layout.unit())
}

/// Reads one byte of a page's data (its end is an error: the page is incomplete).
fn byte(r: &mut impl Read) -> Result<u8, DocumentError> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b).map_err(|_| corrupt("the data ends inside a page"))?;
    Ok(b[0])
}

/// Decodes one page's lines into `out` (8-bit grey or RGB, top line first).
fn decode_page(r: &mut impl Read, page: &PageHeader, kind: RasterKind, out: &mut Vec<u8>) -> Result<(), DocumentError> {
    let unit = page.layout.unit();
    let mut line = vec![0u8; page.line_bytes];
    let mut pixel = vec![0u8; unit];
    let mut y = 0u32;
    while y < page.height {
        let repeat = u32::from(byte(r)?) + 1;
        let mut at = 0usize;
        while at < page.line_bytes {
            let count = byte(r)?;
            if count == 128 && kind == RasterKind::Urf {
                // Apple Raster: the rest of the line is blank.
                line[at..].fill(page.layout.white());
                at = page.line_bytes;
            } else if count < 128 {
                let n = (usize::from(count) + 1) * unit;
                r.read_exact(&mut pixel).map_err(|_| corrupt("the data ends inside a run"))?;
                if at + n > page.line_bytes {
                    return Err(corrupt("a run passes the end of the line"));
                }
                for chunk in line[at..at + n].chunks_exact_mut(unit) {
                    chunk.copy_from_slice(&pixel);
                }
                at += n;
            } else {
                let n = (257 - usize::from(count)) * unit;
                if at + n > page.line_bytes {
                    return Err(corrupt("literal pixels pass the end of the line"));
                }
                r.read_exact(&mut line[at..at + n]).map_err(|_| corrupt("the data ends inside literal pixels"))?;
                at += n;
            }
        }
        let times = repeat.min(page.height - y);
        for _ in 0..times {
            append_pixels(&line, page, out);
        }
        y += times;
    }
    Ok(())
}

/// One decoded line as 8-bit grey or RGB.
fn append_pixels(line: &[u8], page: &PageHeader, out: &mut Vec<u8>) {
    let width = page.width as usize;
    match page.layout {
        Layout::BlackBits => {
            out.extend((0..width).map(|x| if line[x / 8] & (0x80 >> (x % 8)) != 0 { 0 } else { 255 }));
        }
        // Wider samples keep their most significant byte (big-endian).
        Layout::Grey { bytes } => out.extend(line.chunks_exact(bytes).map(|s| s[0])),
        Layout::Black { bytes } => out.extend(line.chunks_exact(bytes).map(|s| 255 - s[0])),
        Layout::Rgb { bytes } => out.extend(line.chunks_exact(bytes).map(|s| s[0])),
        Layout::Cmyk { bytes } => {
            for p in line.chunks_exact(4 * bytes) {
                let (c, m, yl, k) = (p[0], p[bytes], p[2 * bytes], p[3 * bytes]);
                out.extend([255 - c.saturating_add(k), 255 - m.saturating_add(k), 255 - yl.saturating_add(k)]);
            }
        }
    }
}

/// The next page header, or `None` after the last page.
fn next_header(r: &mut impl Read, kind: RasterKind) -> Result<Option<PageHeader>, DocumentError> {
    match kind {
        RasterKind::Pwg => {
            let mut h = [0u8; 1796];
            match read_or_end(r, &mut h)? {
                false => Ok(None),
                true => pwg_header(&h).map(Some),
            }
        }
        RasterKind::Urf => {
            let mut h = [0u8; 32];
            match read_or_end(r, &mut h)? {
                false => Ok(None),
                true => urf_header(&h).map(Some),
            }
        }
    }
}

/// Fills `buf`; false at a clean end (nothing read), an error when it ends part way.
fn read_or_end(r: &mut impl Read, buf: &mut [u8]) -> Result<bool, DocumentError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DocumentError::Io(e.to_string())),
        }
    }
    match got {
        0 => Ok(false),
        n if n == buf.len() => Ok(true),
        _ => Err(corrupt("the data ends inside a page header")),
    }
}

/// Reads the file's leading sync word (and Apple Raster's page count).
fn open(path: &Path) -> Result<(std::io::BufReader<std::fs::File>, RasterKind), DocumentError> {
    let mut r = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut sync = [0u8; 4];
    r.read_exact(&mut sync).map_err(|_| corrupt("too short"))?;
    let kind = match &sync {
        b"RaS2" => RasterKind::Pwg,
        b"UNIR" => {
            let mut rest = [0u8; 8];
            r.read_exact(&mut rest).map_err(|_| corrupt("too short"))?;
            if &rest[..4] != b"AST\0" {
                return Err(DocumentError::Unsupported);
            }
            RasterKind::Urf
        }
        _ => return Err(DocumentError::Unsupported),
    };
    Ok((r, kind))
}

/// Walks every page (decoding it) and says how many there are; refuses more than
/// `page_limit` and anything malformed.
pub fn count_pages(path: &Path, page_limit: u32) -> Result<u32, DocumentError> {
    let (mut r, kind) = open(path)?;
    let mut pages = 0u32;
    let mut scratch = Vec::new();
    while let Some(header) = next_header(&mut r, kind)? {
        pages += 1;
        if pages > page_limit {
            return Err(DocumentError::TooManyPages { pages, limit: page_limit });
        }
        scratch.clear();
        decode_page(&mut r, &header, kind, &mut scratch)?;
    }
    if pages == 0 {
        return Err(DocumentError::Empty);
    }
    Ok(pages)
}

/// Writes the raster document at `src` as a PDF at `out`: a page per raster page, sized by
/// its pixels and resolution. Returns the page count.
pub fn to_pdf(src: &Path, out: &Path, page_limit: u32) -> Result<u32, DocumentError> {
    let (mut r, kind) = open(src)?;
    let mut pdf = ImagePdf::new();
    let mut pixels = Vec::new();
    while let Some(page) = next_header(&mut r, kind)? {
        if pdf.pages() >= page_limit {
            return Err(DocumentError::TooManyPages { pages: pdf.pages().saturating_add(1), limit: page_limit });
        }
        pixels.clear();
        decode_page(&mut r, &page, kind, &mut pixels)?;
        let space = if page.layout.rgb() { "DeviceRGB" } else { "DeviceGray" };
        let mut image = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => i64::from(page.width),
                "Height" => i64::from(page.height), "ColorSpace" => space, "BitsPerComponent" => 8,
            },
            std::mem::take(&mut pixels),
        );
        image.compress().map_err(|e| DocumentError::Io(e.to_string()))?;
        let w = f64::from(page.width) * 72.0 / f64::from(page.dpi_x);
        let h = f64::from(page.height) * 72.0 / f64::from(page.dpi_y);
        pdf.add_page(image, (w, h), [0.0, 0.0, w, h]);
    }
    pdf.save(out)
}

/// Encoders for tests (here and end to end): the simplest valid encoding, one literal or run
/// per pixel group, so decoders are checked against the format, not against themselves.
pub mod encode {
    /// A PWG Raster page: 8-bit sGray or sRGB (`rgb`) pixels, `dpi` both ways.
    pub fn pwg_page(out: &mut Vec<u8>, width: u32, height: u32, dpi: u32, rgb: bool, pixels: &[u8]) {
        let mut h = vec![0u8; 1796];
        h[..9].copy_from_slice(b"PwgRaster");
        let mut put = |at: usize, v: u32| h[at..at + 4].copy_from_slice(&v.to_be_bytes());
        let unit = if rgb { 3 } else { 1 };
        put(276, dpi);
        put(280, dpi);
        put(352, width * 72 / dpi);
        put(356, height * 72 / dpi);
        put(372, width);
        put(376, height);
        put(384, 8);
        put(388, 8 * unit);
        put(392, width * unit);
        put(400, if rgb { 19 } else { 18 });
        put(420, unit);
        out.extend_from_slice(&h);
        lines(out, width as usize * unit as usize, unit as usize, pixels);
    }

    /// An Apple Raster page (8-bit sGray or 24-bit sRGB).
    pub fn urf_page(out: &mut Vec<u8>, width: u32, height: u32, dpi: u32, rgb: bool, pixels: &[u8]) {
        let mut h = [0u8; 32];
        h[0] = if rgb { 24 } else { 8 };
        h[1] = u8::from(rgb);
        h[12..16].copy_from_slice(&width.to_be_bytes());
        h[16..20].copy_from_slice(&height.to_be_bytes());
        h[20..24].copy_from_slice(&dpi.to_be_bytes());
        out.extend_from_slice(&h);
        let unit = if rgb { 3 } else { 1 };
        lines(out, width as usize * unit, unit, pixels);
    }

    /// Each line once (repeat 0): runs of equal pixels as runs, the rest as literals.
    fn lines(out: &mut Vec<u8>, line_bytes: usize, unit: usize, pixels: &[u8]) {
        for line in pixels.chunks(line_bytes) {
            out.push(0);
            let px: Vec<&[u8]> = line.chunks(unit).collect();
            let mut i = 0;
            while i < px.len() {
                let mut run = 1;
                while i + run < px.len() && px[i + run] == px[i] && run < 128 {
                    run += 1;
                }
                if run > 1 {
                    out.push((run - 1) as u8);
                    out.extend_from_slice(px[i]);
                    i += run;
                } else {
                    let mut lit = 1;
                    while i + lit < px.len() && lit < 128 && (i + lit + 1 >= px.len() || px[i + lit] != px[i + lit + 1])
                    {
                        lit += 1;
                    }
                    out.push((257 - lit) as u8);
                    for p in &px[i..i + lit] {
                        out.extend_from_slice(p);
                    }
                    i += lit;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn gradient(width: u32, height: u32, unit: usize) -> Vec<u8> {
        (0..height)
            .flat_map(|y| {
                (0..width).flat_map(move |x| {
                    (0..unit).map(move |c| if x < 3 { 200 } else { ((x * 7 + y * 3 + c as u32 * 50) % 256) as u8 })
                })
            })
            .collect()
    }

    fn decode_all(bytes: &[u8]) -> Result<Vec<(PageHeader, Vec<u8>)>, DocumentError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.raster");
        std::fs::write(&path, bytes).unwrap();
        let (mut r, kind) = open(&path)?;
        let mut pages = Vec::new();
        while let Some(h) = next_header(&mut r, kind)? {
            let mut px = Vec::new();
            decode_page(&mut r, &h, kind, &mut px)?;
            pages.push((h, px));
        }
        Ok(pages)
    }

    #[test]
    fn pwg_pages_decode_to_their_pixels() {
        let (grey, rgb) = (gradient(37, 11, 1), gradient(20, 5, 3));
        let mut doc = b"RaS2".to_vec();
        encode::pwg_page(&mut doc, 37, 11, 300, false, &grey);
        encode::pwg_page(&mut doc, 20, 5, 600, true, &rgb);
        let pages = decode_all(&doc).unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!((pages[0].0.width, pages[0].0.height, pages[0].0.dpi_x), (37, 11, 300));
        assert_eq!(pages[0].1, grey);
        assert_eq!(pages[1].1, rgb);
    }

    #[test]
    fn line_repeats_and_apple_blank_fills_are_honoured() {
        // A 4×3 grey URF page: line 0 twice (repeat 1), then a line that is one black pixel
        // and blank after it (128 = fill with white).
        let mut doc = b"UNIRAST\0".to_vec();
        doc.extend_from_slice(&1u32.to_be_bytes());
        let mut h = [0u8; 32];
        h[0] = 8;
        h[12..16].copy_from_slice(&4u32.to_be_bytes());
        h[16..20].copy_from_slice(&3u32.to_be_bytes());
        h[20..24].copy_from_slice(&300u32.to_be_bytes());
        doc.extend_from_slice(&h);
        doc.extend_from_slice(&[1, 3, 0x40]); // repeat once more: four pixels of 0x40
        doc.extend_from_slice(&[0, 0, 0x00, 128]); // one black pixel, then blank
        let pages = decode_all(&doc).unwrap();
        assert_eq!(pages[0].1, [0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0, 255, 255, 255]);
    }

    #[test]
    fn one_bit_black_becomes_grey_ink() {
        let mut doc = b"RaS2".to_vec();
        let mut h = vec![0u8; 1796];
        for (at, v) in [(276, 300u32), (280, 300), (372, 10), (376, 1), (384, 1), (388, 1), (392, 2), (400, 3)] {
            h[at..at + 4].copy_from_slice(&v.to_be_bytes());
        }
        doc.extend_from_slice(&h);
        doc.extend_from_slice(&[0, 0xFF, 0b1010_0000, 0b0100_0000]); // two literal bytes
        let pages = decode_all(&doc).unwrap();
        assert_eq!(pages[0].1, [0, 255, 0, 255, 255, 255, 255, 255, 255, 0]);
    }

    #[test]
    fn malformed_raster_is_refused_not_guessed() {
        let grey = gradient(8, 4, 1);
        let mut doc = b"RaS2".to_vec();
        encode::pwg_page(&mut doc, 8, 4, 300, false, &grey);
        // Cut short inside the lines, and inside the header.
        assert!(matches!(decode_all(&doc[..doc.len() - 3]), Err(DocumentError::Corrupt(_))));
        assert!(matches!(decode_all(&doc[..100]), Err(DocumentError::Corrupt(_))));
        // A run that passes the end of the line.
        let mut bad = doc[..4 + 1796].to_vec();
        bad.extend_from_slice(&[0, 20, 9]);
        assert!(matches!(decode_all(&bad), Err(DocumentError::Corrupt(_))));
        // Bytes per line that do not fit the width, and a giant page.
        let mut wrong = doc.clone();
        wrong[4 + 392..4 + 396].copy_from_slice(&9u32.to_be_bytes());
        assert!(matches!(decode_all(&wrong), Err(DocumentError::Corrupt(_))));
        let mut giant = doc.clone();
        giant[4 + 372..4 + 376].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(matches!(decode_all(&giant), Err(DocumentError::Corrupt(_))));
        assert!(matches!(decode_all(b"RaS"), Err(DocumentError::Corrupt(_))));
    }

    #[test]
    fn raster_becomes_a_pdf_page_per_page_at_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let (src, out) = (dir.path().join("in.pwg"), dir.path().join("out.pdf"));
        let mut doc = b"RaS2".to_vec();
        // 2 pages of 300 × 150 px at 150 dpi: 2 × 1 inch, 144 × 72 pt.
        for _ in 0..2 {
            encode::pwg_page(&mut doc, 300, 150, 150, true, &gradient(300, 150, 3));
        }
        std::fs::write(&src, &doc).unwrap();
        assert_eq!(count_pages(&src, 10).unwrap(), 2);
        assert!(matches!(count_pages(&src, 1), Err(DocumentError::TooManyPages { limit: 1, .. })));
        assert_eq!(to_pdf(&src, &out, 10).unwrap(), 2);
        let facts = super::super::pdf::inspect(&out, 10).unwrap();
        assert_eq!(facts.pages.len(), 2);
        assert!((facts.pages[0].width - 144.0).abs() < 0.01 && (facts.pages[0].height - 72.0).abs() < 0.01);
    }
}
