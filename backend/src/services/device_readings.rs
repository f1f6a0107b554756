//! Cloud O&M readings (云运维): how a gateway reaches each print point's SNMP agent (settings
//! with sealed communities and keys), the readings it sends (meters with usage across counter
//! wraps, status, supplies, the device's alert table), and what admins in scope may read of
//! them.

use yunyin_gateway::protocol::{DeviceReading, ReadingBatch, SnmpTarget, SnmpV3User};

use crate::{
    domain::{
        status_of, DeviceState, Gateway, MeterReading, Module, PrintPoint, ReadingFacts, SnmpVersion, Usage, ValueError,
    },
    infra::{
        new_id, now_ms,
        secrets::{self, SecretBox},
    },
    services::{
        alerts::{AlertError, AlertService},
        authz::AdminPrincipal,
        print_points::{PrintPointError, PrintPointService},
    },
    storage::{
        begin_write,
        device_readings::{DeviceReadingRepo, DeviceStateRow, MeterReadingRow, SnmpSettingsRow},
        print_points::PrintPointRow,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum DeviceReadingError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error(transparent)]
    PrintPoint(#[from] PrintPointError),
    #[error(transparent)]
    Alert(#[from] AlertError),
    #[error("stored secret cannot be opened: {0}")]
    Secret(#[from] secrets::SecretError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

fn invalid(field: &'static str) -> impl Fn(ValueError) -> DeviceReadingError {
    move |source| DeviceReadingError::Invalid { field, source }
}

/// SNMP settings as an admin gives them. Secrets left out keep their stored value.
#[derive(Debug, Clone, Default)]
pub struct SnmpSettingsInput {
    /// Empty: the host of the device URI.
    pub host: String,
    pub port: u16,
    pub version: String,
    pub community: Option<String>,
    pub v3_user: Option<String>,
    pub v3_auth_protocol: Option<String>,
    pub v3_auth_key: Option<String>,
    pub v3_priv_protocol: Option<String>,
    pub v3_priv_key: Option<String>,
}

/// SNMP settings as admins see them: secrets only as masks.
#[derive(Debug, Clone)]
pub struct SnmpSettings {
    pub host: String,
    pub port: u16,
    pub version: SnmpVersion,
    pub community_mask: String,
    pub v3_user: String,
    pub v3_auth_protocol: String,
    pub v3_priv_protocol: String,
    pub updated_at: i64,
}

/// The v3 protocols the gateway speaks (USM authPriv).
pub const V3_AUTH_PROTOCOLS: &[&str] = &["sha1", "sha256"];
pub const V3_PRIV_PROTOCOLS: &[&str] = &["aes128"];

#[derive(Clone)]
pub struct DeviceReadingService {
    repo: DeviceReadingRepo,
    print_points: PrintPointService,
    secrets: SecretBox,
    alerts: AlertService,
}

impl DeviceReadingService {
    pub fn new(
        repo: DeviceReadingRepo,
        print_points: PrintPointService,
        secrets: SecretBox,
        alerts: AlertService,
    ) -> Self {
        Self { repo, print_points, secrets, alerts }
    }

    fn context(print_point_id: &str, what: &str) -> String {
        format!("snmp:{print_point_id}:{what}")
    }

    // ---- settings ----

    /// The print point's SNMP settings (defaults when none are stored), secrets masked.
    pub async fn snmp_settings(&self, actor: &AdminPrincipal, id: &str) -> Result<SnmpSettings, DeviceReadingError> {
        let (point, _) = self.print_points.visible_point_for(actor, id, Module::CloudOm).await?;
        let row = self.repo.snmp_settings(&point.id).await?.unwrap_or_else(|| default_settings(&point.id));
        Ok(view(&row))
    }

    /// Sets how the gateway reaches the device (admins who manage the print point).
    pub async fn set_snmp_settings(
        &self,
        actor: &AdminPrincipal,
        id: &str,
        input: SnmpSettingsInput,
    ) -> Result<SnmpSettings, DeviceReadingError> {
        let (point, may_manage) = self.print_points.visible_point_for(actor, id, Module::CloudOm).await?;
        let version = SnmpVersion::parse(&input.version)
            .ok_or(DeviceReadingError::Invalid { field: "version", source: ValueError::UnknownVariant })?;
        if input.port == 0 {
            return Err(DeviceReadingError::Invalid { field: "port", source: ValueError::UnknownVariant });
        }
        if !may_manage {
            return Err(DeviceReadingError::Forbidden);
        }
        let host = input.host.trim();
        let host_ok = host.len() <= 253
            && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']' | '_' | '-'));
        if !host_ok {
            return Err(DeviceReadingError::Invalid { field: "host", source: ValueError::UnknownVariant });
        }
        let community = secret(input.community.as_deref(), 1, "community")?;
        let mut row = self.repo.snmp_settings(&point.id).await?.unwrap_or_else(|| default_settings(&point.id));
        row.host = host.to_string();
        row.port = i64::from(input.port);
        row.version = version.as_str().into();
        if let Some(c) = community {
            row.community_sealed = Some(self.secrets.seal(c, &Self::context(&point.id, "community")));
            row.community_mask = secrets::mask(c);
        }
        self.set_v3(&mut row, &input)?;
        // authPriv needs all of it: a user, both protocols and both keys.
        let v3_complete = !row.v3_user.is_empty()
            && !row.v3_auth_protocol.is_empty()
            && !row.v3_priv_protocol.is_empty()
            && row.v3_auth_key_sealed.is_some()
            && row.v3_priv_key_sealed.is_some();
        if version == SnmpVersion::V3 && !v3_complete {
            return Err(DeviceReadingError::Invalid { field: "v3_user", source: ValueError::Inconsistent });
        }
        row.updated_at = now_ms();
        self.repo.put_snmp_settings(&row).await?;
        Ok(view(&row))
    }

    fn set_v3(&self, row: &mut SnmpSettingsRow, input: &SnmpSettingsInput) -> Result<(), DeviceReadingError> {
        if let Some(user) = &input.v3_user {
            row.v3_user = user.trim().to_string();
        }
        let known = |list: &[&str], v: &str, field| {
            if list.contains(&v) {
                Ok(v.to_string())
            } else {
                Err(DeviceReadingError::Invalid { field, source: ValueError::UnknownVariant })
            }
        };
        if let Some(p) = &input.v3_auth_protocol {
            row.v3_auth_protocol = known(V3_AUTH_PROTOCOLS, p, "v3_auth_protocol")?;
        }
        if let Some(p) = &input.v3_priv_protocol {
            row.v3_priv_protocol = known(V3_PRIV_PROTOCOLS, p, "v3_priv_protocol")?;
        }
        let id = row.print_point_id.clone();
        // USM keys are at least 8 characters (RFC 3414).
        if let Some(k) = secret(input.v3_auth_key.as_deref(), 8, "v3_auth_key")? {
            row.v3_auth_key_sealed = Some(self.secrets.seal(k, &Self::context(&id, "v3_auth_key")));
        }
        if let Some(k) = secret(input.v3_priv_key.as_deref(), 8, "v3_priv_key")? {
            row.v3_priv_key_sealed = Some(self.secrets.seal(k, &Self::context(&id, "v3_priv_key")));
        }
        Ok(())
    }

    /// How the gateway reaches each of its print points' agents, secrets opened: for the
    /// gateway alone. Print points without settings are read with the defaults (v2c,
    /// `public`, port 161, the device URI's host).
    pub async fn targets_of_gateway(
        &self,
        gateway: &Gateway,
        points: &[PrintPoint],
    ) -> Result<Vec<SnmpTarget>, DeviceReadingError> {
        let stored = self.repo.snmp_settings_of_gateway(&gateway.id).await?;
        let target = |p: &PrintPoint| {
            let row = stored.iter().find(|s| s.print_point_id == p.id).cloned();
            self.target(&row.unwrap_or_else(|| default_settings(&p.id)), &p.device_uri)
        };
        points.iter().map(target).collect()
    }

    fn target(&self, row: &SnmpSettingsRow, device_uri: &str) -> Result<SnmpTarget, DeviceReadingError> {
        let open = |sealed: &Option<Vec<u8>>, what| -> Result<Option<String>, DeviceReadingError> {
            sealed
                .as_ref()
                .map(|s| self.secrets.open(s, &Self::context(&row.print_point_id, what)))
                .transpose()
                .map_err(Into::into)
        };
        let version = row.version().unwrap_or(SnmpVersion::V2c);
        let v3 = match (version, open(&row.v3_auth_key_sealed, "v3_auth_key")?) {
            (SnmpVersion::V3, Some(auth_key)) => Some(SnmpV3User {
                user: row.v3_user.clone(),
                auth_protocol: row.v3_auth_protocol.clone(),
                auth_key,
                priv_protocol: row.v3_priv_protocol.clone(),
                priv_key: open(&row.v3_priv_key_sealed, "v3_priv_key")?.unwrap_or_default(),
            }),
            _ => None,
        };
        let host = if row.host.is_empty() { host_of(device_uri).to_string() } else { row.host.clone() };
        Ok(SnmpTarget {
            host,
            port: u16::try_from(row.port).unwrap_or(161),
            version,
            community: Some(open(&row.community_sealed, "community")?.unwrap_or_else(|| "public".into())),
            v3,
        })
    }

    // ---- readings from the gateway ----

    /// Applies a batch of readings from `gateway`, in one transaction. Readings of print
    /// points that are not the gateway's are skipped; a batch applied before changes nothing.
    #[tracing::instrument(skip_all, fields(gateway = %gateway.id, readings = batch.readings.len()))]
    pub async fn apply(&self, gateway: &Gateway, batch: &ReadingBatch) -> Result<(), DeviceReadingError> {
        let points = self.print_points.repo().of_gateway(&gateway.id).await?;
        let now = now_ms();
        let mut tx = begin_write(self.repo.pool()).await?;
        let mut queued = 0;
        for r in &batch.readings {
            let Some(point) = points.iter().find(|p| p.id == r.print_point_id) else {
                tracing::warn!(print_point = %r.print_point_id, "reading of a print point not bound to this gateway");
                continue;
            };
            queued += self.apply_one_in(&mut tx, &gateway.id, point, r, now).await?;
        }
        tx.commit().await?;
        if queued > 0 {
            // Alerts raised by the batch were queued with it: deliver them now.
            self.alerts.push().wake().await;
        }
        Ok(())
    }

    // ---- what admins read ----

    /// A print point's readings taken in `[from, to)`, newest first.
    pub async fn readings(
        &self,
        actor: &AdminPrincipal,
        id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<MeterReading>, DeviceReadingError> {
        let (point, _) = self.print_points.visible_point_for(actor, id, Module::CloudOm).await?;
        if from > to {
            return Err(invalid("from")(ValueError::Inconsistent));
        }
        Ok(self.repo.readings(&point.id, from, to, limit).await?.into_iter().map(Into::into).collect())
    }

    /// A print point's newest device state, if it was ever read.
    pub async fn state(&self, actor: &AdminPrincipal, id: &str) -> Result<Option<DeviceState>, DeviceReadingError> {
        let (point, _) = self.print_points.visible_point_for(actor, id, Module::CloudOm).await?;
        Ok(self.repo.state(&point.id).await?.map(Into::into))
    }
}

/// A community or key as given: blank (keep the stored one) or `min`-64 printable ASCII
/// characters.
fn secret<'a>(given: Option<&'a str>, min: usize, field: &'static str) -> Result<Option<&'a str>, DeviceReadingError> {
    let Some(raw) = given.filter(|s| !s.trim().is_empty()) else { return Ok(None) };
    if (min..=64).contains(&raw.len()) && raw.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        Ok(Some(raw))
    } else {
        Err(DeviceReadingError::Invalid { field, source: ValueError::UnknownVariant })
    }
}

fn default_settings(print_point_id: &str) -> SnmpSettingsRow {
    SnmpSettingsRow { print_point_id: print_point_id.into(), port: 161, version: "v2c".into(), ..Default::default() }
}

fn view(row: &SnmpSettingsRow) -> SnmpSettings {
    SnmpSettings {
        host: row.host.clone(),
        port: u16::try_from(row.port).unwrap_or(161),
        version: row.version().unwrap_or(SnmpVersion::V2c),
        community_mask: row.community_mask.clone(),
        v3_user: row.v3_user.clone(),
        v3_auth_protocol: row.v3_auth_protocol.clone(),
        v3_priv_protocol: row.v3_priv_protocol.clone(),
        updated_at: row.updated_at,
    }
}

/// The host of `ipp://host:port/path` (or of a bare host or IP).
pub fn host_of(device_uri: &str) -> &str {
    let rest = device_uri.split_once("://").map_or(device_uri, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

impl DeviceReadingService {
    /// One reading: its meter row with usage since the previous reading (when it answered),
    /// the newest state, the print point's status, and its alerts.
    async fn apply_one_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        gateway_id: &str,
        point: &PrintPointRow,
        r: &DeviceReading,
        now: i64,
    ) -> Result<usize, DeviceReadingError> {
        let errors = r.status.as_ref().map(|s| s.errors.clone()).unwrap_or_default();
        if r.answered {
            let previous = DeviceReadingRepo::previous_in(tx, &r.print_point_id, r.read_at).await?;
            let row = meter_row(gateway_id, r, previous.as_ref(), now);
            DeviceReadingRepo::insert_in(tx, &row).await?;
        }
        let before = DeviceReadingRepo::state_in(tx, &r.print_point_id).await?;
        let state = state_row(r, &errors);
        // Only a reading newer than the stored state says what the device is like now.
        if DeviceReadingRepo::put_state_in(tx, &state).await? {
            let seen = r.answered.then_some(r.read_at);
            DeviceReadingRepo::set_point_status_in(tx, &r.print_point_id, status_of(r.answered, &errors), seen, now)
                .await?;
            let facts = ReadingFacts {
                answered: r.answered,
                errors: &errors,
                supplies: &r.supplies,
                device_alerts: r
                    .alerts
                    .iter()
                    .map(|a| (a.severity.as_str(), a.code.as_str(), a.description.as_str()))
                    .collect(),
            };
            return Ok(self.alerts.evaluate_in(tx, point, r.read_at, &facts, before.as_ref()).await?);
        }
        Ok(0)
    }
}

fn state_row(r: &DeviceReading, errors: &[String]) -> DeviceStateRow {
    DeviceStateRow {
        print_point_id: r.print_point_id.clone(),
        read_at: r.read_at,
        answered: i64::from(r.answered),
        printer_status: r.status.as_ref().map(|s| s.printer.clone()),
        device_status: r.status.as_ref().and_then(|s| s.device.clone()),
        errors: errors.join(","),
        supplies: serde_json::to_string(&r.supplies).unwrap_or_else(|_| "[]".into()),
        alerts: serde_json::to_string(&r.alerts).unwrap_or_else(|_| "[]".into()),
        uptime_centis: r.uptime_centis.and_then(|u| i64::try_from(u).ok()),
    }
}

/// The stored form of a reading, with usage against `previous`.
fn meter_row(gateway_id: &str, r: &DeviceReading, previous: Option<&MeterReadingRow>, now: i64) -> MeterReadingRow {
    let signed = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
    let unsigned = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
    let restarted = match (previous.and_then(|p| unsigned(p.uptime_centis)), r.uptime_centis) {
        (Some(before), Some(now)) => now < before,
        _ => false,
    };
    let usage = |prev: Option<i64>, current: Option<u64>| {
        current.map(|c| Usage::between(unsigned(prev), c, restarted)).unwrap_or(Usage::Unknown)
    };
    let c = &r.counters;
    let total = usage(previous.and_then(|p| p.total_count), c.total);
    let mono = usage(previous.and_then(|p| p.mono_count), c.mono);
    let colour = usage(previous.and_then(|p| p.colour_count), c.colour);
    let reset = [total, mono, colour].contains(&Usage::Reset);
    MeterReadingRow {
        id: new_id(),
        print_point_id: r.print_point_id.clone(),
        gateway_id: gateway_id.into(),
        read_at: r.read_at,
        received_at: now,
        uptime_centis: signed(r.uptime_centis),
        total_count: signed(c.total),
        mono_count: signed(c.mono),
        colour_count: signed(c.colour),
        print_count: signed(c.print),
        copy_count: signed(c.copy),
        scan_count: signed(c.scan),
        fax_count: signed(c.fax),
        total_used: signed(total.used()),
        mono_used: signed(mono.used()),
        colour_used: signed(colour.used()),
        counter_reset: i64::from(reset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_blank_or_printable_ascii_of_their_length() {
        assert!(matches!(secret(None, 8, "k"), Ok(None)));
        assert!(matches!(secret(Some("  "), 8, "k"), Ok(None)), "blank keeps the stored one");
        assert!(matches!(secret(Some("public"), 1, "c"), Ok(Some("public"))));
        assert!(secret(Some("short"), 8, "k").is_err(), "USM keys are 8 or more");
        assert!(secret(Some("has space in it"), 8, "k").is_err());
        assert!(secret(Some("密钥密钥密钥密钥"), 8, "k").is_err(), "ASCII only");
        assert!(secret(Some(&"x".repeat(65)), 1, "c").is_err());
    }

    #[test]
    fn hosts_come_out_of_device_uris() {
        assert_eq!(host_of("ipp://127.0.0.2:8631/ipp/print"), "127.0.0.2");
        assert_eq!(host_of("ipps://printer.local/ipp/print"), "printer.local");
        assert_eq!(host_of("ipp://[fe80::1]:631/ipp"), "fe80::1");
        assert_eq!(host_of("socket://user@10.0.0.9:9100"), "10.0.0.9");
        assert_eq!(host_of("10.0.0.7"), "10.0.0.7");
    }
}
