//! MAC addresses (FAQ Q12, Q14, Q21): a print point is unique by MAC, so every way a person or a
//! device may write one normalises to the same text, and addresses no printer can have are
//! refused as illegal.

use std::fmt;

use super::ValueError;

/// A unicast, non-zero MAC address, written `00:1B:2C:3D:4E:5F`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddress([u8; 6]);

impl MacAddress {
    /// Accepts `00:1b:2c:3d:4e:5f`, `00-1B-2C-3D-4E-5F`, `001b.2c3d.4e5f` and `001B2C3D4E5F`.
    /// All-zero, broadcast and multicast addresses are [`ValueError::IllegalMac`]: a gateway
    /// reads them when the printer's port is not standard TCP/IP or the printer is out of reach.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let hex: String = raw.trim().chars().filter(|c| !matches!(c, ':' | '-' | '.' | ' ')).collect();
        let well_separated = {
            let t = raw.trim();
            let groups: Vec<&str> = t.split([':', '-']).collect();
            let dotted: Vec<&str> = t.split('.').collect();
            (groups.len() == 6 && groups.iter().all(|g| g.len() == 2))
                || (dotted.len() == 3 && dotted.iter().all(|g| g.len() == 4))
                || (t.len() == 12 && !t.contains(['.', ':', '-', ' ']))
        };
        if !well_separated || hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ValueError::MacFormat);
        }
        let mut bytes = [0u8; 6];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).map_err(|_| ValueError::MacFormat)?;
        }
        let mac = MacAddress(bytes);
        if mac.is_zero() || mac.is_multicast() {
            return Err(ValueError::IllegalMac);
        }
        Ok(mac)
    }

    fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// The group bit: multicast, and broadcast (FF:FF:FF:FF:FF:FF) with it.
    fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    pub fn octets(&self) -> [u8; 6] {
        self.0
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_normalises_to_one() {
        for raw in ["00:1b:2c:3d:4e:5f", "00-1B-2C-3D-4E-5F", "001b.2c3d.4e5f", "001B2C3D4E5F", " 00:1B:2C:3D:4E:5F "] {
            assert_eq!(MacAddress::parse(raw).map(|m| m.to_string()), Ok("00:1B:2C:3D:4E:5F".to_string()), "{raw}");
        }
    }

    #[test]
    fn zero_broadcast_and_multicast_are_illegal() {
        for raw in ["00-00-00-00-00-00", "FF:FF:FF:FF:FF:FF", "01:00:5E:00:00:FB", "33:33:00:00:00:01"] {
            assert_eq!(MacAddress::parse(raw), Err(ValueError::IllegalMac), "{raw}");
        }
        // A locally administered unicast address is a real (if unusual) printer MAC.
        assert!(MacAddress::parse("02:00:00:00:00:01").is_ok());
    }

    #[test]
    fn malformed_text_is_refused() {
        for raw in
            ["", "00:1B:2C:3D:4E", "00:1B:2C:3D:4E:5F:60", "00:1B:2C:3D:4E:5G", "001B2C-3D4E5F", "0:1B:2C:3D:4E:5F:"]
        {
            assert_eq!(MacAddress::parse(raw), Err(ValueError::MacFormat), "{raw}");
        }
    }
}
