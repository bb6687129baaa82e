//! `authhost login` without a provider: a list to pick from at a terminal
//! (type to filter, or a number), like `opencode auth login`.

use std::fmt::Write as _;
use std::io::{BufRead, Write};

use authhost::Host;

use crate::cli::Io;

/// A provider one can log in to.
struct Choice {
    id: String,
    label: String,
}

/// Asks which provider to log in to. `None` (after saying why) when no
/// provider was picked: stdin is not a terminal, or it ended.
pub(super) async fn pick(io: &Io, host: &Host) -> anyhow::Result<Option<String>> {
    if !io.stdin_is_terminal() {
        errln!(
            io,
            "error: name the provider to log in to: `authhost login PROVIDER` (see `authhost list`)"
        );
        return Ok(None);
    }
    let choices = choices(host).await?;
    let mut shown: Vec<&Choice> = choices.iter().collect();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        // Written whole, so that no log line lands inside the list.
        let mut text = String::new();
        for (i, choice) in shown.iter().enumerate() {
            writeln!(text, "  {:>2}  {:<16} {}", i + 1, choice.id, choice.label)?;
        }
        text.push_str("Provider (type to filter, or a number): ");
        let mut err = io.err();
        err.write_all(text.as_bytes())?;
        err.flush()?;
        let Some(line) = lines.next().transpose()? else {
            errln!(io);
            return Ok(None);
        };
        let typed = line.trim().to_lowercase();
        if typed.is_empty() {
            shown = choices.iter().collect();
            continue;
        }
        if let Ok(n) = typed.parse::<usize>()
            && (1..=shown.len()).contains(&n)
        {
            return Ok(Some(shown[n - 1].id.clone()));
        }
        if let Some(exact) = choices.iter().find(|c| c.id == typed) {
            return Ok(Some(exact.id.clone()));
        }
        let matching: Vec<&Choice> = choices
            .iter()
            .filter(|c| c.id.contains(&typed) || c.label.to_lowercase().contains(&typed))
            .collect();
        match matching.as_slice() {
            [] => errln!(io, "No provider matches `{typed}`."),
            [one] => return Ok(Some(one.id.clone())),
            _ => shown = matching,
        }
    }
}

/// The catalog's providers and the configured ones, by name.
async fn choices(host: &Host) -> anyhow::Result<Vec<Choice>> {
    let mut choices: Vec<Choice> = authhost::catalog::entries()
        .iter()
        .map(|e| Choice {
            id: e.id.clone(),
            label: e.name.clone(),
        })
        .collect();
    for status in host.list().await? {
        if status.configured && !choices.iter().any(|c| c.id == status.provider) {
            choices.push(Choice {
                label: format!("configured, plugin {}", status.plugin),
                id: status.provider,
            });
        }
    }
    choices.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(choices)
}
