//! Real peers started for a test: printers (ippeveprinter), devices (snmpd), and a relay that
//! makes the gateway link lossy on demand.

pub mod faulty_link;
pub mod printer;
