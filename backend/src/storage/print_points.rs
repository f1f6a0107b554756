//! Print points (打印点), printer groups (打印机组), group admins and the MAC whitelist (白名单).

use sqlx::AnyPool;

use crate::domain::{MacAddress, PrintPoint, PrintPointFunctions, PrintPointStatus, PrinterGroup, WhitelistEntry};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PrintPointRow {
    pub id: String,
    pub enterprise_id: String,
    pub region_id: Option<String>,
    pub name: String,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub make_model: String,
    pub serial_number: String,
    pub printer_uuid: String,
    /// Parsed when read, like a state.
    pub mac: Option<MacAddress>,
    pub mac_shared: i64,
    pub device_uri: String,
    pub gateway_id: Option<String>,
    pub cloud_print_enabled: i64,
    pub copy_enabled: i64,
    pub scan_enabled: i64,
    pub meter_interval_minutes: i64,
    pub status: PrintPointStatus,
    pub last_seen_at: Option<i64>,
    pub qr_id: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The members of a printer group a list names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupMembers {
    PrintPoints,
    Admins,
}

impl GroupMembers {
    /// The request field that names them.
    pub fn field(self) -> &'static str {
        match self {
            GroupMembers::PrintPoints => "print_point_ids",
            GroupMembers::Admins => "admin_ids",
        }
    }

    fn clear(self) -> &'static str {
        match self {
            GroupMembers::PrintPoints => "DELETE FROM print_point_groups WHERE group_id = $1",
            GroupMembers::Admins => "DELETE FROM admin_printer_groups WHERE group_id = $1",
        }
    }

    /// Who may be a member, as `table x WHERE …` with the enterprise as `$1`.
    fn eligible(self) -> &'static str {
        match self {
            GroupMembers::PrintPoints => "print_points x WHERE x.enterprise_id = $1",
            // The enterprise's own admins, but not its super admins (they see everything).
            GroupMembers::Admins => {
                "admins x WHERE x.scope_kind = 'enterprise' AND x.scope_id = $1 AND x.role <> 'super'"
            }
        }
    }

    fn insert(self) -> &'static str {
        match self {
            GroupMembers::PrintPoints => "INSERT INTO print_point_groups (print_point_id, group_id)",
            GroupMembers::Admins => "INSERT INTO admin_printer_groups (admin_id, group_id)",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PrinterGroupRow {
    pub id: String,
    pub enterprise_id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WhitelistRow {
    pub mac: MacAddress,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
}

impl From<PrintPointRow> for PrintPoint {
    fn from(r: PrintPointRow) -> Self {
        PrintPoint {
            id: r.id,
            enterprise_id: r.enterprise_id,
            region_id: r.region_id,
            name: r.name,
            address: r.address,
            latitude: r.latitude,
            longitude: r.longitude,
            make_model: r.make_model,
            serial_number: r.serial_number,
            printer_uuid: r.printer_uuid,
            mac: r.mac,
            mac_shared: r.mac_shared != 0,
            device_uri: r.device_uri,
            gateway_id: r.gateway_id,
            functions: PrintPointFunctions {
                cloud_print: r.cloud_print_enabled != 0,
                copy: r.copy_enabled != 0,
                scan: r.scan_enabled != 0,
            },
            meter_interval_minutes: r.meter_interval_minutes,
            status: r.status,
            last_seen_at: r.last_seen_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<PrinterGroupRow> for PrinterGroup {
    fn from(g: PrinterGroupRow) -> Self {
        PrinterGroup { id: g.id, enterprise_id: g.enterprise_id, name: g.name, created_at: g.created_at }
    }
}

impl From<WhitelistRow> for WhitelistEntry {
    fn from(w: WhitelistRow) -> Self {
        WhitelistEntry { mac: w.mac, note: w.note, created_by: w.created_by, created_at: w.created_at }
    }
}

const COLS: &str = "id, enterprise_id, region_id, name, address, latitude, longitude, make_model, serial_number, \
    printer_uuid, mac, mac_shared, device_uri, gateway_id, cloud_print_enabled, copy_enabled, scan_enabled, \
    meter_interval_minutes, status, last_seen_at, qr_id, created_at, updated_at";

#[derive(Clone)]
pub struct PrintPointRepo {
    pool: AnyPool,
}

impl PrintPointRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Inserts a print point; a second exclusive use of a MAC is a unique violation.
    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, p: &PrintPointRow) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO print_points ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19, $20, $21, $22, $23)"
        ))
        .bind(&p.id)
        .bind(&p.enterprise_id)
        .bind(&p.region_id)
        .bind(&p.name)
        .bind(&p.address)
        .bind(p.latitude)
        .bind(p.longitude)
        .bind(&p.make_model)
        .bind(&p.serial_number)
        .bind(&p.printer_uuid)
        .bind(p.mac)
        .bind(p.mac_shared)
        .bind(&p.device_uri)
        .bind(&p.gateway_id)
        .bind(p.cloud_print_enabled)
        .bind(p.copy_enabled)
        .bind(p.scan_enabled)
        .bind(p.meter_interval_minutes)
        .bind(p.status)
        .bind(p.last_seen_at)
        .bind(&p.qr_id)
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Saves the fields an admin edits.
    #[tracing::instrument(skip_all)]
    pub async fn update(&self, p: &PrintPointRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE print_points SET region_id = $2, name = $3, address = $4, latitude = $5, longitude = $6, \
             cloud_print_enabled = $7, copy_enabled = $8, scan_enabled = $9, meter_interval_minutes = $10, \
             updated_at = $11 WHERE id = $1",
        )
        .bind(&p.id)
        .bind(&p.region_id)
        .bind(&p.name)
        .bind(&p.address)
        .bind(p.latitude)
        .bind(p.longitude)
        .bind(p.cloud_print_enabled)
        .bind(p.copy_enabled)
        .bind(p.scan_enabled)
        .bind(p.meter_interval_minutes)
        .bind(p.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Option<PrintPointRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM print_points WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn by_qr_id(&self, qr_id: &str) -> Result<Option<PrintPointRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM print_points WHERE qr_id = $1"))
            .bind(qr_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Print points with this MAC (several only when the MAC is whitelisted).
    pub async fn by_mac(&self, mac: &str) -> Result<Vec<PrintPointRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM print_points WHERE mac = $1 ORDER BY created_at"))
            .bind(mac)
            .fetch_all(&self.pool)
            .await
    }

    /// An enterprise's print points, each with its region's path ('' when it has none).
    pub async fn of_enterprise(&self, enterprise_id: &str) -> Result<Vec<(PrintPointRow, String)>, sqlx::Error> {
        let rows: Vec<PrintPointRow> =
            sqlx::query_as(&format!("SELECT {COLS} FROM print_points WHERE enterprise_id = $1 ORDER BY name, id"))
                .bind(enterprise_id)
                .fetch_all(&self.pool)
                .await?;
        let paths: Vec<(String, String)> = sqlx::query_as("SELECT id, path FROM regions WHERE enterprise_id = $1")
            .bind(enterprise_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|p| {
                let path = p
                    .region_id
                    .as_ref()
                    .and_then(|r| paths.iter().find(|(id, _)| id == r))
                    .map(|(_, path)| path.clone());
                (p, path.unwrap_or_default())
            })
            .collect())
    }

    /// The region path of one print point ('' when it has no region).
    pub async fn region_path(&self, p: &PrintPointRow) -> Result<String, sqlx::Error> {
        let Some(region) = &p.region_id else { return Ok(String::new()) };
        let path: Option<(String,)> =
            sqlx::query_as("SELECT path FROM regions WHERE id = $1").bind(region).fetch_optional(&self.pool).await?;
        Ok(path.map(|(p,)| p).unwrap_or_default())
    }

    /// Binds a print point to a gateway and records what the gateway reported of it
    /// (`device`: URI, make and model, serial number, uuid).
    pub async fn bind_gateway(
        &self,
        id: &str,
        gateway_id: &str,
        device: [&str; 4],
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let [device_uri, make_model, serial_number, printer_uuid] = device;
        sqlx::query(
            "UPDATE print_points SET gateway_id = $2, device_uri = $3, make_model = $4, serial_number = $5, \
             printer_uuid = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(id)
        .bind(gateway_id)
        .bind(device_uri)
        .bind(make_model)
        .bind(serial_number)
        .bind(printer_uuid)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_status(&self, id: &str, status: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE print_points SET status = $2, last_seen_at = $3 WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn of_gateway(&self, gateway_id: &str) -> Result<Vec<PrintPointRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM print_points WHERE gateway_id = $1 ORDER BY name, id"))
            .bind(gateway_id)
            .fetch_all(&self.pool)
            .await
    }

    // ---- printer groups ----

    pub async fn insert_group(&self, g: &PrinterGroupRow) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO printer_groups (id, enterprise_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&g.id)
            .bind(&g.enterprise_id)
            .bind(&g.name)
            .bind(g.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn group(&self, id: &str) -> Result<Option<PrinterGroupRow>, sqlx::Error> {
        sqlx::query_as("SELECT id, enterprise_id, name, created_at FROM printer_groups WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn groups_of(&self, enterprise_id: &str) -> Result<Vec<PrinterGroupRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, enterprise_id, name, created_at FROM printer_groups WHERE enterprise_id = $1 ORDER BY name",
        )
        .bind(enterprise_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Replaces a group's print points, or an admin's groups, in one transaction.
    /// Sets a group's print points and admins (a list left `None` stays) in one transaction.
    /// Each list is checked in one query — every id a print point of `enterprise_id`, every
    /// admin one of its own non-super admins — and written in one statement; the answer names
    /// the first list that holds an id that is not (nothing is written then).
    pub async fn set_group(
        &self,
        group_id: &str,
        enterprise_id: &str,
        print_point_ids: Option<&[String]>,
        admin_ids: Option<&[String]>,
    ) -> Result<Result<(), GroupMembers>, sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        let lists = [(GroupMembers::PrintPoints, print_point_ids), (GroupMembers::Admins, admin_ids)];
        for (members, ids) in lists {
            let Some(ids) = ids else { continue };
            sqlx::query(members.clear()).bind(group_id).execute(&mut *tx).await?;
            if ids.is_empty() {
                continue;
            }
            // Checked: $1 the enterprise, the ids from $2.
            let count_sql = format!(
                "SELECT COUNT(*) FROM {} AND x.id IN ({})",
                members.eligible(),
                super::placeholders(2, ids.len())
            );
            let mut count = sqlx::query_as::<_, (i64,)>(&count_sql).bind(enterprise_id);
            for id in ids {
                count = count.bind(id);
            }
            let (found,) = count.fetch_one(&mut *tx).await?;
            if usize::try_from(found).ok() != Some(ids.len()) {
                return Ok(Err(members));
            }
            // Written: $1 the enterprise, $2 the group, the ids from $3.
            let insert_sql = format!(
                "{} SELECT x.id, $2 FROM {} AND x.id IN ({})",
                members.insert(),
                members.eligible(),
                super::placeholders(3, ids.len())
            );
            let mut insert = sqlx::query(&insert_sql).bind(enterprise_id).bind(group_id);
            for id in ids {
                insert = insert.bind(id);
            }
            insert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// (print point id, group id) pairs of an enterprise.
    pub async fn memberships(&self, enterprise_id: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT m.print_point_id, m.group_id FROM print_point_groups m \
             JOIN printer_groups g ON g.id = m.group_id WHERE g.enterprise_id = $1",
        )
        .bind(enterprise_id)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn group_ids_of_point(&self, print_point_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT group_id FROM print_point_groups WHERE print_point_id = $1 ORDER BY group_id")
                .bind(print_point_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(g,)| g).collect())
    }

    /// The groups an admin is limited to (empty: not a group admin).
    pub async fn groups_of_admin(&self, admin_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT group_id FROM admin_printer_groups WHERE admin_id = $1 ORDER BY group_id")
                .bind(admin_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(g,)| g).collect())
    }

    pub async fn admins_of_group(&self, group_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT admin_id FROM admin_printer_groups WHERE group_id = $1 ORDER BY admin_id")
                .bind(group_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(a,)| a).collect())
    }

    // ---- MAC whitelist ----

    pub async fn whitelisted(&self, mac: &str) -> Result<bool, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT mac FROM mac_whitelist WHERE mac = $1").bind(mac).fetch_optional(&self.pool).await?;
        Ok(row.is_some())
    }

    /// Adds a MAC; true when it was new.
    pub async fn whitelist_add(&self, w: &WhitelistRow) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "INSERT INTO mac_whitelist (mac, note, created_by, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (mac) DO NOTHING",
        )
        .bind(w.mac)
        .bind(&w.note)
        .bind(&w.created_by)
        .bind(w.created_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn whitelist_remove(&self, mac: &str) -> Result<bool, sqlx::Error> {
        let n = sqlx::query("DELETE FROM mac_whitelist WHERE mac = $1")
            .bind(mac)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    pub async fn whitelist(&self) -> Result<Vec<WhitelistRow>, sqlx::Error> {
        sqlx::query_as("SELECT mac, note, created_by, created_at FROM mac_whitelist ORDER BY mac")
            .fetch_all(&self.pool)
            .await
    }
}

/// SQL condition: the admin `$a` is held to no print points (not a region admin, `$r` = 0, and
/// in no printer group), so sees all of an enterprise's jobs and users.
pub fn admin_unrestricted(a: u8, r: u8) -> String {
    format!("(${r} = 0 AND NOT EXISTS (SELECT 1 FROM admin_printer_groups g0 WHERE g0.admin_id = ${a}))")
}

/// SQL query: the ids of the print points the admin `$a` sees (`$r` = 1 for a region admin):
/// for a region admin those in their regions or below, for a group admin those of their
/// groups, for both the points that are both. (Region paths are made of our own ids, so a
/// prefix test needs no escaping.)
pub fn points_visible_to_admin(a: u8, r: u8) -> String {
    format!(
        "SELECT pp.id FROM print_points pp WHERE \
         (${r} = 0 OR EXISTS (SELECT 1 FROM admin_regions ar JOIN regions a ON a.id = ar.region_id \
            JOIN regions rr ON rr.id = pp.region_id \
            WHERE ar.admin_id = ${a} AND SUBSTR(rr.path, 1, LENGTH(a.path)) = a.path)) \
         AND (NOT EXISTS (SELECT 1 FROM admin_printer_groups g1 WHERE g1.admin_id = ${a}) \
            OR EXISTS (SELECT 1 FROM print_point_groups m JOIN admin_printer_groups g2 ON g2.group_id = m.group_id \
            WHERE m.print_point_id = pp.id AND g2.admin_id = ${a}))"
    )
}

/// Who is looking, for the SQL above: the admin's id and whether they are a region admin.
#[derive(Debug, Clone)]
pub struct ScopedAdmin {
    pub admin_id: String,
    pub region_admin: bool,
}

impl ScopedAdmin {
    pub fn region_flag(&self) -> i64 {
        i64::from(self.region_admin)
    }
}
