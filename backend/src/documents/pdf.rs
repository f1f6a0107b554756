//! PDF facts (pages, sizes, encryption) with lopdf, and placing an image on a page. PDFs with
//! damaged cross-reference data are read through [`pdf_repair`](super::pdf_repair).

use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use lopdf::{dictionary, Document, Object, ObjectId, Stream};

use super::{pdf_repair, sniff::ImageKind, DocumentError};
use crate::domain::{Orientation, PaperSize};

/// One page's size as it prints, in points, after /Rotate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageSize {
    pub width: f64,
    pub height: f64,
}

impl PageSize {
    /// The named paper size, if it is one (either orientation).
    pub fn paper(&self) -> Option<PaperSize> {
        PaperSize::recognise(self.width, self.height)
    }

    pub fn is_landscape(&self) -> bool {
        self.width > self.height
    }
}

/// What the pipeline needs to know about a PDF before rendering it.
#[derive(Debug, Clone)]
pub struct PdfFacts {
    pub pages: Vec<PageSize>,
    /// The file could only be read by rebuilding its cross-reference data.
    pub repaired: bool,
}

/// Reads page count and sizes; refuses encrypted and unreadable PDFs, and repairs (in memory)
/// those whose cross-reference data is damaged but whose objects are intact. Blocking.
pub fn inspect(path: &Path, page_limit: u32) -> Result<PdfFacts, DocumentError> {
    examine(path, page_limit, None)
}

/// [`inspect`], and when the PDF needed repair, writes the repaired file to `repaired_out`
/// (the file to print instead of the upload; `repaired` in the facts says so). Blocking.
pub fn inspect_and_repair(path: &Path, page_limit: u32, repaired_out: &Path) -> Result<PdfFacts, DocumentError> {
    examine(path, page_limit, Some(repaired_out))
}

fn examine(path: &Path, page_limit: u32, repaired_out: Option<&Path>) -> Result<PdfFacts, DocumentError> {
    let bytes = std::fs::read(path)?;
    // Any encryption dictionary means a password or restrictions we will not bypass.
    if memchr::memmem::find(&bytes, b"/Encrypt").is_some() {
        return Err(DocumentError::Encrypted);
    }
    let opened = pdf_repair::open(&bytes)?;
    drop(bytes);
    let doc = opened.doc;
    if doc.is_encrypted() {
        return Err(DocumentError::Encrypted);
    }
    let page_ids = doc.get_pages();
    let count = u32::try_from(page_ids.len()).unwrap_or(u32::MAX);
    if count == 0 {
        return Err(DocumentError::Corrupt("no pages".into()));
    }
    if count > page_limit {
        return Err(DocumentError::TooManyPages { pages: count, limit: page_limit });
    }
    let pages = page_ids.values().map(|id| page_size(&doc, *id)).collect::<Result<Vec<_>, _>>()?;
    let repaired = opened.repaired.is_some();
    if let (Some(file), Some(out)) = (opened.repaired, repaired_out) {
        std::fs::write(out, file)?;
    }
    Ok(PdfFacts { pages, repaired })
}

/// A page attribute, looked up through the /Parent chain (MediaBox and Rotate inherit).
fn inherited<'a>(doc: &'a Document, mut id: ObjectId, key: &[u8]) -> Option<&'a Object> {
    for _ in 0..64 {
        let dict = doc.get_dictionary(id).ok()?;
        if let Ok(value) = dict.get(key) {
            return Some(match value {
                Object::Reference(r) => doc.get_object(*r).ok()?,
                other => other,
            });
        }
        id = dict.get(b"Parent").and_then(Object::as_reference).ok()?;
    }
    None
}

fn rect(doc: &Document, obj: &Object) -> Option<[f64; 4]> {
    let arr = obj.as_array().ok()?;
    if arr.len() != 4 {
        return None;
    }
    let mut out = [0.0; 4];
    for (slot, v) in out.iter_mut().zip(arr) {
        let v = match v {
            Object::Reference(r) => doc.get_object(*r).ok()?,
            other => other,
        };
        *slot = f64::from(v.as_float().ok()?);
    }
    Some(out)
}

fn page_size(doc: &Document, id: ObjectId) -> Result<PageSize, DocumentError> {
    let media = inherited(doc, id, b"MediaBox").and_then(|o| rect(doc, o));
    // US Letter is the PDF default when MediaBox is missing, which it should never be.
    let [x0, y0, x1, y1] = media.unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let [x0, y0, x1, y1] = match inherited(doc, id, b"CropBox").and_then(|o| rect(doc, o)) {
        Some([a, b, c, d]) => [x0.max(a.min(c)), y0.max(b.min(d)), x1.min(c.max(a)), y1.min(d.max(b))],
        None => [x0, y0, x1, y1],
    };
    let (w, h) = ((x1 - x0).abs(), (y1 - y0).abs());
    if w < 1.0 || h < 1.0 {
        return Err(DocumentError::Corrupt("a page has no area".into()));
    }
    let rotate = inherited(doc, id, b"Rotate").and_then(|o| o.as_i64().ok()).unwrap_or(0);
    Ok(if rotate.rem_euclid(180) == 90 { PageSize { width: h, height: w } } else { PageSize { width: w, height: h } })
}

