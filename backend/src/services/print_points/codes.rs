//! A print point's QR code: the print point behind a scanned code, the code as PNG or SVG, and sticker sheets.

use super::*;

impl PrintPointService {
    /// The print point behind a scanned code, for anyone holding a genuine code.
    pub(crate) async fn by_code(&self, code: &str) -> Result<PrintPointRow, PrintPointError> {
        let qr_id = self.signer.verify(code).ok_or(PrintPointError::NotFound)?;
        self.repo.by_qr_id(&qr_id).await?.ok_or(PrintPointError::NotFound)
    }

    pub async fn qr_png(&self, actor: &AdminPrincipal, id: &str, size: u32) -> Result<Vec<u8>, PrintPointError> {
        let (row, _) = self.visible_point(actor, id).await?;
        qr_codes::png(&self.qr_url(&row), size.clamp(64, 2048)).map_err(PrintPointError::Image)
    }

    pub async fn qr_svg(&self, actor: &AdminPrincipal, id: &str, size: u32) -> Result<String, PrintPointError> {
        let (row, _) = self.visible_point(actor, id).await?;
        qr_codes::svg(&self.qr_url(&row), size.clamp(64, 2048)).map_err(PrintPointError::Image)
    }

    /// A printable sheet of stickers for the given print points (all visible ones if empty).
    pub async fn sticker_sheet(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        ids: &[String],
    ) -> Result<String, PrintPointError> {
        // Every print point the admin sees: a sheet is not paged.
        let points = self.list(actor, enterprise_id, &PrintPointFilter::default(), i64::MAX, 0).await?;
        let chosen: Vec<&PrintPointDetail> =
            points.iter().filter(|p| ids.is_empty() || ids.contains(&p.print_point.id)).collect();
        if chosen.len() != ids.len() && !ids.is_empty() {
            return Err(PrintPointError::UnknownReference { field: "ids" });
        }
        let stickers: Vec<Sticker> = chosen
            .iter()
            .map(|p| Sticker {
                url: p.qr_url.clone(),
                title: p.print_point.name.clone(),
                subtitle: "微信或云印 App 扫码取件打印 · Scan to print".into(),
            })
            .collect();
        qr_codes::sticker_sheet(&stickers).map_err(PrintPointError::Image)
    }
}
