//! The README says what is true: every configuration key is in its configuration table (with
//! its variable), and every API file is named in its architecture map.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).unwrap()
}

#[test]
fn every_configuration_key_is_in_the_readme_table() {
    let readme = readme();
    let config = serde_json::to_value(yunyin_server::Config::default()).unwrap();
    let keys: Vec<&String> = config.as_object().unwrap().keys().collect();
    assert!(keys.len() > 20, "the configuration has its keys: {keys:?}");
    let missing: Vec<&&String> =
        keys.iter().filter(|k| !readme.contains(&format!("| `{k}` / `YUNYIN_{}` |", k.to_uppercase()))).collect();
    assert!(missing.is_empty(), "README's configuration table lacks {missing:?}");
    // One table: no blank line splits it (a second half would render as text).
    let table = readme.split("| key / variable | default | meaning |").nth(1).unwrap();
    let rows = table.lines().skip(2).take_while(|l| l.starts_with('|')).count();
    assert_eq!(rows, keys.len(), "every key is a row of one unbroken table");
}

#[test]
fn every_api_file_is_in_the_architecture_map() {
    let readme = readme();
    let row = readme.lines().find(|l| l.starts_with("| `backend/src/api/`")).expect("the api/ row");
    let mut files: Vec<String> = std::fs::read_dir(repo().join("backend/src/api"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_string())
        .filter(|f| f != "mod")
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let missing: Vec<&String> = files.iter().filter(|f| !row.contains(&format!("`{f}`"))).collect();
    assert!(missing.is_empty(), "README's api/ row lacks {missing:?}");
}
