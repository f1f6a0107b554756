//! Cloud O&M data: each print point's SNMP settings (secrets sealed), its meter readings (抄表)
//! and its latest device state (status, supplies, the device's alert table).

use sqlx::{Any, AnyPool, Transaction};

use crate::domain::{DeviceState, MeterReading, PrintPointStatus, SnmpVersion};

/// A print point's SNMP settings as stored: secrets sealed, with masks for display.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct SnmpSettingsRow {
    pub print_point_id: String,
    /// Empty: the host of the print point's device URI.
    pub host: String,
    pub port: i64,
    pub version: String,
    pub community_sealed: Option<Vec<u8>>,
    pub community_mask: String,
    pub v3_user: String,
    pub v3_auth_protocol: String,
    pub v3_auth_key_sealed: Option<Vec<u8>>,
    pub v3_priv_protocol: String,
    pub v3_priv_key_sealed: Option<Vec<u8>>,
    pub updated_at: i64,
}

impl SnmpSettingsRow {
    pub fn version(&self) -> Option<SnmpVersion> {
        SnmpVersion::parse(&self.version)
    }
}

/// A stored meter reading.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MeterReadingRow {
    pub id: String,
    pub print_point_id: String,
    pub gateway_id: String,
    pub read_at: i64,
    pub received_at: i64,
    pub uptime_centis: Option<i64>,
    pub total_count: Option<i64>,
    pub mono_count: Option<i64>,
    pub colour_count: Option<i64>,
    pub print_count: Option<i64>,
    pub copy_count: Option<i64>,
    pub scan_count: Option<i64>,
    pub fax_count: Option<i64>,
    pub total_used: Option<i64>,
    pub mono_used: Option<i64>,
    pub colour_used: Option<i64>,
    pub counter_reset: i64,
}

impl From<MeterReadingRow> for MeterReading {
    fn from(r: MeterReadingRow) -> Self {
        let count = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
        MeterReading {
            id: r.id,
            read_at: r.read_at,
            received_at: r.received_at,
            total: count(r.total_count),
            mono: count(r.mono_count),
            colour: count(r.colour_count),
            print: count(r.print_count),
            copy: count(r.copy_count),
            scan: count(r.scan_count),
            fax: count(r.fax_count),
            total_used: count(r.total_used),
            mono_used: count(r.mono_used),
            colour_used: count(r.colour_used),
            counter_reset: r.counter_reset != 0,
        }
    }
}

/// A device's latest state as stored (supplies and alerts as JSON arrays).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceStateRow {
    pub print_point_id: String,
    pub read_at: i64,
    pub answered: i64,
    pub printer_status: Option<String>,
    pub device_status: Option<String>,
    pub errors: String,
    pub supplies: String,
    pub alerts: String,
    pub uptime_centis: Option<i64>,
}

impl From<DeviceStateRow> for DeviceState {
    fn from(s: DeviceStateRow) -> Self {
        DeviceState {
            read_at: s.read_at,
            answered: s.answered != 0,
            printer_status: s.printer_status,
            device_status: s.device_status,
            errors: s.errors.split(',').filter(|e| !e.is_empty()).map(str::to_string).collect(),
            // Written only from the gateway link's parsed shapes.
            supplies: serde_json::from_str(&s.supplies).unwrap_or_default(),
            alerts: serde_json::from_str(&s.alerts).unwrap_or_default(),
        }
    }
}

const READING_COLS: &str = "id, print_point_id, gateway_id, read_at, received_at, uptime_centis, total_count, \
    mono_count, colour_count, print_count, copy_count, scan_count, fax_count, total_used, mono_used, colour_used, \
    counter_reset";

const STATE_COLS: &str =
    "print_point_id, read_at, answered, printer_status, device_status, errors, supplies, alerts, uptime_centis";

#[derive(Clone)]
pub struct DeviceReadingRepo {
    pool: AnyPool,
}