/// Printers cannot print to the edge; images keep this margin (5 mm).
const MARGIN_PT: f64 = 5.0 * 72.0 / 25.4;

/// Writes a one-page PDF with the image fitted and centred on `paper`, landscape when the
/// image is wider than tall (unless `orientation` says otherwise). Blocking.
pub fn image_to_pdf(
    src: &Path,
    kind: ImageKind,
    paper: PaperSize,
    orientation: Orientation,
    out: &Path,
) -> Result<(), DocumentError> {
    let corrupt = |e: image::ImageError| DocumentError::Corrupt(e.to_string());
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    let mut decoder = ImageReader::open(src)?.with_guessed_format()?.into_decoder().map_err(corrupt)?;
    decoder.set_limits(limits).map_err(corrupt)?;
    let exif_orientation = decoder.orientation().map_err(corrupt)?;
    let colour = decoder.color_type();
    let (raw_w, raw_h) = decoder.dimensions();

    // A plain JPEG goes in as it is (no re-encoding, no quality loss).
    let passthrough = kind == ImageKind::Jpeg
        && exif_orientation == image::metadata::Orientation::NoTransforms
        && matches!(colour, image::ColorType::L8 | image::ColorType::Rgb8);
    let (w, h, dict, data) = if passthrough {
        drop(decoder);
        let space = if colour == image::ColorType::L8 { "DeviceGray" } else { "DeviceRGB" };
        let dict = dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => i64::from(raw_w), "Height" => i64::from(raw_h),
            "ColorSpace" => space, "BitsPerComponent" => 8, "Filter" => "DCTDecode",
        };
        (raw_w, raw_h, dict, std::fs::read(src)?)
    } else {
        let mut img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
        img.apply_orientation(exif_orientation);
        let rgb = flatten_on_white(&img);
        let (w, h) = rgb.dimensions();
        let dict = dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => i64::from(w), "Height" => i64::from(h),
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
        };
        (w, h, dict, rgb.into_raw())
    };

    let (pw, ph) = paper.points();
    let landscape = match orientation {
        Orientation::Landscape => true,
        Orientation::Portrait => false,
        Orientation::Auto => w > h,
    };
    let (page_w, page_h) = if landscape { (ph, pw) } else { (pw, ph) };
    let scale = ((page_w - 2.0 * MARGIN_PT) / f64::from(w)).min((page_h - 2.0 * MARGIN_PT) / f64::from(h));
    let (draw_w, draw_h) = (f64::from(w) * scale, f64::from(h) * scale);
    let (x, y) = ((page_w - draw_w) / 2.0, (page_h - draw_h) / 2.0);

    let mut image = Stream::new(dict, data);
    if !passthrough {
        image.compress().map_err(|e| DocumentError::Io(e.to_string()))?;
    }
    let mut pdf = ImagePdf::new();
    pdf.add_page(image, (page_w, page_h), [x, y, draw_w, draw_h]);
    pdf.save(out)?;
    Ok(())
}

/// A PDF of whole-page images, one image per page: images and raster jobs become PDFs this way.
pub struct ImagePdf {
    doc: Document,
    pages_id: ObjectId,
    kids: Vec<Object>,
}

impl ImagePdf {
    pub fn new() -> Self {
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        Self { doc, pages_id, kids: Vec::new() }
    }

    /// Pages so far.
    pub fn pages(&self) -> u32 {
        u32::try_from(self.kids.len()).unwrap_or(u32::MAX)
    }

    /// Adds a page of `size` points with `image` (an image XObject stream) drawn at
    /// `[x, y, width, height]`, in points.
    pub fn add_page(&mut self, image: Stream, size: (f64, f64), at: [f64; 4]) {
        let [x, y, w, h] = at;
        let image_id = self.doc.add_object(image);
        let content = format!("q {w:.3} 0 0 {h:.3} {x:.3} {y:.3} cm /Im0 Do Q");
        let content_id = self.doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let page_id = self.doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => self.pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(size.0 as f32), Object::Real(size.1 as f32)],
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
        });
        self.kids.push(page_id.into());
    }

    /// Writes the document to `out`; a document with no page is refused (`Empty`).
    pub fn save(mut self, out: &Path) -> Result<u32, DocumentError> {
        let count = self.pages();
        if count == 0 {
            return Err(DocumentError::Empty);
        }
        self.doc.objects.insert(
            self.pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => self.kids, "Count" => i64::from(count) }),
        );
        let catalog_id = self.doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => self.pages_id });
        self.doc.trailer.set("Root", catalog_id);
        self.doc.save(out).map_err(|e| DocumentError::Io(e.to_string()))?;
        Ok(count)
    }
}

impl Default for ImagePdf {
    fn default() -> Self {
        Self::new()
    }
}

/// RGB8 with any transparency composited onto white paper.
fn flatten_on_white(img: &DynamicImage) -> image::RgbImage {
    let rgba = img.to_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = image::RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(src[3]);
        for c in 0..3 {
            let v = (u16::from(src[c]) * a + 255 * (255 - a)) / 255;
            dst[c] = u8::try_from(v).unwrap_or(255);
        }
    }
    out
}
