//! Print points (打印点): registered printers and MFPs with their functions, location, rates,
//! meter-reading interval and QR code (PNG, SVG, printable stickers).

use crate::domain::Permission;
use poem_openapi::{
    param::{Path, Query},
    payload::{Binary, Json, PlainText},
    ApiResponse, Object, OpenApi,
};

use super::declared_text::{MacText, NameText};
use super::{
    error::{ApiError, ErrorCode},
    rates::RatePlanObject,
    security::AdminAuth,
    views::Page,
    ApiTags,
};
use crate::domain::PrintPointStatus;
use crate::services::{
    pricing::RatePlanInput,
    print_points::{
        NewPrintPoint, PrintPointDetail, PrintPointError, PrintPointFilter, PrintPointPatch, PrintPointService,
    },
};

pub struct PrintPointsApi {
    pub print_points: PrintPointService,
}

/// A print point.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PrintPointView {
    /// Print point id.
    pub id: String,
    /// Its enterprise.
    pub enterprise_id: String,
    /// Its region, if any.
    pub region_id: Option<String>,
    /// The printer groups it belongs to.
    pub group_ids: Vec<String>,
    /// Name shown to users (e.g. "3F 前台").
    pub name: String,
    /// Street address.
    pub address: String,
    /// Latitude (WGS-84), if known.
    pub latitude: Option<f64>,
    /// Longitude (WGS-84), if known.
    pub longitude: Option<f64>,
    /// Make and model as the device reports it.
    pub make_model: String,
    /// Serial number.
    pub serial_number: String,
    /// MAC address, normalised `00:1B:2C:3D:4E:5F`.
    pub mac: Option<String>,
    /// The MAC is whitelisted and shared: operations & maintenance only, no cloud print.
    pub mac_shared: bool,
    /// How the gateway reaches the device (IPP URI or IP).
    pub device_uri: String,
    /// The gateway it is bound to.
    pub gateway_id: Option<String>,
    /// Cloud print (云打印) enabled.
    pub cloud_print_enabled: bool,
    /// Copy (复印) enabled.
    pub copy_enabled: bool,
    /// Scan (扫描) enabled.
    pub scan_enabled: bool,
    /// Meter-reading interval in minutes (1-1440, default 60).
    pub meter_interval_minutes: i64,
    /// `online`, `offline` or `error`.
    pub status: PrintPointStatus,
    /// When the gateway last reported it (Unix epoch ms).
    pub last_seen_at: Option<i64>,
    /// The URL its QR code encodes (opens the app at the release page).
    pub qr_url: String,
    /// Registered at.
    pub created_at: i64,
}

impl From<PrintPointDetail> for PrintPointView {
    fn from(p: PrintPointDetail) -> Self {
        let r = p.print_point;
        Self {
            id: r.id,
            enterprise_id: r.enterprise_id,
            region_id: r.region_id,
            group_ids: p.group_ids,
            name: r.name,
            address: r.address,
            latitude: r.latitude,
            longitude: r.longitude,
            make_model: r.make_model,
            serial_number: r.serial_number,
            mac: r.mac.map(|m| m.to_string()),
            mac_shared: r.mac_shared,
            device_uri: r.device_uri,
            gateway_id: r.gateway_id,
            cloud_print_enabled: r.functions.cloud_print,
            copy_enabled: r.functions.copy,
            scan_enabled: r.functions.scan,
            meter_interval_minutes: r.meter_interval_minutes,
            status: r.status,
            last_seen_at: r.last_seen_at,
            qr_url: p.qr_url,
            created_at: r.created_at,
        }
    }
}

/// A print point registered by hand (gateways register theirs).
#[derive(Debug, Object)]
pub struct CreatePrintPointRequest {
    /// Name, 1-64 characters.
    pub name: NameText,
    /// Region (required for region admins).
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub region_id: Option<String>,
    /// Street address.
    #[oai(validator(max_length = 200))]
    #[oai(nullable)]
    pub address: Option<String>,
    /// Latitude, -90..90.
    #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
    #[oai(nullable)]
    pub latitude: Option<f64>,
    /// Longitude, -180..180.
    #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
    #[oai(nullable)]
    pub longitude: Option<f64>,
    /// MAC address in any common notation; unique platform-wide unless whitelisted.
    #[oai(nullable)]
    pub mac: Option<MacText>,
    /// Make and model.
    #[oai(validator(max_length = 256))]
    #[oai(nullable)]
    pub make_model: Option<String>,
    /// Serial number.
    #[oai(validator(max_length = 256))]
    #[oai(nullable)]
    pub serial_number: Option<String>,
    /// IPP URI or IP address of the device.
    #[oai(validator(max_length = 1024))]
    #[oai(nullable)]
    pub device_uri: Option<String>,
    /// Cloud print enabled (default true; refused for whitelisted MACs).
    #[oai(nullable)]
    pub cloud_print_enabled: Option<bool>,
    /// Copy enabled (default true).
    #[oai(nullable)]
    pub copy_enabled: Option<bool>,
    /// Scan enabled (default true).
    #[oai(nullable)]
    pub scan_enabled: Option<bool>,
    /// Meter-reading interval, minutes (1-1440, default 60).
    #[oai(validator(minimum(value = "1"), maximum(value = "1440")))]
    #[oai(nullable)]
    pub meter_interval_minutes: Option<i64>,
}

