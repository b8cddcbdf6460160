//! Byte sizes as people write them on the command line, with one meaning everywhere.
//!
//! Parsed by the `bytesize` crate: a plain number is bytes; `k`/`K`/`kB`, `M`/`MB`, `G`/`GB` are
//! powers of 1000 (SI, as Kubernetes' `500k`); `Ki`/`KiB`, `Mi`/`MiB`, `Gi`/`GiB` are powers of
//! 1024 (as Kubernetes' `64Mi`); case does not matter; a fraction is allowed (`1.5GiB`). A size
//! that does not fit in 64 bits is an error, not a silently capped value.

/// Parses `s` (e.g. `512`, `500k`, `64KiB`, `1.5GiB`), naming the fix on bad input.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() || t.starts_with('-') {
        return Err(format!(
            "{s:?} is not a size: write a number with an optional unit, e.g. 1048576, 500k (1000s), 64KiB or 64MiB (1024s)"
        ));
    }
    let v = t.parse::<bytesize::ByteSize>().map_err(|e| {
        format!(
            "{s:?} is not a size ({e}): write a number with an optional unit, e.g. 1048576, 500k (1000s), 64KiB or 64MiB (1024s)"
        )
    })?;
    // bytesize saturates instead of failing; no real size reaches 2^64 - 1.
    if v.as_u64() == u64::MAX {
        return Err(format!("{s:?} is too large: sizes must stay below 16EiB"));
    }
    Ok(v.as_u64())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn decimal_and_binary_units_have_one_meaning() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("10k").unwrap(), 10_000);
        assert_eq!(parse_size("10K").unwrap(), 10_000);
        assert_eq!(parse_size("10kb").unwrap(), 10_000);
        assert_eq!(parse_size("10Ki").unwrap(), 10_240);
        assert_eq!(parse_size("10KiB").unwrap(), 10_240);
        assert_eq!(parse_size("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
        assert_eq!(parse_size(" 8 MiB ").unwrap(), 8 << 20);
    }

    #[test]
    fn overflow_and_nonsense_are_errors_with_the_fix() {
        // Regression: --s3-part-size 17179869184G overflowed when G was 2^30; in GiB it still
        // would, and is refused instead of wrapping or capping.
        assert!(parse_size("17179869184GiB")
            .unwrap_err()
            .contains("too large"));
        assert!(parse_size("99999999999999999999B")
            .unwrap_err()
            .contains("too large"));
        assert_eq!(
            parse_size("17179869184G").unwrap(),
            17_179_869_184_000_000_000
        );
        for bad in ["lots", "", "-1", "5 parsecs"] {
            assert!(parse_size(bad).unwrap_err().contains("e.g."), "{bad}");
        }
    }
}
