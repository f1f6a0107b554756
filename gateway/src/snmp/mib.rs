//! What the standard MIBs' numbers mean: the OIDs read, the textual conventions by name
//! (RFC 2790 HOST-RESOURCES-MIB, RFC 3805 Printer-MIB and IANA-PRINTER-MIB), the
//! `hrPrinterDetectedErrorState` bits, and the supplies and alert tables turned into the
//! link's types. Pure functions, no I/O.

use super::client::{SnmpValue, Table};
use crate::protocol::{DeviceAlert, SupplyAmount, SupplyReading};

/// sysUpTime.0 (TimeTicks, hundredths of a second).
pub const SYS_UP_TIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
/// sysObjectID.0: the vendor's OID for the model.
pub const SYS_OBJECT_ID: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 2, 0];
/// hrPrinterStatus column (hrPrinterTable, indexed by hrDeviceIndex).
pub const HR_PRINTER_STATUS: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 1];
/// hrPrinterDetectedErrorState column.
pub const HR_PRINTER_ERRORS: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2];
/// hrDeviceStatus column (hrDeviceTable).
pub const HR_DEVICE_STATUS: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 2, 1, 5];
/// prtMarkerLifeCount column (Counter32, wraps at 2^32).
pub const PRT_MARKER_LIFE_COUNT: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4];
/// prtMarkerSuppliesEntry; columns 3 colorant index, 5 type, 6 description, 7 unit,
/// 8 max capacity, 9 level.
pub const SUPPLIES_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 11, 1, 1];
pub const SUPPLIES_COLUMNS: &[u32] = &[3, 5, 6, 7, 8, 9];
/// prtMarkerColorantEntry; column 4 prtMarkerColorantValue ("black", "cyan" …).
pub const COLORANT_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 12, 1, 1];
pub const COLORANT_COLUMNS: &[u32] = &[4];
/// prtAlertEntry; columns 2 severity, 4 group, 7 code, 8 description.
pub const ALERT_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 18, 1, 1];
pub const ALERT_COLUMNS: &[u32] = &[2, 4, 7, 8];

/// hrPrinterStatus by name; the MIB defines no other values.
pub fn printer_status_name(value: i64) -> &'static str {
    match value {
        1 => "other",
        3 => "idle",
        4 => "printing",
        5 => "warmup",
        _ => "unknown",
    }
}

/// hrDeviceStatus by name.
pub fn device_status_name(value: i64) -> &'static str {
    match value {
        2 => "running",
        3 => "warning",
        4 => "testing",
        5 => "down",
        _ => "unknown",
    }
}

/// hrPrinterDetectedErrorState's bits, bit 0 first (RFC 3805 §2.2.13.4 / RFC 2790).
const ERROR_BITS: [&str; 15] = [
    "lowPaper",
    "noPaper",
    "lowToner",
    "noToner",
    "doorOpen",
    "jammed",
    "offline",
    "serviceRequested",
    "inputTrayMissing",
    "outputTrayMissing",
    "markerSupplyMissing",
    "outputNearFull",
    "outputFull",
    "inputTrayEmpty",
    "overduePreventMaint",
];

/// The set conditions of an hrPrinterDetectedErrorState value. Bit 0 is the most significant
/// bit of the first octet; agents send one octet or two (or none when all is well), and bits
/// without a name are ignored.
pub fn error_state_names(octets: &[u8]) -> Vec<String> {
    ERROR_BITS
        .iter()
        .enumerate()
        .filter(|(bit, _)| octets.get(bit / 8).is_some_and(|octet| octet & (0x80 >> (bit % 8)) != 0))
        .map(|(_, name)| (*name).to_string())
        .collect()
}

/// A name from `names` (value, name), or `<fallback>-<value>` for one the table lacks.
fn name_or(names: &[(i64, &str)], value: i64, fallback: &str) -> String {
    names.iter().find(|(v, _)| *v == value).map_or_else(|| format!("{fallback}-{value}"), |(_, n)| (*n).to_string())
}

