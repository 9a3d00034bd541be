//! The host's modules form a stack: no module under host/src uses one that (directly or
//! through others) uses it. A module is a file; it uses another when its code (comments
//! aside) names it by a `crate::`, `super::` or `self::` path, or names one of its own
//! submodules. Read from the source, so a new import circle fails here with its path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module file under `src`, by its module path (`http::jobs`; the crate root is "").
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("host/src is readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path
                .strip_prefix(src)
                .expect("under src")
                .with_extension("");
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let name = match parts.as_slice() {
                [only] if only == "lib" || only == "main" => String::new(),
                _ => parts.join("::"),
            };
            found.insert(name, path);
        }
    }
    found
}

/// The code of a file without its comments (doc links name modules without using them)
/// and without its unit tests (whose `super` is the file itself).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("readable");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Paths of identifiers joined by `::` that start at `at` in `code`.
fn path_at(code: &str, at: usize) -> Vec<&str> {
    let rest = &code[at..];
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    rest[..end].split("::").filter(|s| !s.is_empty()).collect()
}

/// Names a module re-exports from its submodules (`pub use page::PageData;`, `pub use
/// fetch::{Accept, Fetcher};`): a path through the parent to such a name uses the
/// submodule, not the parent, which only gives it a shorter name.
type Reexports = BTreeMap<String, BTreeMap<String, String>>;

fn reexports(modules: &BTreeMap<String, PathBuf>) -> Reexports {
    let mut all = Reexports::new();
    for (name, path) in modules {
        let mut names = BTreeMap::new();
        for line in code(path).lines() {
            let Some(rest) = line.trim().strip_prefix("pub use ") else {
                continue;
            };
            let rest = rest.trim_end_matches(';');
            let (from, items) = match rest.split_once("::{") {
                Some((from, items)) => (from, items.trim_end_matches('}').to_owned()),
                None => match rest.rsplit_once("::") {
                    Some((from, item)) => (from, item.to_owned()),
                    None => continue,
                },
            };
            if from.starts_with("crate") || from.starts_with("super") {
                continue;
            }
            let mut child: Vec<&str> = if name.is_empty() {
                Vec::new()
            } else {
                name.split("::").collect()
            };
            child.extend(from.split("::"));
            let child = child.join("::");
            if !modules.contains_key(&child) {
                continue;
            }
            for item in items.split(',') {
                let item = item.trim();
                let exported = item.rsplit(" as ").next().unwrap_or(item).trim();
                if !exported.is_empty() {
                    names.insert(exported.to_owned(), child.clone());
                }
            }
        }
        all.insert(name.clone(), names);
    }
    all
}

/// The module `base::segments…` names: the longest module prefix, or the submodule
/// that module re-exports the next segment from.
fn resolve(
    modules: &BTreeMap<String, PathBuf>,
    reexports: &Reexports,
    base: &[String],
    segments: &[&str],
) -> Option<String> {
    let mut best = None;
    let mut path: Vec<String> = base.to_vec();
    if modules.contains_key(&path.join("::")) && !path.is_empty() {
        best = Some(path.join("::"));
    }
    for segment in segments {
        if let Some(child) = best
            .as_ref()
            .or(path.is_empty().then_some(&String::new()))
            .and_then(|m| reexports.get(m))
            .and_then(|names| names.get(*segment))
        {
            return Some(child.clone());
        }
        path.push((*segment).to_owned());
        let name = path.join("::");
        if modules.contains_key(&name) {
            best = Some(name);
        } else {
            break;
        }
    }
    best
}

fn edges(modules: &BTreeMap<String, PathBuf>) -> BTreeMap<String, BTreeSet<String>> {
    let reexports = reexports(modules);
    let mut graph = BTreeMap::new();
    for (name, path) in modules {
        let own: Vec<String> = if name.is_empty() {
            Vec::new()
        } else {
            name.split("::").map(str::to_owned).collect()
        };
        let code = code(path);
        let mut uses = BTreeSet::new();
        let bytes = code.as_bytes();
        for (at, _) in code.match_indices("::") {
            // The start of the path this `::` belongs to.
            let mut start = at;
            while start > 0 {
                let c = bytes[start - 1] as char;
                if c.is_alphanumeric() || c == '_' || c == ':' {
                    start -= 1;
                } else {
                    break;
                }
            }
            if start != 0 && code[..start].ends_with("::") {
                continue;
            }
            let segments = path_at(&code, start);
            if segments.is_empty() || at != start + segments[0].len() {
                continue;
            }
            let target = match segments[0] {
                "crate" => resolve(modules, &reexports, &[], &segments[1..]),
                "self" => resolve(modules, &reexports, &own, &segments[1..]),
                "super" => {
                    let mut base = own.clone();
                    let mut rest = &segments[..];
                    while rest.first() == Some(&"super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    resolve(modules, &reexports, &base, rest).or_else(|| Some(base.join("::")))
                }
                first => {
                    let mut child = own.clone();
                    child.push(first.to_owned());
                    if modules.contains_key(&child.join("::")) {
                        resolve(modules, &reexports, &own, &segments)
                    } else {
                        None
                    }
                }
            };
            if let Some(target) = target
                && &target != name
            {
                uses.insert(target);
            }
        }
        graph.insert(name.clone(), uses);
    }
    graph
}

/// A circle through `from`, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_owned(), vec![from.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == from {
                let mut path = path.clone();
                path.push(from.to_owned());
                return Some(path);
            }
            if seen.insert(next.clone()) {
                let mut path = path.clone();
                path.push(next.clone());
                stack.push((next.clone(), path));
            }
        }
    }
    None
}

#[test]
fn no_module_uses_one_that_uses_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src");
    let modules = modules(&src);
    assert!(modules.len() > 40, "found {} modules", modules.len());
    let graph = edges(&modules);
    // The checker sees real imports: the API uses the shared state, the state does not
    // use the API.
    assert!(
        graph["http::jobs"].contains("state"),
        "{:?}",
        graph["http::jobs"]
    );
    assert!(graph["worker::run::page"].contains("worker::run::context"));
    let circles: Vec<String> = graph
        .keys()
        .filter(|name| !name.is_empty())
        .filter_map(|name| circle(&graph, name))
        .map(|path| path.join(" → "))
        .collect();
    assert!(
        circles.is_empty(),
        "modules that use a module that uses them:\n{}",
        circles.join("\n")
    );
}

/// The checker finds a circle where there is one.
#[test]
fn a_circle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(circle(&graph, "a").expect("a circle"), ["a", "b", "c", "a"]);
    assert!(circle(&graph, "d").is_none());
}
