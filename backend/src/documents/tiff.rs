//! TIFF page counting: scanners send multi-page documents as one TIFF (one image per page,
//! chained by their image file directories), and a scan is counted and charged per page.

use std::path::Path;

use super::DocumentError;

/// The pages (images) in the TIFF at `path`; more than `page_limit` is refused. Blocking.
pub fn count_pages(path: &Path, page_limit: u32) -> Result<u32, DocumentError> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let corrupt = |e: ::tiff::TiffError| DocumentError::Corrupt(e.to_string());
    let mut decoder = ::tiff::decoder::Decoder::new(file).map_err(corrupt)?;
    let mut pages = 1u32;
    // The decoder refuses a directory chain that loops, so this ends.
    while decoder.more_images() {
        if pages >= page_limit {
            return Err(DocumentError::TooManyPages { pages: pages.saturating_add(1), limit: page_limit });
        }
        decoder.next_image().map_err(corrupt)?;
        pages += 1;
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::tiff::encoder::{colortype::Gray8, TiffEncoder};

    fn tiff_of(pages: usize) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let mut encoder = TiffEncoder::new(std::fs::File::create(file.path()).expect("create")).expect("encoder");
        for page in 0..pages {
            let pixels = vec![u8::try_from(page * 40).unwrap_or(255); 16 * 8];
            encoder.write_image::<Gray8>(16, 8, &pixels).expect("page");
        }
        file
    }

    #[test]
    fn every_image_of_a_multi_page_tiff_is_a_page() {
        assert_eq!(count_pages(tiff_of(1).path(), 10).ok(), Some(1));
        assert_eq!(count_pages(tiff_of(3).path(), 10).ok(), Some(3));
    }

    #[test]
    fn too_many_pages_or_not_a_tiff_is_refused() {
        assert!(matches!(count_pages(tiff_of(4).path(), 3), Err(DocumentError::TooManyPages { pages: 4, limit: 3 })));
        let text = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(text.path(), b"II*\0not really").expect("write");
        assert!(matches!(count_pages(text.path(), 10), Err(DocumentError::Corrupt(_))));
    }
}
