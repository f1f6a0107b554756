//! A small SNMP client over the `snmp2` crate: GET, GETNEXT and table walks, each request
//! bounded by a timeout and retried, with owned values.
//!
//! `snmp2`'s async session has neither a timeout nor retries, and after an abandoned request
//! its late reply stays in the socket, so every timeout drops the session and the next attempt
//! opens a fresh one (for SNMPv3 that includes engine discovery again). GETBULK and GETNEXT
//! run past the end of a table, so walks keep only the OIDs under each column and stop at the
//! first one outside it, at a non-increasing OID (a broken agent) or after `max_rows` rows.
//!
//! Communities and v3 keys live only inside the session: nothing here formats them, and
//! [`Client`] has no `Debug`.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use snmp2::{
    v3::{Auth, AuthProtocol, Cipher, Security},
    AsyncSession, Value,
};

use crate::protocol::{SnmpTarget, SnmpVersion};

/// An OID as its arcs (`1.3.6.1.2.1.1.3.0` → `[1, 3, 6, 1, 2, 1, 1, 3, 0]`).
pub type Oid = Vec<u32>;

/// A walked table: rows by their index (the OID after `entry.column`), then values by column.
pub type Table = BTreeMap<Oid, BTreeMap<u32, SnmpValue>>;

/// GETBULK repetitions per request: small enough for any agent's reply to fit one datagram.
const BULK_REPETITIONS: u32 = 10;
/// OIDs per GET: larger requests risk `tooBig` on small agents.
const GET_CHUNK: usize = 16;
/// SNMPv3 engine re-synchronisations (`AuthUpdated`) allowed per request before it counts as
/// a failed attempt.
const MAX_RESYNCS: u32 = 2;
/// `tooBig`: the answer would not fit one message.
const TOO_BIG: u32 = 1;
/// SNMPv1 `noSuchName`: the varbind at `error_index` does not exist.
const NO_SUCH_NAME: u32 = 2;

/// A value as the agent sent it, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnmpValue {
    Integer(i64),
    /// Counter32, Gauge32 / Unsigned32, Counter64 and TimeTicks.
    Unsigned(u64),
    Bytes(Vec<u8>),
    Oid(Oid),
    /// `noSuchObject`, `noSuchInstance` or `endOfMibView`.
    Missing,
    /// Any other type (IpAddress, Opaque …), not used here.
    Other,
}