/// PrtMarkerSuppliesTypeTC (IANA-PRINTER-MIB).
const SUPPLY_TYPES: &[(i64, &str)] = &[
    (1, "other"),
    (2, "unknown"),
    (3, "toner"),
    (4, "wasteToner"),
    (5, "ink"),
    (6, "inkCartridge"),
    (7, "inkRibbon"),
    (8, "wasteInk"),
    (9, "opc"),
    (10, "developer"),
    (11, "fuserOil"),
    (12, "solidWax"),
    (13, "ribbonWax"),
    (14, "wasteWax"),
    (15, "fuser"),
    (16, "coronaWire"),
    (17, "fuserOilWick"),
    (18, "cleanerUnit"),
    (19, "fuserCleaningPad"),
    (20, "transferUnit"),
    (21, "tonerCartridge"),
    (22, "fuserOiler"),
    (23, "water"),
    (24, "wasteWater"),
    (25, "glueWaterAdditive"),
    (26, "wastePaper"),
    (27, "bindingSupply"),
    (28, "bandingSupply"),
    (29, "stitchingWire"),
    (30, "shrinkWrap"),
    (31, "paperWrap"),
    (32, "staples"),
    (33, "inserts"),
    (34, "covers"),
];

/// PrtMarkerSuppliesSupplyUnitTC (RFC 3805; "hundrethsOfFluidOunces" is the MIB's spelling).
const SUPPLY_UNITS: &[(i64, &str)] = &[
    (1, "other"),
    (2, "unknown"),
    (3, "tenThousandthsOfInches"),
    (4, "micrometers"),
    (7, "impressions"),
    (8, "sheets"),
    (11, "hours"),
    (12, "thousandthsOfOunces"),
    (13, "tenthsOfGrams"),
    (14, "hundrethsOfFluidOunces"),
    (15, "tenthsOfMilliliters"),
    (16, "feet"),
    (17, "meters"),
    (18, "items"),
    (19, "percent"),
];

/// PrtAlertSeverityLevelTC.
const ALERT_SEVERITIES: &[(i64, &str)] =
    &[(1, "other"), (3, "critical"), (4, "warning"), (5, "warningBinaryChangeEvent")];

/// PrtAlertGroupTC (IANA-PRINTER-MIB).
const ALERT_GROUPS: &[(i64, &str)] = &[
    (1, "other"),
    (2, "unknown"),
    (3, "hostResourcesMIBStorageTable"),
    (4, "hostResourcesMIBDeviceTable"),
    (5, "generalPrinter"),
    (6, "cover"),
    (7, "localization"),
    (8, "input"),
    (9, "output"),
    (10, "marker"),
    (11, "markerSupplies"),
    (12, "markerColorant"),
    (13, "mediaPath"),
    (14, "channel"),
    (15, "interpreter"),
    (16, "consoleDisplayBuffer"),
    (17, "consoleLights"),
    (18, "alert"),
    (30, "finDevice"),
    (31, "finSupply"),
    (32, "finSupplyMediaInput"),
    (33, "finAttribute"),
];

