//! Real peers started for a test: printers (ippeveprinter), SNMP devices (snmpsim), and a relay
//! that makes the gateway link lossy on demand.

pub mod faulty_link;
pub mod printer;
pub mod snmpsim;
