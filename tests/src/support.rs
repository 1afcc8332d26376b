//! Helpers more than one test module needs.

/// The statuses a job goes through, in order.
pub(crate) const LIFE: [&str; 5] = [
    "queued",
    "warming-up",
    "in-progress",
    "finalizing",
    "success",
];

/// Checks that `seen` (each status once, in the order first seen) follows a job's life:
/// some steps may be missed between two looks, none may come back or come out of order.
#[track_caller]
pub(crate) fn assert_in_life_order(seen: &[String]) {
    let positions: Vec<usize> = seen
        .iter()
        .map(|status| {
            LIFE.iter()
                .position(|known| known == status)
                .unwrap_or_else(|| panic!("`{status}` is not a status of a job's life"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "out of order: {seen:?}"
    );
    assert_eq!(seen.last().map(String::as_str), Some("success"), "{seen:?}");
}