impl DeviceReadingRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    // ---- SNMP settings ----

    #[tracing::instrument(skip_all)]
    pub async fn snmp_settings(&self, print_point_id: &str) -> Result<Option<SnmpSettingsRow>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM print_point_snmp WHERE print_point_id = $1")
            .bind(print_point_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// The settings of every print point bound to a gateway.
    #[tracing::instrument(skip_all)]
    pub async fn snmp_settings_of_gateway(&self, gateway_id: &str) -> Result<Vec<SnmpSettingsRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT s.* FROM print_point_snmp s JOIN print_points p ON p.id = s.print_point_id \
             WHERE p.gateway_id = $1",
        )
        .bind(gateway_id)
        .fetch_all(&self.pool)
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn put_snmp_settings(&self, s: &SnmpSettingsRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO print_point_snmp (print_point_id, host, port, version, community_sealed, community_mask, \
             v3_user, v3_auth_protocol, v3_auth_key_sealed, v3_priv_protocol, v3_priv_key_sealed, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (print_point_id) DO UPDATE SET host = excluded.host, port = excluded.port, \
             version = excluded.version, community_sealed = excluded.community_sealed, \
             community_mask = excluded.community_mask, v3_user = excluded.v3_user, \
             v3_auth_protocol = excluded.v3_auth_protocol, v3_auth_key_sealed = excluded.v3_auth_key_sealed, \
             v3_priv_protocol = excluded.v3_priv_protocol, v3_priv_key_sealed = excluded.v3_priv_key_sealed, \
             updated_at = excluded.updated_at",
        )
        .bind(&s.print_point_id)
        .bind(&s.host)
        .bind(s.port)
        .bind(&s.version)
        .bind(&s.community_sealed)
        .bind(&s.community_mask)
        .bind(&s.v3_user)
        .bind(&s.v3_auth_protocol)
        .bind(&s.v3_auth_key_sealed)
        .bind(&s.v3_priv_protocol)
        .bind(&s.v3_priv_key_sealed)
        .bind(s.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // ---- readings ----

    /// The newest reading of a print point taken before `before`, in the caller's transaction.
    pub async fn previous_in(
        tx: &mut Transaction<'_, Any>,
        print_point_id: &str,
        before: i64,
    ) -> Result<Option<MeterReadingRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {READING_COLS} FROM meter_readings WHERE print_point_id = $1 AND read_at < $2 \
             ORDER BY read_at DESC LIMIT 1"
        ))
        .bind(print_point_id)
        .bind(before)
        .fetch_optional(&mut **tx)
        .await
    }

    /// Stores a reading; false when one with the same print point and time is stored already
    /// (the same batch again).
    pub async fn insert_in(tx: &mut Transaction<'_, Any>, r: &MeterReadingRow) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(&format!(
            "INSERT INTO meter_readings ({READING_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (print_point_id, read_at) DO NOTHING"
        ))
        .bind(&r.id)
        .bind(&r.print_point_id)
        .bind(&r.gateway_id)
        .bind(r.read_at)
        .bind(r.received_at)
        .bind(r.uptime_centis)
        .bind(r.total_count)
        .bind(r.mono_count)
        .bind(r.colour_count)
        .bind(r.print_count)
        .bind(r.copy_count)
        .bind(r.scan_count)
        .bind(r.fax_count)
        .bind(r.total_used)
        .bind(r.mono_used)
        .bind(r.colour_used)
        .bind(r.counter_reset)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the device's latest state unless a newer one is stored; true when it did.
    pub async fn put_state_in(tx: &mut Transaction<'_, Any>, s: &DeviceStateRow) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(&format!(
            "INSERT INTO device_states ({STATE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (print_point_id) DO UPDATE SET read_at = excluded.read_at, answered = excluded.answered, \
             printer_status = excluded.printer_status, device_status = excluded.device_status, \
             errors = excluded.errors, supplies = excluded.supplies, alerts = excluded.alerts, \
             uptime_centis = excluded.uptime_centis \
             WHERE device_states.read_at < excluded.read_at"
        ))
        .bind(&s.print_point_id)
        .bind(s.read_at)
        .bind(s.answered)
        .bind(&s.printer_status)
        .bind(&s.device_status)
        .bind(&s.errors)
        .bind(&s.supplies)
        .bind(&s.alerts)
        .bind(s.uptime_centis)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The print point's status and contact time from its newest state.
    pub async fn set_point_status_in(
        tx: &mut Transaction<'_, Any>,
        print_point_id: &str,
        status: PrintPointStatus,
        seen_at: Option<i64>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE print_points SET status = $1, last_seen_at = COALESCE($2, last_seen_at), updated_at = $3 \
             WHERE id = $4",
        )
        .bind(status)
        .bind(seen_at)
        .bind(now)
        .bind(print_point_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    /// The stored state inside a transaction (before a reading replaces it).
    pub async fn state_in(
        tx: &mut Transaction<'_, Any>,
        print_point_id: &str,
    ) -> Result<Option<DeviceStateRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {STATE_COLS} FROM device_states WHERE print_point_id = $1"))
            .bind(print_point_id)
            .fetch_optional(&mut **tx)
            .await
    }

    pub async fn state(&self, print_point_id: &str) -> Result<Option<DeviceStateRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {STATE_COLS} FROM device_states WHERE print_point_id = $1"))
            .bind(print_point_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Readings of a print point taken in `[from, to)`, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn readings(
        &self,
        print_point_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<MeterReadingRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {READING_COLS} FROM meter_readings WHERE print_point_id = $1 AND read_at >= $2 AND read_at < $3 \
             ORDER BY read_at DESC LIMIT $4"
        ))
        .bind(print_point_id)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }
}
