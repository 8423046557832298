"""Dev-stub options and running the server in the background."""

from __future__ import annotations

import gc
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests
import yaml
from served import PAYLOADS, collection_url

from mockserver import SeedError, ServerConfig, start_background

CUSTOMERS = "/tmf-api/customerManagement/v4/customer"
SECRET = "s3cret-key-value"


def test_background_server_serves_until_stopped(memory_config: ServerConfig) -> None:
    running = start_background(memory_config)
    assert running.url.startswith("http://127.0.0.1:")
    assert running.config.port != 0
    assert requests.get(running.url + CUSTOMERS).status_code == 200
    running.stop()
    running.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(running.url + CUSTOMERS, timeout=2)


def test_an_embedded_server_leaves_its_host_program_s_garbage_collection_alone(memory_config: ServerConfig) -> None:
    frozen = gc.get_freeze_count()
    with start_background(memory_config) as running:
        assert requests.get(running.url + "/health").status_code == 200
        assert gc.get_freeze_count() == frozen  # gc.freeze() is for the command line, which owns its process


def test_background_server_is_a_context_manager(memory_config: ServerConfig) -> None:
    with start_background(memory_config) as running:
        url = running.url
        assert requests.get(url + CUSTOMERS).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url + CUSTOMERS, timeout=2)


def test_href_follows_the_request_host_or_the_public_url(memory_config: ServerConfig) -> None:
    with start_background(replace(memory_config, allowed_hosts=("vendor.example",))) as running:
        response = requests.post(
            running.url + CUSTOMERS,
            json=PAYLOADS[("tmf629", "customer")],
            headers={"Host": "vendor.example:8443"},
        )
        assert response.json()["href"].startswith("http://vendor.example:8443/tmf-api/customerManagement/v4/")
    with start_background(replace(memory_config, public_url="https://api.example/base/")) as running:
        response = requests.post(running.url + CUSTOMERS, json=PAYLOADS[("tmf629", "customer")])
        created = response.json()
        assert (
            created["href"]
            == f"https://api.example/base/tmf-api/customerManagement/v4/customer/{created['id']}"
        )


def test_latency_delays_every_response(memory_config: ServerConfig) -> None:
    with start_background(replace(memory_config, latency_ms=300)) as running:
        started = time.monotonic()
        assert requests.get(running.url + "/nowhere").status_code == 404
        assert time.monotonic() - started >= 0.3


def test_fail_rate_answers_that_share_503(memory_config: ServerConfig) -> None:
    with start_background(replace(memory_config, fail_rate=1.0)) as running:
        response = requests.get(running.url + CUSTOMERS)
        assert response.status_code == 503
        assert response.json()["@type"] == "Error"
    with start_background(replace(memory_config, fail_rate=0.5)) as running, requests.Session() as http:
        statuses = {http.get(running.url + CUSTOMERS).status_code for _ in range(100)}
        assert statuses == {200, 503}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-API-Key": "wrong"}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": f"Basic {SECRET}"}, 401),
        ({"X-API-Key": "ünïcode"}, 401),
        ({"X-API-Key": SECRET}, 200),
        ({"Authorization": f"Bearer {SECRET}"}, 200),
        ({"Authorization": f"bearer {SECRET}"}, 200),
    ],
)
def test_api_key_is_required_when_configured(
    memory_config: ServerConfig, headers: dict[str, str], status: int
) -> None:
    with start_background(replace(memory_config, api_key=SECRET)) as running:
        encoded = {key: value.encode("utf-8") for key, value in headers.items()}
        response = requests.get(running.url + CUSTOMERS, headers=encoded)
        assert response.status_code == status
        assert SECRET not in response.text
        if status == 401:
            assert response.json()["@type"] == "Error"


def test_access_log_records_requests_but_never_the_key(
    memory_config: ServerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    config = replace(memory_config, api_key=SECRET, access_log=True)
    with caplog.at_level(logging.DEBUG), start_background(config) as running:
        requests.get(running.url + CUSTOMERS, headers={"X-API-Key": SECRET})
        requests.get(running.url + CUSTOMERS, headers={"Authorization": f"Bearer {SECRET}"})
        requests.get(running.url + CUSTOMERS, headers={"Authorization": "Bearer wrong-key"})
    access = [r.getMessage() for r in caplog.records if r.name == "mockserver.access"]
    assert len(access) == 3
    assert all(CUSTOMERS in line for line in access)
    assert SECRET not in caplog.text
    assert "wrong-key" not in caplog.text
    assert SECRET not in repr(config)


def test_no_access_log_when_disabled(memory_config: ServerConfig, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), start_background(memory_config) as running:
        requests.get(running.url + CUSTOMERS)
    assert not [r for r in caplog.records if r.name == "mockserver.access"]


SEED = {
    "tmf629": {
        "customer": [{"id": "seeded-1", **PAYLOADS[("tmf629", "customer")]}, PAYLOADS[("tmf629", "customer")]]
    },
    "tmf622": {"productOrder": [PAYLOADS[("tmf622", "productOrder")]]},
}


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_seed_file_loads_instances(memory_config: ServerConfig, tmp_path: Path, suffix: str) -> None:
    seed = tmp_path / f"seed{suffix}"
    seed.write_text(json.dumps(SEED) if suffix == ".json" else yaml.safe_dump(SEED), encoding="utf-8")
    with start_background(replace(memory_config, seed_path=seed)) as running:
        customers = requests.get(running.url + CUSTOMERS).json()
        assert customers[0]["id"] == "seeded-1"
        assert len(customers) == 2
        assert customers[0]["href"] == f"{running.url}{CUSTOMERS}/seeded-1"
        order = requests.get(collection_url(running.url, "tmf622", "productOrder")).json()[0]
        assert order["state"] == "acknowledged"


def test_seed_fills_only_empty_collections(memory_config: ServerConfig, tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED), encoding="utf-8")
    config = replace(memory_config, seed_path=seed, db_path=tmp_path / "db.sqlite")
    for _ in range(2):
        with start_background(config) as running:
            assert len(requests.get(running.url + CUSTOMERS).json()) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not valid JSON or YAML"),
        ("[]", "must map API ids"),
        ('{"tmf999": {}}', "unknown API id 'tmf999'"),
        ('{"tmf629": {"nope": []}}', "tmf629 has no resource 'nope'"),
        ('{"tmf629": {"customer": {}}}', "tmf629.customer must be a list"),
        (
            '{"tmf629": {"customer": [{"name": "x"}]}}',
            "tmf629.customer[0]: 'engagedParty' is a required property",
        ),
        ('{"tmf629": {"customer": [{"id": 5}]}}', "tmf629.customer[0].id must be a non-empty string"),
    ],
)
def test_bad_seed_file_is_one_clear_error(
    memory_config: ServerConfig, tmp_path: Path, content: str, message: str
) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(content, encoding="utf-8")
    with pytest.raises(SeedError, match="seed file .*seed.json") as raised:
        start_background(replace(memory_config, seed_path=seed))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_seed_file_is_one_clear_error(memory_config: ServerConfig, tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot be read"):
        start_background(replace(memory_config, seed_path=tmp_path / "absent.yaml"))
