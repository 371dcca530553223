//! "Did you mean ...?": the known name closest to a misspelt one.

/// Edits (insert, delete, substitute, swap two neighbours) between two words, by character.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Three rows of the optimal string alignment table: two rows back, the last, this one.
    let mut before: Vec<usize> = Vec::new();
    let mut last: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut last, row);
    }
    last[b.len()]
}

/// The candidate closest to `word` when it is close enough to be what was meant: at most one
/// edit per three characters of `word` (at least one), ignoring case. Ties go to the earlier
/// candidate; `word` itself is never suggested.
pub(crate) fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let most = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates.into_iter().filter(|c| *c != word) {
        let d = distance(&lower, &c.to_lowercase());
        if d <= most && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_between_words() {
        let pairs = [
            ("", ""),
            ("", "abc"),
            ("abc", ""),
            ("next", "next"),
            ("ab", "ba"),
            ("abc", "bca"),
            ("evetn", "event"),
            ("filtre", "filter"),
            ("kitten", "sitting"),
            ("ca", "abc"),
            ("héllo", "hello"),
        ];
        let got: Vec<usize> = pairs.iter().map(|(a, b)| distance(a, b)).collect();
        assert_eq!(got, [0, 3, 3, 0, 1, 2, 1, 1, 3, 3, 1]);
    }

    #[test]
    fn suggests_only_close_names() {
        let keys = ["event", "filter", "next", "timeout_next", "exit", "trait", "to"];
        let cases = [
            ("filters", Some("filter")),
            ("nxt", Some("next")),
            ("nxet", Some("next")),
            ("exits", Some("exit")),
            ("timeout_nxt", Some("timeout_next")),
            ("Filter", Some("filter")),
            ("trait", None),
            ("evnet", Some("event")),
            ("go", Some("to")),
            ("fliter_by", None),
            ("webhook", None),
            ("", None),
        ];
        let got: Vec<_> = cases.iter().map(|(w, _)| (*w, closest(w, keys))).collect();
        assert_eq!(got, cases);
        assert_eq!(closest("evetn", keys), Some("event"), "a swap is one edit");
        assert_eq!(closest("exitt", ["exits", "exit"]), Some("exits"), "the first of two as close");
        assert_eq!(closest("exitss", ["exit", "exits"]), Some("exits"), "the closest, wherever it is");
        assert_eq!(closest("Page Viewd", ["Page Viewed", "Page Loaded"]), Some("Page Viewed"));
        assert_eq!(closest("page viewed", ["Page Viewed"]), Some("Page Viewed"));
    }
}
