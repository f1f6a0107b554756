//! Printer discoveries: what a gateway was asked to look for (queued with its command in one
//! transaction), what it found, and the print points a find may already be.

use sqlx::AnyPool;

use super::gateways::{CommandRow, GatewayRepo};
use crate::domain::{
    discovered_mac, DiscoveredDevice, Discovery, DiscoveryMethod, DiscoveryState, KnownAs, MacAddress,
};

/// A discovery as stored; the community stays sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscoveryRow {
    pub id: String,
    pub gateway_id: String,
    pub enterprise_id: String,
    pub command_id: String,
    pub method: DiscoveryMethod,
    pub target: String,
    pub snmp_port: i64,
    pub snmp_version: String,
    pub community_sealed: Option<Vec<u8>>,
    pub ipp_port: i64,
    /// `running`, `finished` or `failed` (timing out is worked out when read).
    pub state: DiscoveryState,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// One find as stored.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct DeviceRow {
    pub position: i64,
    pub host: String,
    pub make_model: Option<String>,
    pub serial_number: Option<String>,
    pub mac_read: Option<String>,
    pub snmp_answered: i64,
    pub ipp_answered: i64,
    pub ipp_make_model: Option<String>,
    pub ipp_uri: Option<String>,
    pub queue_name: Option<String>,
    pub queue_device_uri: Option<String>,
    pub queue_state: Option<String>,
}

impl From<DeviceRow> for DiscoveredDevice {
    /// A find as new; what it is to the platform is the service's to say.
    fn from(r: DeviceRow) -> Self {
        DiscoveredDevice {
            index: r.position,
            host: r.host,
            make_model: r.make_model,
            serial_number: r.serial_number,
            mac: discovered_mac(r.mac_read.as_deref()),
            mac_read: r.mac_read,
            snmp_answered: r.snmp_answered != 0,
            ipp_answered: r.ipp_answered != 0,
            ipp_make_model: r.ipp_make_model,
            ipp_uri: r.ipp_uri,
            queue_name: r.queue_name,
            queue_device_uri: r.queue_device_uri,
            queue_state: r.queue_state,
            known: KnownAs::New,
            print_point_id: None,
        }
    }
}

impl DiscoveryRow {
    /// The discovery with its finds, its state as of `now`.
    pub fn into_discovery(self, devices: Vec<DiscoveredDevice>, now: i64) -> Discovery {
        Discovery {
            state: self.state.at(self.created_at, now),
            id: self.id,
            gateway_id: self.gateway_id,
            enterprise_id: self.enterprise_id,
            method: self.method,
            target: self.target,
            error: self.error,
            created_at: self.created_at,
            finished_at: self.finished_at,
            devices,
        }
    }
}

/// A print point a find may be: its identity and where it is bound.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PointMatch {
    pub id: String,
    pub enterprise_id: String,
    pub gateway_id: Option<String>,
    pub mac: Option<MacAddress>,
    pub device_uri: String,
}

const COLS: &str = "id, gateway_id, enterprise_id, command_id, method, target, snmp_port, snmp_version, \
    community_sealed, ipp_port, state, error, created_by, created_at, finished_at";

const DEVICE_COLS: &str = "position, host, make_model, serial_number, mac_read, snmp_answered, ipp_answered, \
    ipp_make_model, ipp_uri, queue_name, queue_device_uri, queue_state";

/// MACs per `IN (…)` list.
const MAC_CHUNK: usize = 500;

#[derive(Clone)]
pub struct DiscoveryRepo {
    pool: AnyPool,
}

