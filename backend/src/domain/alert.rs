//! Cloud O&M alerts (告警): the catalogue of alert types with stable codes, the three alert
//! levels (预警级别), and which conditions a device reading shows. A reading shows conditions
//! three ways — hrPrinterDetectedErrorState's bits, supply levels, the device's own alert
//! table (prtAlertTable) — and each maps onto one catalogue type, so a jam the device reports
//! twice over is one alert.

use std::collections::BTreeMap;

use super::{SupplyAmount, SupplyReading, ValueError};

/// An alert type. The names are stable codes: the API, the database and admins' level
/// settings use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum AlertType {
    Offline,
    Jam,
    DoorOpen,
    TonerLow,
    TonerEmpty,
    PaperLow,
    PaperEmpty,
    InputTrayMissing,
    OutputTrayMissing,
    OutputNearFull,
    OutputFull,
    WasteTonerNearFull,
    WasteTonerFull,
    SupplyMissing,
    DrumNearEnd,
    DrumEnd,
    FuserFault,
    ServiceRequested,
    MaintenanceOverdue,
    /// A critical entry of the device's alert table that no other type covers.
    DeviceFault,
}

vocabulary!(AlertType {
    Offline = "offline",
    Jam = "jam",
    DoorOpen = "door_open",
    TonerLow = "toner_low",
    TonerEmpty = "toner_empty",
    PaperLow = "paper_low",
    PaperEmpty = "paper_empty",
    InputTrayMissing = "input_tray_missing",
    OutputTrayMissing = "output_tray_missing",
    OutputNearFull = "output_near_full",
    OutputFull = "output_full",
    WasteTonerNearFull = "waste_toner_near_full",
    WasteTonerFull = "waste_toner_full",
    SupplyMissing = "supply_missing",
    DrumNearEnd = "drum_near_end",
    DrumEnd = "drum_end",
    FuserFault = "fuser_fault",
    ServiceRequested = "service_requested",
    MaintenanceOverdue = "maintenance_overdue",
    DeviceFault = "device_fault",
});

impl AlertType {
    pub const ALL: [AlertType; 20] = [
        AlertType::Offline,
        AlertType::Jam,
        AlertType::DoorOpen,
        AlertType::TonerLow,
        AlertType::TonerEmpty,
        AlertType::PaperLow,
        AlertType::PaperEmpty,
        AlertType::InputTrayMissing,
        AlertType::OutputTrayMissing,
        AlertType::OutputNearFull,
        AlertType::OutputFull,
        AlertType::WasteTonerNearFull,
        AlertType::WasteTonerFull,
        AlertType::SupplyMissing,
        AlertType::DrumNearEnd,
        AlertType::DrumEnd,
        AlertType::FuserFault,
        AlertType::ServiceRequested,
        AlertType::MaintenanceOverdue,
        AlertType::DeviceFault,
    ];

    /// The level an admin has for this type until they choose: level 1 for what stops the
    /// device printing, 2 for what will soon, 3 for the rest.
    pub fn default_level(self) -> AlertLevel {
        use AlertType::*;
        match self {
            Offline | Jam | DoorOpen | TonerEmpty | PaperEmpty | OutputFull | WasteTonerFull | DrumEnd | FuserFault
            | ServiceRequested | SupplyMissing => AlertLevel::One,
            TonerLow | PaperLow | OutputNearFull | WasteTonerNearFull | DrumNearEnd | InputTrayMissing
            | OutputTrayMissing => AlertLevel::Two,
            MaintenanceOverdue | DeviceFault => AlertLevel::Three,
        }
    }

    /// Readings in a row that must show the condition before it is raised. One lost answer
    /// is not an offline device (the gateway already retried within the reading).
    pub fn raise_after(self) -> u32 {
        if self == AlertType::Offline {
            2
        } else {
            1
        }
    }

