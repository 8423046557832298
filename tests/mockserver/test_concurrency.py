"""Many concurrent clients: every acknowledged write is kept exactly once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from served import PAYLOADS, Running, picked

CLIENTS = 64
CREATES_PER_CLIENT = 5


def test_64_clients_creating_lose_and_duplicate_nothing(server: Running) -> None:
    url = server.collection("tmf629", "customer")
    start = threading.Barrier(CLIENTS)

    def client(number: int) -> list[str]:
        ids = []
        with requests.Session() as http:
            start.wait()
            for _ in range(CREATES_PER_CLIENT):
                body = {**PAYLOADS[("tmf629", "customer")], "name": f"client {number}"}
                response = http.post(url, json=body)
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
        return ids

    with ThreadPoolExecutor(CLIENTS) as pool:
        acknowledged = [i for ids in pool.map(client, range(CLIENTS)) for i in ids]
    stored = server.http.get(url).json()
    assert len(acknowledged) == len(set(acknowledged)) == CLIENTS * CREATES_PER_CLIENT
    assert sorted(item["id"] for item in stored) == sorted(acknowledged)
    for number in range(CLIENTS):
        assert sum(item["name"] == f"client {number}" for item in stored) == CREATES_PER_CLIENT


def test_64_clients_patching_one_instance_lose_no_update(server: Running) -> None:
    customer = server.create("tmf629", "customer")
    start = threading.Barrier(CLIENTS)

    def client(number: int) -> int:
        start.wait()
        return requests.patch(customer["href"], json={f"note{number}": str(number)}).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        assert set(pool.map(client, range(CLIENTS))) == {200}
    final = server.http.get(customer["href"]).json()
    notes = {f"note{n}": str(n) for n in range(CLIENTS)}
    assert picked(final, notes) == notes
