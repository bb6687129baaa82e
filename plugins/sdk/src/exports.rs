//! The component's exports, made from a [`Provider`] by
//! [`export!`](crate::export): `describe` answers with the `features` of
//! the optional traits the provider implements, and an optional export it
//! does not implement answers [`Error::unsupported`].
//!
//! Whether a type implements a trait is found where its name is known, in
//! the macro's expansion, by method resolution on a [`Probe`]: a method of
//! `&Probe<T>` (`T` implements the trait) is found before the one of
//! `Probe<T>` (any `T`), which the compiler picks only when the first does
//! not apply. Not part of the API: use the macro.

use std::marker::PhantomData;

use crate::bindings::exports::authhost::provider::provider::Guest;
use crate::provider::{Check, Provider, Refresh, Resolve, Revoke};
use crate::types::{AccountInfo, Credential, Error, Features, Metadata, Reason, Resolved};

/// `resolve`'s signature.
pub type ResolveFn = fn(Reason, Option<Credential>) -> Result<Resolved, Error>;
/// `refresh`'s signature.
pub type RefreshFn = fn(Credential) -> Result<Credential, Error>;
/// `check`'s signature.
pub type CheckFn = fn(Credential) -> Result<AccountInfo, Error>;
/// `revoke`'s signature.
pub type RevokeFn = fn(Credential) -> Result<(), Error>;

/// The optional exports a provider implements.
#[derive(Clone, Copy)]
pub struct Optional {
    /// [`Resolve::resolve`], when implemented.
    pub resolve: Option<ResolveFn>,
    /// [`Refresh::refresh`], when implemented.
    pub refresh: Option<RefreshFn>,
    /// [`Check::check`], when implemented.
    pub check: Option<CheckFn>,
    /// [`Revoke::revoke`], when implemented.
    pub revoke: Option<RevokeFn>,
}

impl Optional {
    /// The `features` that advertise them.
    pub fn features(&self) -> Features {
        let mut features = Features::empty();
        for (implemented, feature) in [
            (self.resolve.is_some(), Features::RESOLVE),
            (self.refresh.is_some(), Features::REFRESH),
            (self.check.is_some(), Features::CHECK),
            (self.revoke.is_some(), Features::REVOKE),
        ] {
            if implemented {
                features |= feature;
            }
        }
        features
    }
}

/// Implemented for the provider type by [`export!`](crate::export).
pub trait Implemented {
    /// The optional exports the type implements.
    fn optional() -> Optional;
}

/// A stand-in for `T` whose methods say whether `T` implements a trait.
pub struct Probe<T>(PhantomData<T>);

impl<T> Probe<T> {
    /// The probe.
    pub const NEW: Probe<T> = Probe(PhantomData);
}

/// Declares, for one optional trait, the method found when `T` implements
/// it (on `&Probe<T>`) and the one found otherwise (on `Probe<T>`).
macro_rules! probe {
    ($trait:ident, $export:ident, $fn:ty, $found:ident, $missing:ident) => {
        /// Found when the provider implements the trait.
        pub trait $found {
            /// The export.
            fn $export(&self) -> Option<$fn>;
        }
        impl<T: $trait> $found for &Probe<T> {
            fn $export(&self) -> Option<$fn> {
                Some(T::$export)
            }
        }
        /// Found otherwise.
        pub trait $missing {
            /// No export.
            fn $export(&self) -> Option<$fn>;
        }
        impl<T> $missing for Probe<T> {
            fn $export(&self) -> Option<$fn> {
                None
            }
        }
    };
}

probe!(Resolve, resolve, ResolveFn, ResolveFound, ResolveMissing);
probe!(Refresh, refresh, RefreshFn, RefreshFound, RefreshMissing);
probe!(Check, check, CheckFn, CheckFound, CheckMissing);
probe!(Revoke, revoke, RevokeFn, RevokeFound, RevokeMissing);

/// The WIT exports of provider `T`.
pub struct Exports<T>(PhantomData<T>);

impl<T: Provider + Implemented> Guest for Exports<T> {
    fn describe() -> Metadata {
        T::describe().metadata(T::optional().features())
    }

    fn login(method: String, options: Vec<(String, String)>) -> Result<Credential, Error> {
        T::login(method, options)
    }

    fn resolve(reason: Reason, stored: Option<Credential>) -> Result<Resolved, Error> {
        match T::optional().resolve {
            Some(resolve) => resolve(reason, stored),
            None => Err(Error::unsupported("resolve")),
        }
    }

    fn refresh(stored: Credential) -> Result<Credential, Error> {
        match T::optional().refresh {
            Some(refresh) => refresh(stored),
            None => Err(Error::unsupported("refresh")),
        }
    }

    fn check(credential: Credential) -> Result<AccountInfo, Error> {
        match T::optional().check {
            Some(check) => check(credential),
            None => Err(Error::unsupported("check")),
        }
    }

    fn revoke(stored: Credential) -> Result<(), Error> {
        match T::optional().revoke {
            Some(revoke) => revoke(stored),
            None => Err(Error::unsupported("revoke")),
        }
    }
}

/// Implements [`Implemented`] for a provider type (the first half of
/// [`export!`](crate::export)).
#[doc(hidden)]
#[macro_export]
macro_rules! __implemented {
    ($provider:ty) => {
        const _: () = {
            #[allow(unused_imports)]
            use $crate::__export::{
                CheckFound as _, CheckMissing as _, RefreshFound as _, RefreshMissing as _,
                ResolveFound as _, ResolveMissing as _, RevokeFound as _, RevokeMissing as _,
            };
            impl $crate::__export::Implemented for $provider {
                fn optional() -> $crate::__export::Optional {
                    let probe = &&$crate::__export::Probe::<$provider>::NEW;
                    $crate::__export::Optional {
                        resolve: probe.resolve(),
                        refresh: probe.refresh(),
                        check: probe.check(),
                        revoke: probe.revoke(),
                    }
                }
            }
        };
    };
}

