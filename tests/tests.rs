//! authhost's integration tests, one module per area (`tests/AREA.rs`), in
//! one test binary: each binary links the whole of wasmtime, so one binary
//! links it once. The helpers every area shares are in `tests/support`.
//!
//! Everything: `./tests/run.sh`. One area, or one test:
//!
//! ```sh
//! cargo test --release --workspace --test tests -- oauth2::
//! cargo test --release --workspace --test tests -- core::a_test_name --exact
//! ```
//!
//! The areas run side by side in one process, so a test keeps to its own
//! state: it never sets environment variables or the working directory of
//! the test process, binds only ports the system picks (`127.0.0.1:0`), and
//! what it measures of the process (e.g. bytes read) it measures for its
//! own thread.

mod support;

mod builder;
mod completion;
mod core;
mod exec;
mod exit_codes;
mod first_steps;
mod git_credential;
mod hostile;
mod idp_harness;
mod install;
mod keyring;
mod kubectl;
mod languages;
mod lifecycle;
mod new_user;
mod oauth2;
mod oauth2_github;
mod openrouter;
mod plugins;
mod postgres;
mod sandbox_cache;
mod sandbox_exec;
mod sandbox_resources;
mod sandbox_text;
mod sdk;
mod sdk_device;
mod shell_helper;
