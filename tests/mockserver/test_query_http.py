"""TMF630 queries as a client sends them: encoded values, quotes, operators, paging, 400s (both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from served import Running

PEOPLE: dict[str, dict[str, Any]] = {
    "comma": {
        "name": "a,b",
        "status": "Approved",
        "characteristic": [{"name": "score", "value": 10}, {"name": "tier", "value": "gold"}],
        "validFor": {"startDateTime": "2021-06-03T16:23:29.481Z"},
    },
    "symbols": {
        "name": "x&y=z+1% ?#",
        "status": "Approved",
        "characteristic": [{"name": "score", "value": 9.5}],
        "validFor": {"startDateTime": "2021-06-03T18:23:29.482+02:00"},
    },
    "unicode": {
        "name": "Ünï 'q'",
        "status": "Initialized",
        "characteristic": [{"name": "score", "value": 2}],
    },
}


@pytest.fixture
def people(server: Running) -> dict[str, str]:
    """The three customers above, created on the server; their ids by key."""
    return {
        key: server.create(
            "tmf629", "customer", {**body, "engagedParty": {"id": key, "@referredType": "Individual"}}
        )["id"]
        for key, body in PEOPLE.items()
    }


def found(server: Running, people: dict[str, str], query: str | dict[str, str]) -> list[str]:
    """The keys of the customers a list query returns, in order; the query is raw text or parameters."""
    url = server.collection("tmf629", "customer")
    response = (
        server.http.get(f"{url}?{query}") if isinstance(query, str) else server.http.get(url, params=query)
    )
    assert response.status_code in (200, 206), response.text
    by_id = {instance_id: key for key, instance_id in people.items()}
    return [by_id[item["id"]] for item in response.json()]


def test_encoded_values_quotes_and_or_lists(server: Running, people: dict[str, str]) -> None:
    assert found(server, people, {"name": "'a,b'"}) == ["comma"]
    assert found(server, people, {"name": "a,b"}) == [], "unquoted, the comma means a or b"
    assert found(server, people, {"name": "x&y=z+1% ?#"}) == ["symbols"]
    assert found(server, people, {"name": "Ünï 'q'"}) == ["unicode"]
    assert found(server, people, {"name": "'Ünï 'q'','a,b'"}) == ["comma", "unicode"]
    assert found(server, people, "name=x%26y%3Dz%2B1%25%20%3F%23") == ["symbols"]
    assert found(server, people, "name=x%26y%3Dz+1%25%20%3F%23") == [], "a raw + is a space in a query string"


def test_nested_paths_and_and(server: Running, people: dict[str, str]) -> None:
    assert found(server, people, {"engagedParty.id": "symbols"}) == ["symbols"]
    assert found(server, people, {"characteristic.value": "gold"}) == ["comma"]
    assert found(server, people, {"characteristic.value": "10.0,2"}) == ["comma", "unicode"]
    assert found(server, people, {"status": "Approved", "characteristic.value": "9.5"}) == ["symbols"]
    assert found(server, people, "status=Approved&status=Initialized") == []
    assert found(server, people, {"status.ne": "Approved"}) == ["unicode"]


def test_operators_and_tmf630_symbol_forms(server: Running, people: dict[str, str]) -> None:
    assert found(server, people, {"characteristic.value.gt": "9"}) == ["comma", "symbols"]
    assert found(server, people, "characteristic.value>=10") == ["comma"]
    assert found(server, people, "characteristic.value<9.5") == ["unicode"]
    assert found(server, people, "characteristic.value<=9.5&status=Approved") == ["symbols"]
    assert found(server, people, {"validFor.startDateTime.lt": "2021-06-03T16:23:29.482Z"}) == ["comma"]
    in_utc = found(server, people, {"validFor.startDateTime.lt": "2021-06-03T17:00:00Z"})
    assert in_utc == ["comma", "symbols"], "18:23+02:00 is before 17:00Z"
    assert found(server, people, {"validFor.startDateTime.gte": "'2021-06-03T16:23:29.482Z'"}) == ["symbols"]


def test_sort_paging_and_fields(server: Running, people: dict[str, str]) -> None:
    assert found(server, people, {"sort": "-name"}) == ["unicode", "symbols", "comma"]
    assert found(server, people, {"sort": "validFor.startDateTime,name"}) == ["comma", "symbols", "unicode"]
    url = server.collection("tmf629", "customer")
    page = server.http.get(
        url, params={"sort": "name", "offset": "1", "limit": "1", "fields": "engagedParty.id"}
    )
    assert (page.status_code, page.headers["X-Total-Count"], page.headers["X-Result-Count"]) == (
        206,
        "3",
        "1",
    )
    (only,) = page.json()
    assert only == {
        "id": people["symbols"],
        "href": only["href"],
        "engagedParty": {"id": "symbols"},
    }
    empty = server.http.get(url, params={"limit": "0"})
    assert (empty.status_code, empty.json(), empty.headers["X-Total-Count"]) == (206, [], "3")


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("fields=", "fields"),
        ("fields=name,,status", "fields"),
        ("sort=-", "sort"),
        ("offset=-1", "offset"),
        ("limit=1.5", "limit"),
        ("limit=1&limit=2", "limit"),
        ("a..b=1", "a..b"),
        ("score>x=1", "score>x"),
    ],
)
def test_bad_queries_are_400s_naming_the_parameter(server: Running, query: str, named: str) -> None:
    response = server.http.get(f"{server.collection('tmf629', 'customer')}?{query}")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["@type"] == "Error" and named in body["message"]


def party(party_id: str) -> dict[str, str]:
    """An engagedParty reference."""
    return {"id": party_id, "@referredType": "Individual"}


def test_pages_under_a_filter_are_exact_after_creates_changes_and_deletes(server: Running) -> None:
    url = server.collection("tmf629", "customer")
    created = [
        server.create("tmf629", "customer", {"name": f"c{n}", "engagedParty": party(str(n % 3))})["id"]
        for n in range(30)
    ]
    server.http.get(url, params={"engagedParty.id": "1"})  # the index exists before the changes below
    assert server.http.patch(f"{url}/{created[1]}", json={"engagedParty": party("2")}).status_code == 200
    assert server.http.patch(f"{url}/{created[3]}", json={"engagedParty": party("1")}).status_code == 200
    assert server.http.delete(f"{url}/{created[4]}").status_code == 204
    expected = [i for n, i in enumerate(created) if (n % 3 == 1 or n == 3) and n not in (1, 4)]
    for params in ({"engagedParty.id": "1"}, {"engagedParty.id": "1", "name.ne": "none"}):
        seen = []
        for offset in range(0, 12, 4):
            page = server.http.get(url, params={**params, "offset": str(offset), "limit": "4"})
            assert page.headers["X-Total-Count"] == str(len(expected)), params
            assert page.headers["X-Result-Count"] == str(len(page.json()))
            seen += [item["id"] for item in page.json()]
        assert seen == expected, "creation order, each once"
    everything = server.http.get(url, params={"offset": "3", "limit": "5"})
    assert everything.headers["X-Total-Count"] == "29"
    assert [item["id"] for item in everything.json()] == [i for i in created if i != created[4]][3:8]


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        ("&".join(f"f{n}=x" for n in range(6000)), "64 filters"),
        ("sort=" + ",".join(f"k{n}" for n in range(1000)), "16 sort attributes"),
        ("name=" + ",".join(str(n) for n in range(2000)), "1000 comma-separated values"),
        ("fields=" + ",".join(f"a{n}" for n in range(300)), "256 attribute names"),
    ],
    ids=["6000 filters", "1000 sort keys", "2000 values", "300 fields"],
)
def test_oversized_queries_are_400s_naming_the_limit(server: Running, query: str, limit: str) -> None:
    response = server.http.get(f"{server.collection('tmf629', 'customer')}?{query}")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["@type"] == "Error" and limit in body["message"]
