//! Alerts (告警) of the print points an admin sees: list them by level, state, region, group
//! or print point; read one with its push delivery log; acknowledge it. Alerts are raised and
//! resolved by the devices' readings, never by hand.

use crate::domain::Permission;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    Enum, Object, OpenApi,
};

use super::{
    error::{ApiError, ErrorCode},
    security::AdminAuth,
    ApiTags,
};
use crate::{
    domain::{AlertLevel, AlertState, AlertType},
    i18n::Lang,
    services::{
        alerts::{AlertError, AlertFilter, AlertForAdmin, AlertService},
        push::{Delivery, Recipient},
    },
};

pub struct AlertsApi {
    pub alerts: AlertService,
}

/// One alert, with the level it has for the admin reading it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AlertView {
    /// Alert id.
    pub id: String,
    /// The print point whose device shows the condition.
    pub print_point_id: String,
    /// The print point's enterprise.
    pub enterprise_id: String,
    /// What kind of condition (a stable code).
    pub alert_type: AlertType,
    /// The alert type's name, in the request's language.
    pub title: String,
    /// What it is about beyond its type (e.g. the device's alert code); empty for the device.
    pub subject: String,
    /// raised → acknowledged → resolved.
    pub state: AlertState,
    /// The level this admin gives the type: 1 (urgent, shown red and pushed), 2 or 3.
    pub level: i64,
    /// Level 1: show it red.
    pub red: bool,
    /// What the device said (supply levels, its alert table's description).
    pub detail: String,
    /// When a reading first showed it (Unix epoch ms, the reading's own time).
    pub raised_at: i64,
    /// The newest reading that showed it.
    pub last_seen_at: i64,
    /// When it was acknowledged.
    pub acknowledged_at: Option<i64>,
    /// The admin who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When its condition cleared.
    pub resolved_at: Option<i64>,
    /// How often it came back soon after clearing (a flapping condition stays one alert).
    pub occurrences: i64,
}

impl From<AlertForAdmin> for AlertView {
    fn from(a: AlertForAdmin) -> Self {
        let level = i64::from(a.level.number());
        let alert = a.alert;
        Self {
            title: alert.alert_type.title(Lang::current() == Lang::En).into(),
            id: alert.id,
            print_point_id: alert.print_point_id,
            enterprise_id: alert.enterprise_id,
            alert_type: alert.alert_type,
            subject: alert.subject,
            state: alert.state,
            level,
            red: level == 1,
            detail: alert.detail,
            raised_at: alert.raised_at,
            last_seen_at: alert.last_seen_at,
            acknowledged_at: alert.acknowledged_at,
            acknowledged_by: alert.acknowledged_by,
            resolved_at: alert.resolved_at,
            occurrences: alert.occurrences,
        }
    }
}

/// Which alerts by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AlertStateFilter {
    /// Raised or acknowledged: not resolved yet.
    Open,
    Raised,
    Acknowledged,
    Resolved,
}

/// One push of an alert to one device, and how it went.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DeliveryView {
    /// Delivery id.
    pub id: String,
    /// `web_push` or `wechat`.
    pub channel: String,
    /// The admin it was for.
    pub admin_id: String,
    /// The device's subscription (web push).
    pub subscription_id: Option<String>,
    /// `pending` (being tried, with backoff), `delivered`, `failed` or `dropped` (the
    /// device unsubscribed: the push service answered 404 or 410).
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last attempt's result.
    pub last_result: String,
    /// When it was queued (Unix epoch ms).
    pub created_at: i64,
    /// When the push service took it.
    pub delivered_at: Option<i64>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        let owner = match d.recipient {
            Recipient::Admin(id) | Recipient::User(id) => id,
        };
        Self {
            id: d.id,
            channel: d.channel,
            admin_id: owner,
            subscription_id: d.subscription_id,
            state: d.state,
            attempts: d.attempts,
            last_result: d.last_result,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// An alert with the log of its pushes.
#[derive(Debug, Object)]
pub struct AlertDetailView {
    /// The alert.
    pub alert: AlertView,
    /// Its pushes to admins' devices (those of other admins too).
    pub deliveries: Vec<DeliveryView>,
}

impl From<AlertError> for ApiError {
    fn from(e: AlertError) -> Self {
        match e {
            AlertError::NotFound => ApiError::new(ErrorCode::NotFound),
            AlertError::Invalid { field, source } => (field, source).into(),
            AlertError::NotRaised(_) => ApiError::new(ErrorCode::AlertNotRaised),
            AlertError::PrintPoint(p) => p.into(),
            e @ AlertError::Storage(_) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Operations")]
impl AlertsApi {
    /// The alerts of the print points the admin sees (a region or group admin: only theirs),
    /// newest first. Filters combine.
    #[oai(path = "/alerts", method = "get", operation_id = "alert_list")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: AdminAuth,
        /// Only this level, as the admin's alert levels make it.
        #[oai(validator(minimum(value = "1"), maximum(value = "3")))]
        level: Query<Option<i64>>,
        /// Only alerts in this state (`open`: not resolved).
        state: Query<Option<AlertStateFilter>>,
        /// Only this enterprise's.
        enterprise_id: Query<Option<String>>,
        /// Only this region's and its subregions'.
        region_id: Query<Option<String>>,
        /// Only this printer group's.
        group_id: Query<Option<String>>,
        /// Only this print point's.
        print_point_id: Query<Option<String>>,
        /// At most this many (1-500, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
        /// Skip this many.
        #[oai(validator(minimum(value = "0")))]
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<AlertView>>, ApiError> {
        auth.0.require(Permission::Alerts)?;
        let level = level.0.map(AlertLevel::from_number).transpose().map_err(|e| ApiError::from(("level", e)))?;
        let filter = AlertFilter {
            enterprise_id: enterprise_id.0,
            print_point_id: print_point_id.0,
            region_id: region_id.0,
            group_id: group_id.0,
            state: state.0.map(|s| state_name(s).to_string()),
            level,
        };
        let alerts = self.alerts.list(&auth.0, &filter, limit.0.unwrap_or(100), offset.0.unwrap_or(0)).await?;
        Ok(Json(alerts.into_iter().map(Into::into).collect()))
    }

    /// One alert, with the log of its pushes.
    #[oai(path = "/alerts/:id", method = "get", operation_id = "alert_get")]
    async fn get(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<AlertDetailView>, ApiError> {
        auth.0.require(Permission::Alerts)?;
        let alert = self.alerts.get(&auth.0, &id).await?;
        let deliveries = self.alerts.push().deliveries("alert", &alert.alert.id).await.map_err(ApiError::from)?;
        Ok(Json(AlertDetailView { alert: alert.into(), deliveries: deliveries.into_iter().map(Into::into).collect() }))
    }

    /// Acknowledge a raised alert: someone is on it. It still resolves by itself when its
    /// condition clears; acknowledging twice answers `alert_not_raised`.
    #[oai(path = "/alerts/:id/acknowledge", method = "post", operation_id = "alert_acknowledge")]
    async fn acknowledge(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<AlertView>, ApiError> {
        auth.0.require(Permission::Alerts)?;
        Ok(Json(self.alerts.acknowledge(&auth.0, &id).await?.into()))
    }
}

fn state_name(s: AlertStateFilter) -> &'static str {
    match s {
        AlertStateFilter::Open => "open",
        AlertStateFilter::Raised => "raised",
        AlertStateFilter::Acknowledged => "acknowledged",
        AlertStateFilter::Resolved => "resolved",
    }
}
