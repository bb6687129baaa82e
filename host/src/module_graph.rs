//! The layering of the library's modules, checked: the top-level modules
//! form no dependency circle, and the lower layers (the WebAssembly
//! runtime, the store, capabilities) use nothing above them. The graph is
//! read from the sources (`crate::NAME` paths outside comments and test
//! modules), so a new `use` that breaks a layer fails here; ARCHITECTURE.md
//! draws the same layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules of `src/` (files and folders) and the others each
/// one names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if ["lib", "main", "cli", "module_graph"].contains(&name.as_str()) {
            continue;
        }
        modules.entry(name).or_default().push(path);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (name, paths) in &modules {
        let mut uses = BTreeSet::new();
        for file in paths.iter().flat_map(|p| rust_files(p)) {
            let text = std::fs::read_to_string(&file).unwrap();
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap()
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let used: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if used != *name && names.contains(&used) {
                    uses.insert(used);
                }
            }
        }
        graph.insert(name.clone(), uses);
    }
    graph
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .flat_map(|e| rust_files(&e.unwrap().path()))
            .collect()
    } else if path.extension().is_some_and(|e| e == "rs") {
        vec![path.to_path_buf()]
    } else {
        Vec::new()
    }
}

/// Every module `from` reaches through the graph.
fn reach(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(module) = todo.pop() {
        for next in &graph[&module] {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn the_modules_form_no_circle() {
    let graph = graph();
    assert!(graph.len() > 10, "{graph:?}");
    for module in graph.keys() {
        assert!(
            !reach(&graph, module).contains(module),
            "`{module}` depends on itself through {:?}",
            reach(&graph, module)
                .into_iter()
                .filter(|m| reach(&graph, m).contains(module))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn the_lower_layers_use_nothing_above_them() {
    let graph = graph();
    let above = ["api", "runner", "token", "plugins", "config"];
    for lower in [
        "runtime",
        "store",
        "capability",
        "sanitize",
        "files",
        "process",
    ] {
        let reached = reach(&graph, lower);
        for upper in above {
            assert!(
                !reached.contains(upper),
                "`{lower}` reaches `{upper}`: {reached:?}"
            );
        }
    }
}
