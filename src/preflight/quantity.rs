//! Kubernetes resource quantities (`500m`, `2`, `4Gi`, `1e3`, `128974848`): parsed to
//! millicores for CPU and bytes for everything else, and printed back for people.

/// Parses a quantity to thousandths of its unit (millicores for CPU; milli-bytes would be
/// silly, so `bytes` below divides). `None` when it is not a quantity.
pub fn parse_milli(q: &str) -> Option<i128> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    // A decimal exponent (`1e3`, `1E-3`) also starts with a letter.
    let (num, mult_num, mult_den): (String, i128, i128) = if let Some(exp) = suffix
        .strip_prefix(['e', 'E'])
        .filter(|e| e.parse::<i32>().is_ok())
    {
        let e: i32 = exp.parse().ok()?;
        if e >= 0 {
            (num.to_string(), 10i128.checked_pow(e as u32)?, 1)
        } else {
            (num.to_string(), 1, 10i128.checked_pow((-e) as u32)?)
        }
    } else {
        let (m, d): (i128, i128) = match suffix {
            "" => (1, 1),
            "m" => (1, 1000),
            "k" => (1_000, 1),
            "M" => (1_000_000, 1),
            "G" => (1_000_000_000, 1),
            "T" => (1_000_000_000_000, 1),
            "P" => (1_000_000_000_000_000, 1),
            "Ki" => (1 << 10, 1),
            "Mi" => (1 << 20, 1),
            "Gi" => (1 << 30, 1),
            "Ti" => (1 << 40, 1),
            "Pi" => (1 << 50, 1),
            "Ei" => (1 << 60, 1),
            _ => return None,
        };
        (num.to_string(), m, d)
    };
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num.as_str(), ""));
    let neg = int_part.starts_with('-');
    let int_part = int_part.trim_start_matches(['+', '-']);
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let int: i128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let frac_digits = frac_part.len().min(12) as u32;
    let frac: i128 = if frac_digits == 0 {
        0
    } else {
        frac_part[..frac_digits as usize].parse().ok()?
    };
    let scale = 10i128.pow(frac_digits);
    // value * 1000 * mult_num / mult_den, kept exact for the usual cases.
    let milli = ((int * scale + frac) * 1000 * mult_num) / (scale * mult_den);
    Some(if neg { -milli } else { milli })
}

/// CPU in millicores (rounded up, as the scheduler does).
pub fn cpu_milli(q: &str) -> Option<i64> {
    parse_milli(q).map(|m| m as i64)
}

/// Bytes (memory, storage); fractions of a byte round up.
pub fn bytes(q: &str) -> Option<i64> {
    parse_milli(q).map(|m| ((m + 999) / 1000) as i64)
}

/// `1500m` -> "1.5 CPU", `250` -> "250m CPU".
pub fn fmt_cpu(milli: i64) -> String {
    if milli % 1000 == 0 {
        format!("{} CPU", milli / 1000)
    } else if milli >= 1000 {
        let s = format!("{:.3}", milli as f64 / 1000.0);
        format!("{} CPU", s.trim_end_matches('0'))
    } else {
        format!("{milli}m CPU")
    }
}

/// Binary units with one decimal where it matters: "6.5 GiB", "512 MiB", "0 B".
pub fn fmt_bytes(b: i64) -> String {
    const UNITS: [(&str, i64); 5] = [
        ("PiB", 1 << 50),
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (u, size) in UNITS {
        if b.abs() >= size {
            let v = b as f64 / size as f64;
            let s = format!("{v:.1}");
            let s = s.strip_suffix(".0").unwrap_or(&s);
            return format!("{s} {u}");
        }
    }
    format!("{b} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_kubernetes_accepts() {
        assert_eq!(cpu_milli("500m"), Some(500));
        assert_eq!(cpu_milli("2"), Some(2000));
        assert_eq!(cpu_milli("0.25"), Some(250));
        assert_eq!(cpu_milli("1.5"), Some(1500));
        assert_eq!(bytes("4Gi"), Some(4 << 30));
        assert_eq!(bytes("4096Mi"), Some(4 << 30));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("1e3"), Some(1000));
        assert_eq!(bytes("128974848"), Some(128_974_848));
        assert_eq!(bytes("1.5Gi"), Some(3 << 29));
        assert_eq!(bytes("lots"), None);
        assert_eq!(bytes(""), None);
        assert_eq!(bytes("UNKNOWN(x)"), None);
    }

    #[test]
    fn prints_for_people() {
        assert_eq!(fmt_bytes(13 << 29), "6.5 GiB");
        assert_eq!(fmt_bytes(512 << 20), "512 MiB");
        assert_eq!(fmt_cpu(1500), "1.5 CPU");
        assert_eq!(fmt_cpu(2000), "2 CPU");
        assert_eq!(fmt_cpu(250), "250m CPU");
    }
}
