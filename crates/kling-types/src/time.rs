//! The API's date format, ISO 8601 in UTC with milliseconds (`2026-11-25T10:00:00.000Z`),
//! without a date-time dependency: jobs carry `createdAt`, and a client asks for jobs
//! `createdAfter` a moment.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Formats a moment as the API writes dates.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let moment = UNIX_EPOCH + Duration::from_millis(1_795_600_000_123);
/// assert_eq!(kling_types::__private::time::format_iso8601(moment), "2026-11-25T09:46:40.123Z");
/// ```
pub fn format_iso8601(moment: SystemTime) -> String {
    let since_epoch = moment.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // At most 2^64 / 86 400 days: fits an i64.
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since_epoch.subsec_millis()
    )
}

/// Parses a date as the API writes them, `YYYY-MM-DDTHH:MM:SS[.fff]Z`, to the
/// millisecond (further digits of the fraction, up to nanoseconds, are read and
/// dropped). `None` for anything else: other offsets, a date that does not exist
/// (`2026-02-31`, `2026-02-29`), a field out of range, anything after the `Z`, and
/// years before 1970 or after 9999.
///
/// Hand-written on purpose: `kling-types` depends on serde and serde_json only (an
/// invariant of the workspace), so no date-time crate.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(kling_types::__private::time::parse_iso8601("2024-02-29T23:59:59Z"), Some(UNIX_EPOCH + Duration::from_secs(1_709_251_199)));
/// assert_eq!(kling_types::__private::time::parse_iso8601("2026-02-29T00:00:00Z"), None);
/// assert_eq!(kling_types::__private::time::parse_iso8601("yesterday"), None);
/// ```
pub fn parse_iso8601(text: &str) -> Option<SystemTime> {
    /// Where the digits (`d`) and separators of `YYYY-MM-DDTHH:MM:SS` are.
    const SHAPE: &[u8; 19] = b"dddd-dd-ddTdd:dd:dd";
    let bytes = text.as_bytes();
    let (stamp, rest) = (bytes.get(..SHAPE.len())?, bytes.get(SHAPE.len()..)?);
    let shaped = stamp.iter().zip(SHAPE).all(|(byte, shape)| match shape {
        b'd' => byte.is_ascii_digit(),
        separator => byte == separator,
    });
    if !shaped {
        return None;
    }
    let field = |range: std::ops::Range<usize>| stamp.get(range).and_then(number);
    let (year, month, day) = (field(0..4)?, field(5..7)?, field(8..10)?);
    let (hour, minute, second) = (field(11..13)?, field(14..16)?, field(17..19)?);
    let fraction = match rest {
        [b'Z'] => &[][..],
        [b'.', fraction @ .., b'Z'] if (1..=9).contains(&fraction.len()) => fraction,
        _ => return None,
    };
    // The fraction's first three digits (padded with zeros) are the milliseconds; the
    // rest must be digits too.
    if !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut padded = [b'0'; 3];
    for (slot, digit) in padded.iter_mut().zip(fraction) {
        *slot = *digit;
    }
    let millis = number(&padded)?;
    // A leap second (`23:59:60`, always at the end of a UTC day) is the next midnight.
    let leap_second = second == 60 && hour == 23 && minute == 59;
    if year < 1970
        || !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || (second > 59 && !leap_second)
    {
        return None;
    }
    // 1970 ≤ year ≤ 9999: the day count is positive and every product below is far
    // from overflowing.
    let days = u64::try_from(days_from_civil(
        i64::try_from(year).ok()?,
        i64::try_from(month).ok()?,
        i64::try_from(day).ok()?,
    ))
    .ok()?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis))
}

/// ASCII digits as a number; `None` for an empty slice or any other byte (no sign,
/// no space). At most 9 digits are ever passed, so it cannot overflow.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0u64, |number, digit| {
        digit
            .is_ascii_digit()
            .then(|| number * 10 + u64::from(digit - b'0'))
    })
}

/// The number of days of a month (1 to 12) in the proleptic Gregorian calendar.
fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
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
            "2026-00-01T00:00:00Z",
            "2026-11-00T00:00:00Z",
            "2026-02-31T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T10:60:00Z",
            "2026-11-25T10:00:60Z",
            "2026-11-25T10:00:00+01:00",
            "2026-11-25",
            "2026-11-25T10:00:00",
            "2026-11-25T10:00:00.1x2Z",
            "10000-01-01T00:00:00Z",
            "99999999999-01-01T00:00:00Z",
            "9223372036854775807-12-31T23:59:59Z",
            "-9223372036854775808-01-01T00:00:00Z",
            "2026-11-25T10:00:00.Z",
            "2026-11-25T10:00:00.1234567890Z",
            "2026-11-25T10:00:00Zjunk",
            "2026-11-25T10:00:00ZZ",
            "2026-11-25T10:00:00:00Z",
            "2026-11-25T10:00:00.000Z.000Z",
            "+2026-11-25T10:00:00Z",
            "2026-1-25T10:00:00Z",
            "2026-+1-25T10:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-11-25t10:00:00z",
            "",
            "99999999999999999-01-01T00:00:00Z",
            "-5-01-01T00:00:00Z",
            "2026-01-01T18446744073709551615:00:00Z",
        ] {
            assert_eq!(parse_iso8601(text), None, "{text}");
        }
    }

    #[test]
    fn what_the_api_sends_is_read() {
        let at = |millis| Some(UNIX_EPOCH + Duration::from_millis(millis));
        assert_eq!(parse_iso8601("2026-11-25T09:46:40Z"), at(1_795_600_000_000));
        assert_eq!(
            parse_iso8601("2026-11-25T09:46:40.5Z"),
            at(1_795_600_000_500)
        );
        assert_eq!(
            parse_iso8601("2026-11-25T09:46:40.123Z"),
            at(1_795_600_000_123)
        );
        assert_eq!(
            parse_iso8601("2026-11-25T09:46:40.123456789Z"),
            at(1_795_600_000_123)
        );
        assert_eq!(parse_iso8601("2024-02-29T00:00:00Z"), at(1_709_164_800_000));
        assert_eq!(parse_iso8601("2000-02-29T00:00:00Z"), at(951_782_400_000));
        // A leap second is the next midnight.
        assert_eq!(
            parse_iso8601("2016-12-31T23:59:60Z"),
            parse_iso8601("2017-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_iso8601("9999-12-31T23:59:59.999Z"),
            at(253_402_300_799_999)
        );
    }
}