impl SnmpValue {
    /// A count or level: non-negative integers and unsigned types.
    pub fn as_count(&self) -> Option<u64> {
        match self {
            SnmpValue::Integer(n) => u64::try_from(*n).ok(),
            SnmpValue::Unsigned(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i64> {
        match self {
            SnmpValue::Integer(n) => Some(*n),
            SnmpValue::Unsigned(n) => i64::try_from(*n).ok(),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            SnmpValue::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_oid(&self) -> Option<&[u32]> {
        match self {
            SnmpValue::Oid(o) => Some(o),
            _ => None,
        }
    }
}

/// Why a request got nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnmpError {
    /// No usable answer within the timeout, on any attempt.
    #[error("no answer ({attempts} attempts)")]
    NoAnswer { attempts: u32 },
    /// The agent answered, but SNMPv3 authentication or decryption failed (wrong user or keys).
    #[error("SNMPv3 security failed: {0}")]
    Security(String),
    /// The target cannot be read as configured.
    #[error("bad SNMP target: {0}")]
    Target(String),
}

/// One request.
#[derive(Debug, Clone)]
enum Op {
    Get(Vec<Oid>),
    Next(Oid),
    Bulk(Vec<Oid>, u32),
}

/// An answer, owned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Response {
    error_status: u32,
    error_index: u32,
    varbinds: Vec<(Oid, SnmpValue)>,
}

/// How one attempt failed.
enum Failure {
    /// No answer in time, or an answer that could not be used: try again on a fresh session.
    Lost(String),
    /// SNMPv3 engine boots/time were updated: send again on the same session.
    Resync,
    /// SNMPv3 authentication or privacy failed.
    Security(String),
}

/// A device's SNMP agent, reached with one target's version and credentials.
pub struct Client {
    host: String,
    port: u16,
    version: SnmpVersion,
    community: Vec<u8>,
    security: Option<Security>,
    timeout: Duration,
    retries: u32,
    session: Option<Box<AsyncSession>>,
}

/// Parses `1.3.6.1…` (a leading dot is allowed); `None` unless it is at least two numeric arcs.
pub fn parse_oid(text: &str) -> Option<Oid> {
    let text = text.trim();
    let text = text.strip_prefix('.').unwrap_or(text);
    let arcs: Option<Oid> = text.split('.').map(|arc| arc.parse::<u32>().ok()).collect();
    arcs.filter(|a| a.len() >= 2)
}

/// The USM user of `target`, with the protocols it names.
fn security(target: &SnmpTarget) -> Result<Security, SnmpError> {
    let Some(user) = target.v3.as_ref() else {
        return Err(SnmpError::Target("SNMPv3 needs a user".into()));
    };
    let auth = match user.auth_protocol.trim().to_ascii_lowercase().as_str() {
        "sha" | "sha1" | "sha-1" => AuthProtocol::Sha1,
        "sha224" => AuthProtocol::Sha224,
        "sha256" | "sha-256" => AuthProtocol::Sha256,
        "sha384" => AuthProtocol::Sha384,
        "sha512" => AuthProtocol::Sha512,
        // The value is not echoed: a key pasted into the wrong field must not reach the log.
        _ => return Err(SnmpError::Target("unsupported SNMPv3 authentication protocol (sha1, sha256 …)".into())),
    };
    let cipher = match user.priv_protocol.trim().to_ascii_lowercase().as_str() {
        "aes" | "aes128" | "aes-128" => Cipher::Aes128,
        _ => return Err(SnmpError::Target("unsupported SNMPv3 privacy protocol (aes128)".into())),
    };
    let privacy_password = user.priv_key.as_bytes().to_vec();
    Ok(Security::new(user.user.as_bytes(), user.auth_key.as_bytes())
        .with_auth_protocol(auth)
        .with_auth(Auth::AuthPriv { cipher, privacy_password }))
}

/// The owned form of a value from `snmp2`.
fn owned(value: &Value<'_>) -> SnmpValue {
    match value {
        Value::Integer(n) => SnmpValue::Integer(*n),
        Value::OctetString(b) => SnmpValue::Bytes(b.to_vec()),
        Value::ObjectIdentifier(o) => SnmpValue::Oid(arcs(o)),
        Value::Counter32(n) | Value::Unsigned32(n) | Value::Timeticks(n) => SnmpValue::Unsigned(u64::from(*n)),
        Value::Counter64(n) => SnmpValue::Unsigned(*n),
        Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView | Value::Null => SnmpValue::Missing,
        _ => SnmpValue::Other,
    }
}

/// The arcs of an `snmp2` OID; empty (matching no prefix) if an arc does not fit SNMP's 32 bits.
fn arcs(oid: &snmp2::Oid<'_>) -> Oid {
    oid.iter().and_then(|it| it.map(|arc| u32::try_from(arc).ok()).collect()).unwrap_or_default()
}

fn snmp2_oid(oid: &[u32]) -> Result<snmp2::Oid<'static>, snmp2::Error> {
    let wide: Vec<u64> = oid.iter().map(|&a| u64::from(a)).collect();
    snmp2::Oid::from(&wide).map_err(|_| snmp2::Error::ValueOutOfRange)
}

/// Sends `op` on `session` and copies the answer out of the session's buffer.
async fn send(session: &mut AsyncSession, op: &Op) -> Result<Response, snmp2::Error> {
    let pdu = match op {
        Op::Get(oids) => {
            let oids = oids.iter().map(|o| snmp2_oid(o)).collect::<Result<Vec<_>, _>>()?;
            session.get_many(&oids.iter().collect::<Vec<_>>()).await?
        }
        Op::Next(oid) => session.getnext(&snmp2_oid(oid)?).await?,
        Op::Bulk(oids, repetitions) => {
            let oids = oids.iter().map(|o| snmp2_oid(o)).collect::<Result<Vec<_>, _>>()?;
            session.getbulk(&oids.iter().collect::<Vec<_>>(), 0, *repetitions).await?
        }
    };
    let varbinds = pdu.varbinds.clone().map(|(oid, value)| (arcs(&oid), owned(&value))).collect();
    Ok(Response { error_status: pdu.error_status, error_index: pdu.error_index, varbinds })
}

fn classify(error: snmp2::Error) -> Failure {
    match error {
        snmp2::Error::AuthUpdated => Failure::Resync,
        snmp2::Error::AuthFailure(kind) => Failure::Security(kind.to_string()),
        // The crypto error text names the cipher step, never a key; keep it generic anyway.
        snmp2::Error::Crypto(_) => Failure::Security("decryption failed".into()),
        other => Failure::Lost(other.to_string()),
    }
}

impl Client {
    /// A client for `target`; nothing is sent yet. Each request waits `timeout` per attempt
    /// and makes `retries` more attempts.
    pub fn new(target: &SnmpTarget, timeout: Duration, retries: u32) -> Result<Client, SnmpError> {
        let security = match target.version {
            SnmpVersion::V3 => Some(security(target)?),
            SnmpVersion::V1 | SnmpVersion::V2c => None,
        };
        // "public" is every printer's factory default community.
        let community = target.community.as_deref().unwrap_or("public").as_bytes().to_vec();
        let host = target.host.trim().trim_start_matches('[').trim_end_matches(']').to_string();
        Ok(Client {
            host,
            port: target.port,
            version: target.version,
            community,
            security,
            timeout,
            retries,
            session: None,
        })
    }

    /// Opens a session (SNMPv3: discovers the engine and its time).
    async fn connect(&self) -> Result<Box<AsyncSession>, snmp2::Error> {
        let addr = (self.host.as_str(), self.port);
        // Random first request id: replies meant for an earlier session never match.
        let req_id = rand::random::<i32>() & 0x3fff_ffff;
        let opened = match (self.version, &self.security) {
            (SnmpVersion::V1, _) => AsyncSession::new_v1(addr, &self.community, req_id).await,
            (SnmpVersion::V2c, _) => AsyncSession::new_v2c(addr, &self.community, req_id).await,
            (SnmpVersion::V3, Some(security)) => AsyncSession::new_v3(addr, req_id, security.clone()).await,
            (SnmpVersion::V3, None) => {
                return Err(snmp2::Error::AuthFailure(snmp2::v3::AuthErrorKind::SecurityNotProvided))
            }
        };
        let mut session = Box::new(opened.map_err(|_| snmp2::Error::Send)?);
        session.init().await?;
        Ok(session)
    }

    /// One attempt at `op`: a session (reused or new) and the request, within the timeout each.
    async fn attempt(&mut self, op: &Op) -> Result<Response, Failure> {
        let timeout = self.timeout;
        if self.session.is_none() {
            match tokio::time::timeout(timeout, self.connect()).await {
                Ok(Ok(session)) => self.session = Some(session),
                Ok(Err(e)) => return Err(classify(e)),
                Err(_) => return Err(Failure::Lost("timed out".into())),
            }
        }
        let Some(session) = self.session.as_mut() else {
            return Err(Failure::Lost("no session".into()));
        };
        match tokio::time::timeout(timeout, send(session, op)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(classify(e)),
            Err(_) => Err(Failure::Lost("timed out".into())),
        }
    }

    /// `op` with retries; a session that failed is dropped so the next attempt starts clean.
    async fn request(&mut self, op: &Op) -> Result<Response, SnmpError> {
        let (mut attempts, mut resyncs) = (0, 0);
        let mut last = SnmpError::NoAnswer { attempts: 0 };
        while attempts <= self.retries {
            match self.attempt(op).await {
                Ok(response) => return Ok(response),
                Err(Failure::Resync) if resyncs < MAX_RESYNCS => resyncs += 1,
                Err(failure) => {
                    self.session = None;
                    attempts += 1;
                    last = match failure {
                        Failure::Security(why) => SnmpError::Security(why),
                        Failure::Lost(why) => {
                            tracing::debug!(host = %self.host, port = self.port, attempt = attempts, %why, "SNMP attempt failed");
                            SnmpError::NoAnswer { attempts }
                        }
                        Failure::Resync => SnmpError::NoAnswer { attempts },
                    };
                }
            }
        }
        Err(last)
    }

    /// The values of `oids` that exist (absent: the agent does not have them).
    pub async fn get(&mut self, oids: &[Oid]) -> Result<HashMap<Oid, SnmpValue>, SnmpError> {
        let mut values = HashMap::new();
        for chunk in oids.chunks(GET_CHUNK) {
            let mut pending = chunk.to_vec();
            // SNMPv1 refuses a whole GET for one unknown OID: drop it and ask again.
            while !pending.is_empty() {
                let response = self.request(&Op::Get(pending.clone())).await?;
                let index = usize::try_from(response.error_index).unwrap_or(0);
                match response.error_status {
                    0 => {
                        values.extend(response.varbinds.into_iter().filter(|(_, v)| *v != SnmpValue::Missing));
                        break;
                    }
                    NO_SUCH_NAME if (1..=pending.len()).contains(&index) => {
                        pending.remove(index - 1);
                    }
                    // tooBig, genErr …: this chunk stays unknown.
                    _ => break,
                }
            }
        }
        Ok(values)
    }

    /// The first OID after `oid` and its value, if it lies under `oid`.
    pub async fn next_under(&mut self, oid: &[u32]) -> Result<Option<(Oid, SnmpValue)>, SnmpError> {
        let response = self.request(&Op::Next(oid.to_vec())).await?;
        if response.error_status != 0 {
            return Ok(None);
        }
        Ok(response
            .varbinds
            .into_iter()
            .next()
            .filter(|(o, v)| o.starts_with(oid) && o.len() > oid.len() && *v != SnmpValue::Missing))
    }

    /// The `columns` of the table whose entry OID is `entry`, at most `max_rows` rows each.
    pub async fn walk(&mut self, entry: &[u32], columns: &[u32], max_rows: usize) -> Result<Table, SnmpError> {
        let mut walk = Walk::new(entry, columns, max_rows);
        // SNMPv1 has no GETBULK, and `snmp2`'s GETNEXT takes one OID: a column at a time.
        let v1 = self.version == SnmpVersion::V1;
        let (mut width, mut repetitions) = (if v1 { 1 } else { columns.len() }, BULK_REPETITIONS);
        // Each answer adds a row to a column, ends one or makes the next request smaller; the
        // cap is a second guard against an agent that never ends.
        let cap = (max_rows + 2) * columns.len() + 8;
        for _ in 0..cap {
            let mut active = walk.active();
            if active.is_empty() {
                break;
            }
            active.truncate(width);
            let op = if v1 {
                Op::Next(active[0].1.clone())
            } else {
                Op::Bulk(active.iter().map(|(_, cursor)| cursor.clone()).collect(), repetitions)
            };
            let response = self.request(&op).await?;
            // An older agent answers tooBig instead of a shorter GETBULK: ask for less.
            if !v1 && response.error_status == TOO_BIG && (repetitions > 1 || width > 1) {
                (width, repetitions) = if repetitions > 1 { (width, repetitions / 2) } else { (1, 1) };
                continue;
            }
            walk.absorb(&active, &response);
        }
        Ok(walk.table)
    }
}

/// The state of a walk over some columns of one table.
struct Walk {
    prefixes: Vec<Oid>,
    columns: Vec<u32>,
    cursors: Vec<Oid>,
    rows: Vec<usize>,
    done: Vec<bool>,
    max_rows: usize,
    table: Table,
}

impl Walk {
    fn new(entry: &[u32], columns: &[u32], max_rows: usize) -> Walk {
        let prefixes: Vec<Oid> = columns.iter().map(|&c| [entry, &[c]].concat()).collect();
        Walk {
            cursors: prefixes.clone(),
            prefixes,
            columns: columns.to_vec(),
            rows: vec![0; columns.len()],
            done: vec![max_rows == 0; columns.len()],
            max_rows,
            table: Table::new(),
        }
    }

    /// The columns still being walked, with the OID to continue from.
    fn active(&self) -> Vec<(usize, Oid)> {
        (0..self.columns.len()).filter(|&c| !self.done[c]).map(|c| (c, self.cursors[c].clone())).collect()
    }

    /// Takes in the answer to a request for the `asked` columns: its varbinds come column by
    /// column, repetition after repetition.
    fn absorb(&mut self, asked: &[(usize, Oid)], response: &Response) {
        if response.error_status != 0 || response.varbinds.is_empty() {
            // v1 `noSuchName` on GETNEXT is the end of the MIB; any other error ends the walk.
            asked.iter().for_each(|&(c, _)| self.done[c] = true);
            return;
        }
        for (k, (oid, value)) in response.varbinds.iter().enumerate() {
            let c = asked[k % asked.len()].0;
            if self.done[c] {
                continue;
            }
            let prefix = &self.prefixes[c];
            let fresh = oid.len() > prefix.len() && oid.starts_with(prefix) && *oid > self.cursors[c];
            if !fresh || *value == SnmpValue::Missing {
                self.done[c] = true;
                continue;
            }
            self.table.entry(oid[prefix.len()..].to_vec()).or_default().insert(self.columns[c], value.clone());
            self.cursors[c] = oid.clone();
            self.rows[c] += 1;
            self.done[c] = self.rows[c] >= self.max_rows;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(text: &str) -> Oid {
        parse_oid(text).unwrap_or_default()
    }

    fn response(varbinds: &[(&str, SnmpValue)]) -> Response {
        Response { varbinds: varbinds.iter().map(|(o, v)| (oid(o), v.clone())).collect(), ..Response::default() }
    }

    #[test]
    fn oids_parse_from_dotted_text() {
        assert_eq!(parse_oid("1.3.6.1.2.1.1.3.0"), Some(vec![1, 3, 6, 1, 2, 1, 1, 3, 0]));
        assert_eq!(parse_oid(".1.3.6"), Some(vec![1, 3, 6]));
        assert_eq!(parse_oid("1"), None);
        assert_eq!(parse_oid("1.3.x"), None);
        assert_eq!(parse_oid("1..3"), None);
        assert_eq!(parse_oid("1.3.4294967296"), None, "arcs are 32-bit");
    }

    #[test]
    fn a_bulk_answer_fills_columns_by_position_and_stops_each_at_its_end() {
        let mut walk = Walk::new(&[1, 9], &[3, 5], 256);
        let asked = walk.active();
        walk.absorb(
            &asked,
            &response(&[
                ("1.9.3.1.1", SnmpValue::Integer(1)),
                ("1.9.5.1.1", SnmpValue::Integer(62)),
                ("1.9.3.1.2", SnmpValue::Integer(2)),
                ("1.9.5.1.2", SnmpValue::Integer(-3)),
                // Column 3 ends (the next OID is column 4); column 5 runs past the table.
                ("1.9.4.1.1", SnmpValue::Integer(3)),
                ("1.10.1.0", SnmpValue::Integer(9)),
                ("1.10.2.0", SnmpValue::Integer(9)),
                ("1.10.3.0", SnmpValue::Integer(9)),
            ]),
        );
        assert!(walk.active().is_empty());
        assert_eq!(walk.table.len(), 2);
        assert_eq!(walk.table[&vec![1, 2]][&5], SnmpValue::Integer(-3));
        assert_eq!(walk.table[&vec![1, 1]].len(), 2);
    }

    #[test]
    fn a_walk_continues_from_its_cursors_and_is_bounded() {
        let mut walk = Walk::new(&[1, 9], &[3], 2);
        let asked = walk.active();
        walk.absorb(&asked, &response(&[("1.9.3.1.1", SnmpValue::Integer(1))]));
        assert_eq!(walk.active(), vec![(0, oid("1.9.3.1.1"))], "continues after the last row");
        // A broken agent repeating an OID ends the column rather than looping.
        let asked = walk.active();
        walk.absorb(&asked, &response(&[("1.9.3.1.1", SnmpValue::Integer(1))]));
        assert!(walk.active().is_empty());

        let mut bounded = Walk::new(&[1, 9], &[3], 2);
        let asked = bounded.active();
        let many: Vec<(String, SnmpValue)> = (1..=5).map(|i| (format!("1.9.3.1.{i}"), SnmpValue::Integer(i))).collect();
        let many: Vec<(&str, SnmpValue)> = many.iter().map(|(o, v)| (o.as_str(), v.clone())).collect();
        bounded.absorb(&asked, &response(&many));
        assert_eq!(bounded.table.len(), 2, "at most max_rows rows");
        assert!(bounded.active().is_empty());
    }

    #[test]
    fn errors_and_end_of_mib_end_a_walk() {
        let mut walk = Walk::new(&[1, 9], &[3, 4], 10);
        let asked = walk.active();
        walk.absorb(&asked, &Response { error_status: NO_SUCH_NAME, error_index: 1, varbinds: vec![] });
        assert!(walk.active().is_empty());

        let mut walk = Walk::new(&[1, 9], &[3], 10);
        let asked = walk.active();
        walk.absorb(&asked, &response(&[("1.9.3.1.1", SnmpValue::Missing)]));
        assert!(walk.active().is_empty() && walk.table.is_empty());
    }

    #[test]
    fn values_read_as_counts_only_when_non_negative() {
        assert_eq!(SnmpValue::Integer(5).as_count(), Some(5));
        assert_eq!(SnmpValue::Integer(-3).as_count(), None);
        assert_eq!(SnmpValue::Unsigned(4_294_967_000).as_count(), Some(4_294_967_000));
        assert_eq!(SnmpValue::Bytes(vec![1]).as_count(), None);
        assert_eq!(SnmpValue::Unsigned(7).as_integer(), Some(7));
    }

    #[test]
    fn v3_protocols_are_checked_before_anything_is_sent() {
        let user = |auth: &str, privacy: &str| SnmpTarget {
            host: "127.0.0.1".into(),
            port: 161,
            version: SnmpVersion::V3,
            community: None,
            v3: Some(crate::protocol::SnmpV3User {
                user: "u".into(),
                auth_protocol: auth.into(),
                auth_key: "authpass1".into(),
                priv_protocol: privacy.into(),
                priv_key: "privpass1".into(),
            }),
        };
        let t = Duration::from_millis(10);
        assert!(Client::new(&user("sha1", "aes128"), t, 0).is_ok());
        assert!(Client::new(&user("SHA256", "AES"), t, 0).is_ok());
        assert!(matches!(Client::new(&user("md5", "aes128"), t, 0), Err(SnmpError::Target(_))));
        assert!(matches!(Client::new(&user("sha1", "des"), t, 0), Err(SnmpError::Target(_))));
        let mut no_user = user("sha1", "aes128");
        no_user.v3 = None;
        assert!(matches!(Client::new(&no_user, t, 0), Err(SnmpError::Target(_))));
    }

    /// A scripted SNMPv2c agent on loopback, to make the failures snmpsim cannot: lost
    /// answers, `tooBig`, and a table that never ends.
    mod fake {
        use super::*;
        use std::sync::{Arc, Mutex};

        #[derive(Default)]
        pub struct Script {
            pub data: BTreeMap<Oid, i64>,
            /// Requests ignored before the agent starts answering.
            pub drop_first: usize,
            /// Answers with more varbinds than this are refused with `tooBig`.
            pub max_varbinds: Option<usize>,
            /// Every GETNEXT/GETBULK is answered with a row after the cursor, forever.
            pub endless: bool,
        }

        /// What the agent saw: the source port of each request, and each GETBULK's repetitions.
        #[derive(Default)]
        pub struct Seen {
            pub ports: Vec<u16>,
            pub repetitions: Vec<u32>,
        }

        fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
            let len = content.len();
            let mut out = vec![tag];
            match u8::try_from(len) {
                Ok(short) if short < 0x80 => out.push(short),
                _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
            }
            out.extend_from_slice(content);
            out
        }

        fn int(n: i64) -> Vec<u8> {
            let bytes = n.to_be_bytes();
            let mut start = 0;
            while start < 7
                && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
                    || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
            {
                start += 1;
            }
            tlv(0x02, &bytes[start..])
        }

        fn varbind(oid: &[u32], value: Option<i64>) -> Vec<u8> {
            let encoded = snmp2_oid(oid).map(|o| o.as_bytes().to_vec()).unwrap_or_default();
            let value = value.map_or_else(|| vec![0x82, 0], int); // endOfMibView
            tlv(0x30, &[tlv(0x06, &encoded), value].concat())
        }

        fn response(req_id: i32, status: i64, varbinds: &[(Oid, Option<i64>)]) -> Vec<u8> {
            let list: Vec<u8> = varbinds.iter().flat_map(|(o, v)| varbind(o, *v)).collect();
            let pdu = [int(req_id.into()), int(status), int(0), tlv(0x30, &list)].concat();
            tlv(0x30, &[int(1), tlv(0x04, b"public"), tlv(0xa2, &pdu)].concat())
        }

        fn next(script: &Script, cursor: &[u32]) -> (Oid, Option<i64>) {
            if script.endless {
                return ([cursor, &[1]].concat(), Some(1));
            }
            let found =
                script.data.range::<[u32], _>((std::ops::Bound::Excluded(cursor), std::ops::Bound::Unbounded)).next();
            found.map_or((cursor.to_vec(), None), |(o, v)| (o.clone(), Some(*v)))
        }

        /// The answer to one request, or `None` to stay silent.
        fn answer(script: &Script, seen: &mut Seen, bytes: &[u8], port: u16) -> Option<Vec<u8>> {
            let pdu = snmp2::Pdu::from_bytes(bytes).ok()?;
            seen.ports.push(port);
            if seen.ports.len() <= script.drop_first {
                return None;
            }
            let asked: Vec<Oid> = pdu.varbinds.clone().map(|(o, _)| arcs(&o)).collect();
            let mut out = Vec::new();
            match pdu.message_type {
                snmp2::MessageType::GetRequest => {
                    out.extend(asked.iter().map(|o| (o.clone(), script.data.get(o).copied())));
                }
                snmp2::MessageType::GetNextRequest => out.extend(asked.iter().map(|o| next(script, o))),
                snmp2::MessageType::GetBulkRequest => {
                    seen.repetitions.push(pdu.error_index);
                    let mut cursors = asked.clone();
                    for _ in 0..pdu.error_index {
                        for cursor in &mut cursors {
                            let (oid, value) = next(script, cursor);
                            *cursor = oid.clone();
                            out.push((oid, value));
                        }
                    }
                }
                _ => return None,
            }
            if script.max_varbinds.is_some_and(|max| out.len() > max) {
                return Some(response(pdu.req_id, 1, &[]));
            }
            Some(response(pdu.req_id, 0, &out))
        }

        /// Starts the agent; its address and what it saw.
        pub async fn start(script: Script) -> (u16, Arc<Mutex<Seen>>) {
            let Ok(socket) = tokio::net::UdpSocket::bind("127.0.0.1:0").await else { panic!("bind") };
            let port = socket.local_addr().map_or(0, |a| a.port());
            let seen = Arc::new(Mutex::new(Seen::default()));
            let log = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65_536];
                while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                    let reply = log.lock().ok().and_then(|mut seen| answer(&script, &mut seen, &buf[..n], from.port()));
                    if let Some(reply) = reply {
                        let _ = socket.send_to(&reply, from).await;
                    }
                }
            });
            (port, seen)
        }
    }

    fn v2c(port: u16) -> SnmpTarget {
        SnmpTarget { host: "127.0.0.1".into(), port, version: SnmpVersion::V2c, community: None, v3: None }
    }

    fn table(columns: &[u32], rows: u32) -> BTreeMap<Oid, i64> {
        let cells =
            columns.iter().flat_map(|&c| (1..=rows).map(move |r| (vec![1, 9, c, 1, r], i64::from(c * 100 + r))));
        cells.chain([(vec![1, 10, 1], 0)]).collect()
    }

    #[tokio::test]
    async fn a_lost_answer_is_asked_again_on_a_fresh_session() {
        let (port, seen) =
            fake::start(fake::Script { data: table(&[3], 1), drop_first: 1, ..Default::default() }).await;
        let Ok(mut client) = Client::new(&v2c(port), Duration::from_millis(300), 1) else { panic!("client") };
        let values = client.get(&[oid("1.9.3.1.1")]).await;
        assert_eq!(values.ok().and_then(|v| v.get(&oid("1.9.3.1.1")).cloned()), Some(SnmpValue::Integer(301)));
        let ports = seen.lock().map(|s| s.ports.clone()).unwrap_or_default();
        assert_eq!(ports.len(), 2);
        assert_ne!(ports[0], ports[1], "the retry comes from a new socket, so a late answer cannot be mistaken");
    }

    #[tokio::test]
    async fn an_agent_that_never_answers_costs_timeout_times_attempts() {
        let (port, seen) = fake::start(fake::Script { drop_first: usize::MAX, ..Default::default() }).await;
        let Ok(mut client) = Client::new(&v2c(port), Duration::from_millis(150), 2) else { panic!("client") };
        let started = std::time::Instant::now();
        let result = client.get(&[oid("1.9.3.1.1")]).await;
        let took = started.elapsed();
        assert_eq!(result, Err(SnmpError::NoAnswer { attempts: 3 }));
        assert!(took >= Duration::from_millis(440) && took < Duration::from_millis(1500), "{took:?}");
        assert_eq!(seen.lock().map(|s| s.ports.len()).unwrap_or_default(), 3);
    }

    #[tokio::test]
    async fn too_big_makes_a_walk_ask_for_less() {
        let script = fake::Script { data: table(&[3, 5], 5), max_varbinds: Some(4), ..Default::default() };
        let (port, seen) = fake::start(script).await;
        let Ok(mut client) = Client::new(&v2c(port), Duration::from_millis(500), 0) else { panic!("client") };
        let walked = client.walk(&[1, 9], &[3, 5], 256).await.unwrap_or_default();
        assert_eq!(walked.len(), 5);
        assert!(walked.values().all(|row| row.len() == 2));
        assert_eq!(walked[&vec![1, 5]][&5], SnmpValue::Integer(505));
        let repetitions = seen.lock().map(|s| s.repetitions.clone()).unwrap_or_default();
        assert_eq!(&repetitions[..3], [10, 5, 2], "halved until the answer fits");
    }

    #[tokio::test]
    async fn a_table_that_never_ends_stops_at_max_rows() {
        let (port, _) = fake::start(fake::Script { endless: true, ..Default::default() }).await;
        for version in [SnmpVersion::V2c, SnmpVersion::V1] {
            let target = SnmpTarget { version, ..v2c(port) };
            let Ok(mut client) = Client::new(&target, Duration::from_millis(500), 0) else { panic!("client") };
            let walked = client.walk(&[1, 9], &[3], 40).await.unwrap_or_default();
            assert_eq!(walked.len(), 40, "{version:?}");
        }
    }
}