/// PrtAlertCodeTC (IANA-PRINTER-MIB).
const ALERT_CODES: &[(i64, &str)] = &[
    (1, "other"),
    (2, "unknown"),
    (3, "coverOpen"),
    (4, "coverClosed"),
    (5, "interlockOpen"),
    (6, "interlockClosed"),
    (7, "configurationChange"),
    (8, "jam"),
    (9, "subunitMissing"),
    (10, "subunitLifeAlmostOver"),
    (11, "subunitLifeOver"),
    (12, "subunitAlmostEmpty"),
    (13, "subunitEmpty"),
    (14, "subunitAlmostFull"),
    (15, "subunitFull"),
    (16, "subunitNearLimit"),
    (17, "subunitAtLimit"),
    (18, "subunitOpened"),
    (19, "subunitClosed"),
    (20, "subunitTurnedOn"),
    (21, "subunitTurnedOff"),
    (22, "subunitOffline"),
    (23, "subunitPowerSaver"),
    (24, "subunitWarmingUp"),
    (25, "subunitAdded"),
    (26, "subunitRemoved"),
    (27, "subunitResourceAdded"),
    (28, "subunitResourceRemoved"),
    (29, "subunitRecoverableFailure"),
    (30, "subunitUnrecoverableFailure"),
    (31, "subunitRecoverableStorageError"),
    (32, "subunitUnrecoverableStorageError"),
    (33, "subunitMotorFailure"),
    (34, "subunitMemoryExhausted"),
    (35, "subunitUnderTemperature"),
    (36, "subunitOverTemperature"),
    (37, "subunitTimingFailure"),
    (38, "subunitThermistorFailure"),
    (501, "doorOpen"),
    (502, "doorClosed"),
    (503, "powerUp"),
    (504, "powerDown"),
    (505, "printerNMSReset"),
    (506, "printerManualReset"),
    (507, "printerReadyToPrint"),
    (801, "inputMediaTrayMissing"),
    (802, "inputMediaSizeChange"),
    (803, "inputMediaWeightChange"),
    (804, "inputMediaTypeChange"),
    (805, "inputMediaColorChange"),
    (806, "inputMediaFormPartsChange"),
    (807, "inputMediaSupplyLow"),
    (808, "inputMediaSupplyEmpty"),
    (809, "inputMediaChangeRequest"),
    (810, "inputManualInputRequest"),
    (811, "inputTrayPositionFailure"),
    (812, "inputTrayElevationFailure"),
    (813, "inputCannotFeedSizeSelected"),
    (901, "outputMediaTrayMissing"),
    (902, "outputMediaTrayAlmostFull"),
    (903, "outputMediaTrayFull"),
    (904, "outputMailboxSelectFailure"),
    (1001, "markerFuserUnderTemperature"),
    (1002, "markerFuserOverTemperature"),
    (1003, "markerFuserTimingFailure"),
    (1004, "markerFuserThermistorFailure"),
    (1005, "markerAdjustingPrintQuality"),
    (1101, "markerTonerEmpty"),
    (1102, "markerInkEmpty"),
    (1103, "markerPrintRibbonEmpty"),
    (1104, "markerTonerAlmostEmpty"),
    (1105, "markerInkAlmostEmpty"),
    (1106, "markerPrintRibbonAlmostEmpty"),
    (1107, "markerWasteTonerReceptacleAlmostFull"),
    (1108, "markerWasteInkReceptacleAlmostFull"),
    (1109, "markerWasteTonerReceptacleFull"),
    (1110, "markerWasteInkReceptacleFull"),
    (1111, "markerOpcLifeAlmostOver"),
    (1112, "markerOpcLifeOver"),
    (1113, "markerDeveloperAlmostEmpty"),
    (1114, "markerDeveloperEmpty"),
    (1115, "markerTonerCartridgeMissing"),
    (1301, "mediaPathMediaTrayMissing"),
    (1302, "mediaPathMediaTrayAlmostFull"),
    (1303, "mediaPathMediaTrayFull"),
    (1304, "mediaPathCannotDuplexMediaSelected"),
    (1501, "interpreterMemoryIncrease"),
    (1502, "interpreterMemoryDecrease"),
    (1503, "interpreterCartridgeAdded"),
    (1504, "interpreterCartridgeDeleted"),
    (1505, "interpreterResourceAdded"),
    (1506, "interpreterResourceDeleted"),
    (1507, "interpreterResourceUnavailable"),
    (1509, "interpreterComplexPageEncountered"),
    (1801, "alertRemovalOfBinaryChangeEntry"),
];

pub fn supply_type_name(value: i64) -> String {
    name_or(SUPPLY_TYPES, value, "type")
}

pub fn supply_unit_name(value: i64) -> String {
    name_or(SUPPLY_UNITS, value, "unit")
}

pub fn alert_severity_name(value: i64) -> String {
    name_or(ALERT_SEVERITIES, value, "severity")
}

pub fn alert_group_name(value: i64) -> String {
    name_or(ALERT_GROUPS, value, "group")
}

