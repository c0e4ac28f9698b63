//! Go's `time.ParseDuration` and `Duration.String`, which the control plane uses for SSH
//! `checkPeriod` and quotes in its messages. No crate reproduces Go's exact formatting
//! (`200h0m0s`, `-1m0s`), so both directions are written here.

/// Parses a Go duration string (`"1h30m"`, `"-1m"`, `"1.5s"`, `"0"`) into nanoseconds.
pub fn parse(s: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {s:?}"))?;
        let (number, after) = rest.split_at(digits);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            _ => return Err(format!("time: unknown unit {unit:?} in duration {s:?}")),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        if whole > i128::from(i64::MAX) {
            return Err(invalid());
        }
        let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
        let mut place = scale;
        for digit in frac.bytes().take(18) {
            place /= 10;
            value = value
                .checked_add(i128::from(digit - b'0') * place)
                .ok_or_else(invalid)?;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i128::from(i64::MAX) {
            return Err(invalid());
        }
        rest = after;
    }
    Ok(if negative { -total } else { total })
}

/// Formats nanoseconds as Go's `Duration.String` does.
pub(crate) fn format(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n < 1_000_000_000 {
        let (unit, scale) = match n {
            0..=999 => ("ns", 1),
            1_000..=999_999 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{sign}{}{unit}", fraction(n, scale));
    }
    let hours = n / 3_600_000_000_000;
    let minutes = (n / 60_000_000_000) % 60;
    let seconds = fraction(n % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// `n / scale` with its fractional digits, trailing zeros dropped.
fn fraction(n: u128, scale: u128) -> String {
    let whole = n / scale;
    let rem = n % scale;
    if rem == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let h = 3_600_000_000_000;
        assert_eq!(format(parse("200h").unwrap()), "200h0m0s");
        assert_eq!(format(parse("168h0m1s").unwrap()), "168h0m1s");
        assert_eq!(format(parse("-1m").unwrap()), "-1m0s");
        assert_eq!(format(parse("1.5s").unwrap()), "1.5s");
        assert_eq!(format(parse("90m").unwrap()), "1h30m0s");
        assert_eq!(format(parse("500ms").unwrap()), "500ms");
        assert_eq!(parse("168h").unwrap(), 168 * h);
        assert_eq!(format(0), "0s");
    }

    #[test]
    fn rejects_what_go_rejects() {
        assert_eq!(parse("abc").unwrap_err(), "time: invalid duration \"abc\"");
        assert!(parse("").is_err());
        assert!(parse("12").is_err());
        assert!(parse("1d").is_err());
        assert!(parse("99999999999999h").is_err());
        assert!(parse("170141183460469231731687303715.9s").is_err());
        assert!(parse("9223372036854775807.999999999999999999h").is_err());
    }
}