/// Changes to a print point; omitted fields stay.
#[derive(Debug, Object)]
pub struct UpdatePrintPointRequest {
    /// Name, 1-64 characters.
    #[oai(nullable)]
    pub name: Option<NameText>,
    /// Region; an empty string removes the region.
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub region_id: Option<String>,
    /// Street address.
    #[oai(validator(max_length = 200))]
    #[oai(nullable)]
    pub address: Option<String>,
    /// Latitude, -90..90.
    #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
    #[oai(nullable)]
    pub latitude: Option<f64>,
    /// Longitude, -180..180.
    #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
    #[oai(nullable)]
    pub longitude: Option<f64>,
    /// Cloud print enabled (refused for whitelisted MACs).
    #[oai(nullable)]
    pub cloud_print_enabled: Option<bool>,
    /// Copy enabled.
    #[oai(nullable)]
    pub copy_enabled: Option<bool>,
    /// Scan enabled.
    #[oai(nullable)]
    pub scan_enabled: Option<bool>,
    /// Meter-reading interval, minutes (1-1440).
    #[oai(validator(minimum(value = "1"), maximum(value = "1440")))]
    #[oai(nullable)]
    pub meter_interval_minutes: Option<i64>,
}

/// The rates in force at a print point.
#[derive(Debug, Object)]
pub struct PrintPointRates {
    /// True when the print point has its own rates; false when its enterprise's apply.
    pub own: bool,
    /// The plan in force.
    pub plan: RatePlanObject,
}

/// The print point's own rates; `plan` absent drops them.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SetPrintPointRates {
    /// The print point's own plan, or nothing to fall back to the enterprise's.
    #[oai(nullable)]
    pub plan: Option<RatePlanObject>,
}

#[derive(ApiResponse)]
enum Created {
    /// Registered.
    #[oai(status = 201)]
    Created(Json<PrintPointView>),
}

#[derive(ApiResponse)]
enum Png {
    /// A PNG image.
    #[oai(status = 200, content_type = "image/png")]
    Ok(Binary<Vec<u8>>),
}

#[derive(ApiResponse)]
enum Svg {
    /// An SVG image.
    #[oai(status = 200, content_type = "image/svg+xml")]
    Ok(PlainText<String>),
}

