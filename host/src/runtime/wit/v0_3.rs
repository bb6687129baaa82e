//! `authhost:provider@0.3.0` (`wit/0.3.0/`), the current version:
//! bindings, the exports' calls ([`impl_exports!`]) and the imports
//! ([`impl_imports!`]). It adds the `device` method kind to 0.2.0.

provider_bindings!("wit/0.3.0", "0.3.0");

use self::authhost::provider::common as types;
use self::authhost::provider::{browser, config, interact, log, loopback, process};
use self::exports::authhost::provider::provider as export;

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
