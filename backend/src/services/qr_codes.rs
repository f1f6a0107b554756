//! Print-point QR codes: a stable, signed code per print point, the URL it encodes, and the
//! images (PNG, SVG, a printable sticker sheet).
//!
//! A code is the print point's random `qr_id` (10 bytes) followed by a 5-byte HMAC tag over
//! it, in lowercase base32: 24 characters. Guessing needs both the random part and the tag,
//! and a forged code is refused before any database read.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::infra::secrets::MasterKey;

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const ID_BYTES: usize = 10;
const TAG_BYTES: usize = 5;

/// Signs and checks print-point codes.
#[derive(Clone)]
pub struct QrSigner {
    key: [u8; 32],
}

/// A new random `qr_id` for a print point (16 base32 characters).
pub fn new_qr_id() -> String {
    let mut bytes = [0u8; ID_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base32(&bytes)
}

impl QrSigner {
    pub fn new(master: &MasterKey) -> Self {
        Self { key: master.derive("yunyin print-point qr v1") }
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }

    /// The code printed on the print point, for its `qr_id`.
    pub fn code(&self, qr_id: &str) -> String {
        let mut mac = self.mac();
        mac.update(qr_id.as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("{qr_id}{}", base32(&tag[..TAG_BYTES]))
    }

    /// The `qr_id` inside a genuine code; `None` for anything forged or mistyped.
    pub fn verify(&self, code: &str) -> Option<String> {
        let code = code.trim().to_ascii_lowercase();
        let id_len = ID_BYTES * 8 / 5;
        if code.len() != id_len + TAG_BYTES * 8 / 5 || !code.bytes().all(|b| ALPHABET.contains(&b)) {
            return None;
        }
        let (id, tag) = code.split_at(id_len);
        let tag = unbase32(tag)?;
        let mut mac = self.mac();
        mac.update(id.as_bytes());
        // Constant-time comparison of the truncated tag.
        mac.verify_truncated_left(&tag).ok().map(|()| id.to_string())
    }
}

/// Lowercase RFC 4648 base32 without padding (lengths here are multiples of 5 bytes).
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn unbase32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The dark/light modules of the QR symbol for `text`, with its width (no quiet zone).
fn modules(text: &str) -> Result<(Vec<bool>, usize), qrcode::types::QrError> {
    // Level M survives a scuffed sticker and keeps the symbol small.
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)?;
    let width = code.width();
    Ok((code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect(), width))
}

const QUIET: usize = 4;

/// A PNG of the symbol, `size` pixels square (rounded down to whole modules, at least one
/// pixel per module), black on white with the standard 4-module quiet zone.
pub fn png(text: &str, size: u32) -> Result<Vec<u8>, String> {
    let (dark, width) = modules(text).map_err(|e| e.to_string())?;
    let total = width + 2 * QUIET;
    let scale = (size as usize / total).max(1);
    let side = (total * scale) as u32;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x as usize / scale, y as usize / scale);
        let on = mx >= QUIET
            && my >= QUIET
            && mx < QUIET + width
            && my < QUIET + width
            && dark[(my - QUIET) * width + mx - QUIET];
        image::Luma([if on { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// The symbol as SVG path data in module units, offset by the quiet zone.
fn svg_path(dark: &[bool], width: usize, x0: f64, y0: f64, module: f64) -> String {
    let mut d = String::new();
    for y in 0..width {
        let mut x = 0;
        while x < width {
            if dark[y * width + x] {
                let start = x;
                while x < width && dark[y * width + x] {
                    x += 1;
                }
                d.push_str(&format!(
                    "M{:.3} {:.3}h{:.3}v{:.3}h-{:.3}z",
                    x0 + start as f64 * module,
                    y0 + y as f64 * module,
                    (x - start) as f64 * module,
                    module,
                    (x - start) as f64 * module
                ));
            } else {
                x += 1;
            }
        }
    }
    d
}

/// A scalable SVG of the symbol, `size` user units square.
pub fn svg(text: &str, size: u32) -> Result<String, String> {
    let (dark, width) = modules(text).map_err(|e| e.to_string())?;
    let total = (width + 2 * QUIET) as f64;
    let module = f64::from(size) / total;
    let q = QUIET as f64 * module;
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"{}\"/></svg>",
        svg_path(&dark, width, q, q, module)
    ))
}

/// One sticker of a sheet.
pub struct Sticker {
    pub url: String,
    pub title: String,
    pub subtitle: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An A4 sheet (in millimetres) of stickers, 2 × 3 per page side, each with the QR code, the
/// print point's name and a line of help, ready to print from a browser.
pub fn sticker_sheet(stickers: &[Sticker]) -> Result<String, String> {
    let (cols, rows) = (2usize, 3usize);
    let (cell_w, cell_h) = (95.0, 92.0);
    let pages = stickers.len().div_ceil(cols * rows).max(1);
    let height = 297.0 * pages as f64;
    let mut body = String::new();
    for (i, s) in stickers.iter().enumerate() {
        let (page, slot) = (i / (cols * rows), i % (cols * rows));
        let x = 10.0 + (slot % cols) as f64 * cell_w;
        let y = page as f64 * 297.0 + 10.0 + (slot / cols) as f64 * cell_h;
        let (dark, width) = modules(&s.url).map_err(|e| e.to_string())?;
        let module = 56.0 / width as f64;
        body.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"4\" fill=\"none\" stroke=\"#999\" stroke-width=\"0.3\" stroke-dasharray=\"2 2\"/>\
<text x=\"{cx:.1}\" y=\"{ty:.1}\" font-size=\"6\" text-anchor=\"middle\" font-family=\"Noto Sans CJK SC, sans-serif\">{title}</text>\
<path fill=\"#000\" d=\"{d}\"/>\
<text x=\"{cx:.1}\" y=\"{sy:.1}\" font-size=\"3.6\" text-anchor=\"middle\" font-family=\"Noto Sans CJK SC, sans-serif\">{subtitle}</text>",
            w = cell_w - 5.0,
            h = cell_h - 5.0,
            cx = x + (cell_w - 5.0) / 2.0,
            ty = y + 10.0,
            title = escape(&s.title),
            d = svg_path(&dark, width, x + (cell_w - 5.0 - 56.0) / 2.0, y + 15.0, module),
            sy = y + 80.0,
            subtitle = escape(&s.subtitle),
        ));
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"{height}mm\" viewBox=\"0 0 210 {height}\" shape-rendering=\"crispEdges\">\
<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>{body}</svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> QrSigner {
        QrSigner::new(&MasterKey::generate())
    }

    #[test]
    fn codes_verify_and_forgeries_do_not() {
        let s = signer();
        let id = new_qr_id();
        assert_eq!(id.len(), 16);
        let code = s.code(&id);
        assert_eq!(code.len(), 24);
        assert_eq!(s.code(&id), code, "stable");
        assert_eq!(s.verify(&code).as_deref(), Some(id.as_str()));
        assert_eq!(s.verify(&code.to_ascii_uppercase()).as_deref(), Some(id.as_str()), "case does not matter");
        // Any changed character breaks it; so does another deployment's key.
        let mut forged = code.clone().into_bytes();
        forged[20] = if forged[20] == b'a' { b'b' } else { b'a' };
        assert_eq!(s.verify(&String::from_utf8(forged).unwrap_or_default()), None);
        assert_eq!(signer().verify(&code), None);
        assert_eq!(s.verify("short"), None);
        assert_eq!(s.verify(&format!("{id}!!!!!!!!")), None);
    }

    #[test]
    fn base32_round_trips() {
        for bytes in [vec![0u8; 5], vec![255; 10], (0..15).collect::<Vec<u8>>()] {
            assert_eq!(unbase32(&base32(&bytes)), Some(bytes));
        }
    }

    #[test]
    fn images_carry_the_symbol() {
        let url = "https://print.example.com/p/abcdefghijklmnopqrstuvwx";
        let bytes = png(url, 300).unwrap_or_default();
        let img = image::load_from_memory(&bytes).map(|i| i.to_luma8()).ok();
        let img = img.as_ref().map(|i| (i.width(), i.get_pixel(0, 0).0[0], i.pixels().any(|p| p.0[0] == 0)));
        // Version 4 (33 modules) + quiet zone = 41 modules → 7 px each, never over the size.
        assert_eq!(img, Some((287, 255, true)));
        let svg = svg(url, 512).unwrap_or_default();
        assert!(svg.starts_with("<svg") && svg.contains("<path"));
        let sheet =
            sticker_sheet(&[Sticker { url: url.into(), title: "<三楼>".into(), subtitle: "扫码打印".into() }])
                .unwrap_or_default();
        assert!(sheet.contains("&lt;三楼&gt;") && sheet.contains("210mm"));
    }
}
