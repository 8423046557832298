"""The address rules behind the Host check and the callback policy."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from mockserver.addresses import CallbackPolicy, ip_literal, is_local, is_local_name, parse_allow_entry


def this_machines_other_address() -> str | None:
    """A non-loopback address of this machine, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it only picks the route's source
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:169.254.169.254", "169.254.169.254"),
        ("2130706433", "127.0.0.1"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("fe80::1%eth0", "fe80::1"),
        ("example.com", None),
        ("ünïcode", None),
    ],
)
def test_ip_literal_reads_every_form_a_resolver_reads(host: str, address: str | None) -> None:
    assert ip_literal(host) == (ipaddress.ip_address(address) if address else None)


def test_local_addresses_are_this_machines_own() -> None:
    for text in ("127.0.0.1", "127.8.9.10", "::1", "0.0.0.0"):
        assert is_local(ipaddress.ip_address(text)), text
    for text in ("192.0.2.1", "8.8.8.8", "2001:db8::1"):  # documentation ranges: never assigned here
        assert not is_local(ipaddress.ip_address(text)), text
    other = this_machines_other_address()
    if other is not None:
        assert is_local(ipaddress.ip_address(other))


def test_local_names() -> None:
    assert is_local_name("LOCALHOST.") and is_local_name("app.localhost") and is_local_name(socket.gethostname())
    assert not is_local_name("localhost.evil.example") and not is_local_name("evil-localhost")


def test_allow_entries_are_networks_or_names() -> None:
    assert parse_allow_entry("10.0.0.0/8") == ipaddress.ip_network("10.0.0.0/8")
    assert parse_allow_entry("[::1]") == ipaddress.ip_network("::1/128")
    assert parse_allow_entry("Hooks.Example.") == "hooks.example"
    for bad in ("http://x", "a/b", "", "h:80", "ünï.example"):
        with pytest.raises(ValueError):
            parse_allow_entry(bad)


def test_policy_judges_resolved_addresses() -> None:
    policy = CallbackPolicy.of(8080, None, ["10.0.0.0/8", "hooks.example"])
    ten = ipaddress.ip_address("10.1.2.3")
    assert policy.address_refusal("anything.example", ten, 80) is None
    assert policy.address_refusal("hooks.example", ipaddress.ip_address("192.0.2.7"), 80) is None
    assert policy.address_refusal("other.example", ipaddress.ip_address("192.0.2.7"), 80) == (
        "other.example (192.0.2.7) is not allowed"
    )
    assert policy.address_refusal("hooks.example", ipaddress.ip_address("169.254.169.254"), 80) == (
        "169.254.169.254 is a link-local or cloud metadata address"
    )
    assert CallbackPolicy.of(8080, None, []).address_refusal("x", ipaddress.ip_address("::1"), 8080) == (
        "it is this server itself"
    )