/// PrtAlertCodeTC by name; codes the table lacks (vendor codes) as `code-<n>`.
pub fn alert_code_name(value: i64) -> String {
    name_or(ALERT_CODES, value, "code")
}

/// A DisplayString as text: invalid UTF-8 replaced, trailing NULs and spaces (padding some
/// agents send) trimmed.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end_matches(['\0', ' ', '\r', '\n']).to_string()
}

fn integer(row: &std::collections::BTreeMap<u32, SnmpValue>, column: u32) -> Option<i64> {
    row.get(&column).and_then(SnmpValue::as_integer)
}

fn string(row: &std::collections::BTreeMap<u32, SnmpValue>, column: u32) -> String {
    row.get(&column).and_then(SnmpValue::as_bytes).map(text).unwrap_or_default()
}

/// The rows of prtMarkerSuppliesTable, each with its colorant's name looked up in
/// prtMarkerColorantTable by `prtMarkerSuppliesColorantIndex` (0: no colorant, e.g. waste) —
/// rows need not be in colour order. Rows are indexed hrDeviceIndex.supplyIndex.
pub fn supplies(table: &Table, colorants: &Table) -> Vec<SupplyReading> {
    table
        .iter()
        .filter_map(|(index, row)| {
            let (&supply_index, device) = index.split_last()?;
            let colour = integer(row, 3).filter(|&c| c > 0).and_then(|c| {
                let key: Vec<u32> = device.iter().copied().chain(u32::try_from(c).ok()).collect();
                colorants.get(&key).map(|r| string(r, 4)).filter(|name| !name.is_empty())
            });
            Some(SupplyReading {
                index: supply_index,
                description: string(row, 6),
                kind: supply_type_name(integer(row, 5).unwrap_or(2)),
                colour,
                unit: supply_unit_name(integer(row, 7).unwrap_or(2)),
                max_capacity: SupplyAmount::from_mib(integer(row, 8).unwrap_or(-2)),
                level: SupplyAmount::from_mib(integer(row, 9).unwrap_or(-2)),
            })
        })
        .collect()
}