    /// The name people read, zh-CN and en.
    pub fn title(self, en: bool) -> &'static str {
        use AlertType::*;
        let (zh, english) = match self {
            Offline => ("设备离线", "Device offline"),
            Jam => ("卡纸", "Paper jam"),
            DoorOpen => ("机盖打开", "Door open"),
            TonerLow => ("墨粉不足", "Toner low"),
            TonerEmpty => ("墨粉用尽", "Toner empty"),
            PaperLow => ("纸张不足", "Paper low"),
            PaperEmpty => ("缺纸", "Out of paper"),
            InputTrayMissing => ("纸盒缺失", "Input tray missing"),
            OutputTrayMissing => ("出纸盘缺失", "Output tray missing"),
            OutputNearFull => ("出纸盘将满", "Output tray nearly full"),
            OutputFull => ("出纸盘已满", "Output tray full"),
            WasteTonerNearFull => ("废粉盒将满", "Waste toner nearly full"),
            WasteTonerFull => ("废粉盒已满", "Waste toner full"),
            SupplyMissing => ("耗材缺失", "Supply missing"),
            DrumNearEnd => ("硒鼓寿命将尽", "Drum near end of life"),
            DrumEnd => ("硒鼓寿命已尽", "Drum at end of life"),
            FuserFault => ("定影器故障", "Fuser fault"),
            ServiceRequested => ("需要维修", "Service requested"),
            MaintenanceOverdue => ("保养逾期", "Maintenance overdue"),
            DeviceFault => ("设备故障", "Device fault"),
        };
        if en {
            english
        } else {
            zh
        }
    }
}

/// An alert level: 1 is shown red and pushed to the admin's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertLevel {
    One,
    Two,
    Three,
}

impl AlertLevel {
    pub fn number(self) -> u8 {
        match self {
            AlertLevel::One => 1,
            AlertLevel::Two => 2,
            AlertLevel::Three => 3,
        }
    }

    pub fn from_number(n: i64) -> Result<Self, ValueError> {
        match n {
            1 => Ok(AlertLevel::One),
            2 => Ok(AlertLevel::Two),
            3 => Ok(AlertLevel::Three),
            _ => Err(ValueError::UnknownVariant),
        }
    }
}

/// Where an alert is in its life: raised → acknowledged (someone is on it) → resolved (its
/// condition cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum AlertState {
    Raised,
    Acknowledged,
    Resolved,
}

vocabulary!(AlertState { Raised = "raised", Acknowledged = "acknowledged", Resolved = "resolved" });

impl AlertState {
    pub fn is_open(self) -> bool {
        self != AlertState::Resolved
    }
}

/// An alert as admins see it.
#[derive(Debug, Clone)]
pub struct Alert {
    pub id: String,
    pub print_point_id: String,
    pub enterprise_id: String,
    pub alert_type: AlertType,
    pub subject: String,
    pub state: AlertState,
    pub detail: String,
    pub raised_at: i64,
    pub last_seen_at: i64,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<i64>,
    pub occurrences: i64,
}

/// Answered readings in a row without a condition before its alert resolves: a condition
/// that flickers for one reading neither resolves nor raises again.
pub const CLEAR_AFTER: i64 = 2;
/// A condition back within this long after its alert resolved reopens that alert (no new
/// alert, no new push): a flapping sensor is one alert, not a storm.
pub const REOPEN_WINDOW_MS: i64 = 30 * 60 * 1000;
/// A supply at or below this percentage of its capacity is low (near full for receptacles).
pub const SUPPLY_LOW_PERCENT: u32 = 10;

/// What one reading of a device shows.
#[derive(Debug, Clone, Default)]
pub struct ReadingFacts<'a> {
    pub answered: bool,
    /// hrPrinterDetectedErrorState's set bits by RFC 3805 name.
    pub errors: &'a [String],
    pub supplies: &'a [SupplyReading],
    /// The device's alert table: (severity, code name, description).
    pub device_alerts: Vec<(&'a str, &'a str, &'a str)>,
}

/// A condition a reading shows: its type, its subject ('' for the device), and what the
/// device said of it.
pub type Conditions = BTreeMap<(AlertType, String), String>;

/// The conditions a reading shows. A device that did not answer shows only `offline`: of
/// everything else nothing is known, so nothing else may be raised or cleared by it.
pub fn conditions_of(facts: &ReadingFacts<'_>) -> Conditions {
    let mut out = Conditions::new();
    if !facts.answered {
        out.insert((AlertType::Offline, String::new()), String::new());
        return out;
    }
    let mut add = |t: AlertType, subject: &str, detail: &str| {
        let entry = out.entry((t, subject.to_string())).or_default();
        if !detail.is_empty() && !entry.split("; ").any(|d| d == detail) {
            if !entry.is_empty() {
                entry.push_str("; ");
            }
            entry.push_str(detail);
        }
    };
    for bit in facts.errors {
        if let Some(t) = type_of_error_bit(bit) {
            add(t, "", "");
        }
    }
    for s in facts.supplies {
        if let Some((t, detail)) = supply_condition(s) {
            add(t, "", &detail);
        }
    }
    for (severity, code, description) in &facts.device_alerts {
        match type_of_alert_code(code) {
            Some(t) => add(t, "", description),
            // Other critical entries are faults of their own kind, told apart by code.
            None if *severity == "critical" => add(AlertType::DeviceFault, code, description),
            None => {}
        }
    }
    out
}

