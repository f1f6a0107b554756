//! Document fixtures with known truth, generated here (nothing is downloaded). Binary ones
//! that need an office suite or qpdf to make live in `tests/fixtures/` with their script.

use std::io::Write;

use lopdf::{dictionary, Document, Object, Stream};

pub const A4: (f64, f64) = (595.28, 841.89);
pub const A3_LANDSCAPE: (f64, f64) = (1190.55, 841.89);

/// One page: size in points, content-stream operators, optional /Rotate.
pub struct PageSpec {
    pub size: (f64, f64),
    pub content: String,
    pub rotate: Option<i64>,
}

pub fn mono_text(n: usize) -> String {
    format!("BT /F1 24 Tf 72 720 Td (Page {n}: black text) Tj ET 0.5 g 72 500 300 120 re f 0 g 72 300 m 500 300 l S")
}

/// A red box drawn in RGB (0.9, 0.1, 0.1): colour.
pub fn red_box() -> String {
    "BT /F1 18 Tf 72 760 Td (red box) Tj ET 0.9 0.1 0.1 rg 72 400 300 200 re f".into()
}

/// Grey made of equal C, M and Y: mono.
pub fn cmy_grey() -> String {
    "0.5 0.5 0.5 0 k 72 400 300 200 re f BT /F1 18 Tf 72 760 Td (cmy grey) Tj ET".into()
}

/// A 12 pt blue logo on an otherwise black page: colour.
pub fn small_logo() -> String {
    "BT /F1 12 Tf 72 720 Td (tiny logo top right) Tj ET 0 0 1 rg 500 760 12 12 re f".into()
}

/// K-only CMYK black: mono.
pub fn k_black() -> String {
    "0 0 0 1 k 72 400 300 200 re f 0 0 0 0.6 k 72 200 300 100 re f".into()
}

/// A PDF of the given pages, with Helvetica as /F1.
pub fn pdf(pages: &[PageSpec]) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let mut kids = Vec::new();
    for p in pages {
        let content_id = doc.add_object(Stream::new(dictionary! {}, p.content.clone().into_bytes()));
        let mut page = dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(p.size.0 as f32), Object::Real(p.size.1 as f32)],
            "Contents" => content_id,
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
        };
        if let Some(r) = p.rotate {
            page.set("Rotate", r);
        }
        kids.push(Object::from(doc.add_object(page)));
    }
    let count = kids.len() as i64;
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("pdf");
    out
}

/// `n` A4 pages of black text.
pub fn mono_pdf(n: usize) -> Vec<u8> {
    pdf(&(1..=n).map(|i| PageSpec { size: A4, content: mono_text(i), rotate: None }).collect::<Vec<_>>())
}

/// Pages: mono, red (colour), CMY grey (mono), small logo (colour), K black (mono).
pub fn mixed_pdf() -> (Vec<u8>, Vec<bool>) {
    let pages =
        [(mono_text(1), false), (red_box(), true), (cmy_grey(), false), (small_logo(), true), (k_black(), false)];
    let specs: Vec<PageSpec> =
        pages.iter().map(|(c, _)| PageSpec { size: A4, content: c.clone(), rotate: None }).collect();
    (pdf(&specs), pages.iter().map(|(_, colour)| *colour).collect())
}

/// `n` pages cycling through the mixed set (for the benchmark).
pub fn mixed_pdf_of(n: usize) -> Vec<u8> {
    let makers: [fn() -> String; 4] = [|| mono_text(0), red_box, cmy_grey, small_logo];
    pdf(&(0..n).map(|i| PageSpec { size: A4, content: makers[i % 4](), rotate: None }).collect::<Vec<_>>())
}

/// A landscape A3 page and an A4 portrait page turned by /Rotate 90 (prints landscape).
pub fn a3_landscape_pdf() -> Vec<u8> {
    pdf(&[
        PageSpec { size: A3_LANDSCAPE, content: mono_text(1), rotate: None },
        PageSpec { size: A4, content: mono_text(2), rotate: Some(90) },
    ])
}

/// A colour photo-like JPEG, 1200×800 (landscape).
pub fn colour_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(1200, 800, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).expect("jpeg");
    out.into_inner()
}

/// A grey PNG, 600×900 (portrait).
pub fn grey_png() -> Vec<u8> {
    let img = image::GrayImage::from_fn(600, 900, |x, y| image::Luma([((x + y) % 256) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

/// Chinese text in GBK, ~120 lines.
pub fn gbk_text() -> Vec<u8> {
    let mut text = String::new();
    for i in 1..=120 {
        text.push_str(&format!("第{i}行：云印打印测试，中文 GBK 编码的文本文件。\r\n"));
    }
    encoding_rs::GBK.encode(&text).0.into_owned()
}

/// A .docx whose document part unpacks to `mb` MiB of spaces (a zip bomb when large).
pub fn zip_bomb_docx(mb: usize) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("[Content_Types].xml", opts).expect("zip");
        zip.write_all(
            b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>",
        )
        .expect("zip");
        zip.start_file("word/document.xml", opts).expect("zip");
        let chunk = vec![b' '; 1024 * 1024];
        for _ in 0..mb {
            zip.write_all(&chunk).expect("zip");
        }
        zip.finish().expect("zip");
    }
    out.into_inner()
}

/// A plain ZIP archive (not an office document).
pub fn plain_zip() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        zip.start_file("notes.txt", zip::write::SimpleFileOptions::default()).expect("zip");
        zip.write_all(b"hello").expect("zip");
        zip.finish().expect("zip");
    }
    out.into_inner()
}

