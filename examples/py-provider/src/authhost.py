"""Helpers for writing an authhost provider in Python with componentize-py,
against authhost's ``wit/0.3.0`` (world ``plugin-with-http``).

componentize-py generates the package ``wit_world`` from the WIT when it
builds the component (``componentize-py ... bindings DIR`` writes the same
files for your editor). It maps the WIT to Python like this:

- records are dataclasses with snake_case fields (``Metadata.display_name``),
  ``option<T>`` is ``T | None``, ``u64`` is ``int``;
- a variant case is a class per case (``Secret_Oauth(tokens)``,
  ``Error_Denied("...")``), an enum or a flags type is a Python ``Enum`` or
  ``Flag`` (``MethodKind.OAUTH``, ``Features.REFRESH | Features.CHECK``);
- ``result<T, error>``: return ``T`` for ``ok``; for ``err``, *raise*
  ``Err(error)`` (``componentize_py_types.Err``), as the helpers below make.
  Any other exception that leaves an export ends the call as a crash; its
  traceback goes to stderr, and authhost shows the last lines with the error.
"""

import asyncio
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import poll_loop
from componentize_py_types import Err, Ok
from wit_world.imports import config, outgoing_handler
from wit_world.imports import log as host_log
from wit_world.imports.common import (
    Credential,
    Error_Cancelled,
    Error_CapabilityDenied,
    Error_Denied,
    Error_InvalidResponse,
    Error_Network,
    Error_Other,
    Error_Timeout,
    OauthTokens,
    Secret_ApiKey,
    Secret_Oauth,
)
from wit_world.imports.log import Level
from wit_world.imports.types import (
    ErrorCode,
    ErrorCode_ConnectionRefused,
    ErrorCode_ConnectionTimeout,
    ErrorCode_DnsError,
    ErrorCode_HttpRequestDenied,
    ErrorCode_HttpResponseTimeout,
    Fields,
    Method,
    Method_Delete,
    Method_Get,
    Method_Post,
    Method_Put,
    OutgoingRequest,
    RequestOptions,
    Scheme_Http,
    Scheme_Https,
)

# --- Errors: ``raise denied("...")``. Their text is shown to the user: never
# put a secret in it.


def cancelled() -> Err:
    """The user cancelled."""
    return Err(Error_Cancelled())


def denied(message: str) -> Err:
    """The user or the service refused."""
    return Err(Error_Denied(message))


def timeout(message: str) -> Err:
    """Something did not answer in time."""
    return Err(Error_Timeout(message))


def network(message: str) -> Err:
    """A connection or a remote service failed."""
    return Err(Error_Network(message))


def invalid_response(message: str) -> Err:
    """A remote service or a program answered with something unusable."""
    return Err(Error_InvalidResponse(message))


def capability_denied(capability: str) -> Err:
    """authhost refused a capability; ``capability`` names it (``http:ORIGIN``)."""
    return Err(Error_CapabilityDenied(capability))


def other(message: str) -> Err:
    """Anything else, in words the user can act on."""
    return Err(Error_Other(message))


def unsupported(name: str) -> Err:
    """For an optional export the provider does not implement."""
    return other(f"this provider does not implement `{name}`")


# --- Credentials.


def api_key(key: str, **extra: str) -> Credential:
    """A credential holding an API key, with non-secret facts as keywords."""
    return Credential(secret=Secret_ApiKey(key), extra=list(extra.items()))


def oauth(
    access: str,
    refresh: Optional[str] = None,
    expires_in: Optional[float] = None,
    **extra: str,
) -> Credential:
    """A credential holding OAuth tokens; ``expires_in`` is the token
    endpoint's lifetime in seconds, made the absolute time the WIT wants."""
    expires = None if expires_in is None else after(expires_in)
    tokens = OauthTokens(access=access, refresh=refresh, expires=expires)
    return Credential(secret=Secret_Oauth(tokens), extra=list(extra.items()))


def secret_text(credential: Credential) -> str:
    """The secret text of a credential: the key, or the OAuth access token."""
    secret = credential.secret
    return secret.value.access if isinstance(secret, Secret_Oauth) else secret.value


# --- Time, as authhost stores it.


def now_ms() -> int:
    """Now, in milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


def after(seconds: float) -> int:
    """That many seconds from now, in milliseconds since the Unix epoch."""
    return now_ms() + round(seconds * 1000)


# --- Configuration and logging.


def options() -> Dict[str, object]:
    """The user's ``[providers.NAME]`` table as a dict (empty in ``describe``)."""
    return json.loads(config.get())


