//! A crowd of `authhost token` processes asking at once, as many callers
//! of one provider do when its credential has just expired.

use std::collections::BTreeSet;
use std::process::{Child, Output};

use super::{Home, assert_success, stdout};

/// Starts `authhost token PROVIDER` in `home`, its stdout and stderr piped.
pub fn spawn_token(home: &Home, provider: &str) -> Child {
    home.spawn(&["token", provider])
}

/// Starts `authhost token PROVIDER` `each` times in every home of `homes`,
/// all of them before waiting for any; asserts that every process
/// succeeded and that they all printed the same; returns what they printed.
#[track_caller]
pub fn one_token_for_all<'a>(
    homes: impl IntoIterator<Item = &'a Home>,
    each: usize,
    provider: &str,
) -> String {
    let children: Vec<Child> = homes
        .into_iter()
        .flat_map(|home| (0..each).map(move |_| spawn_token(home, provider)))
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert_success(out);
    }
    let tokens: BTreeSet<String> = outputs.iter().map(stdout).collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    tokens.into_iter().next().unwrap()
}
