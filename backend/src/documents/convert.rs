//! Office documents and text to PDF with LibreOffice headless. Each conversion gets its own
//! LibreOffice profile (concurrent conversions would otherwise fight over one) and is killed
//! with all its processes when it overruns.

use std::{path::Path, time::Duration};

use super::{sniff::OfficeKind, tools, DocumentError};
use crate::domain::PaperSize;

/// The LibreOffice program, if installed.
pub fn find_soffice(configured: &str) -> Option<std::path::PathBuf> {
    tools::find(configured).or_else(|| tools::find("libreoffice"))
}

/// Converts `input` (named with its real extension) into `<out_dir>/<stem>.pdf`.
pub async fn to_pdf(
    soffice: &Path,
    input: &Path,
    out_dir: &Path,
    limit: Duration,
) -> Result<std::path::PathBuf, DocumentError> {
    let profile = out_dir.join("lo-profile");
    let profile_url = format!("-env:UserInstallation=file://{}", profile.display());
    let args: Vec<&std::ffi::OsStr> = vec![
        "--headless".as_ref(),
        "--norestore".as_ref(),
        "--nolockcheck".as_ref(),
        "--nodefault".as_ref(),
        profile_url.as_ref(),
        "--convert-to".as_ref(),
        "pdf".as_ref(),
        "--outdir".as_ref(),
        out_dir.as_os_str(),
        input.as_os_str(),
    ];
    let program = soffice.to_string_lossy().into_owned();
    tools::run(&program, &args, Some(out_dir), limit).await?;
    let stem = input.file_stem().unwrap_or_default();
    let pdf = out_dir.join(stem).with_extension("pdf");
    if tokio::fs::try_exists(&pdf).await.unwrap_or(false) {
        Ok(pdf)
    } else {
        Err(DocumentError::ConversionFailed("LibreOffice produced no PDF (unreadable document?)".into()))
    }
}

/// The extension LibreOffice needs to pick the right import filter.
pub fn office_input_name(kind: OfficeKind) -> String {
    format!("document.{}", kind.extension())
}

/// Text as a flat OpenDocument file: the paper size is ours, the font CJK-capable, and each
/// line a paragraph, so LibreOffice typesets it faithfully (spaces and tabs kept).
pub fn text_as_fodt(text: &str, paper: PaperSize) -> String {
    let (w, h) = paper.points();
    let (w_mm, h_mm) = (w * 25.4 / 72.0, h * 25.4 / 72.0);
    let mut body = String::with_capacity(text.len() + text.len() / 4);
    for line in text.replace("\r\n", "\n").replace('\r', "\n").split('\n') {
        body.push_str("<text:p text:style-name=\"P\">");
        let mut spaces = 0;
        for c in line.chars() {
            if c == ' ' {
                spaces += 1;
                continue;
            }
            if spaces > 0 {
                body.push_str(&format!("<text:s text:c=\"{spaces}\"/>"));
                spaces = 0;
            }
            match c {
                '<' => body.push_str("&lt;"),
                '>' => body.push_str("&gt;"),
                '&' => body.push_str("&amp;"),
                '\t' => body.push_str("<text:tab/>"),
                '\u{c}' => body.push_str("</text:p><text:p text:style-name=\"PB\">"),
                c => body.push(c),
            }
        }
        if spaces > 0 {
            body.push_str(&format!("<text:s text:c=\"{spaces}\"/>"));
        }
        body.push_str("</text:p>");
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:font-face-decls><style:font-face style:name="CJK" svg:font-family="'Noto Sans Mono CJK SC'" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"/></office:font-face-decls>
<office:styles><style:style style:name="Standard" style:family="paragraph"><style:text-properties style:font-name="CJK" style:font-name-asian="CJK" fo:font-size="10.5pt" style:font-size-asian="10.5pt"/></style:style></office:styles>
<office:automatic-styles>
<style:page-layout style:name="PL"><style:page-layout-properties fo:page-width="{w_mm:.1}mm" fo:page-height="{h_mm:.1}mm" fo:margin-top="15mm" fo:margin-bottom="15mm" fo:margin-left="15mm" fo:margin-right="15mm"/></style:page-layout>
<style:style style:name="P" style:family="paragraph" style:parent-style-name="Standard"/>
<style:style style:name="PB" style:family="paragraph" style:parent-style-name="Standard"><style:paragraph-properties fo:break-before="page"/></style:style>
</office:automatic-styles>
<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="PL"/></office:master-styles>
<office:body><office:text>{body}</office:text></office:body>
</office:document>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_spaces_kept() {
        let x = text_as_fodt("a <b> & c\n  二", PaperSize::A4);
        assert!(x.contains("a<text:s text:c=\"1\"/>&lt;b&gt;<text:s text:c=\"1\"/>&amp;<text:s text:c=\"1\"/>c"));
        assert!(x.contains("<text:p text:style-name=\"P\"><text:s text:c=\"2\"/>二</text:p>"));
        assert!(x.contains("fo:page-width=\"210.0mm\""));
    }
}
