//! Real peers started for a test: printers (ippeveprinter), devices (snmpd).

pub mod printer;
