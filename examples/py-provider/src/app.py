"""Acme in Python: an example authhost provider built with componentize-py.

It does what the Rust example (``examples/acme-provider``) does: it asks for
a user name and a password, posts them as a form to Acme's token endpoint
over ``wasi:http/outgoing-handler`` and returns the OAuth tokens; ``refresh``
renews them and ``check`` asks Acme whom they belong to.
"""

from typing import List, Optional, Tuple

import authhost
from authhost import denied, invalid_response, network, other, unsupported
from wit_world import exports
from wit_world.exports.provider import (
    AccountInfo,
    AuthMethod,
    Features,
    Metadata,
    MethodKind,
    Reason,
    Resolved,
)
from wit_world.imports import interact
from wit_world.imports.common import Credential, Secret_Oauth

# Used when the user's ``[providers.NAME]`` sets no ``base_url``.
DEFAULT_BASE_URL = "https://api.acme.example"


def base_url() -> str:
    """The ``base_url`` option, without a trailing ``/``."""
    url = authhost.options().get("base_url", DEFAULT_BASE_URL)
    if not isinstance(url, str):
        raise other("the option `base_url` must be a string")
    return url.rstrip("/")


def request_token(fields: dict) -> Credential:
    """Posts ``fields`` to Acme's token endpoint as the form an OAuth token
    endpoint requires (``application/x-www-form-urlencoded``, not JSON); the
    answer as a credential."""
    response = authhost.request("POST", f"{base_url()}/oauth/token", form=fields)
    if response.status in (400, 401, 403):
        raise denied("Acme rejected the user name and password, or the refresh token")
    if not response.ok:
        raise network(f"Acme answered HTTP {response.status}")
    # `response.json()` raises ValueError when Acme answers with something
    # that is not JSON. It is not caught here: an exception that is not `Err`
    # ends the call as a crash, and authhost shows the end of the traceback
    # (the plugin's stderr) with it.
    token = response.json()
    if not isinstance(token.get("access_token"), str):
        raise invalid_response("Acme answered without an access token")
    extra = {"email": token["email"]} if token.get("email") else {}
    return authhost.oauth(
        token["access_token"],
        refresh=token.get("refresh_token"),
        expires_in=token.get("expires_in"),
        # Not a secret: stored beside the tokens and shown by `authhost status`.
        **extra,
    )


class Provider(exports.Provider):
    def describe(self) -> Metadata:
        return Metadata(
            id="acme-py",
            display_name="Acme AI (Python example)",
            description="Example provider in Python: logs in with an Acme user name and password",
            methods=[AuthMethod("password", "Log in with your Acme account", MethodKind.OAUTH)],
            # `describe` sees no configuration: a capability that depends on
            # an option is a template the host fills in per provider.
            capabilities=["prompt", f"http:{{base_url={DEFAULT_BASE_URL}}}"],
            features=Features.REFRESH | Features.CHECK,
            options=["base_url"],
        )

    def login(self, method: str, options: List[Tuple[str, str]]) -> Credential:
        if method != "password":
            raise other(f"unknown method {method}")
        username = interact.prompt("Acme user name: ", False)
        password = interact.prompt("Acme password: ", True)
        authhost.log("debug", f"requesting a token for {username}")
        credential = request_token(
            {"grant_type": "password", "username": username, "password": password}
        )
        interact.message("Acme login complete")
        return credential

    def refresh(self, stored: Credential) -> Credential:
        secret = stored.secret
        if not isinstance(secret, Secret_Oauth) or not secret.value.refresh:
            raise denied("no refresh token is stored")
        return request_token({"grant_type": "refresh_token", "refresh_token": secret.value.refresh})

    def check(self, credential: Credential) -> AccountInfo:
        response = authhost.request(
            "GET",
            f"{base_url()}/v1/me",
            headers={"authorization": f"Bearer {authhost.secret_text(credential)}"},
        )
        if response.status == 401:
            raise denied("Acme does not accept the token")
        if not response.ok:
            raise network(f"Acme answered HTTP {response.status}")
        me = response.json()
        return AccountInfo(account=me.get("email"), expires=None, details=[("plan", me.get("plan") or "free")])

    # Not in `features`: authhost never calls these.
    def resolve(self, reason: Reason, stored: Optional[Credential]) -> Resolved:
        raise unsupported("resolve")

    def revoke(self, stored: Credential) -> None:
        raise unsupported("revoke")
