//! The memory a typed size asks for, checked before anything is allocated.
//!
//! Every flag that sets a size (`--hidden`, `--epochs` where each epoch keeps a record,
//! `--batch-size`, `--image-size`) says what it will cost through [`check_fits`], which
//! compares the bytes with the memory the machine has available now (Linux's
//! `MemAvailable`). A size that does not fit is an error naming the flags and values, and
//! the process never asks the allocator for it: a failed allocation aborts (exit 134), which
//! no error message can follow.
//!
//! Where the available memory cannot be read (no `/proc/meminfo`), the budget is
//! [`UNKNOWN_MEMORY_CAP`], raised or lowered with the environment variable
//! `NEURITE_MEMORY_GIB`; the variable also overrides `MemAvailable` where that is known (a
//! job scheduler's memory limit is not in `/proc/meminfo`).

use neurite::error::{Error, Result};

/// The budget, in bytes, when the machine's available memory is not known: 8 GiB.
pub(crate) const UNKNOWN_MEMORY_CAP: u128 = 8 << 30;

const GIB: f64 = (1u64 << 30) as f64;

/// Bytes of `counts` multiplied together (saturating: a product past u128 is "too much"
/// anyway, and the check then refuses it).
pub(crate) fn product(counts: &[usize]) -> u128 {
    counts.iter().fold(1u128, |p, &c| p.saturating_mul(c as u128))
}

/// The memory a new allocation can take, in bytes, and where that number comes from.
fn budget() -> Result<(u128, String)> {
    if let Some(value) = std::env::var_os("NEURITE_MEMORY_GIB") {
        let text = value.to_string_lossy();
        return match text.trim().parse::<f64>() {
            Ok(gib) if gib.is_finite() && gib >= 0.0 => {
                Ok(((gib * GIB) as u128, format!("NEURITE_MEMORY_GIB allows {gib:.1} GiB")))
            }
            _ => Err(Error::Value(format!("NEURITE_MEMORY_GIB={text:?}: not a number of GiB such as 16 or 0.5"))),
        };
    }
    Ok(match available_memory() {
        Some(bytes) => (bytes, format!("{:.1} GiB of memory are available", bytes as f64 / GIB)),
        None => (
            UNKNOWN_MEMORY_CAP,
            format!(
                "the available memory is unknown here, and the budget is then {:.0} GiB (set NEURITE_MEMORY_GIB to change it)",
                UNKNOWN_MEMORY_CAP as f64 / GIB
            ),
        ),
    })
}

/// Bytes of memory available to a new allocation (Linux's MemAvailable), when known.
fn available_memory() -> Option<u128> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Refuses `bytes` that do not fit in the memory available now. `flags` names the flags and
/// values that ask for them (`--hidden 1000000000`), `what` says what they are for (`the
/// parameters of a 2-1000000000-1 network`) and `remedy` what to change.
pub(crate) fn check_fits(flags: &str, what: &str, bytes: u128, remedy: &str) -> Result<()> {
    let (budget, source) = budget()?;
    if bytes <= budget {
        return Ok(());
    }
    Err(Error::Value(format!("{flags}: {what} would take about {}, and {source}; {remedy}", describe(bytes))))
}

/// A size in bytes for people: GiB with one decimal, or "more than 1 EiB".
fn describe(bytes: u128) -> String {
    if bytes >= 1u128 << 60 {
        "more than 1 EiB".to_string()
    } else {
        format!("{:.1} GiB", bytes as f64 / GIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_past_u128_saturates_instead_of_wrapping() {
        assert_eq!(product(&[usize::MAX, usize::MAX, usize::MAX]), u128::MAX);
        assert_eq!(product(&[3, 4]), 12);
    }

    #[test]
    fn more_than_any_machine_has_is_refused_with_the_flags_named() {
        let e = check_fits("--hidden 1", "the model", u128::MAX, "use fewer").unwrap_err().to_string();
        assert!(e.contains("--hidden 1: the model would take about more than 1 EiB"), "{e}");
        assert!(e.ends_with("use fewer"), "{e}");
        assert!(check_fits("--hidden 1", "the model", 1024, "").is_ok());
    }
}
