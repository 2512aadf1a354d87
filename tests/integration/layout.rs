//! The module graph of `src/` and of `udfs/src/` has no circle: no module uses,
//! directly or through others, a module that uses it.
//!
//! Every `crate::` and `super::` path in a file's code (use lines, inline calls and
//! `use` groups alike; comments skipped) is an edge from the file's module to the
//! longest module its path names. A child's `mod` declaration is not an edge; a
//! `#[cfg(test)] mod tests` block inside a file belongs to that file's module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The module path of each `.rs` file under `root` (`a/b.rs` and `a/b/mod.rs` are
/// `a::b`; `lib.rs` is the crate root, ``).
fn modules(root: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            // lib.rs names it with `#[path]`: the build without the cluster feature.
            if parts == ["cluster_absent"] {
                parts = vec!["cluster".to_string()];
            }
            found.insert(
                parts.join("::"),
                std::fs::read_to_string(&path).unwrap() + "\n",
            );
        }
    }
    found.remove("bin");
    found
}

/// The paths a file's code names, as full paths from the crate root.
fn paths(module: &str, text: &str) -> Vec<Vec<String>> {
    let own: Vec<String> = module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let mut code = String::new();
    let mut in_tests = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed.starts_with("mod tests") {
            in_tests = true;
        }
        // `super::` of a test module is the file's own module.
        let line = if in_tests {
            line.replace("super::super::", "super::")
                .replace("super::", "self::")
        } else {
            line.to_string()
        };
        code.push_str(&line);
        code.push('\n');
    }
    let mut found = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let at_word = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        let rest: String = bytes[i..bytes.len().min(i + 8)].iter().collect();
        let (base, skip) = if at_word && rest.starts_with("crate::") {
            (Vec::new(), 7)
        } else if at_word && rest.starts_with("super::") {
            let mut base = own.clone();
            let mut j = i;
            while bytes[j..].iter().take(7).collect::<String>() == "super::" {
                base.pop();
                j += 7;
            }
            (base, j - i)
        } else {
            i += 1;
            continue;
        };
        i += skip;
        let (tails, used) = path_tree(&bytes[i..]);
        i += used;
        for tail in tails {
            let mut path = base.clone();
            path.extend(tail);
            found.push(path);
        }
    }
    found
}

/// Reads `a::b::{c, d::e}` at the start of `chars`: the paths it names and the
/// characters read.
fn path_tree(chars: &[char]) -> (Vec<Vec<String>>, usize) {
    let mut i = 0;
    let mut prefix = Vec::new();
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '{' {
            i += 1;
            let mut all = Vec::new();
            loop {
                while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                    i += 1;
                }
                if i >= chars.len() || chars[i] == '}' {
                    i += 1;
                    break;
                }
                let (inner, used) = path_tree(&chars[i..]);
                i += used.max(1);
                for tail in inner {
                    let mut path = prefix.clone();
                    path.extend(tail);
                    all.push(path);
                }
            }
            return (all, i);
        }
        let start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        if i == start {
            return (vec![prefix], i);
        }
        prefix.push(chars[start..i].iter().collect());
        if chars[i..].iter().take(2).collect::<String>() == "::" {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// The module a path names: its longest prefix that is a module.
fn target(path: &[String], known: &BTreeMap<String, String>) -> String {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| known.contains_key(m))
        .unwrap_or_default()
}

/// The edges of a crate's module graph (module, the modules it uses).
fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let known = modules(root);
    known
        .iter()
        .map(|(module, text)| {
            let uses = paths(module, text)
                .iter()
                .map(|p| target(p, &known))
                .filter(|t| t != module)
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

/// A circle of the graph, if it has one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // 0: not seen, 1: on the path, 2: done.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = path.iter().position(|p| p == next).unwrap_or(0);
                    let mut found = path[from..].to_vec();
                    found.push(next.clone());
                    return Some(found);
                }
                0 => {
                    if let Some(found) = visit(next, graph, state, path) {
                        return Some(found);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            let mut path = Vec::new();
            if let Some(found) = visit(node, graph, &mut state, &mut path) {
                return Some(found);
            }
        }
    }
    None
}

fn show(found: &[String]) -> String {
    found
        .iter()
        .map(|m| if m.is_empty() { "crate" } else { m.as_str() })
        .collect::<Vec<_>>()
        .join(" -> ")
}

#[test]
fn the_module_graphs_have_no_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for crate_root in ["src", "udfs/src"] {
        let graph = graph(&root.join(crate_root));
        assert!(graph.len() > 5, "{crate_root}: {graph:?}");
        if let Some(found) = circle(&graph) {
            panic!("{crate_root}: a circle: {}", show(&found));
        }
    }
}

#[test]
fn the_scanner_sees_groups_inline_calls_and_super() {
    let known: BTreeMap<String, String> = ["", "a", "a::b", "c", "d"]
        .iter()
        .map(|m| (m.to_string(), String::new()))
        .collect();
    let text = "use crate::{a::b::{X, Y}, c};\n// crate::d::Z in a comment\n\
                fn f() { super::d::g(); crate::a::h() }\n";
    let mut targets: Vec<String> = paths("a::b", text)
        .iter()
        .map(|p| target(p, &known))
        .collect();
    targets.sort();
    targets.dedup();
    assert_eq!(targets, ["a", "a::b", "c"]);
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["c".to_string()]));
    graph.insert("c".to_string(), BTreeSet::from(["d".to_string()]));
    assert_eq!(circle(&graph), None);
    graph.insert("d".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(show(&circle(&graph).unwrap()), "a -> c -> d -> a");
}
