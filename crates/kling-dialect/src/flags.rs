//! The flags a model parameter may not take: `kling generate`'s own. clap refuses a
//! command with two flags of one name (`kling generate` would panic at start), so the
//! checker refuses a parameter whose flag is one of these, and the importer renames it
//! (`version` → `--model-version`, written as `x-cli-flag`).
//!
//! The list is written here, once; the `kling` command's tests walk its clap command
//! (`kling generate`, global flags included) and fail when the two differ.

/// Every long flag of `kling generate` that is not a model parameter's, without dashes:
/// its own, the global ones every command takes, and clap's `--help` and `--version`.
/// Model flags have no short form, so `-o`, `-q`, `-v`, `-h` and `-V` cannot collide.
///
/// ```
/// assert!(kling_dialect::RESERVED_FLAGS.contains(&"version"));
/// assert!(!kling_dialect::RESERVED_FLAGS.contains(&"prompt"));
/// ```
pub const RESERVED_FLAGS: &[&str] = &[
    // `kling generate`'s own flags.
    "model",
    "output",
    "no-wait",
    "dry-run",
    "max-cu",
    "timeout",
    "no-record",
    "strict-schema",
    "no-drift-check",
    // The global flags (`kling --help`, "Global options").
    "sandbox",
    "json",
    "quiet",
    "verbose",
    "no-fsync",
    "base-url",
    "api-key",
    "api-secret",
    "ca-cert",
    "config",
    // clap's own.
    "help",
    "version",
];

/// The prefix the importer puts before a reserved flag: `--version` → `--model-version`.
const RENAME_PREFIX: &str = "model-";

/// Whether `flag` (without dashes) is one of `kling generate`'s own flags.
///
/// ```
/// assert!(kling_dialect::is_reserved_flag("output"));
/// assert!(!kling_dialect::is_reserved_flag("model-output"));
/// ```
pub fn is_reserved_flag(flag: &str) -> bool {
    RESERVED_FLAGS.contains(&flag)
}

/// The flag the importer gives a parameter whose own flag is reserved: the same flag
/// after `model-` (`version` → `model-version`), which no reserved flag starts with.
///
/// ```
/// assert_eq!(kling_dialect::renamed_flag("version"), "model-version");
/// ```
pub fn renamed_flag(flag: &str) -> String {
    format!("{RENAME_PREFIX}{flag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renamed_flag_is_never_reserved() {
        for flag in RESERVED_FLAGS {
            assert!(!is_reserved_flag(&renamed_flag(flag)), "{flag}");
        }
    }

    #[test]
    fn reserved_flags_are_listed_once() {
        let mut flags = RESERVED_FLAGS.to_vec();
        flags.sort_unstable();
        flags.dedup();
        assert_eq!(flags.len(), RESERVED_FLAGS.len());
    }
}
