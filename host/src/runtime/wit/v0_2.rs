//! `authhost:provider@0.2.0` (`wit/0.2.0/`): bindings, the exports'
//! calls ([`impl_exports!`]) and the imports ([`impl_imports!`]).

provider_bindings!("wit/0.2.0", "0.2.0");

use self::authhost::provider::common as types;
use self::authhost::provider::{browser, config, interact, log, loopback, process};
use self::exports::authhost::provider::provider as export;

fn method_kind(kind: export::MethodKind) -> MethodKind {
    match kind {
        export::MethodKind::ApiKey => MethodKind::ApiKey,
        export::MethodKind::Oauth => MethodKind::OAuth,
        export::MethodKind::Helper => MethodKind::Helper,
    }
}

impl_exports!();
impl_imports!();
