//! Wall-clock helpers: milliseconds since the epoch and ISO 8601 in UTC, without a date crate
//! (the binary only needs to print and parse UTC timestamps).

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `2026-11-24T11:38:04.140Z` for a millisecond timestamp.
pub fn iso8601(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", sod / 3600, sod / 60 % 60, sod % 60)
}

/// Parses the ISO 8601 UTC forms Claude Code writes (`2026-11-24T11:38:04.140Z`, also without
/// fraction or with `+00:00`), and plain dates (`2026-11-24`). Other offsets are applied.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_at(s.find('T').unwrap_or(s.len()));
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * 86_400_000;
    let Some(time) = rest.strip_prefix('T') else {
        return rest.is_empty().then_some(ms);
    };
    let (clock, offset_ms) = split_offset(time)?;
    let mut hms = clock.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let min: i64 = hms.next()?.parse().ok()?;
    let sec_text = hms.next().unwrap_or("0");
    let (whole, frac) = sec_text.split_once('.').unwrap_or((sec_text, ""));
    let sec: i64 = whole.parse().ok()?;
    let frac_ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    ms += ((h * 60 + min) * 60 + sec) * 1000 + frac_ms;
    Some(ms - offset_ms)
}

fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    match time.rfind(['+', '-']) {
        Some(i) => {
            let (clock, off) = time.split_at(i);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let (oh, om) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
            let minutes = oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().ok()?;
            Some((clock, sign * minutes * 60_000))
        }
        None => Some((time, 0)),
    }
}

// Howard Hinnant's days <-> civil date algorithms (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let ms = parse_iso8601("2026-11-24T11:38:04.140Z").unwrap();
        assert_eq!(ms, 1_795_520_284_140);
        assert_eq!(iso8601(ms), "2026-11-24T11:38:04.140Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_iso8601("2024-02-29").unwrap(), 1_709_164_800_000);
        assert_eq!(parse_iso8601("2026-11-24T12:38:04+01:00").unwrap(), 1_795_520_284_000);
        assert_eq!(parse_iso8601("2026-11-24T11:38:04.5Z").unwrap(), 1_795_520_284_500);
        for bad in ["", "yesterday", "2026-13-01", "2026-11-24T", "2026-11-24Tab:cd"] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
