"""OAuth2 client credentials for the system under test, through Authlib's ``OAuth2Session``.

The token is fetched before the first request, fetched again when it is about to expire (Authlib's
``ensure_active_token``) or when an API answers 401 (once per request), and sent only to the API
origins; the client secret goes only to the token endpoint. Every token is handed to ``on_token`` as
soon as it arrives, so the run's redactor masks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests

from harness.config import OAuth2Settings
from harness.errors import TokenError
from harness.redact import Redactor
from harness.urls import origin

__all__ = ["ClientCredentials"]

MAX_MARGIN_S = 30.0  # a token is renewed this long before it expires, or a tenth of its lifetime if shorter


class ClientCredentials(requests.auth.AuthBase):
    """A ``requests`` auth that puts a bearer token on requests to the API origins, and on no others."""

    def __init__(self, settings: OAuth2Settings, api_urls: Iterable[str], on_token: Callable[[str], None], *,
                 timeout_s: float, verify: bool | str, proxies: Mapping[str, str]) -> None:
        self.settings = settings
        self.origins = frozenset(origin(url) for url in api_urls)
        self.on_token = on_token
        self._redactor = Redactor.from_values([settings.client_secret])
        self._access_token: str | None = None
        from authlib.integrations.requests_client import OAuth2Session  # ~0.5 s: only in runs that use OAuth2

        self.client = OAuth2Session(
            settings.client_id, settings.client_secret, scope=settings.scope, token_endpoint=settings.token_url,
            grant_type="client_credentials", leeway=MAX_MARGIN_S, default_timeout=timeout_s,
        )
        self.client.verify = verify
        self.client.proxies.update(proxies)
        self.client.max_redirects = 0  # the client secret goes to the token endpoint and nowhere else

    def access_token(self) -> str:
        """The current token: fetched on first use and again when it is about to expire."""
        if self._access_token is None:
            return self.fetch()
        return self._call(self.client.ensure_active_token)

    def fetch(self) -> str:
        """A new token from the token endpoint, or a TokenError naming it and why."""
        return self._call(self.client.fetch_token)

    def _call(self, method: Callable[[], Any]) -> str:
        from authlib.common.errors import AuthlibBaseError

        where = f"OAuth2 token endpoint {self.settings.token_url}"
        try:
            method()
        except requests.exceptions.Timeout:
            raise TokenError(f"{where}: no answer within {self.client.default_timeout}s") from None
        except requests.exceptions.ConnectionError:
            raise TokenError(f"{where}: cannot connect") from None
        except requests.exceptions.TooManyRedirects:
            raise TokenError(f"{where}: answered with a redirect (not followed, to keep the client secret there)") from None
        except (AuthlibBaseError, requests.exceptions.RequestException, ValueError) as exc:
            raise TokenError(f"{where}: {self._redactor.text(str(exc) or type(exc).__name__)}") from None
        token = self.client.token or {}
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise TokenError(f"{where}: the answer has no access_token")
        if access_token != self._access_token:
            self.on_token(access_token)
            self._access_token = access_token
            lifetime = token.get("expires_in")
            if isinstance(lifetime, int | float) and not isinstance(lifetime, bool):
                self.client.leeway = min(MAX_MARGIN_S, lifetime / 10)
        return access_token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.url and origin(request.url) in self.origins:
            request.headers["Authorization"] = f"Bearer {self.access_token()}"
            request.hooks["response"].append(self._again_on_401)
        return request

    def _again_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        """A 401 may mean the token was revoked or expired early: send once more with a new one."""
        if response.status_code != 401:
            return response
        retry = response.request.copy()
        retry.hooks = {"response": []}
        retry.headers["Authorization"] = f"Bearer {self.fetch()}"
        response.close()
        again: requests.Response = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again
