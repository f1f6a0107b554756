//! Meter readings (抄表): usage between two readings of a lifetime counter, across a Counter32
//! wrap, never negative; and what a device's error bits say about its print point.

use super::PrintPointStatus;

pub use yunyin_gateway::protocol::{DeviceAlert, SnmpVersion, SupplyAmount, SupplyReading};

/// One stored meter reading: the counters as the device stated them, and the usage since the
/// previous reading where it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterReading {
    /// The reading's id (bill lines name the readings they were read from).
    pub id: String,
    /// When the gateway read it (Unix epoch ms).
    pub read_at: i64,
    /// When the server received it: later than `read_at` for readings kept while the link
    /// was down.
    pub received_at: i64,
    pub total: Option<u64>,
    pub mono: Option<u64>,
    pub colour: Option<u64>,
    pub print: Option<u64>,
    pub copy: Option<u64>,
    pub scan: Option<u64>,
    pub fax: Option<u64>,
    pub total_used: Option<u64>,
    pub mono_used: Option<u64>,
    pub colour_used: Option<u64>,
    /// A counter went down without wrapping: no usage across it.
    pub counter_reset: bool,
}

/// A device's newest state: whether it answered, its status, error bits, supplies and alert
/// table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    pub read_at: i64,
    pub answered: bool,
    pub printer_status: Option<String>,
    pub device_status: Option<String>,
    pub errors: Vec<String>,
    pub supplies: Vec<SupplyReading>,
    pub alerts: Vec<DeviceAlert>,
}

/// Counter32 values wrap to zero after 2^32 − 1 (RFC 2578).
pub const COUNTER32_MODULUS: u64 = 1 << 32;

/// What a counter says about the time between two readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// Used this many (impressions, sheets, scans …).
    Used(u64),
    /// No earlier reading of this counter.
    Unknown,
    /// The counter went down and did not wrap: the device reset it (a new controller, a
    /// restart that lost it). Usage across the reset cannot be known.
    Reset,
}

impl Usage {
    /// `previous` and `current` are the counter's values; `restarted` says the device's
    /// uptime went down in between. A fall is a wrap only for a Counter32 value that did not
    /// restart and whose wrapped distance is under half the range (a device prints far fewer
    /// than 2^31 pages between two readings); anything else is a reset.
    pub fn between(previous: Option<u64>, current: u64, restarted: bool) -> Usage {
        let Some(previous) = previous else { return Usage::Unknown };
        if current >= previous {
            return Usage::Used(current - previous);
        }
        // A value past 2^32 is no Counter32: it cannot have wrapped at 2^32.
        let wrapped = COUNTER32_MODULUS.checked_sub(previous).map(|left| left.saturating_add(current));
        match wrapped {
            Some(w) if !restarted && w < COUNTER32_MODULUS / 2 => Usage::Used(w),
            _ => Usage::Reset,
        }
    }

    pub fn used(self) -> Option<u64> {
        match self {
            Usage::Used(n) => Some(n),
            Usage::Unknown | Usage::Reset => None,
        }
    }
}

/// Error bits (`hrPrinterDetectedErrorState`, RFC 3805 names) that stop a device printing.
/// The others (low paper or toner, output nearly full, maintenance due, one empty tray) are
/// warnings: the device still prints.
const STOPPING: &[&str] = &[
    "noPaper",
    "noToner",
    "doorOpen",
    "jammed",
    "offline",
    "serviceRequested",
    "inputTrayMissing",
    "outputTrayMissing",
    "markerSupplyMissing",
    "outputFull",
];

/// A print point's status from its latest reading: offline when the device did not answer,
/// in error when a set bit stops it printing, online otherwise.
pub fn status_of(answered: bool, errors: &[String]) -> PrintPointStatus {
    if !answered {
        PrintPointStatus::Offline
    } else if errors.iter().any(|e| STOPPING.contains(&e.as_str())) {
        PrintPointStatus::Error
    } else {
        PrintPointStatus::Online
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_forward_and_across_a_wrap_never_backwards() {
        assert_eq!(Usage::between(None, 10, false), Usage::Unknown);
        assert_eq!(Usage::between(Some(10), 25, false), Usage::Used(15));
        assert_eq!(Usage::between(Some(10), 10, true), Usage::Used(0));
        // 4294967000 → 300 crosses 2^32: 296 + 300 pages.
        assert_eq!(Usage::between(Some(4_294_967_000), 300, false), Usage::Used(596));
        // The same fall after a restart is a reset, not a wrap.
        assert_eq!(Usage::between(Some(4_294_967_000), 300, true), Usage::Reset);
        // A fall from the middle of the range is no wrap either.
        assert_eq!(Usage::between(Some(120_000), 40, false), Usage::Reset);
        // A 64-bit counter above 2^32 never wraps at 2^32.
        assert_eq!(Usage::between(Some(COUNTER32_MODULUS + 5), 3, false), Usage::Reset);
        assert_eq!(Usage::Used(3).used(), Some(3));
        assert_eq!(Usage::Reset.used(), None);
    }

    #[test]
    fn status_follows_answers_and_stopping_bits() {
        let bits = |b: &[&str]| b.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(status_of(false, &[]), PrintPointStatus::Offline);
        assert_eq!(status_of(true, &[]), PrintPointStatus::Online);
        assert_eq!(status_of(true, &bits(&["lowToner", "lowPaper"])), PrintPointStatus::Online);
        assert_eq!(status_of(true, &bits(&["lowToner", "jammed"])), PrintPointStatus::Error);
        assert_eq!(status_of(false, &bits(&["jammed"])), PrintPointStatus::Offline);
    }
}
