//! wasi:http with authhost's limits: the functions that create a wasi:http
//! resource from nothing, and the setters that store guest strings, are
//! redefined over wasmtime's implementation (which they call).
//!
//! - Before the call's grants are set (`describe`) nothing can be created:
//!   `fields.from-list` fails with `header-error.forbidden`, and the
//!   `fields` and `request-options` constructors, which cannot fail, stop
//!   the plugin with [`Stop::HttpBeforeGrants`]. Every other wasi:http
//!   function needs one of these resources first.
//! - A request's method, authority and path are at most
//!   [`HTTP_TEXT_BYTES`] each (longer ones are refused like invalid ones),
//!   so that no handle holds more than [`super::super::limits::HANDLE_BYTES`].

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::{
    self as wasi_http, HeaderError, HostFields, HostOutgoingRequest, HostRequestOptions, Method,
};
use wasmtime_wasi_http::{FieldMap, RequestOptions};

use super::super::limits::{HTTP_TEXT_BYTES, Stop};
use super::super::state::PluginState;

type T = PluginState;
type Request = wasi_http::OutgoingRequest;

/// The instance wasmtime-wasi-http 48 defines `wasi:http/types` as.
const TYPES: &str = "wasi:http/types@0.2.12";

/// Links wasi:http (types and outgoing-handler) with the limits above.
pub(in crate::runtime) fn add_to_linker(l: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(l)?;
    l.allow_shadowing(true);
    let result = redefine(l);
    l.allow_shadowing(false);
    result
}

fn redefine(l: &mut Linker<T>) -> wasmtime::Result<()> {
    let mut types = l.instance(TYPES)?;
    types.func_wrap(
        "[constructor]fields",
        |mut store: StoreContextMut<'_, T>, (): ()| {
            let state = store.data_mut();
            allowed(state)?;
            Ok((HostFields::new(&mut state.http())?,))
        },
    )?;
    types.func_wrap(
        "[static]fields.from-list",
        |mut store: StoreContextMut<'_, T>, (entries,): (Vec<(String, Vec<u8>)>,)| {
            let state = store.data_mut();
            if !state.http_allowed() {
                return Ok((Err(HeaderError::Forbidden),));
            }
            let mut http = state.http();
            let fields: Result<Resource<FieldMap>, HeaderError> =
                match HostFields::from_list(&mut http, entries) {
                    Ok(fields) => Ok(fields),
                    Err(e) => Err(wasi_http::Host::convert_header_error(&mut http, e)?),
                };
            Ok((fields,))
        },
    )?;
    types.func_wrap(
        "[constructor]request-options",
        |mut store: StoreContextMut<'_, T>, (): ()| {
            let state = store.data_mut();
            allowed(state)?;
            let options: Resource<RequestOptions> = HostRequestOptions::new(&mut state.http())?;
            Ok((options,))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.set-method",
        |mut store: StoreContextMut<'_, T>, (request, method): (Resource<Request>, Method)| {
            if matches!(&method, Method::Other(m) if m.len() > HTTP_TEXT_BYTES) {
                return Ok((Err(()),));
            }
            let set =
                HostOutgoingRequest::set_method(&mut store.data_mut().http(), request, method)?;
            Ok((set,))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.set-authority",
        |mut store: StoreContextMut<'_, T>,
         (request, authority): (Resource<Request>, Option<String>)| {
            if too_long(&authority) {
                return Ok((Err(()),));
            }
            let set = HostOutgoingRequest::set_authority(
                &mut store.data_mut().http(),
                request,
                authority,
            )?;
            Ok((set,))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.set-path-with-query",
        |mut store: StoreContextMut<'_, T>,
         (request, path): (Resource<Request>, Option<String>)| {
            if too_long(&path) {
                return Ok((Err(()),));
            }
            let set = HostOutgoingRequest::set_path_with_query(
                &mut store.data_mut().http(),
                request,
                path,
            )?;
            Ok((set,))
        },
    )?;
    Ok(())
}

/// Stops the plugin when its grants are not set yet.
fn allowed(state: &PluginState) -> wasmtime::Result<()> {
    if state.http_allowed() {
        Ok(())
    } else {
        Err(wasmtime::Error::new(Stop::HttpBeforeGrants))
    }
}

fn too_long(text: &Option<String>) -> bool {
    text.as_ref().is_some_and(|t| t.len() > HTTP_TEXT_BYTES)
}
