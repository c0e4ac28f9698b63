//! The README's "Headscale" section works as written, offline, from the root of a clone:
//! every `$ tailgrant ...` command of its `console` blocks prints what the block shows, the
//! hooks and Action inputs of its `yaml` blocks exist, and `tailgrant schema --dialect
//! headscale` prints the committed schema.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;

/// The text of the README section `## Headscale`, up to the next `## ` heading.
fn section() -> String {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme
        .find("\n## Headscale\n")
        .expect("a Headscale section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// The fenced blocks of `text` in `lang`, each as its lines.
fn blocks(text: &str, lang: &str) -> Vec<Vec<String>> {
    let open = format!("```{lang}");
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim() == open => current = Some(Vec::new()),
            Some(lines) if line.trim() == "```" => {
                out.push(std::mem::take(lines));
                current = None;
            }
            Some(lines) => lines.push(line.to_string()),
            None => {}
        }
    }
    out
}

/// Each command of a console block with the output shown under it.
fn commands(block: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block {
        if let Some(command) = line.strip_prefix("$ ") {
            out.push((command.to_string(), String::new()));
        } else if let Some((_, shown)) = out.last_mut() {
            shown.push_str(line);
            shown.push('\n');
        }
    }
    out
}

#[test]
fn every_command_of_the_section_prints_what_it_shows() {
    let section = section();
    let mut ran = 0;
    for block in blocks(&section, "console") {
        for (command, shown) in commands(&block) {
            let words: Vec<&str> = command.split_whitespace().collect();
            assert_eq!(words[0], "tailgrant", "{command}");
            let output = Command::cargo_bin("tailgrant")
                .unwrap()
                .args(&words[1..])
                .output()
                .unwrap();
            let printed = String::from_utf8_lossy(&output.stdout);
            assert_eq!(printed, shown, "`{command}` printed otherwise");
            assert!(
                output.status.code().is_some_and(|c| c < 2),
                "`{command}`: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 5, "only {ran} commands");
    assert!(
        section.contains("--dialect headscale"),
        "the section names the flag"
    );
}

#[test]
fn the_hooks_and_action_inputs_of_the_section_exist() {
    let section = section();
    let hooks = std::fs::read_to_string(".pre-commit-hooks.yaml").unwrap();
    let action = std::fs::read_to_string("action.yml").unwrap();
    let yaml = blocks(&section, "yaml");
    assert_eq!(yaml.len(), 2, "a pre-commit block and an Action block");
    let mut ids = 0;
    for line in yaml.iter().flatten() {
        let line = line.trim();
        if let Some(id) = line.strip_prefix("- id: ") {
            assert!(hooks.contains(&format!("- id: {id}\n")), "hook {id}");
            ids += 1;
        }
    }
    assert!(ids >= 1);
    let with = yaml[1]
        .iter()
        .skip_while(|l| l.trim() != "with:")
        .skip(1)
        .map(|l| l.trim().split(':').next().unwrap().to_string());
    for input in with {
        assert!(
            action.contains(&format!("\n  {input}:\n")),
            "Action input {input}"
        );
    }
}

#[test]
fn the_headscale_schema_command_prints_the_committed_schema() {
    let output = Command::cargo_bin("tailgrant")
        .unwrap()
        .args(["schema", "--dialect", "headscale"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let committed = std::fs::read_to_string("schema/headscale.schema.json").unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), committed);
    assert!(section().contains("tailgrant schema --dialect headscale"));
}
