//! China Standard Time (UTC+8, no daylight saving), the clock both payment providers write:
//! WeChat Pay as RFC 3339 (`2018-06-08T10:34:56+08:00`), Alipay as `yyyy-MM-dd HH:mm:ss`.

/// A Unix time in seconds as a civil date and time in China.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChinaTime {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
}

impl ChinaTime {
    pub fn from_unix(unix_secs: i64) -> Self {
        let t = unix_secs + 8 * 3600;
        let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
        // Civil date from days since 1970-01-01, proleptic Gregorian (H. Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self { year, month, day, hour: secs / 3600, minute: secs % 3600 / 60, second: secs % 60 }
    }

    /// WeChat Pay's form: `2018-06-08T10:34:56+08:00`.
    pub fn rfc3339(self) -> String {
        let Self { year, month, day, hour, minute, second } = self;
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}+08:00")
    }

    /// Alipay's form: `2018-06-08 10:34:56`.
    pub fn alipay(self) -> String {
        let Self { year, month, day, hour, minute, second } = self;
        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_in_china_time() {
        let at = |t| ChinaTime::from_unix(t);
        assert_eq!(at(0).rfc3339(), "1970-01-01T08:00:00+08:00");
        assert_eq!(at(0).alipay(), "1970-01-01 08:00:00");
        // A leap day, the last second of a year and the first of the next.
        assert_eq!(at(1_709_224_205).alipay(), "2024-03-01 00:30:05");
        assert_eq!(at(1_709_137_805).rfc3339(), "2024-02-29T00:30:05+08:00");
        assert_eq!(at(1_735_660_799).alipay(), "2024-12-31 23:59:59");
        assert_eq!(at(1_735_660_800).rfc3339(), "2025-01-01T00:00:00+08:00");
        // Before 1970 too.
        assert_eq!(at(-86_400).alipay(), "1969-12-31 08:00:00");
    }
}
