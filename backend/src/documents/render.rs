//! Rendering with poppler's `pdftoppm`: colour classification per page at low resolution,
//! the first-page thumbnail and page previews.
//!
//! A page is colour when some pixel's max(R,G,B) − min(R,G,B) exceeds [`COLOUR_THRESHOLD`]:
//! black, greys and anti-aliasing of black text have equal channels and stay mono; a 12 pt
//! coloured logo is caught. (Ghostscript's `inkcov` cannot tell CMY-grey from red.)

use std::{path::Path, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    process::Command,
};

use super::{tools, DocumentError};

pub const COLOUR_THRESHOLD: u8 = 24;
/// Resolution of the colour analysis.
pub const ANALYSIS_DPI: u32 = 50;

/// Colour flags of pages 1..=`pages`, split into up to `parallel` ranges rendered at once;
/// `progress(done, total)` is called as ranges finish.
pub async fn classify_pages(
    pdf: &Path,
    pages: u32,
    parallel: u32,
    limit: Duration,
    progress: impl Fn(u32, u32),
) -> Result<Vec<bool>, DocumentError> {
    // Ranges of at least 8 pages: each pdftoppm start costs a parse of the document.
    let chunks = parallel.min(pages.div_ceil(8)).max(1);
    let size = pages.div_ceil(chunks).max(1);
    let ranges: Vec<(u32, u32)> =
        (0..chunks).map(|i| (i * size + 1, ((i + 1) * size).min(pages))).filter(|(a, b)| a <= b).collect();
    let total = ranges.len() as u32;
    let done = std::sync::atomic::AtomicU32::new(0);
    let results = futures_util::future::join_all(ranges.iter().map(|&(first, last)| {
        let (done, progress) = (&done, &progress);
        async move {
            let flags = colour_pages(pdf, first, last, limit).await;
            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1, total);
            flags
        }
    }))
    .await;
    let mut flags = Vec::with_capacity(pages as usize);
    for r in results {
        flags.extend(r?);
    }
    Ok(flags)
}

/// Colour flag of each page in `first..=last`, streamed one page at a time from pdftoppm, so
/// memory stays at one low-resolution page whatever the document's length.
pub async fn colour_pages(pdf: &Path, first: u32, last: u32, limit: Duration) -> Result<Vec<bool>, DocumentError> {
    let mut child = Command::new("pdftoppm")
        .arg("-r")
        .arg(ANALYSIS_DPI.to_string())
        .arg("-f")
        .arg(first.to_string())
        .arg("-l")
        .arg(last.to_string())
        .arg(pdf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| DocumentError::Io(format!("pdftoppm: {e}")))?;
    let stdout = child.stdout.take().ok_or_else(|| DocumentError::Io("pdftoppm: no stdout".into()))?;
    let expected = (last - first + 1) as usize;
    let work = async move {
        let mut reader = BufReader::with_capacity(256 * 1024, stdout);
        let mut flags = Vec::with_capacity(expected);
        let mut row = Vec::new();
        while flags.len() < expected {
            let Some((w, h)) = read_ppm_header(&mut reader).await? else { break };
            row.resize(w * 3, 0);
            let mut colour = false;
            for _ in 0..h {
                reader.read_exact(&mut row).await?;
                if !colour {
                    colour = row.chunks_exact(3).any(|p| {
                        let (max, min) = (p[0].max(p[1]).max(p[2]), p[0].min(p[1]).min(p[2]));
                        max - min > COLOUR_THRESHOLD
                    });
                }
            }
            flags.push(colour);
        }
        Ok::<_, std::io::Error>(flags)
    };
    let flags = match tokio::time::timeout(limit, work).await {
        Ok(Ok(flags)) => flags,
        Ok(Err(e)) => return Err(DocumentError::Corrupt(format!("rendering failed: {e}"))),
        Err(_) => return Err(DocumentError::Timeout(limit.as_secs())),
    };
    let status = child.wait().await?;
    if !status.success() || flags.len() != expected {
        return Err(DocumentError::Corrupt(format!("pdftoppm rendered {} of {expected} pages", flags.len())));
    }
    Ok(flags)
}

/// Reads `P6\n<w> <h>\n255\n`; None at the end of the stream.
async fn read_ppm_header<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Option<(usize, usize)>> {
    let mut fields: Vec<String> = Vec::with_capacity(4);
    let mut token = String::new();
    while fields.len() < 4 {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return if fields.is_empty() && token.is_empty() {
                Ok(None)
            } else {
                Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "truncated PPM header"))
            };
        }
        let byte = buf[0];
        r.consume(1);
        if byte.is_ascii_whitespace() {
            if !token.is_empty() {
                fields.push(std::mem::take(&mut token));
            }
        } else {
            token.push(char::from(byte));
        }
    }
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a P6 PPM");
    if fields[0] != "P6" || fields[3] != "255" {
        return Err(bad());
    }
    let w: usize = fields[1].parse().map_err(|_| bad())?;
    let h: usize = fields[2].parse().map_err(|_| bad())?;
    Ok(Some((w, h)))
}

/// Renders page `page` as a PNG whose longer side is `max_px`, into `out_stem`.png.
pub async fn page_png(
    pdf: &Path,
    page: u32,
    max_px: u32,
    out_stem: &Path,
    limit: Duration,
) -> Result<std::path::PathBuf, DocumentError> {
    let p = page.to_string();
    let px = max_px.to_string();
    let args = [
        "-png".as_ref(),
        "-f".as_ref(),
        p.as_ref(),
        "-l".as_ref(),
        p.as_ref(),
        "-scale-to".as_ref(),
        px.as_ref(),
        "-singlefile".as_ref(),
        pdf.as_os_str(),
        out_stem.as_os_str(),
    ];
    tools::run("pdftoppm", &args, None, limit).await?;
    Ok(out_stem.with_extension("png"))
}

/// Whether poppler's renderer is installed.
pub fn available() -> bool {
    tools::find("pdftoppm").is_some()
}
