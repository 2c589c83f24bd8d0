//! fixtures/README.md states each case's verdict; it must be the verdict its case.toml holds.

use std::collections::BTreeMap;
use std::path::Path;

/// `| `name` | verdict | ...` rows of the README's case table.
fn readme_verdicts(text: &str) -> BTreeMap<String, String> {
    let verdicts = ["clean", "review", "compromised", "inconclusive"];
    text.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let verdict = cells.get(2)?.trim_matches('*');
            verdicts
                .contains(&verdict)
                .then(|| (name.to_owned(), verdict.to_owned()))
        })
        .collect()
}

#[test]
fn the_fixtures_readme_states_each_case_verdict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let text = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let stated = readme_verdicts(&text);
    assert!(stated.len() > 10, "the case table was not found");
    let mut wrong = Vec::new();
    for (name, verdict) in &stated {
        let case = std::fs::read_to_string(dir.join(name).join("case.toml"))
            .unwrap_or_else(|e| panic!("fixtures/README.md names {name}: {e}"));
        let table: toml::Table = case.parse().unwrap();
        let actual = table["verdict"].as_str().unwrap();
        if actual != verdict {
            wrong.push(format!("{name}: README says {verdict}, case.toml {actual}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
