"""The one place URLs are joined, quoted and compared by origin."""

from __future__ import annotations

import pytest

from harness.urls import api_root, origin, query, resource_url, same_origin, url_problem


def test_a_resource_url_keeps_the_roots_query_and_quotes_the_id() -> None:
    assert resource_url("http://h/api?k=1", "customer", "a b/c", "limit=1") == "http://h/api/customer/a%20b%2Fc?k=1&limit=1"
    assert api_root("http://h/", "/tmf-api/x/v4/") == "http://h/tmf-api/x/v4/"


def test_a_query_is_quoted_as_the_kits_sent_it() -> None:
    assert query(("name", "a b+c&d#e%f"), ("@type", "x'y:z/,")) == "name=a%20b%2Bc%26d%23e%25f&@type=x'y:z/,"


@pytest.mark.parametrize(
    ("url", "other", "same"),
    [
        ("HTTP://Host/a", "http://host:80/b", True),
        ("https://host/", "https://host:443", True),
        ("https://host/", "http://host/", False),
        ("http://host:8080/", "http://host/", False),
        ("http://host:99999/", "http://host/", False),
        ("http://host:bad/", "http://host/", False),
        ("http://host:bad/", "http://host:other/", False),
    ],
)
def test_origins_compare_as_browsers_do_and_a_malformed_port_matches_no_other(url: str, other: str, same: bool) -> None:
    assert same_origin(url, other) is same
    assert origin(url)[1] == "host"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://host/", None),
        ("ftp://host/", "is not an absolute http(s) URL"),
        ("http:///path", "is not an absolute http(s) URL"),
        ("http://host:70000/", "has a port that is not a number from 0 to 65535"),
    ],
)
def test_a_servers_address_is_checked_in_one_place(url: str, problem: str | None) -> None:
    assert url_problem(url) == problem
