//! Vendor counters as data: which private OIDs give a device's mono / colour / print / copy /
//! scan / fax counters, chosen by its sysObjectID. The built-in table is `vendors.toml` beside
//! this file; a dealer's file of the same shape adds models or replaces entries, so a new model
//! needs no code change.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::LazyLock,
};

use serde::Deserialize;

use super::client::{parse_oid, Oid, SnmpValue};
use crate::protocol::Counters;

const BUILTIN: &str = include_str!("vendors.toml");

/// What is wrong with a vendor table.
#[derive(Debug, thiserror::Error)]
pub enum VendorTableError {
    #[error("cannot read the vendor table {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the vendor table is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("vendor `{vendor}`: `{oid}` is not an OID (digits separated by dots)")]
    BadOid { vendor: String, oid: String },
}

/// The vendors known to the gateway, each with the counters it publishes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorTable {
    entries: Vec<VendorEntry>,
}

/// One vendor (or model line): the sysObjectID prefix it matches and its counter OIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorEntry {
    pub name: String,
    pub sys_object_id: Oid,
    pub counters: VendorCounters,
}

/// Per counter, the OIDs whose values add up to it (empty: the vendor publishes none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorCounters {
    pub total: Vec<Oid>,
    pub mono: Vec<Oid>,
    pub colour: Vec<Oid>,
    pub print: Vec<Oid>,
    pub copy: Vec<Oid>,
    pub scan: Vec<Oid>,
    pub fax: Vec<Oid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    vendor: Vec<EntryShape>,
}

// Unknown keys are refused so that a dealer's typo (`colour` vs `color`) is an error, not a
// counter that silently never appears.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryShape {
    name: String,
    sys_object_id: String,
    #[serde(default)]
    counters: CountersShape,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CountersShape {
    #[serde(default)]
    total: Vec<String>,
    #[serde(default)]
    mono: Vec<String>,
    #[serde(default)]
    colour: Vec<String>,
    #[serde(default)]
    print: Vec<String>,
    #[serde(default)]
    copy: Vec<String>,
    #[serde(default)]
    scan: Vec<String>,
    #[serde(default)]
    fax: Vec<String>,
}

/// The built-in table, with the entries of `override_path` (if any) taking precedence: an entry
/// there with the same `sys_object_id` replaces the built-in one, others are added.
pub fn vendor_table(override_path: Option<&Path>) -> Result<VendorTable, VendorTableError> {
    let mut table = VendorTable::parse(BUILTIN)?;
    if let Some(path) = override_path {
        let text = std::fs::read_to_string(path)
            .map_err(|source| VendorTableError::Read { path: path.to_path_buf(), source })?;
        table.merge(VendorTable::parse(&text)?);
    }
    Ok(table)
}

static BUILTIN_TABLE: LazyLock<VendorTable> = LazyLock::new(|| {
    // The embedded file is checked by a unit test; should it ever fail, readings go on with
    // Printer-MIB counters only rather than stopping the gateway.
    VendorTable::parse(BUILTIN).unwrap_or_default()
});

impl VendorTable {
    /// The table compiled into the gateway (`vendors.toml`).
    pub fn builtin() -> &'static VendorTable {
        &BUILTIN_TABLE
    }

    /// Parses a table in the `vendors.toml` shape.
    pub fn parse(text: &str) -> Result<VendorTable, VendorTableError> {
        let shape: FileShape = toml::from_str(text)?;
        let entries = shape.vendor.into_iter().map(VendorEntry::from_shape).collect::<Result<_, _>>()?;
        Ok(VendorTable { entries })
    }

    /// Adds `other`'s entries; one with the same prefix as an existing entry replaces it.
    pub fn merge(&mut self, other: VendorTable) {
        for entry in other.entries {
            self.entries.retain(|e| e.sys_object_id != entry.sys_object_id);
            self.entries.push(entry);
        }
    }

    /// The entry for a device whose sysObjectID is `sys_object_id`: the longest matching prefix.
    pub fn lookup(&self, sys_object_id: &[u32]) -> Option<&VendorEntry> {
        self.entries
            .iter()
            .filter(|e| sys_object_id.starts_with(&e.sys_object_id))
            .max_by_key(|e| e.sys_object_id.len())
    }

    pub fn entries(&self) -> &[VendorEntry] {
        &self.entries
    }
}

impl VendorEntry {
    fn from_shape(shape: EntryShape) -> Result<VendorEntry, VendorTableError> {
        let name = shape.name;
        let one =
            |text: String| parse_oid(&text).ok_or_else(|| VendorTableError::BadOid { vendor: name.clone(), oid: text });
        let oids = |list: Vec<String>| list.into_iter().map(one).collect::<Result<Vec<Oid>, _>>();
        let sys_object_id = one(shape.sys_object_id)?;
        let c = shape.counters;
        let counters = VendorCounters {
            total: oids(c.total)?,
            mono: oids(c.mono)?,
            colour: oids(c.colour)?,
            print: oids(c.print)?,
            copy: oids(c.copy)?,
            scan: oids(c.scan)?,
            fax: oids(c.fax)?,
        };
        Ok(VendorEntry { name, sys_object_id, counters })
    }

    /// Every OID to ask the device for, once each.
    pub fn oids(&self) -> Vec<Oid> {
        let c = &self.counters;
        let mut all: Vec<Oid> =
            [&c.total, &c.mono, &c.colour, &c.print, &c.copy, &c.scan, &c.fax].into_iter().flatten().cloned().collect();
        all.sort();
        all.dedup();
        all
    }

