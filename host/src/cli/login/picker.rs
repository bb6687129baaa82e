//! `authhost login` without a provider: a list to pick from at a terminal,
//! like `opencode auth login`. It filters as you type, with the arrow keys
//! to move and Enter to pick (`inquire`); a filter that matches nothing
//! offers the closest name (did you mean…). A terminal that cannot move the
//! cursor (`TERM=dumb`) gets the line-based list: type to filter, Enter,
//! a number to pick.

use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use authhost::Host;

use crate::cli::Io;

/// A provider one can log in to.
struct Choice {
    id: String,
    label: String,
    /// Set while the filter matches nothing and the list shows the closest
    /// names instead.
    guessed: Arc<AtomicBool>,
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:<16} {}", self.id, self.label)?;
        if self.guessed.load(Ordering::Relaxed) {
            write!(f, "   (no match; did you mean `{}`?)", self.id)?;
        }
        Ok(())
    }
}

/// Whether the terminal can show a list that redraws as you type.
fn can_redraw(io: &Io) -> bool {
    io.stdin_is_terminal()
        && io.stderr_is_terminal()
        && std::env::var("TERM").map_or(true, |term| term != "dumb")
}

/// The list that filters as you type. `None` when nothing was picked (Esc).
fn pick_as_you_type(io: &Io, choices: Vec<Choice>) -> anyhow::Result<Option<String>> {
    let guessed = choices
        .first()
        .map(|c| c.guessed.clone())
        .unwrap_or_default();
    let matches =
        |typed: &str, c: &Choice| c.id.contains(typed) || c.label.to_lowercase().contains(typed);
    let all: Vec<(String, String)> = choices
        .iter()
        .map(|c| (c.id.clone(), c.label.to_lowercase()))
        .collect();
    let scorer = move |typed: &str, choice: &Choice, _: &str, index: usize| -> Option<i64> {
        let typed = typed.trim().to_lowercase();
        let rank = -(index as i64);
        if typed.is_empty() {
            guessed.store(false, Ordering::Relaxed);
            return Some(rank);
        }
        let any = all
            .iter()
            .any(|(id, label)| id.contains(&typed) || label.contains(&typed));
        guessed.store(!any, Ordering::Relaxed);
        if any {
            let prefix = if choice.id.starts_with(&typed) { 2 } else { 1 };
            return matches(&typed, choice).then_some(prefix * 1_000_000 + rank);
        }
        // A typo: the names close to it, the closest first.
        let similarity = strsim::normalized_damerau_levenshtein(&typed, &choice.id);
        (similarity >= 0.5).then_some((similarity * 1000.0) as i64 * 1000 + rank)
    };
    let answer = inquire::Select::new("Provider to log in to:", choices)
        .with_help_message("type to filter, ↑↓ to move, Enter to pick, Esc to leave")
        .with_page_size(12)
        .with_scorer(&scorer)
        .prompt_skippable();
    match answer {
        Ok(Some(choice)) => Ok(Some(choice.id)),
        Ok(None) => {
            errln!(io, "No provider was picked.");
            Ok(None)
        }
        Err(inquire::InquireError::OperationInterrupted) => Err(authhost::Error::Cancelled.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot show the list of providers")),
    }
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
    if can_redraw(io) {
        return pick_as_you_type(io, choices);
    }
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
            [] => match closest(&typed, &choices) {
                Some(near) => errln!(io, "No provider matches `{typed}`; did you mean `{near}`?"),
                None => errln!(io, "No provider matches `{typed}`."),
            },
            [one] => return Ok(Some(one.id.clone())),
            _ => shown = matching,
        }
    }
}

/// The catalog's providers and the configured ones, by name.
async fn choices(host: &Host) -> anyhow::Result<Vec<Choice>> {
    let guessed = Arc::new(AtomicBool::new(false));
    let mut choices: Vec<Choice> = authhost::catalog::entries()
        .iter()
        .map(|e| Choice {
            id: e.id.clone(),
            label: e.name.clone(),
            guessed: guessed.clone(),
        })
        .collect();
    for status in host.list().await? {
        if status.configured && !choices.iter().any(|c| c.id == status.provider) {
            choices.push(Choice {
                label: format!("configured, plugin {}", status.plugin),
                id: status.provider,
                guessed: guessed.clone(),
            });
        }
    }
    choices.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(choices)
}

/// The name among `choices` closest to `typed`, when it is close enough to
/// be a typo of it.
fn closest<'a>(typed: &str, choices: &'a [Choice]) -> Option<&'a str> {
    choices
        .iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(typed, &c.id), c))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.id.as_str())
}
