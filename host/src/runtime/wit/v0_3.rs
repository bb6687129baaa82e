//! `authhost:provider@0.3.0` (`wit/0.3.0/`), the current version:
//! bindings, the exports' calls ([`impl_exports!`]) and the imports
//! ([`impl_imports!`]). It adds the `device` method kind to 0.2.0.

use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker, Resource};

use super::MethodKind;
use super::{AccountInfo, Credential, Metadata, Method, Reason, Resolved, Secret, WitError};
use crate::loopback::Listener;
use crate::runtime::imports::{self, Event, RunCommand, RunRequest};
use crate::runtime::state::PluginState;

provider_bindings!("wit/0.3.0");

use self::authhost::provider::common as types;
use self::authhost::provider::{browser, config, interact, log, loopback, process};
use self::exports::authhost::provider::provider as export;

/// The version this module implements.
pub const VERSION: &str = "0.3.0";

pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |state| state)
}

fn method_kind(kind: export::MethodKind) -> MethodKind {
    match kind {
        export::MethodKind::ApiKey => MethodKind::ApiKey,
        export::MethodKind::Oauth => MethodKind::OAuth,
        export::MethodKind::Helper => MethodKind::Helper,
        export::MethodKind::Device => MethodKind::Device,
    }
}

impl_exports!();
impl_imports!();
