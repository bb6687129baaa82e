//! The core: built-ins, the plugins folder, limits, the credential store,
//! configuration errors and secrecy, driven through the `authhost` binary.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    Home, assert_fails_with, assert_success, stderr, stdout, testkit_home, workspace_component,
};

mod closed_pipes;
mod errors;
mod limits;
mod plugins;
mod store;