/// The rows of prtAlertTable (indexed hrDeviceIndex.alertIndex), in index order.
pub fn alerts(table: &Table) -> Vec<DeviceAlert> {
    table
        .iter()
        .filter_map(|(index, row)| {
            Some(DeviceAlert {
                index: *index.last()?,
                severity: alert_severity_name(integer(row, 2).unwrap_or(1)),
                group: alert_group_name(integer(row, 4).unwrap_or(2)),
                code: alert_code_name(integer(row, 7).unwrap_or(2)),
                description: string(row, 8),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn row(values: &[(u32, SnmpValue)]) -> BTreeMap<u32, SnmpValue> {
        values.iter().cloned().collect()
    }

    fn s(text: &str) -> SnmpValue {
        SnmpValue::Bytes(text.as_bytes().to_vec())
    }

    #[test]
    fn error_state_bits_are_read_from_the_most_significant_bit_first() {
        assert_eq!(error_state_names(&[0x20, 0x00]), ["lowToner"]);
        assert_eq!(error_state_names(&[0x34, 0x00]), ["lowToner", "noToner", "jammed"]);
        assert_eq!(error_state_names(&[0x04, 0x00]), ["jammed"]);
        assert_eq!(error_state_names(&[0x80]), ["lowPaper"], "one octet is valid");
        assert_eq!(error_state_names(&[0x01]), ["serviceRequested"]);
        assert!(error_state_names(&[0x00]).is_empty());
        assert!(error_state_names(&[]).is_empty());
        assert_eq!(error_state_names(&[0x00, 0x80]), ["inputTrayMissing"]);
        assert_eq!(error_state_names(&[0x00, 0x02]), ["overduePreventMaint"]);
        // Bit 15 and any third octet have no name.
        assert!(error_state_names(&[0x00, 0x01, 0xff]).is_empty());
        assert_eq!(error_state_names(&[0xff, 0xff]).len(), 15);
    }

    #[test]
    fn statuses_have_their_mib_names() {
        let printer: Vec<&str> = (0..=6).map(printer_status_name).collect();
        assert_eq!(printer, ["unknown", "other", "unknown", "idle", "printing", "warmup", "unknown"]);
        let device: Vec<&str> = (0..=6).map(device_status_name).collect();
        assert_eq!(device, ["unknown", "unknown", "running", "warning", "testing", "down", "unknown"]);
    }

    #[test]
    fn textual_conventions_have_names_and_unknown_values_keep_their_number() {
        assert_eq!(supply_type_name(3), "toner");
        assert_eq!(supply_type_name(4), "wasteToner");
        assert_eq!(supply_type_name(21), "tonerCartridge");
        assert_eq!(supply_type_name(99), "type-99");
        assert_eq!(supply_unit_name(19), "percent");
        assert_eq!(supply_unit_name(13), "tenthsOfGrams");
        assert_eq!(supply_unit_name(5), "unit-5");
        assert_eq!(alert_severity_name(3), "critical");
        assert_eq!(alert_severity_name(5), "warningBinaryChangeEvent");
        assert_eq!(alert_group_name(8), "input");
        assert_eq!(alert_group_name(11), "markerSupplies");
        assert_eq!(alert_code_name(8), "jam");
        assert_eq!(alert_code_name(3), "coverOpen");
        assert_eq!(alert_code_name(1101), "markerTonerEmpty");
        assert_eq!(alert_code_name(1104), "markerTonerAlmostEmpty");
        assert_eq!(alert_code_name(1107), "markerWasteTonerReceptacleAlmostFull");
        assert_eq!(alert_code_name(40000), "code-40000");
        // Every table is sorted and free of duplicates, so each number has one name.
        for table in [SUPPLY_TYPES, SUPPLY_UNITS, ALERT_SEVERITIES, ALERT_GROUPS, ALERT_CODES] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn supplies_take_their_colour_through_the_colorant_index_and_keep_special_values() {
        let colorants: Table = [(vec![1, 1], row(&[(4, s("black"))])), (vec![1, 2], row(&[(4, s("cyan"))]))].into();
        let supplies_table: Table = [
            (vec![1, 1], row(&[(3, SnmpValue::Integer(2)), (5, SnmpValue::Integer(3)), (6, s("Toner (Cyan)"))])),
            (
                vec![1, 2],
                row(&[
                    (3, SnmpValue::Integer(0)),
                    (5, SnmpValue::Integer(4)),
                    (6, s("Waste\0")),
                    (7, SnmpValue::Integer(19)),
                    (8, SnmpValue::Integer(-2)),
                    (9, SnmpValue::Integer(-3)),
                ]),
            ),
        ]
        .into();
        let found = supplies(&supplies_table, &colorants);
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].index, found[0].colour.as_deref(), found[0].kind.as_str()), (1, Some("cyan"), "toner"));
        assert_eq!(found[0].level, SupplyAmount::Unknown, "a missing level is unknown, not zero");
        assert_eq!((found[1].colour.as_deref(), found[1].description.as_str()), (None, "Waste"));
        assert_eq!((found[1].kind.as_str(), found[1].unit.as_str()), ("wasteToner", "percent"));
        assert_eq!((found[1].max_capacity, found[1].level), (SupplyAmount::Unknown, SupplyAmount::SomeRemaining));
    }

    #[test]
    fn alerts_are_named_and_keep_their_own_index() {
        let table: Table = [(
            vec![1, 7],
            row(&[(2, SnmpValue::Integer(3)), (4, SnmpValue::Integer(8)), (7, SnmpValue::Integer(8)), (8, s("Jam"))]),
        )]
        .into();
        let found = alerts(&table);
        assert_eq!(found.len(), 1);
        let a = &found[0];
        assert_eq!((a.index, a.severity.as_str(), a.group.as_str(), a.code.as_str()), (7, "critical", "input", "jam"));
        assert_eq!(a.description, "Jam");
    }
}
