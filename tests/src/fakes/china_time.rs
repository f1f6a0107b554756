//! The fakes' own China-time clock (UTC+8), written independently of the server's client code so
//! that a formatting bug on one side is not mirrored on the other: WeChat Pay's RFC 3339
//! (`2018-06-08T10:34:56+08:00`) and Alipay's `yyyy-MM-dd HH:mm:ss`, both ways, strictly.

const CHINA_OFFSET: i64 = 8 * 3600;

/// Unix seconds → (year, month, day, seconds into the day) in China.
fn civil(unix: i64) -> (i64, i64, i64, i64) {
    let local = unix + CHINA_OFFSET;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    // Civil from days (proleptic Gregorian), after H. Hinnant.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day, secs)
}

/// (year, month, day) → days since 1970-01-01, after H. Hinnant.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `unix` as RFC 3339 in China time, as WeChat Pay writes times.
pub fn rfc3339(unix: i64) -> String {
    let (y, m, d, secs) = civil(unix);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+08:00", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// `unix` as `yyyy-MM-dd HH:mm:ss` in Beijing time, as Alipay writes times.
pub fn beijing(unix: i64) -> String {
    let (y, m, d, secs) = civil(unix);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// `yyyy-MM-dd?HH:mm:ss` with `sep` between date and time → (days since 1970, seconds into the
/// day), strictly: fixed widths, digits only, ranges checked.
fn date_and_time(s: &str, sep: u8) -> Option<(i64, i64)> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != sep || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    Some((days_from_civil(y, m, d), hh * 3600 + mm * 60 + ss))
}

/// RFC 3339 with seconds and an offset (`2018-06-08T10:34:56+08:00`, `…Z`, optional
/// fraction) → Unix seconds; None for anything else.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    if s.len() < 20 {
        return None;
    }
    let (days, secs) = date_and_time(s, b'T')?;
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digit = |c: &u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
            let (oh, om) = (digit(h1)? * 10 + digit(h2)?, digit(m1)? * 10 + digit(m2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            (oh * 3600 + om * 60) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    Some(days * 86_400 + secs - offset)
}

/// The inverse of [`beijing`], strictly `yyyy-MM-dd HH:mm:ss`.
pub fn parse_beijing(s: &str) -> Option<i64> {
    if s.len() != 19 {
        return None;
    }
    let (days, secs) = date_and_time(s, b' ')?;
    Some(days * 86_400 + secs - CHINA_OFFSET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_parse_strictly() {
        for t in [0, 1_709_224_205, 1_735_660_799, 1_735_660_800, -86_400] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
            assert_eq!(parse_beijing(&beijing(t)), Some(t));
        }
        assert_eq!(beijing(0), "1970-01-01 08:00:00");
        assert_eq!(parse_rfc3339("2024-03-01T00:30:05+08:00"), Some(1_709_224_205));
        assert_eq!(parse_rfc3339("2024-02-29T16:30:05Z"), Some(1_709_224_205));
        assert_eq!(parse_rfc3339("2024-02-29T16:30:05.250Z"), Some(1_709_224_205));
        assert_eq!(parse_rfc3339("2024-02-29T08:30:05-08:00"), Some(1_709_224_205));
        for bad in [
            "2024-03-01 00:30:05",
            "2024-03-01T00:30:05",
            "2024-03-01T00:30:05+0800",
            "2024-03-01T00:30:05+08",
            "2024-13-01T00:30:05+08:00",
            "2024-03-01T24:30:05+08:00",
            "1709224205",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
        assert_eq!(parse_beijing("2024-03-01T00:30:05"), None);
        assert_eq!(parse_beijing("2024-03-01 00:30:05 "), None);
    }
}
