//! Alert levels (预警级别设置): each admin chooses which alert types are level 1, 2 or 3 for
//! them. Level 1 is shown red and pushed to the admin's subscribed devices.

use crate::domain::Permission;
use poem_openapi::{payload::Json, Object, OpenApi};

use super::{error::ApiError, security::AdminAuth, ApiTags};
use crate::{
    domain::AlertType,
    i18n::Lang,
    services::alerts::{AlertService, LevelSetting},
};

pub struct AlertLevelsApi {
    pub alerts: AlertService,
}

/// One alert type's level for the signed-in admin.
#[derive(Debug, Object)]
pub struct AlertLevelView {
    /// The alert type (a stable code).
    pub alert_type: AlertType,
    /// The type's name, in the request's language.
    pub title: String,
    /// 1 (shown red, pushed), 2 or 3.
    pub level: i64,
    /// Whether the admin chose it (false: the type's default).
    pub chosen: bool,
    /// The type's default level.
    pub default_level: i64,
}

impl From<LevelSetting> for AlertLevelView {
    fn from(l: LevelSetting) -> Self {
        Self {
            title: l.alert_type.title(Lang::current() == Lang::En).into(),
            alert_type: l.alert_type,
            level: i64::from(l.level.number()),
            chosen: l.chosen,
            default_level: i64::from(l.alert_type.default_level().number()),
        }
    }
}

/// One type moved to a level.
#[derive(Debug, Object)]
pub struct AlertLevelChoice {
    /// The alert type.
    pub alert_type: AlertType,
    /// 1, 2 or 3.
    #[oai(validator(minimum(value = "1"), maximum(value = "3")))]
    pub level: i64,
}

/// The admin's whole choice: the types named take the levels given, the rest their defaults.
#[derive(Debug, Object)]
pub struct SetAlertLevelsRequest {
    /// One entry per type, each type at most once.
    #[oai(validator(max_items = 64))]
    pub levels: Vec<AlertLevelChoice>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Operations")]
impl AlertLevelsApi {
    /// Every alert type with the signed-in admin's level for it.
    #[oai(path = "/alert-levels", method = "get", operation_id = "alert_levels_get")]
    async fn get(&self, auth: AdminAuth) -> Result<Json<Vec<AlertLevelView>>, ApiError> {
        auth.0.require(Permission::Alerts)?;
        Ok(Json(self.alerts.levels(&auth.0).await?.into_iter().map(Into::into).collect()))
    }

    /// Set the signed-in admin's levels for their scope. A type named twice answers
    /// `inconsistent_values`.
    #[oai(path = "/alert-levels", method = "put", operation_id = "alert_levels_set")]
    async fn set(
        &self,
        auth: AdminAuth,
        body: Json<SetAlertLevelsRequest>,
    ) -> Result<Json<Vec<AlertLevelView>>, ApiError> {
        auth.0.require(Permission::Alerts)?;
        let levels: Vec<(String, i64)> =
            body.0.levels.into_iter().map(|c| (c.alert_type.as_str().to_string(), c.level)).collect();
        Ok(Json(self.alerts.set_levels(&auth.0, &levels).await?.into_iter().map(Into::into).collect()))
    }
}