impl DiscoveryRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Stores a discovery and queues its command for the gateway, in one transaction.
    #[tracing::instrument(skip_all, fields(discovery = %d.id))]
    pub async fn create(&self, d: &DiscoveryRow, command: &CommandRow) -> Result<(), sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        GatewayRepo::enqueue(&mut tx, command).await?;
        sqlx::query(&format!(
            "INSERT INTO discoveries ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&d.id)
        .bind(&d.gateway_id)
        .bind(&d.enterprise_id)
        .bind(&d.command_id)
        .bind(d.method.as_str())
        .bind(&d.target)
        .bind(d.snmp_port)
        .bind(&d.snmp_version)
        .bind(d.community_sealed.clone())
        .bind(d.ipp_port)
        .bind(d.state.as_str())
        .bind(&d.error)
        .bind(&d.created_by)
        .bind(d.created_at)
        .bind(d.finished_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub async fn get(&self, id: &str) -> Result<Option<DiscoveryRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM discoveries WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// A discovery's finds, in the gateway's order.
    pub async fn devices(&self, discovery_id: &str) -> Result<Vec<DeviceRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {DEVICE_COLS} FROM discovered_devices WHERE discovery_id = $1 ORDER BY position"
        ))
        .bind(discovery_id)
        .fetch_all(&self.pool)
        .await
    }

    /// One find.
    pub async fn device(&self, discovery_id: &str, position: i64) -> Result<Option<DeviceRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {DEVICE_COLS} FROM discovered_devices WHERE discovery_id = $1 AND position = $2"
        ))
        .bind(discovery_id)
        .bind(position)
        .fetch_optional(&self.pool)
        .await
    }

    /// Records `gateway_id`'s report on a discovery of its own that has none yet, with its
    /// finds, in one transaction; the command's id when it did (false: already applied, or
    /// not this gateway's, and nothing changed).
    #[tracing::instrument(skip_all, fields(discovery = %id, devices = devices.len()))]
    pub async fn finish(
        &self,
        id: &str,
        gateway_id: &str,
        state: DiscoveryState,
        error: Option<&str>,
        devices: &[DeviceRow],
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        let updated = sqlx::query(
            "UPDATE discoveries SET state = $3, error = $4, finished_at = $5 \
             WHERE id = $1 AND gateway_id = $2 AND state = 'running'",
        )
        .bind(id)
        .bind(gateway_id)
        .bind(state.as_str())
        .bind(error)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        for d in devices {
            sqlx::query(&format!(
                "INSERT INTO discovered_devices (discovery_id, {DEVICE_COLS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ))
            .bind(id)
            .bind(d.position)
            .bind(&d.host)
            .bind(&d.make_model)
            .bind(&d.serial_number)
            .bind(&d.mac_read)
            .bind(d.snmp_answered)
            .bind(d.ipp_answered)
            .bind(&d.ipp_make_model)
            .bind(&d.ipp_uri)
            .bind(&d.queue_name)
            .bind(&d.queue_device_uri)
            .bind(&d.queue_state)
            .execute(&mut *tx)
            .await?;
        }
        let (command_id,): (String,) =
            sqlx::query_as("SELECT command_id FROM discoveries WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(command_id))
    }

    /// Print points holding one of `macs`, and every print point of `gateway_id`: what the
    /// finds of a discovery on that gateway may already be.
    pub async fn matches(&self, macs: &[MacAddress], gateway_id: &str) -> Result<Vec<PointMatch>, sqlx::Error> {
        let cols = "id, enterprise_id, gateway_id, mac, device_uri";
        let mut found: Vec<PointMatch> =
            sqlx::query_as(&format!("SELECT {cols} FROM print_points WHERE gateway_id = $1 ORDER BY created_at, id"))
                .bind(gateway_id)
                .fetch_all(&self.pool)
                .await?;
        for chunk in macs.chunks(MAC_CHUNK) {
            let sql = format!(
                "SELECT {cols} FROM print_points WHERE mac IN ({}) ORDER BY created_at, id",
                super::placeholders(1, chunk.len())
            );
            let mut query = sqlx::query_as::<_, PointMatch>(&sql);
            for mac in chunk {
                query = query.bind(*mac);
            }
            found.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(found)
    }
}
