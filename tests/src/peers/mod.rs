//! Real peers started for a test: printers (ippeveprinter), SNMP devices (snmpsim), a host's
//! print queues (a private cupsd), CUPS's ipptool, a relay that makes the gateway link lossy on demand, and
//! headless Chromium for the web app's walks.

pub mod browser;
pub mod cups;
pub mod faulty_link;
pub mod ipptool;
pub mod miniprogram;
pub mod printer;
pub mod snmpsim;