/// A binary kept in `tests/fixtures/`.
pub fn kept(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)).expect("fixture")
}

/// A one-page PDF carrying `mb` MB of incompressible data in an unreferenced stream: as large
/// as a scan, as cheap to process as a blank page (the upload benchmark).
pub fn pdf_with_payload(mb: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut doc = lopdf::Document::load_mem(&mono_pdf(1)).expect("pdf");
    let mut payload = vec![0u8; mb * 1_000_000];
    rand::thread_rng().fill_bytes(&mut payload);
    doc.add_object(Stream::new(dictionary! {}, payload).with_compression(false));
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("pdf");
    out
}

// PDFs whose cross-reference data is damaged but whose objects are intact (issue 10): each is
// made here from a valid PDF of `mono_text` pages and damaged in one way, so page i of the
// repaired file must still carry `mono_text(i)`. lopdf alone refuses each of them (or, for the
// broken update, misses pages).

/// `n` A4 pages of black text with a classic cross-reference table (`xref` … `trailer`), the
/// form old tools write (lopdf itself writes a cross-reference stream).
pub fn mono_pdf_classic(n: usize) -> Vec<u8> {
    let mut doc = Document::load_mem(&mono_pdf(n)).expect("pdf");
    doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("pdf");
    out
}

fn rfind(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).rposition(|w| w == needle).expect("marker in the fixture")
}

fn with_startxref(bytes: &[u8], value: usize) -> Vec<u8> {
    let at = rfind(bytes, b"startxref");
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(format!("startxref\n{value}\n%%EOF\n").as_bytes());
    out
}

/// 3 pages; `startxref` points 17 bytes past the `xref` keyword (into the table).
pub fn pdf_wrong_startxref() -> Vec<u8> {
    let good = mono_pdf_classic(3);
    let xref = rfind(&good, b"\nxref") + 1;
    with_startxref(&good, xref + 17)
}

/// 3 pages; the cross-reference table is cut out (its trailer and `startxref` remain).
pub fn pdf_missing_xref_table() -> Vec<u8> {
    let good = mono_pdf_classic(3);
    let (xref, trailer) = (rfind(&good, b"\nxref") + 1, rfind(&good, b"trailer"));
    [&good[..xref], &good[trailer..]].concat()
}

/// 3 pages; the file ends inside the trailer dictionary (`trailer <<`): no /Root, no
/// `startxref`, no `%%EOF`.
pub fn pdf_truncated_trailer() -> Vec<u8> {
    let good = mono_pdf_classic(3);
    good[..rfind(&good, b"trailer") + b"trailer\n<<".len()].to_vec()
}

/// 2 pages, then an incremental update (written by lopdf) adding a third page: a new page and
/// content stream, and the page tree node rewritten under its old number. The update's
/// cross-reference section then has every offset 7 bytes off, so its objects are missed.
pub fn pdf_broken_incremental_update() -> Vec<u8> {
    let base = mono_pdf_classic(2);
    let prev = Document::load_mem(&base).expect("pdf");
    let pages_id = prev.catalog().and_then(|c| c.get(b"Pages")).and_then(Object::as_reference).expect("page tree");
    let mut page = prev.get_dictionary(prev.get_pages()[&1]).expect("page 1").clone();
    let mut update = lopdf::IncrementalDocument::create_from(base, prev);
    let new = &mut update.new_document;
    page.set("Contents", new.add_object(Stream::new(dictionary! {}, mono_text(3).into_bytes())));
    let page_id = new.add_object(page);
    update.opt_clone_object_to_new_document(pages_id).expect("page tree");
    let tree = update.new_document.get_dictionary_mut(pages_id).expect("page tree");
    tree.get_mut(b"Kids").and_then(Object::as_array_mut).expect("kids").push(page_id.into());
    tree.set("Count", 3);
    let mut out = Vec::new();
    update.save_to(&mut out).expect("pdf");

    // Every in-use entry of the last table (`oooooooooo ggggg n`) moved by 7 bytes.
    let start = rfind(&out, b"\nxref") + 1;
    let end = rfind(&out, b"trailer");
    let mut broken = out.clone();
    let mut i = start;
    while i + 18 <= end {
        let line = &out[i..i + 18];
        if line[..10].iter().all(u8::is_ascii_digit) && line[10] == b' ' && &line[16..] == b" n" {
            let offset: usize = std::str::from_utf8(&line[..10]).expect("digits").parse().expect("offset");
            broken[i..i + 10].copy_from_slice(format!("{:010}", offset + 7).as_bytes());
            i += 18;
        } else {
            i += 1;
        }
    }
    assert_ne!(broken, out, "the update's section was found and broken");
    broken
}

/// PDF 1.5, 3 pages: objects packed in object streams, a cross-reference stream, and a
/// `startxref` that points at the wrong place.
pub fn pdf15_wrong_xref_stream_offset() -> Vec<u8> {
    let mut doc = Document::load_mem(&mono_pdf(3)).expect("pdf");
    let mut good = Vec::new();
    let options = lopdf::SaveOptions::builder().use_object_streams(true).use_xref_streams(true).build();
    doc.save_with_options(&mut good, options).expect("pdf");
    assert!(good.windows(7).any(|w| w == b"/ObjStm"), "objects are packed");
    with_startxref(&good, 9)
}

/// Not repairable: objects there, but no catalog and no page tree to find pages through.
pub fn pdf_without_catalog() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj\n<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>\nendobj\n\
      2 0 obj\n<</Length 5>>\nstream\nBT ET\nendstream\nendobj\nstartxref\n0\n%%EOF\n"
        .to_vec()
}