def log(level: str, message: str) -> None:
    """A line in authhost's log (``authhost -v``): level is ``trace``,
    ``debug``, ``info``, ``warn`` or ``error``. Never log a secret."""
    host_log.write(Level[level.upper()], message)


# --- HTTP over wasi:http/outgoing-handler.


@dataclass
class Response:
    """An HTTP response, read whole."""

    status: int
    headers: List[Tuple[str, bytes]] = field(default_factory=list)
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self):
        """The body parsed as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.body)


_METHODS: Dict[str, Method] = {
    "GET": Method_Get(),
    "POST": Method_Post(),
    "PUT": Method_Put(),
    "DELETE": Method_Delete(),
}


def request(
    method: str,
    url: str,
    headers: Optional[Dict[str, str]] = None,
    body: Optional[bytes] = None,
    json_body: object = None,
    form: Optional[Dict[str, str]] = None,
    timeout_s: float = 30,
    max_response: int = 1 << 20,
) -> Response:
    """Sends a request and reads the answer (at most ``max_response`` bytes).

    The body is ``body``, ``json_body`` as JSON, or ``form`` as an HTML form
    (``application/x-www-form-urlencoded``, what OAuth token endpoints
    require); it goes out with its ``content-length``.

    Failures come back as the WIT error to raise: a request authhost refused
    (its origin is not granted) as ``capability-denied`` naming the grant,
    anything else that kept the answer from coming as ``network`` or
    ``timeout``.
    """
    headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers.setdefault("content-type", "application/json")
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers.setdefault("content-type", "application/x-www-form-urlencoded")
    if body is not None:
        headers["content-length"] = str(len(body))
    return _run(_send(method, url, headers, body, timeout_s, max_response))


def _run(coroutine):
    loop = poll_loop.PollLoop()
    asyncio.set_event_loop(loop)
    return loop.run_until_complete(coroutine)


async def _send(method, url, headers, body, timeout_s, max_response) -> Response:
    parts = urllib.parse.urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise other(f"not an http(s) URL: {url}")
    outgoing = OutgoingRequest(
        Fields.from_list([(k.lower(), v.encode()) for k, v in headers.items()])
    )
    outgoing.set_method(_METHODS[method.upper()])
    outgoing.set_scheme(Scheme_Http() if parts.scheme == "http" else Scheme_Https())
    outgoing.set_authority(parts.netloc)
    outgoing.set_path_with_query(
        (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    )
    request_options = RequestOptions()
    nanos = int(timeout_s * 1e9)
    request_options.set_connect_timeout(nanos)
    request_options.set_first_byte_timeout(nanos)
    request_options.set_between_bytes_timeout(nanos)
    outgoing_body = outgoing.body()
    try:
        sending = asyncio.ensure_future(_response(outgoing, request_options))
        sink = poll_loop.Sink(outgoing_body)
        if body:
            await sink.send(body)
        sink.close()
        incoming = await sending
    except Err as e:
        raise _http_error(e.value, origin) from None
    status = incoming.status()
    response_headers = incoming.headers().entries()
    stream = poll_loop.Stream(incoming.consume())
    data = bytearray()
    while True:
        try:
            chunk = await stream.next()
        except Err as e:
            raise network(f"{origin} broke off its answer") from None
        if chunk is None:
            break
        data += chunk
        if len(data) > max_response:
            raise invalid_response(f"{origin} answered more than {max_response} bytes")
    return Response(status=status, headers=response_headers, body=bytes(data))


async def _response(outgoing: OutgoingRequest, request_options: RequestOptions):
    """``poll_loop.send``, with the request's timeouts."""
    future = outgoing_handler.handle(outgoing, request_options)
    while True:
        response = future.get()
        if response is None:
            await poll_loop.register(asyncio.get_event_loop(), future.subscribe())
        elif isinstance(response, Ok) and isinstance(response.value, Ok):
            return response.value.value
        elif isinstance(response, Ok):
            raise response.value
        else:
            raise response


def _http_error(code: ErrorCode, origin: str) -> Err:
    if isinstance(code, ErrorCode_HttpRequestDenied):
        return capability_denied(f"http:{origin}")
    if isinstance(code, ErrorCode_ConnectionRefused):
        return network(f"connection refused by {origin}")
    if isinstance(code, ErrorCode_DnsError):
        return network(f"could not resolve {origin}")
    if isinstance(code, (ErrorCode_ConnectionTimeout, ErrorCode_HttpResponseTimeout)):
        return timeout(f"{origin} did not answer in time")
    return network(f"request to {origin} failed: {type(code).__name__.removeprefix('ErrorCode_')}")