/// hrPrinterDetectedErrorState bits (RFC 3805 names) onto types. `offline` here is the
/// device saying it is offline (its panel), which stops it as surely as silence does.
fn type_of_error_bit(bit: &str) -> Option<AlertType> {
    use AlertType::*;
    Some(match bit {
        "lowPaper" => PaperLow,
        "noPaper" | "inputTrayEmpty" => PaperEmpty,
        "lowToner" => TonerLow,
        "noToner" => TonerEmpty,
        "doorOpen" => DoorOpen,
        "jammed" => Jam,
        "offline" => Offline,
        "serviceRequested" => ServiceRequested,
        "inputTrayMissing" => InputTrayMissing,
        "outputTrayMissing" => OutputTrayMissing,
        "markerSupplyMissing" => SupplyMissing,
        "outputNearFull" => OutputNearFull,
        "outputFull" => OutputFull,
        "overduePreventMaint" => MaintenanceOverdue,
        _ => return None,
    })
}

/// prtAlertCode names (IANA-PRINTER-MIB) onto types; `None` for codes that are events or
/// information rather than conditions (coverClosed, powerUp, …).
fn type_of_alert_code(code: &str) -> Option<AlertType> {
    use AlertType::*;
    Some(match code {
        "jam" => Jam,
        "coverOpen" | "doorOpen" | "interlockOpen" | "subunitOpened" => DoorOpen,
        "markerTonerEmpty" | "markerInkEmpty" | "markerPrintRibbonEmpty" | "markerDeveloperEmpty" => TonerEmpty,
        "markerTonerAlmostEmpty"
        | "markerInkAlmostEmpty"
        | "markerPrintRibbonAlmostEmpty"
        | "markerDeveloperAlmostEmpty" => TonerLow,
        "inputMediaSupplyEmpty" => PaperEmpty,
        "inputMediaSupplyLow" => PaperLow,
        "inputMediaTrayMissing" => InputTrayMissing,
        "outputMediaTrayMissing" | "mediaPathMediaTrayMissing" => OutputTrayMissing,
        "outputMediaTrayAlmostFull" | "mediaPathMediaTrayAlmostFull" => OutputNearFull,
        "outputMediaTrayFull" | "mediaPathMediaTrayFull" => OutputFull,
        "markerWasteTonerReceptacleAlmostFull" | "markerWasteInkReceptacleAlmostFull" => WasteTonerNearFull,
        "markerWasteTonerReceptacleFull" | "markerWasteInkReceptacleFull" => WasteTonerFull,
        "markerTonerCartridgeMissing" | "subunitMissing" => SupplyMissing,
        "markerOpcLifeAlmostOver" => DrumNearEnd,
        "markerOpcLifeOver" => DrumEnd,
        "markerFuserUnderTemperature"
        | "markerFuserOverTemperature"
        | "markerFuserTimingFailure"
        | "markerFuserThermistorFailure" => FuserFault,
        _ => return None,
    })
}

