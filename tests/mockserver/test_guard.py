"""Cross-site writes and DNS rebinding are refused; /health answers every probe."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests
from served import PAYLOADS, collection_url
from test_errors import assert_tmf_error

from mockserver import ServerConfig, start_background

CUSTOMER = PAYLOADS[("tmf629", "customer")]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def customers(url: str) -> str:
    return collection_url(url, "tmf629", "customer")


@pytest.mark.parametrize(
    ("resource", "method"),
    [("customer", "POST"), ("hub", "POST"), ("cancelProductOrder", "POST"), ("customer/x", "PATCH")],
)
def test_write_without_content_type_is_a_415(memory_config: ServerConfig, resource: str, method: str) -> None:
    api_id = "tmf622" if resource == "cancelProductOrder" else "tmf629"
    with start_background(memory_config) as running:
        url = collection_url(running.url, api_id, resource)
        # what a browser's no-cors "simple request" can send: a JSON text with no media type at all
        response = requests.request(method, url, data=b'{"callback": "http://127.0.0.1:9/"}')
        assert "Content-Type" not in response.request.headers
        assert "Content-Type header is required" in assert_tmf_error(response, 415)["message"]
        assert requests.get(collection_url(running.url, "tmf629", "customer")).json() == []


def test_cross_site_style_post_is_refused(memory_config: ServerConfig) -> None:
    with start_background(memory_config) as running:
        for headers, status in [
            ({"Origin": "https://attacker.example"}, 403),
            ({"Origin": "null"}, 403),
            ({"Host": "attacker.example"}, 421),
            ({"Host": "attacker.example", "Origin": "http://attacker.example"}, 421),
        ]:
            # as a form would send it, and as JSON: the media type does not let either through
            for form in (FORM, {}):
                response = requests.post(customers(running.url), data=b"{}", headers={**form, **headers})
                assert_tmf_error(response, status)
            assert_tmf_error(requests.post(customers(running.url), json=CUSTOMER, headers=headers), status)
        assert_tmf_error(requests.post(customers(running.url), data=b"{}", headers=FORM), 415)
        assert requests.get(customers(running.url)).json() == []


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil.example", ""]
)
def test_foreign_host_is_a_421_and_never_reaches_an_href(memory_config: ServerConfig, host: str) -> None:
    with start_background(memory_config) as running:
        for method, body in [("POST", CUSTOMER), ("GET", None)]:
            response = requests.request(method, customers(running.url), json=body, headers={"Host": host})
            assert_tmf_error(response, 421)
            assert "Location" not in response.headers
        listed = requests.get(customers(running.url)).json()
    assert listed == []


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "127.0.0.1", "app.localhost:9000"]
)
def test_own_host_names_are_served(memory_config: ServerConfig, host: str) -> None:
    with start_background(memory_config) as running:
        headers = {"Host": host.format(port=running.config.port)}
        response = requests.post(customers(running.url), json=CUSTOMER, headers=headers)
        assert response.status_code == 201, response.text


def test_ipv6_loopback_host_is_served(memory_config: ServerConfig) -> None:
    with start_background(memory_config) as running:
        headers = {"Host": f"[::1]:{running.config.port}"}
        assert requests.get(customers(running.url), headers=headers).status_code == 200


def test_public_url_and_allowed_hosts_are_served(memory_config: ServerConfig) -> None:
    config = replace(memory_config, public_url="https://api.example/base", allowed_hosts=("proxy.example",))
    with start_background(config) as running:
        for host, status in [("api.example", 200), ("proxy.example:8443", 200), ("other.example", 421)]:
            assert requests.get(customers(running.url), headers={"Host": host}).status_code == status
    with start_background(replace(memory_config, allowed_hosts=("*",))) as running:
        assert requests.get(customers(running.url), headers={"Host": "anything.example"}).status_code == 200


@pytest.mark.parametrize(
    ("origin", "allowed", "status"),
    [
        ("http://127.0.0.1:{port}", (), 201),
        ("http://localhost:3000", (), 201),
        ("https://attacker.example", (), 403),
        ("http://attacker.example:{port}", (), 403),
        ("null", (), 403),
        ("file://", (), 403),
        ("https://app.example", ("https://app.example",), 201),
        ("https://APP.example/", ("https://app.example",), 201),
        ("https://app.example:444", ("https://app.example",), 403),
        ("https://attacker.example", ("*",), 201),
    ],
)
def test_foreign_origin_is_a_403_unless_allowed(
    memory_config: ServerConfig, origin: str, allowed: tuple[str, ...], status: int
) -> None:
    with start_background(replace(memory_config, allowed_origins=allowed)) as running:
        headers = {"Origin": origin.format(port=running.config.port)}
        response = requests.post(customers(running.url), json=CUSTOMER, headers=headers)
        assert response.status_code == status, response.text
        if status == 403:
            assert "not allowed to call this server" in assert_tmf_error(response)["message"]
        hub = requests.post(
            collection_url(running.url, "tmf629", "hub"), json={"callback": "http://127.0.0.1:9/"}, headers=headers
        )
        assert hub.status_code == status


def test_health_answers_without_key_latency_or_failures(memory_config: ServerConfig) -> None:
    config = replace(memory_config, api_key="k", fail_rate=1.0)
    with start_background(config) as running:
        health = requests.get(f"{running.url}/health", headers={"Host": "pod-10-0-0-7.internal"})
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        assert health.headers["Content-Type"] == "application/json;charset=utf-8"
        assert requests.head(f"{running.url}/health").status_code == 200
        assert_tmf_error(requests.post(f"{running.url}/health", json={}), 405)
        assert_tmf_error(requests.get(customers(running.url)), 401)  # the key still guards the data
