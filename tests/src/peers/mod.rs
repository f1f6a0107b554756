//! Real peers started for a test: printers (ippeveprinter), SNMP devices (snmpsim), a host's
//! print queues (a private cupsd), and a relay that makes the gateway link lossy on demand.

pub mod cups;
pub mod faulty_link;
pub mod printer;
pub mod snmpsim;
