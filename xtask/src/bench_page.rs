//! BENCHMARKS.md after a partial `cargo xtask bench SECTION`: the section's rows merged
//! into the page a whole run wrote, every other row kept.

/// A row as the page shows it.
#[derive(Clone, Debug)]
pub struct PageRow {
    /// The row's name: the first cell of its table line, the start of its note.
    pub name: String,
    /// The whole table line (`| name | ours | … |`).
    pub line: String,
    /// Its spread and details, empty when it has none.
    pub note: String,
}

/// The first line of the rows' table.
pub const TABLE_HEADER_LINE: &str = "| what | ours | theirs | ratio | target | met |";

/// `page` with `rows` merged in: a table line and a note of the same name are replaced,
/// new ones added at the end of the table and of "## Spread and details"; `dated_line`
/// replaces the line of "## Machine" that starts with `dated_prefix`, or is added after
/// the others.
///
/// ```
/// use xtask::bench_page::{PageRow, merge};
///
/// let page = "# B\n\n| what | ours | theirs | ratio | target | met |\n|---|---|---|---|---|---|\n\
///             | a | 1 s | – | – | – | yes |\n\n## Spread and details\n\n- a: one run\n\n## Machine\n\n- date: then\n";
/// let row = PageRow { name: "b".into(), line: "| b | 2 s | – | – | – | yes |".into(), note: "two runs".into() };
/// let merged = merge(page, &[row], "- rows of `bench b`: now", "- rows of `bench b`:")?;
/// assert!(merged.contains("| a | 1 s |") && merged.contains("| b | 2 s |"));
/// assert!(merged.contains("- a: one run\n- b: two runs\n"));
/// assert!(merged.ends_with("- date: then\n- rows of `bench b`: now\n"));
/// # Ok::<(), String>(())
/// ```
pub fn merge(
    page: &str,
    rows: &[PageRow],
    dated_line: &str,
    dated_prefix: &str,
) -> Result<String, String> {
    let mut lines: Vec<String> = page.lines().map(str::to_owned).collect();
    let heading = |lines: &[String], heading: &str| {
        lines
            .iter()
            .position(|line| line == heading)
            .ok_or_else(|| format!("BENCHMARKS.md has no `{heading}`: run the whole bench once"))
    };
    let table = heading(&lines, TABLE_HEADER_LINE)?;
    for row in rows {
        let end = end_of_block(&lines, table, |line| line.starts_with('|'));
        let cell = format!("| {} |", row.name);
        match (table + 2..end).find(|&at| lines[at].starts_with(&cell)) {
            Some(at) => lines[at].clone_from(&row.line),
            None => lines.insert(end, row.line.clone()),
        }
    }
    let details = heading(&lines, "## Spread and details")?;
    for row in rows {
        // The list starts after the heading's blank line and ends at the next blank one.
        let end = end_of_block(&lines, details + 2, |line| line.starts_with("- "));
        let prefix = format!("- {}: ", row.name);
        let at = (details + 2..end).find(|&at| lines[at].starts_with(&prefix));
        match (at, row.note.is_empty()) {
            (Some(at), false) => lines[at] = format!("{prefix}{}", row.note),
            (Some(at), true) => {
                lines.remove(at);
            }
            (None, false) => lines.insert(end, format!("{prefix}{}", row.note)),
            (None, true) => {}
        }
    }
    let machine = heading(&lines, "## Machine")?;
    let end = end_of_block(&lines, machine + 2, |line| line.starts_with("- "));
    match (machine + 2..end).find(|&at| lines[at].starts_with(dated_prefix)) {
        Some(at) => dated_line.clone_into(&mut lines[at]),
        None => lines.insert(end, dated_line.to_owned()),
    }
    Ok(lines.join("\n") + "\n")
}

/// The index of the first line from `from` on that is not in the block.
fn end_of_block(lines: &[String], from: usize, in_block: impl Fn(&str) -> bool) -> usize {
    lines
        .get(from..)
        .and_then(|rest| rest.iter().position(|line| !in_block(line)))
        .map_or(lines.len(), |offset| from + offset)
}

#[cfg(test)]
mod tests {
    use super::{PageRow, merge};

    const PAGE: &str = "# Benchmarks\n\nintro\n\n\
        | what | ours | theirs | ratio | target | met |\n|---|---|---|---|---|---|\n\
        | download | 9 MiB/s | – | – | – | yes |\n| size | 20 MiB | – | – | ≤ 8 MiB | **no** |\n\n\
        ## Spread and details\n\n- download: 11 runs\n- size: one build\n\n\
        ## Micro-benchmarks\n\ntable\n\n## Machine\n\n- date: 2026-11-30\n- the run took 651 s\n";

    fn row(name: &str, line: &str, note: &str) -> PageRow {
        PageRow {
            name: name.to_owned(),
            line: line.to_owned(),
            note: note.to_owned(),
        }
    }

    #[test]
    fn a_partial_run_replaces_its_rows_and_keeps_the_others() {
        let merged = merge(
            PAGE,
            &[
                row(
                    "size",
                    "| size | 7 MiB | – | – | ≤ 8 MiB | yes |",
                    "the new profile",
                ),
                row("build", "| build | 300 s | – | – | – | yes |", ""),
            ],
            "- rows of `cargo xtask bench packaging`: 2026-12-02",
            "- rows of `cargo xtask bench packaging`:",
        )
        .unwrap();
        assert_eq!(
            merged,
            "# Benchmarks\n\nintro\n\n\
             | what | ours | theirs | ratio | target | met |\n|---|---|---|---|---|---|\n\
             | download | 9 MiB/s | – | – | – | yes |\n| size | 7 MiB | – | – | ≤ 8 MiB | yes |\n\
             | build | 300 s | – | – | – | yes |\n\n\
             ## Spread and details\n\n- download: 11 runs\n- size: the new profile\n\n\
             ## Micro-benchmarks\n\ntable\n\n## Machine\n\n- date: 2026-11-30\n- the run took 651 s\n\
             - rows of `cargo xtask bench packaging`: 2026-12-02\n"
        );
        // Run again: the dated line is replaced, not repeated.
        let again = merge(
            &merged,
            &[],
            "- rows of `cargo xtask bench packaging`: 2026-12-03",
            "- rows of `cargo xtask bench packaging`:",
        )
        .unwrap();
        assert_eq!(again.matches("- rows of").count(), 1);
        assert!(again.contains("2026-12-03") && !again.contains("2026-12-02"));
    }

    #[test]
    fn a_page_without_its_sections_is_refused() {
        let error = merge("# Benchmarks\n", &[], "-", "-").unwrap_err();
        assert!(error.contains("run the whole bench once"), "{error}");
    }
}
