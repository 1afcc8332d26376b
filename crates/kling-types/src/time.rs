//! The API's date format, ISO 8601 in UTC with milliseconds (`2026-11-25T10:00:00.000Z`),
//! without a date-time dependency: jobs carry `createdAt`, and a client asks for jobs
//! `createdAfter` a moment.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Formats a moment as the API writes dates.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let moment = UNIX_EPOCH + Duration::from_millis(1_795_600_000_123);
/// assert_eq!(kling_types::time::format_iso8601(moment), "2026-11-25T09:46:40.123Z");
/// ```
pub fn format_iso8601(moment: SystemTime) -> String {
    let since_epoch = moment.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since_epoch.subsec_millis()
    )
}

/// Parses a date as the API writes them (`YYYY-MM-DDTHH:MM:SS[.fff]Z`); `None` for
/// anything else (other offsets included).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(kling_types::time::parse_iso8601("2024-02-29T23:59:59Z"), Some(UNIX_EPOCH + Duration::from_secs(1_709_251_199)));
/// assert_eq!(kling_types::time::parse_iso8601("yesterday"), None);
/// ```
pub fn parse_iso8601(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.split('-').map(str::parse::<i64>);
    let (year, month, day) = (
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
    );
    // Four-digit years only, as ISO 8601 writes them: larger ones would overflow below.
    if !(0..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut time_parts = hms.split(':').map(str::parse::<u64>);
    let (hour, minute, second) = (
        time_parts.next()?.ok()?,
        time_parts.next()?.ok()?,
        time_parts.next()?.ok()?,
    );
    if hour > 23
        || minute > 59
        || second > 60
        || !fraction.bytes().all(|byte| byte.is_ascii_digit())
    {
        return None;
    }
    let millis: u64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    Some(
        UNIX_EPOCH
            + Duration::from_millis(
                (days * 86_400 + hour * 3600 + minute * 60 + second) * 1000 + millis,
            ),
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_millisecond_moment_round_trips() {
        // Leap days, month and year ends, and the epoch, every 7.3 days for 80 years.
        for step in 0..4000u64 {
            let moment = UNIX_EPOCH + Duration::from_millis(step * 630_720_123);
            assert_eq!(
                parse_iso8601(&format_iso8601(moment)),
                Some(moment),
                "{}",
                format_iso8601(moment)
            );
        }
        assert_eq!(format_iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn malformed_dates_are_refused() {
        for text in [
            "2026-13-01T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T10:00:00+01:00",
            "2026-11-25",
            "2026-11-25T10:00:00.1x2Z",
            "99999999999999999-01-01T00:00:00Z",
            "-5-01-01T00:00:00Z",
            "2026-01-01T18446744073709551615:00:00Z",
        ] {
            assert_eq!(parse_iso8601(text), None, "{text}");
        }
        assert_eq!(
            parse_iso8601("2026-11-25T10:00:00.5Z"),
            parse_iso8601("2026-11-25T10:00:00.500Z")
        );
    }
}