/// A supply's condition from its level. Containers (toner, ink, drums) are low when little
/// is left; receptacles (waste toner) report the space left, so they are near full then.
/// Special levels (other, unknown, some remaining) show nothing: they are not numbers.
fn supply_condition(s: &SupplyReading) -> Option<(AlertType, String)> {
    let (SupplyAmount::Known(level), SupplyAmount::Known(max)) = (s.level, s.max_capacity) else { return None };
    if max == 0 {
        return None;
    }
    let percent = u64::from(level) * 100 / u64::from(max);
    let (low, empty) = match s.kind.as_str() {
        "toner" | "ink" | "inkCartridge" | "tonerCartridge" | "developer" | "ribbonWax" | "inkRibbon" => {
            (AlertType::TonerLow, AlertType::TonerEmpty)
        }
        "wasteToner" | "wasteInk" => (AlertType::WasteTonerNearFull, AlertType::WasteTonerFull),
        "opc" => (AlertType::DrumNearEnd, AlertType::DrumEnd),
        _ => return None,
    };
    let name = if s.description.is_empty() { s.colour.clone().unwrap_or_default() } else { s.description.clone() };
    if level == 0 {
        Some((empty, format!("{name} 0%")))
    } else if percent <= u64::from(SUPPLY_LOW_PERCENT) {
        Some((low, format!("{name} {percent}%")))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supply(kind: &str, level: SupplyAmount, max: SupplyAmount) -> SupplyReading {
        SupplyReading {
            index: 1,
            description: "Black Toner".into(),
            kind: kind.into(),
            colour: Some("black".into()),
            unit: "percent".into(),
            max_capacity: max,
            level,
        }
    }

    fn keys(c: &Conditions) -> Vec<(&str, &str)> {
        c.keys().map(|(t, s)| (t.as_str(), s.as_str())).collect()
    }

    #[test]
    fn every_type_has_a_unique_code_that_parses_back() {
        let mut seen = std::collections::BTreeSet::new();
        for t in AlertType::ALL {
            assert!(seen.insert(t.as_str()), "{} twice", t.as_str());
            assert_eq!(AlertType::parse(t.as_str()), Ok(t));
            assert!(!t.title(false).is_empty() && !t.title(true).is_empty());
        }
        assert_eq!(seen.len(), AlertType::NAMES.len());
        assert!(AlertType::parse("paper_jam").is_err());
    }

    #[test]
    fn levels_are_one_to_three() {
        assert_eq!(AlertLevel::from_number(1), Ok(AlertLevel::One));
        assert_eq!(AlertLevel::from_number(3).map(AlertLevel::number), Ok(3));
        assert!(AlertLevel::from_number(0).is_err());
        assert!(AlertLevel::from_number(4).is_err());
        assert_eq!(AlertType::Jam.default_level(), AlertLevel::One);
        assert_eq!(AlertType::TonerLow.default_level(), AlertLevel::Two);
    }

    #[test]
    fn a_silent_device_shows_only_offline() {
        let errors = vec!["jammed".to_string()];
        let c = conditions_of(&ReadingFacts { answered: false, errors: &errors, ..Default::default() });
        assert_eq!(keys(&c), [("offline", "")]);
    }

    #[test]
    fn one_jam_reported_twice_over_is_one_condition() {
        let errors = vec!["jammed".to_string(), "lowToner".to_string()];
        let facts = ReadingFacts {
            answered: true,
            errors: &errors,
            device_alerts: vec![("critical", "jam", "Paper jam in tray 2"), ("warning", "coverClosed", "")],
            ..Default::default()
        };
        let c = conditions_of(&facts);
        assert_eq!(keys(&c), [("jam", ""), ("toner_low", "")]);
        assert_eq!(c[&(AlertType::Jam, String::new())], "Paper jam in tray 2");
    }

    #[test]
    fn supplies_raise_by_level_and_special_values_raise_nothing() {
        use SupplyAmount::*;
        let low = [supply("toner", Known(5), Known(100))];
        let c = conditions_of(&ReadingFacts { answered: true, supplies: &low, ..Default::default() });
        assert_eq!(c[&(AlertType::TonerLow, String::new())], "Black Toner 5%");
        let empty = [supply("toner", Known(0), Known(100))];
        let c = conditions_of(&ReadingFacts { answered: true, supplies: &empty, ..Default::default() });
        assert_eq!(keys(&c), [("toner_empty", "")]);
        let waste = [supply("wasteToner", Known(3), Known(100))];
        let c = conditions_of(&ReadingFacts { answered: true, supplies: &waste, ..Default::default() });
        assert_eq!(keys(&c), [("waste_toner_near_full", "")]);
        for level in [SomeRemaining, Unknown, Other] {
            let s = [supply("toner", level, Known(100))];
            assert!(conditions_of(&ReadingFacts { answered: true, supplies: &s, ..Default::default() }).is_empty());
        }
        let no_max = [supply("toner", Known(0), Unknown)];
        assert!(conditions_of(&ReadingFacts { answered: true, supplies: &no_max, ..Default::default() }).is_empty());
        let fine = [supply("toner", Known(11), Known(100))];
        assert!(conditions_of(&ReadingFacts { answered: true, supplies: &fine, ..Default::default() }).is_empty());
    }

    #[test]
    fn unmapped_critical_entries_are_device_faults_by_code() {
        let facts = ReadingFacts {
            answered: true,
            device_alerts: vec![("critical", "subunitMotorFailure", "Motor"), ("warning", "code-40000", "x")],
            ..Default::default()
        };
        assert_eq!(keys(&conditions_of(&facts)), [("device_fault", "subunitMotorFailure")]);
    }
}
