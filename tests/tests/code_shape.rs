//! The shape of the product code (issue 12): no function of the server or the gateway runs
//! to 80 lines or more, so each reads on one screen, and the layers point one way: the API
//! layer reaches the database only through services, which hand it domain records. Test
//! modules are not product code.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

const LIMIT: usize = 80;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `line` starts a function item (`pub(crate) async fn name(`, …).
fn starts_fn(line: &str) -> bool {
    let mut rest = line.trim_start();
    for prefix in ["pub(crate) ", "pub(super) ", "pub ", "const ", "async ", "unsafe ", "extern \"C\" "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    rest.starts_with("fn ")
}

/// (lines, name) of each function in `source` before its test module, from its `fn` line
/// to the closing brace at the same indentation.
fn functions(source: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = source.lines().take_while(|l| !l.starts_with("#[cfg(test)]")).collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !starts_fn(line) {
            continue;
        }
        let name = line.split("fn ").nth(1).unwrap_or("").split(['(', '<']).next().unwrap_or("").to_string();
        // A declaration without a body, or a body on the same line.
        if line.trim_end().ends_with(';') || line.trim_end().ends_with('}') {
            continue;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        let close = format!("{indent}}}");
        if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
            found.push((end + 2, name));
        }
    }
    found
}

#[test]
fn no_product_function_reaches_eighty_lines() {
    let mut files = Vec::new();
    rust_files(&repo().join("backend/src"), &mut files);
    rust_files(&repo().join("gateway/src"), &mut files);
    assert!(files.len() > 50, "the sources are where this test looks: {}", files.len());
    let mut longest = (0, String::new());
    let mut too_long = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for (length, name) in functions(&source) {
            let at = format!("{}: {name} ({length} lines)", file.strip_prefix(repo()).unwrap().display());
            if length >= LIMIT {
                too_long.push(at.clone());
            }
            if length > longest.0 {
                longest = (length, at);
            }
        }
    }
    assert!(longest.0 > 20, "functions were measured: {longest:?}");
    assert!(too_long.is_empty(), "functions of {LIMIT} lines or more:\n{}", too_long.join("\n"));
}

#[test]
fn the_measure_counts_from_fn_to_its_closing_brace() {
    let source = "impl A {\n    pub async fn long(\n        x: u8,\n    ) -> u8 {\n        x\n    }\n\n    fn one() -> u8 { 1 }\n    fn decl(&self);\n}\n\nfn free() {\n    let _ = 1;\n}\n#[cfg(test)]\nfn ignored() {\n}\n";
    assert_eq!(functions(source), vec![(5, "long".to_string()), (3, "free".to_string())]);
}

/// `api/` names nothing in `storage/`: services hand it domain records, never rows.
#[test]
fn the_api_layer_imports_nothing_from_storage() {
    let mut files = Vec::new();
    rust_files(&repo().join("backend/src/api"), &mut files);
    assert!(files.len() > 20, "the API files are where this test looks: {}", files.len());
    let mut found = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for (n, line) in source.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("storage::") || code.contains("crate::storage") {
                found.push(format!("{}:{}: {}", file.strip_prefix(repo()).unwrap().display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "the API layer reaches into storage:\n{}", found.join("\n"));
}