/// Exports a type that implements [`Provider`](crate::Provider) as the
/// component's `authhost:provider/provider`: `authhost_sdk::export!(Acme);`,
/// once, in the crate's `lib.rs`.
///
/// `describe` answers with the provider's
/// [`Description`](crate::Description) and, as `features`, the optional
/// traits it implements ([`Resolve`](crate::Resolve),
/// [`Refresh`](crate::Refresh), [`Check`](crate::Check),
/// [`Revoke`](crate::Revoke)); the exports it does not implement answer
/// `other("this provider does not implement …")`.
#[macro_export]
macro_rules! export {
    ($provider:ty) => {
        $crate::__implemented!($provider);
        const _: () = {
            type AuthhostProviderExports = $crate::__export::Exports<$provider>;
    $crate::bindings::export!(AuthhostProviderExports with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Description;
    use crate::types::{MethodKind, OauthTokens};

    struct Plain;

    impl Provider for Plain {
        fn describe() -> Description {
            Description::new("plain", "Plain", "Only a login").method(
                "ask",
                "Ask",
                MethodKind::ApiKey,
            )
        }
    }

    struct Renewing;

    impl Provider for Renewing {
        fn describe() -> Description {
            Description::new("renewing", "Renewing", "Refreshes and checks")
        }

        fn login(_method: String, _flags: Vec<(String, String)>) -> Result<Credential, Error> {
            Ok(Credential::api_key("k"))
        }
    }

    impl Refresh for Renewing {
        fn refresh(stored: Credential) -> Result<Credential, Error> {
            Ok(stored.with_extra("refreshed", "yes"))
        }
    }

    impl Check for Renewing {
        fn check(_credential: Credential) -> Result<AccountInfo, Error> {
            Ok(AccountInfo {
                account: Some("alice".into()),
                expires: None,
                details: vec![],
            })
        }
    }

    struct Everything;

    impl Provider for Everything {
        fn describe() -> Description {
            Description::new("everything", "Everything", "All of them")
        }
    }

    impl Resolve for Everything {
        fn resolve(_reason: Reason, _stored: Option<Credential>) -> Result<Resolved, Error> {
            Ok(Resolved {
                credential: Credential::api_key("r"),
                cache_until: None,
            })
        }
    }

    impl Refresh for Everything {
        fn refresh(stored: Credential) -> Result<Credential, Error> {
            Ok(stored)
        }
    }

    impl Check for Everything {
        fn check(_credential: Credential) -> Result<AccountInfo, Error> {
            Err(Error::Denied("no".into()))
        }
    }

    impl Revoke for Everything {
        fn revoke(_stored: Credential) -> Result<(), Error> {
            Ok(())
        }
    }

    crate::__implemented!(Plain);
    crate::__implemented!(Renewing);
    crate::__implemented!(Everything);

    fn tokens() -> Credential {
        Credential::oauth(OauthTokens {
            access: "a".into(),
            refresh: Some("r".into()),
            expires: None,
        })
    }

    fn unsupported(result: Result<impl std::fmt::Debug, Error>, export: &str) {
        match result {
            Err(Error::Other(text)) => {
                assert_eq!(text, format!("this provider does not implement `{export}`"))
            }
            other => panic!("{export}: {other:?}"),
        }
    }

    #[test]
    fn features_are_the_optional_traits_implemented() {
        assert_eq!(
            Exports::<Plain>::describe().features,
            Features::empty(),
            "a provider with only a login advertises nothing"
        );
        assert_eq!(
            Exports::<Renewing>::describe().features,
            Features::REFRESH | Features::CHECK
        );
        assert_eq!(Exports::<Everything>::describe().features, Features::all());
        let plain = Exports::<Plain>::describe();
        assert_eq!(plain.id, "plain");
        assert_eq!(plain.methods[0].id, "ask");
    }

    #[test]
    fn exports_not_implemented_answer_unsupported() {
        unsupported(Exports::<Plain>::resolve(Reason::Token, None), "resolve");
        unsupported(Exports::<Plain>::refresh(tokens()), "refresh");
        unsupported(Exports::<Plain>::check(tokens()), "check");
        unsupported(Exports::<Plain>::revoke(tokens()), "revoke");
        unsupported(Exports::<Renewing>::revoke(tokens()), "revoke");
        unsupported(Exports::<Renewing>::resolve(Reason::Login, None), "resolve");
        match Exports::<Plain>::login("paste".into(), vec![]) {
            Err(Error::Other(text)) => assert_eq!(text, "unknown login method `paste`"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exports_implemented_are_called() {
        let refreshed = Exports::<Renewing>::refresh(tokens()).unwrap();
        assert_eq!(refreshed.extra("refreshed"), Some("yes"));
        let account = Exports::<Renewing>::check(tokens()).unwrap();
        assert_eq!(account.account.as_deref(), Some("alice"));
        assert_eq!(
            Exports::<Renewing>::login("x".into(), vec![])
                .unwrap()
                .secret_text(),
            "k"
        );
        let resolved = Exports::<Everything>::resolve(Reason::Token, None).unwrap();
        assert_eq!(resolved.credential.secret_text(), "r");
        assert!(matches!(
            Exports::<Everything>::check(tokens()),
            Err(Error::Denied(_))
        ));
        assert!(Exports::<Everything>::revoke(tokens()).is_ok());
    }
}
