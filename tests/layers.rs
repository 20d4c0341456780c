//! The crate's modules form layers with one direction of dependency: a module's code
//! names (`crate::...`) only modules of lower layers, so there is no import cycle and
//! `sys` imports nothing else of the crate. The order is the one the README's layout
//! table and `src/lib.rs` give.

use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may name any module before it, never one after it.
const LAYERS: &[&str] = &[
    "sys",
    "mask",
    "parse",
    "error",
    "clock",
    "path",
    "fd",
    "inotify",
    "fanotify",
    "dir",
    "epoll",
    "raw",
    "wait",
    "wait_path",
    "adapter",
];

/// The source files of module `name`: `src/NAME.rs`, or everything under `src/NAME/`.
fn files_of(name: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let file = src.join(format!("{}.rs", name));
    if file.is_file() {
        return vec![file];
    }
    let mut files: Vec<PathBuf> = fs::read_dir(src.join(name))
        .unwrap_or_else(|e| {
            panic!(
                "module {} has no src/{}.rs nor src/{}/: {}",
                name, name, name, e
            )
        })
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().map_or(false, |ext| ext == "rs"))
        .collect();
    files.sort();
    files
}

/// The crate modules that the code (not the comments) of `text` names as `crate::NAME`.
fn named_modules(text: &str) -> Vec<(usize, String)> {
    let mut named = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            named.push((number + 1, name));
        }
    }
    named
}

#[test]
fn every_module_of_the_crate_is_in_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        if name == "lib" {
            continue;
        }
        assert!(
            LAYERS.contains(&name.as_str()),
            "src/{} is in no layer: add it to LAYERS here, to src/lib.rs's list and to the \
             README's layout table",
            path.file_name().unwrap().to_string_lossy()
        );
    }
}

/// Which module defines each name the root re-exports (`pub use MODULE::{...}` in
/// `src/lib.rs`), so that `crate::Name` counts as naming that module.
fn reexported_from() -> Vec<(String, String)> {
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let mut names = Vec::new();
    let mut rest = lib.as_str();
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let statement = &rest[..rest.find(';').unwrap()];
        let (module, items) = statement.split_once("::").unwrap();
        for item in items.split(|c: char| "{}, \n".contains(c)) {
            if !item.is_empty() {
                names.push((item.to_string(), module.to_string()));
            }
        }
    }
    names
}

#[test]
fn modules_name_only_lower_layers() {
    let reexported = reexported_from();
    let mut wrong = Vec::new();
    for (level, module) in LAYERS.iter().enumerate() {
        for file in files_of(module) {
            let text = fs::read_to_string(&file).unwrap();
            for (line, name) in named_modules(&text) {
                let target = match reexported.iter().find(|(item, _)| *item == name) {
                    Some((_, from)) => from.clone(),
                    None => name.clone(),
                };
                let allowed = target == *module || LAYERS[..level].contains(&target.as_str());
                if !allowed {
                    wrong.push(format!(
                        "{}:{}: {} names crate::{} (of {}), which is not in a layer below it",
                        file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                            .unwrap()
                            .display(),
                        line,
                        module,
                        name,
                        target
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
