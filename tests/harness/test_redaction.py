"""The one redactor: what it counts as a secret, and the outputs that go through it (fuzz failures, pytest reports)."""

from __future__ import annotations

import base64
import re

import pytest
import requests

from harness.fuzz.machine import FILTER_TARGETS, filter_machine
from harness.pytest.plugin import redact_report
from harness.redact import MASK, Redactor, header_secrets, url_secrets

TOKEN = "tok-4b9e2a"


def test_each_part_of_a_secret_header_is_a_secret() -> None:
    basic = base64.b64encode(b"alice:pw-7c1d").decode()
    found = header_secrets({"Authorization": f"Bearer {TOKEN}", "Cookie": "sid=ck-19fa; lang=en",
                            "Proxy-Authorization": f"Basic {basic}", "X-Trace": "visible-1"})
    assert {f"Bearer {TOKEN}", TOKEN, "ck-19fa", basic, "alice:pw-7c1d", "pw-7c1d"} <= set(found)
    assert "Bearer" not in found and "Basic" not in found and "visible-1" not in found
    redactor = Redactor.from_values(found)
    assert redactor.text(f'{{"echo": "{TOKEN}"}} Set-Cookie: sid=ck-19fa; echo=ck-19fa') == \
        f'{{"echo": "{MASK}"}} Set-Cookie: {MASK}; echo={MASK}'


def test_secret_headers_are_masked_by_name_and_echoed_secrets_in_names_and_values() -> None:
    redactor = Redactor.from_values(header_secrets({"Authorization": f"Bearer {TOKEN}"}))
    headers = redactor.headers({"Authorization": "Bearer other", f"X-{TOKEN}": "1", "X-Echo": f"by {TOKEN}"})
    assert headers == {"Authorization": MASK, f"X-{MASK}": "1", "X-Echo": f"by {MASK}"}


def test_url_credentials_are_secrets_as_given_and_as_sent() -> None:
    found = url_secrets(["http://bob:p%40ss-88@vendor.example/tmf/", None, "https://vendor.example/"])
    basic = base64.b64encode(b"bob:p@ss-88").decode()
    assert {"bob:p%40ss-88", "p@ss-88", basic} <= set(found)
    assert Redactor.from_values(found).text(f"echo {basic}") == f"echo {MASK}"


def test_url_userinfo_is_masked_in_any_text() -> None:
    text = "GET http://user:pw@h.example:8/x?q=1 and 'https://only-user@h.example/' and http://h.example/a@b"
    assert Redactor().text(text) == f"GET http://{MASK}@h.example:8/x?q=1 and 'https://{MASK}@h.example/' and http://h.example/a@b"


def test_a_fuzz_failure_message_goes_through_the_redactor() -> None:
    machine = filter_machine(FILTER_TARGETS[0], "http://127.0.0.1:9/", requests.Session(), Redactor.from_values([TOKEN]))()
    assert str(machine.mismatch(f"GET http://u:p@127.0.0.1:9/x answered 200 '{TOKEN}'")) == \
        f"GET http://{MASK}@127.0.0.1:9/x answered 200 '{MASK}'"
    with pytest.raises(AssertionError, match=re.escape(f"token={MASK}")):  # a network failure names the request, masked too
        machine.send("GET", f"http://127.0.0.1:9/x?token={TOKEN}")


def test_pytest_reports_go_through_the_redactor() -> None:
    report = pytest.TestReport("n", ("f", 0, "n"), {}, "failed", f"assert {TOKEN!r} == 1", "call",
                               sections=[("Captured log call", f"DEBUG GET /x?t={TOKEN}")],
                               user_properties=[("ctk_record", {"root": f"http://h/{TOKEN}/"})])
    redact_report(report, Redactor.from_values([TOKEN]))
    assert TOKEN not in str(report.longrepr) + repr(report.sections) + repr(report.user_properties)
    assert report.user_properties == [("ctk_record", {"root": f"http://h/{MASK}/"})]
