"""OAuth2 client credentials from --ctk-config: fetched first, renewed on expiry and on a 401, sent only where it belongs."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import requests

import mockserver
from harness.auth import ClientCredentials
from harness.config import OAuth2Settings
from tests.harness.conftest import CtkRun
from tests.support.loopback import serve_in_thread
from tests.support.oauth2_server import OAuth2Servers, start_oauth2

USAGE_ERROR = 4
SECRET_VARIABLE = "CTK_TEST_CLIENT_SECRET"


def write_config(directory: Path, servers: OAuth2Servers, monkeypatch: pytest.MonkeyPatch, secret: str | None = None) -> str:
    monkeypatch.setenv(SECRET_VARIABLE, servers.client_secret if secret is None else secret)
    (directory / "ctk.yaml").write_text(
        f"base_url: {servers.api_url}\n"
        f"auth:\n  oauth2:\n    token_url: {servers.token_url}\n    client_id: {servers.client_id}\n"
        f"    client_secret: '${{{SECRET_VARIABLE}}}'\n    scope: [tmf.read, tmf.write]\n",
        encoding="utf-8",
    )
    return "ctk.yaml"


def written_text(directory: Path, run: CtkRun) -> str:
    """Every file the run left under ``directory`` and its terminal output, as one text."""
    files = [path.read_text(encoding="utf-8", errors="replace") for path in directory.rglob("*") if path.is_file()]
    return "\n".join([*files, run.result.stdout.str(), run.result.stderr.str()])


def test_a_run_goes_on_across_token_expiry_and_no_output_shows_token_or_secret(
    run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    reference_server: mockserver.BackgroundServer,
) -> None:
    with start_oauth2(reference_server.url, lifetime_s=1) as servers:
        config = write_config(pytester.path, servers, monkeypatch)
        run = run_ctk("--ctk-config", config, "-v", "--alluredir", "allure", suites=("ctk629", "ctk681", "ctk622"))
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.summary is not None and {entry["verdict"] for entry in run.summary["apis"].values()} == {"passed"}
    assert 2 <= len(servers.issued) < len(servers.api_requests) / 2, "tokens are renewed on expiry, and reused until then"
    assert servers.unauthorized < len(servers.issued) - 1, "renewed before they expire, not only after a 401"
    assert all("scope=tmf.read+tmf.write" in request for request in servers.token_requests)
    assert not any(servers.client_secret in request for request in servers.api_requests)
    text = written_text(pytester.path, run)
    assert "X-Echo" in text  # the gateway echoed each token in a header the records keep
    leaked = [token for token in servers.issued if token in text]
    assert not leaked and servers.client_secret not in text


def test_a_refused_token_is_replaced_once_and_the_request_sent_again(
    run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    reference_server: mockserver.BackgroundServer,
) -> None:
    with start_oauth2(reference_server.url, revoke_after=3) as servers:
        run = run_ctk("--ctk-config", write_config(pytester.path, servers, monkeypatch), suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    assert servers.unauthorized == 1 and len(servers.issued) == 2


def test_wrong_client_credentials_are_a_one_line_usage_error_before_any_request(
    run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    reference_server: mockserver.BackgroundServer,
) -> None:
    with start_oauth2(reference_server.url) as servers:
        run = run_ctk("--ctk-config", write_config(pytester.path, servers, monkeypatch, secret="not-the-secret"),
                      suites=("ctk629",))
    output = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == USAGE_ERROR, output
    message = f"OAuth2 token endpoint {servers.token_url}: invalid_client: client authentication failed"
    assert [line for line in output.splitlines() if "OAuth2" in line] == [f"ERROR: {message}"]
    assert "Traceback" not in output and "not-the-secret" not in output
    assert servers.api_requests == [] and run.summary is None


def test_the_token_goes_only_to_the_api_origins_and_the_secret_only_to_the_token_endpoint(
    reference_server: mockserver.BackgroundServer,
) -> None:
    seen: list[str] = []

    class Elsewhere(BaseHTTPRequestHandler):
        """Another origin: answers 204 and keeps what it received."""

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(f"{self.requestline}\n{self.headers}")
            self.send_response(204)
            self.end_headers()

    with start_oauth2(reference_server.url) as servers, serve_in_thread(Elsewhere) as elsewhere:
        tokens: list[str] = []
        settings = OAuth2Settings(servers.token_url, servers.client_id, servers.client_secret)
        session = requests.Session()
        session.auth = ClientCredentials(settings, [servers.api_url + "/tmf-api/"], tokens.append,
                                         timeout_s=5, verify=True, proxies={})
        assert session.get(servers.api_url + "/tmf-api/customerManagement/v4/customer", timeout=5).status_code == 200
        assert session.get(elsewhere + "/tmf-api/customerManagement/v4/customer", timeout=5).status_code == 204
    assert len(tokens) == 1 and servers.unauthorized == 0
    assert seen and not any(tokens[0] in text or "Authorization" in text for text in seen)
    assert all(servers.client_secret not in text for text in servers.api_requests + seen)


def test_a_url_with_a_malformed_port_shares_no_origin_with_the_api() -> None:
    settings = OAuth2Settings("http://idp.example/token", "ctk", "secret")
    credentials = ClientCredentials(settings, ["http://api.example/tmf-api/", "http://api.example:bad/"], print,
                                    timeout_s=1, verify=True, proxies={})
    for url in ("http://api.example:99999/x", "http://api.example:80x/x", "http://api.example:bad2/x"):
        request = requests.PreparedRequest()
        request.prepare_headers({})
        request.prepare_hooks({})
        request.url = url  # as written: requests itself would refuse to prepare it
        assert credentials(request).headers.get("Authorization") is None, url


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ("auth: {oauth2: {token_url: /token, client_id: a, client_secret: b}}", "auth.oauth2.token_url is not an absolute"),
        ("auth: {oauth2: {token_url: 'http://x.example/t', client_id: a}}", "auth.oauth2.client_secret is required"),
        ("auth: {oauth2: {token_url: 'http://x.example/t', client_id: a, client_secret: b, scopes: c}}",
         "auth.oauth2: unknown key 'scopes'"),
        ("auth: {basic: {}}", "auth: unknown key 'basic'"),
    ],
)
def test_bad_auth_settings_are_one_line_usage_errors(
    auth: str, message: str, run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester
) -> None:
    (pytester.path / "ctk.yaml").write_text(auth + "\n", encoding="utf-8")
    run = run_ctk("--ctk-config", "ctk.yaml", suites=("ctk629",))
    output = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == USAGE_ERROR and message in output and "Traceback" not in output, output


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/html", "500 Server Error"),
        ("/redirect", "answered with a redirect (not followed, to keep the client secret there)"),
        ("/no-token", "the answer has no access_token"),
    ],
)
def test_a_token_endpoint_that_misbehaves_is_a_usage_error_and_the_secret_stays_there(
    path: str, message: str, run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester
) -> None:
    received: list[str] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            received.append(f"{self.requestline}\n{self.headers}")
            self.send_response(200)
            self.end_headers()

    with serve_in_thread(Elsewhere) as elsewhere:

        class Misbehaving(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                answers = {"/html": (500, "text/html", b"<html>oops</html>"),
                           "/no-token": (200, "application/json", b'{"token_type": "Bearer"}')}
                status, kind, body = answers.get(self.path, (307, "text/plain", b""))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Location", elsewhere + "/token")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        with serve_in_thread(Misbehaving) as idp:
            (pytester.path / "ctk.yaml").write_text(
                f"base_url: http://127.0.0.1:9/\nauth: {{oauth2: {{token_url: '{idp}{path}', client_id: a, client_secret: s3cr3t-value}}}}\n",
                encoding="utf-8")
            run = run_ctk("--ctk-config", "ctk.yaml", suites=("ctk629",))
    output = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == USAGE_ERROR and f"ERROR: OAuth2 token endpoint {idp}{path}: {message}" in output, output
    assert "Traceback" not in output and "s3cr3t-value" not in output
    assert received == []
