//! Alerts (告警) from device readings: raised when a reading shows a condition, updated while
//! it lasts, resolved by themselves once it clears (after [`CLEAR_AFTER`] readings without
//! it), reopened rather than raised anew when they flap back within [`REOPEN_WINDOW_MS`]. Each
//! admin's alert levels (预警级别) decide what is level 1 for them: shown red and pushed.

use crate::{
    domain::{
        conditions_of, Alert, AlertLevel, AlertState, AlertType, Conditions, ReadingFacts, ValueError, CLEAR_AFTER,
        REOPEN_WINDOW_MS,
    },
    infra::{new_id, now_ms},
    services::{
        authz::AdminPrincipal,
        print_points::{PrintPointError, PrintPointService},
        push::{Notification, PushService, Recipient, Topic},
    },
    storage::{
        alerts::{AlertQuery, AlertRepo, AlertRow},
        device_readings::DeviceStateRow,
        print_points::PrintPointRow,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("not found")]
    NotFound,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    /// Acknowledging an alert that is acknowledged or resolved already.
    #[error("alert is {0}")]
    NotRaised(&'static str),
    #[error(transparent)]
    PrintPoint(#[from] PrintPointError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// What an admin asks of the alert list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub enterprise_id: Option<String>,
    pub print_point_id: Option<String>,
    pub region_id: Option<String>,
    pub group_id: Option<String>,
    /// `open`, `raised`, `acknowledged` or `resolved`; `None`: all.
    pub state: Option<String>,
    /// Only alerts of this level (as the viewer's levels make them).
    pub level: Option<AlertLevel>,
}

/// An alert with the level it has for the admin who reads it.
#[derive(Debug, Clone)]
pub struct AlertForAdmin {
    pub alert: Alert,
    pub level: AlertLevel,
}

/// One alert type's level for an admin, and whether they chose it.
#[derive(Debug, Clone)]
pub struct LevelSetting {
    pub alert_type: AlertType,
    pub level: AlertLevel,
    pub chosen: bool,
}

#[derive(Clone)]
pub struct AlertService {
    repo: AlertRepo,
    print_points: PrintPointService,
    push: PushService,
}

impl AlertService {
    pub fn new(repo: AlertRepo, print_points: PrintPointService, push: PushService) -> Self {
        Self { repo, print_points, push }
    }

    pub fn push(&self) -> &PushService {
        &self.push
    }

    // ---- from readings ----

    /// Brings a print point's alerts up to date with a reading newer than `previous`, inside
    /// the reading's transaction; new alerts are queued to the admins who have them at level 1.
    pub async fn evaluate_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        point: &PrintPointRow,
        read_at: i64,
        current: &ReadingFacts<'_>,
        previous: Option<&DeviceStateRow>,
    ) -> Result<usize, AlertError> {
        let shown = conditions_of(current);
        let before = previous.map(previous_conditions).unwrap_or_default();
        let mut alerts = AlertRepo::current_of_point_in(tx, &point.id, read_at - REOPEN_WINDOW_MS).await?;
        let now = now_ms();
        let mut queued = 0;
        for ((alert_type, subject), detail) in &shown {
            let key = (*alert_type, subject.clone());
            if alert_type.raise_after() > 1 && !before.contains_key(&key) {
                continue;
            }
            match alerts.iter_mut().find(|a| a.alert_type() == Some(*alert_type) && a.subject == *subject) {
                Some(a) => {
                    seen_again(a, detail, read_at, now);
                    AlertRepo::update_in(tx, a).await?;
                }
                None => {
                    let a = raised((&point.id, &point.enterprise_id), key, detail, read_at, now);
                    AlertRepo::insert_in(tx, &a).await?;
                    queued += self.announce_in(tx, point, &a).await?;
                }
            }
        }
        for a in alerts.iter_mut().filter(|a| a.state != AlertState::Resolved.as_str()) {
            let key = (a.alert_type().unwrap_or(AlertType::DeviceFault), a.subject.clone());
            // A silent device says nothing of its other conditions: they neither clear nor last.
            let known = current.answered || key.0 == AlertType::Offline;
            if known && !shown.contains_key(&key) && a.last_seen_at < read_at {
                absent(a, read_at, now);
                AlertRepo::update_in(tx, a).await?;
            }
        }
        Ok(queued)
    }

    /// Queues a new alert to the devices of every admin who sees it and has its type at level 1.
    async fn announce_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        point: &PrintPointRow,
        a: &AlertRow,
    ) -> Result<usize, AlertError> {
        let Some(alert_type) = a.alert_type() else { return Ok(0) };
        let notification = Notification {
            title: format!("一级告警：{}", alert_type.title(false)),
            body: if a.detail.is_empty() { point.name.clone() } else { format!("{}：{}", point.name, a.detail) },
            url: format!("/m/admin/alerts/{}", a.id),
            tag: a.id.clone(),
            level: Some(1),
            job: None,
        };
        let topic = Topic { kind: "alert", id: a.id.clone(), event: "raised" };
        let mut queued = 0;
        for (admin_id, level) in AlertRepo::admins_seeing_in(tx, &point.id, alert_type.as_str()).await? {
            let level = level.and_then(|l| AlertLevel::from_number(l).ok()).unwrap_or(alert_type.default_level());
            if level == AlertLevel::One {
                queued += self.push.enqueue_in(tx, &Recipient::Admin(admin_id), &topic, &notification).await?;
            }
        }
        Ok(queued)
    }

    // ---- what admins do ----

    /// The alerts of the print points the admin sees, newest first, each with its level for
    /// them.
    pub async fn list(
        &self,
        actor: &AdminPrincipal,
        f: &AlertFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AlertForAdmin>, AlertError> {
        let (q, level_of) = self.query(actor, f).await?;
        let rows = self.repo.list(&actor.enterprise_scope(), &actor.scoped(), &q, limit, offset).await?;
        rows.into_iter()
            .map(|r| {
                let alert = Alert::try_from(r)?;
                Ok(AlertForAdmin { level: level_of(alert.alert_type), alert })
            })
            .collect()
    }

    /// How many alerts are open (not resolved) in the admin's scope, or one enterprise of it:
    /// all of them, and those at level 1 for this admin. The admin's levels are read once.
    pub async fn open_counts(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: Option<&str>,
    ) -> Result<(i64, i64), AlertError> {
        let level1 = AlertFilter {
            enterprise_id: enterprise_id.map(str::to_string),
            state: Some("open".into()),
            level: Some(AlertLevel::One),
            ..AlertFilter::default()
        };
        let (red, _) = self.query(actor, &level1).await?;
        let open = AlertQuery { types: None, ..red.clone() };
        let (scope, viewer) = (actor.enterprise_scope(), actor.scoped());
        Ok((self.repo.count(&scope, &viewer, &open).await?, self.repo.count(&scope, &viewer, &red).await?))
    }

    /// The stored query of a filter, a level being the alert types at that level for this
    /// admin; and how to tell an alert type's level for them.
    async fn query(
        &self,
        actor: &AdminPrincipal,
        f: &AlertFilter,
    ) -> Result<(AlertQuery, impl Fn(AlertType) -> AlertLevel), AlertError> {
        let levels = self.levels(actor).await?;
        let level_of =
            move |t: AlertType| levels.iter().find(|l| l.alert_type == t).map_or(t.default_level(), |l| l.level);
        let types = f.level.map(|want| {
            AlertType::ALL.iter().filter(|t| level_of(**t) == want).map(|t| t.as_str().to_string()).collect()
        });
        let q = AlertQuery {
            enterprise_id: f.enterprise_id.clone().unwrap_or_default(),
            print_point_id: f.print_point_id.clone().unwrap_or_default(),
            region_id: f.region_id.clone().unwrap_or_default(),
            group_id: f.group_id.clone().unwrap_or_default(),
            state: f.state.clone().unwrap_or_default(),
            types,
        };
        Ok((q, level_of))
    }

    /// One alert the admin sees.
    pub async fn get(&self, actor: &AdminPrincipal, id: &str) -> Result<AlertForAdmin, AlertError> {
        let row = self.repo.get(id).await?.ok_or(AlertError::NotFound)?;
        // Out of scope answers as missing, like every resource.
        self.print_points.visible_point(actor, &row.print_point_id).await.map_err(|e| match e {
            PrintPointError::NotFound => AlertError::NotFound,
            other => other.into(),
        })?;
        let alert = Alert::try_from(row)?;
        let levels = self.levels(actor).await?;
        let level = levels
            .iter()
            .find(|l| l.alert_type == alert.alert_type)
            .map_or(alert.alert_type.default_level(), |l| l.level);
        Ok(AlertForAdmin { alert, level })
    }

    /// Acknowledges a raised alert: someone is on it. It still resolves by itself.
    pub async fn acknowledge(&self, actor: &AdminPrincipal, id: &str) -> Result<AlertForAdmin, AlertError> {
        let current = self.get(actor, id).await?;
        if !self.repo.acknowledge(id, &actor.admin_id, now_ms()).await? {
            let state = self.repo.get(id).await?.and_then(|r| r.state()).unwrap_or(current.alert.state);
            return Err(AlertError::NotRaised(state.as_str()));
        }
        self.get(actor, id).await
    }

    /// Every alert type with the admin's level for it.
    pub async fn levels(&self, actor: &AdminPrincipal) -> Result<Vec<LevelSetting>, AlertError> {
        let chosen = self.repo.levels_of(&actor.admin_id).await?;
        Ok(AlertType::ALL
            .iter()
            .map(|t| {
                let set = chosen.iter().find(|(name, _)| name == t.as_str());
                let level = set.and_then(|(_, l)| AlertLevel::from_number(*l).ok());
                LevelSetting { alert_type: *t, level: level.unwrap_or(t.default_level()), chosen: level.is_some() }
            })
            .collect())
    }

    /// Sets the admin's levels: the types named move to the level given; types left out
    /// go back to their defaults.
    pub async fn set_levels(
        &self,
        actor: &AdminPrincipal,
        levels: &[(String, i64)],
    ) -> Result<Vec<LevelSetting>, AlertError> {
        let mut parsed = Vec::new();
        for (name, level) in levels {
            let t = AlertType::parse(name).map_err(|source| AlertError::Invalid { field: "alert_type", source })?;
            let l = AlertLevel::from_number(*level).map_err(|source| AlertError::Invalid { field: "level", source })?;
            if parsed.iter().any(|(n, _): &(String, i64)| n == t.as_str()) {
                return Err(AlertError::Invalid { field: "alert_type", source: ValueError::Inconsistent });
            }
            parsed.push((t.as_str().to_string(), i64::from(l.number())));
        }
        self.repo.set_levels(&actor.admin_id, &parsed, now_ms()).await?;
        self.levels(actor).await
    }
}

/// The enterprises under the admin, for the list's SQL.
/// The conditions the stored (previous) state showed.
fn previous_conditions(s: &DeviceStateRow) -> Conditions {
    let errors: Vec<String> = s.errors.split(',').filter(|e| !e.is_empty()).map(str::to_string).collect();
    let supplies: Vec<crate::domain::SupplyReading> = serde_json::from_str(&s.supplies).unwrap_or_default();
    let device_alerts: Vec<crate::domain::DeviceAlert> = serde_json::from_str(&s.alerts).unwrap_or_default();
    conditions_of(&ReadingFacts {
        answered: s.answered == 1,
        errors: &errors,
        supplies: &supplies,
        device_alerts: device_alerts
            .iter()
            .map(|a| (a.severity.as_str(), a.code.as_str(), a.description.as_str()))
            .collect(),
    })
}

fn raised(point: (&str, &str), key: (AlertType, String), detail: &str, read_at: i64, now: i64) -> AlertRow {
    AlertRow {
        id: new_id(),
        print_point_id: point.0.into(),
        enterprise_id: point.1.into(),
        alert_type: key.0.as_str().into(),
        subject: key.1,
        state: AlertState::Raised.as_str().into(),
        detail: detail.into(),
        raised_at: read_at,
        last_seen_at: read_at,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        absent_streak: 0,
        occurrences: 1,
        updated_at: now,
    }
}

/// The condition is shown again: an open alert lasts; a recently resolved one reopens (the
/// same alert, counted, not announced again).
fn seen_again(a: &mut AlertRow, detail: &str, read_at: i64, now: i64) {
    if a.state == AlertState::Resolved.as_str() {
        a.state = AlertState::Raised.as_str().into();
        a.resolved_at = None;
        a.acknowledged_at = None;
        a.acknowledged_by = None;
        a.occurrences += 1;
    }
    a.detail = detail.into();
    a.last_seen_at = a.last_seen_at.max(read_at);
    a.absent_streak = 0;
    a.updated_at = now;
}

/// An answered reading without the condition: one more towards resolving.
fn absent(a: &mut AlertRow, read_at: i64, now: i64) {
    a.absent_streak += 1;
    if a.absent_streak >= CLEAR_AFTER {
        a.state = AlertState::Resolved.as_str().into();
        a.resolved_at = Some(read_at);
    }
    a.updated_at = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> AlertRow {
        raised(("p", "e"), (AlertType::Jam, String::new()), "tray 2", 1_000, 1_000)
    }

    #[test]
    fn an_alert_resolves_only_after_readings_in_a_row_without_its_condition() {
        let mut a = row();
        absent(&mut a, 2_000, 2_000);
        assert_eq!(a.state, "raised", "one reading without it is not enough");
        seen_again(&mut a, "tray 2", 3_000, 3_000);
        assert_eq!(a.absent_streak, 0, "seen again: the count starts over");
        absent(&mut a, 4_000, 4_000);
        absent(&mut a, 5_000, 5_000);
        assert_eq!((a.state.as_str(), a.resolved_at), ("resolved", Some(5_000)));
    }

    #[test]
    fn a_flapping_condition_reopens_the_same_alert_and_counts() {
        let mut a = row();
        absent(&mut a, 2_000, 2_000);
        absent(&mut a, 3_000, 3_000);
        seen_again(&mut a, "tray 3", 4_000, 4_000);
        assert_eq!((a.state.as_str(), a.occurrences, a.resolved_at), ("raised", 2, None));
        assert_eq!((a.raised_at, a.last_seen_at, a.detail.as_str()), (1_000, 4_000, "tray 3"));
    }
}