    /// The counters from the device's answers (`values` by OID); `total` is the vendor's own.
    pub fn counters(&self, values: &HashMap<Oid, SnmpValue>) -> Counters {
        let c = &self.counters;
        Counters {
            total: sum(&c.total, values),
            mono: sum(&c.mono, values),
            colour: sum(&c.colour, values),
            print: sum(&c.print, values),
            copy: sum(&c.copy, values),
            scan: sum(&c.scan, values),
            fax: sum(&c.fax, values),
        }
    }
}

/// The sum of the answered, non-negative values of `oids`; absent when none answered.
fn sum(oids: &[Oid], values: &HashMap<Oid, SnmpValue>) -> Option<u64> {
    oids.iter().filter_map(|oid| values.get(oid).and_then(SnmpValue::as_count)).reduce(u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(text: &str) -> Oid {
        parse_oid(text).unwrap_or_default()
    }

    #[test]
    fn the_builtin_table_parses_and_names_the_six_vendors_in_order() {
        let table = VendorTable::parse(BUILTIN).unwrap_or_default();
        let names: Vec<&str> = table.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["Toshiba e-STUDIO", "HP", "Ricoh", "Canon", "Kyocera", "Konica Minolta"]);
        assert_eq!(VendorTable::builtin(), &table);
        let toshiba = table.lookup(&oid("1.3.6.1.4.1.1129.2.3.45.1")).map(|e| e.name.as_str());
        assert_eq!(toshiba, Some("Toshiba e-STUDIO"));
        assert_eq!(table.lookup(&oid("1.3.6.1.4.1.11.2.3.9.1")).map(|e| e.name.as_str()), Some("HP"));
        // 1.3.6.1.4.1.110 is not HP's 11: prefixes match whole arcs.
        assert_eq!(table.lookup(&oid("1.3.6.1.4.1.110.1")), None);
        assert_eq!(table.lookup(&oid("1.3.6.1.4.1.1347.41")).map(|e| e.name.as_str()), Some("Kyocera"));
    }

    #[test]
    fn counters_add_up_their_oids_and_skip_missing_and_negative_values() {
        let table = VendorTable::parse(
            r#"
            [[vendor]]
            name = "X"
            sys_object_id = "1.3.6.1.4.1.9999"
            [vendor.counters]
            mono = ["1.9.1", "1.9.2"]
            colour = ["1.9.3", "1.9.4"]
            fax = ["1.9.5"]
            "#,
        )
        .unwrap_or_default();
        let entry = table.lookup(&oid("1.3.6.1.4.1.9999.7")).cloned().unwrap_or_else(|| panic!("no entry"));
        assert_eq!(entry.oids().len(), 5);
        let values: HashMap<Oid, SnmpValue> = [
            (oid("1.9.1"), SnmpValue::Integer(10)),
            (oid("1.9.2"), SnmpValue::Unsigned(5)),
            (oid("1.9.3"), SnmpValue::Integer(-1)),
            (oid("1.9.4"), SnmpValue::Integer(7)),
            (oid("1.9.5"), SnmpValue::Missing),
        ]
        .into_iter()
        .collect();
        let counters = entry.counters(&values);
        assert_eq!(counters.mono, Some(15));
        assert_eq!(counters.colour, Some(7), "-1 means not applicable");
        assert_eq!(counters.fax, None, "no answer is no counter, not zero");
        assert_eq!(counters.print, None);
    }

    #[test]
    fn an_override_adds_models_and_replaces_an_entry_with_the_same_prefix() {
        let dir = std::env::temp_dir().join(format!("yunyin-vendors-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("vendors.toml");
        let text = "[[vendor]]\nname = \"HP (dealer)\"\nsys_object_id = \"1.3.6.1.4.1.11\"\n\
                    [vendor.counters]\nmono = [\"1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.6.0\"]\n\n\
                    [[vendor]]\nname = \"Toshiba 2515AC\"\nsys_object_id = \"1.3.6.1.4.1.1129.2.3.45\"\n";
        assert!(std::fs::write(&path, text).is_ok());
        let table = vendor_table(Some(&path)).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        let hp = table.lookup(&oid("1.3.6.1.4.1.11.2.3.9.1")).map(|e| (e.name.as_str(), e.counters.mono.len()));
        assert_eq!(hp, Some(("HP (dealer)", 1)));
        assert_eq!(table.entries().iter().filter(|e| e.name.starts_with("HP")).count(), 1);
        // The longer prefix wins over the enterprise entry.
        let model = table.lookup(&oid("1.3.6.1.4.1.1129.2.3.45.1")).map(|e| e.name.as_str());
        assert_eq!(model, Some("Toshiba 2515AC"));
        assert_eq!(table.lookup(&oid("1.3.6.1.4.1.1129.2.3.46.1")).map(|e| e.name.as_str()), Some("Toshiba e-STUDIO"));
    }

    #[test]
    fn bad_tables_are_refused_with_a_reason() {
        let typo =
            "[[vendor]]\nname = \"X\"\nsys_object_id = \"1.3.6.1.4.1.5\"\n[vendor.counters]\ncolor = [\"1.2\"]\n";
        assert!(matches!(VendorTable::parse(typo), Err(VendorTableError::Syntax(_))));
        let bad =
            "[[vendor]]\nname = \"X\"\nsys_object_id = \"1.3.6.1.4.1.5\"\n[vendor.counters]\nmono = [\"1.3.x\"]\n";
        assert!(matches!(VendorTable::parse(bad), Err(VendorTableError::BadOid { .. })));
        let missing = vendor_table(Some(Path::new("/nonexistent/yunyin/vendors.toml")));
        assert!(matches!(missing, Err(VendorTableError::Read { .. })));
    }
}