impl From<PrintPointError> for ApiError {
    fn from(e: PrintPointError) -> Self {
        match e {
            PrintPointError::NotFound => ApiError::new(ErrorCode::NotFound),
            PrintPointError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            PrintPointError::Invalid { field, source } => (field, source).into(),
            PrintPointError::UnknownReference { field } => ApiError::field(ErrorCode::UnknownReference, field),
            PrintPointError::Exists => ApiError::field(ErrorCode::PrintPointExists, "mac"),
            PrintPointError::WhitelistedNoCloudPrint => {
                ApiError::field(ErrorCode::WhitelistedMacNoCloudPrint, "cloud_print_enabled")
            }
            PrintPointError::NoPrintPath => ApiError::field(ErrorCode::DeviceWithoutPrintPath, "cloud_print_enabled"),
            PrintPointError::GroupNameTaken => ApiError::field(ErrorCode::GroupNameTaken, "name"),
            PrintPointError::Tenant(t) => t.into(),
            e @ (PrintPointError::Image(_) | PrintPointError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::PrintPoints")]
impl PrintPointsApi {
    /// Register a print point by hand (super admins in scope, region admins in their regions).
    #[oai(path = "/enterprises/:id/print-points", method = "post", operation_id = "print_point_create")]
    async fn create(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<CreatePrintPointRequest>,
    ) -> Result<Created, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        let b = body.0;
        let new = NewPrintPoint {
            name: b.name.into(),
            region_id: b.region_id,
            address: b.address,
            latitude: b.latitude,
            longitude: b.longitude,
            mac: b.mac.map(Into::into),
            make_model: b.make_model,
            serial_number: b.serial_number,
            device_uri: b.device_uri,
            cloud_print_enabled: b.cloud_print_enabled,
            copy_enabled: b.copy_enabled,
            scan_enabled: b.scan_enabled,
            meter_interval_minutes: b.meter_interval_minutes,
            gateway_id: None,
        };
        Ok(Created::Created(Json(self.print_points.create(&auth.0, &id, new).await?.into())))
    }

    /// The enterprise's print points the admin sees (region and group admins see theirs), by
    /// name. Filters combine.
    #[oai(path = "/enterprises/:id/print-points", method = "get", operation_id = "print_point_list")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// Only this region's and its subregions'.
        region_id: Query<Option<String>>,
        /// Only this printer group's.
        group_id: Query<Option<String>>,
        /// Only those bound to this gateway.
        gateway_id: Query<Option<String>>,
        /// Only those in this status.
        status: Query<Option<PrintPointStatus>>,
        /// Part of the name.
        #[oai(validator(max_length = 64))]
        q: Query<Option<String>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<PrintPointView>>, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        let page = Page::new(limit.0, offset.0);
        let filter = PrintPointFilter {
            region_id: region_id.0,
            group_id: group_id.0,
            gateway_id: gateway_id.0,
            status: status.0,
            name: q.0.filter(|s| !s.trim().is_empty()),
        };
        let points = self.print_points.list(&auth.0, &id, &filter, page.limit, page.offset).await?;
        Ok(Json(points.into_iter().map(Into::into).collect()))
    }

    /// One print point.
    #[oai(path = "/print-points/:id", method = "get", operation_id = "print_point_get")]
    async fn get(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<PrintPointView>, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        Ok(Json(self.print_points.get(&auth.0, &id).await?.into()))
    }

    /// Change a print point: name, region, location, functions, meter-reading interval.
    #[oai(path = "/print-points/:id", method = "patch", operation_id = "print_point_update")]
    async fn update(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<UpdatePrintPointRequest>,
    ) -> Result<Json<PrintPointView>, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        let b = body.0;
        let patch = PrintPointPatch {
            name: b.name.map(Into::into),
            region_id: b.region_id.map(|r| Some(r).filter(|r| !r.is_empty())),
            address: b.address,
            latitude: b.latitude,
            longitude: b.longitude,
            cloud_print_enabled: b.cloud_print_enabled,
            copy_enabled: b.copy_enabled,
            scan_enabled: b.scan_enabled,
            meter_interval_minutes: b.meter_interval_minutes,
        };
        Ok(Json(self.print_points.update(&auth.0, &id, patch).await?.into()))
    }

    /// The print point's QR code as PNG.
    #[oai(path = "/print-points/:id/qr.png", method = "get", operation_id = "print_point_qr_png")]
    async fn qr_png(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// Side in pixels, 64-2048 (default 512).
        #[oai(validator(minimum(value = "64"), maximum(value = "2048")))]
        size: Query<Option<u32>>,
    ) -> Result<Png, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        Ok(Png::Ok(Binary(self.print_points.qr_png(&auth.0, &id, size.0.unwrap_or(512)).await?)))
    }

    /// The print point's QR code as SVG.
    #[oai(path = "/print-points/:id/qr.svg", method = "get", operation_id = "print_point_qr_svg")]
    async fn qr_svg(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// Side in user units, 64-2048 (default 512).
        #[oai(validator(minimum(value = "64"), maximum(value = "2048")))]
        size: Query<Option<u32>>,
    ) -> Result<Svg, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        Ok(Svg::Ok(PlainText(self.print_points.qr_svg(&auth.0, &id, size.0.unwrap_or(512)).await?)))
    }

    /// A printable A4 sheet (SVG) of QR stickers, six per page, for the given print points
    /// (comma-separated ids) or for every print point the admin sees.
    #[oai(path = "/enterprises/:id/print-points/stickers.svg", method = "get", operation_id = "print_point_stickers")]
    async fn stickers(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// Comma-separated print point ids; all when absent.
        ids: Query<Option<String>>,
    ) -> Result<Svg, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        let ids: Vec<String> =
            ids.0.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        Ok(Svg::Ok(PlainText(self.print_points.sticker_sheet(&auth.0, &id, &ids).await?)))
    }

    /// The rates in force at the print point (its own, or its enterprise's).
    #[oai(path = "/print-points/:id/rate-plan", method = "get", operation_id = "print_point_rates_get")]
    async fn rates(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<PrintPointRates>, ApiError> {
        auth.0.require(Permission::Rates)?;
        let (plan, own) = self.print_points.rate_plan(&auth.0, &id).await?;
        Ok(Json(PrintPointRates { own, plan: plan.into() }))
    }

    /// Set the print point's own rates, or drop them to use its enterprise's.
    #[oai(path = "/print-points/:id/rate-plan", method = "put", operation_id = "print_point_rates_set")]
    async fn set_rates(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<SetPrintPointRates>,
    ) -> Result<Json<PrintPointRates>, ApiError> {
        auth.0.require(Permission::Rates)?;
        let (plan, own) = self.print_points.set_rate_plan(&auth.0, &id, body.0.plan.map(RatePlanInput::from)).await?;
        Ok(Json(PrintPointRates { own, plan: plan.into() }))
    }
}
