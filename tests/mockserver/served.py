"""What the reference server's tests share: valid payloads per resource and a running-server handle."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import requests

import tmfapis
from mockserver import ServerConfig, start_background

# One valid create body per resource (the kits' default payloads where they exist).
PAYLOADS: dict[tuple[str, str], dict[str, Any]] = {
    ("tmf681", "communicationMessage"): {
        "content": "Dear $Parameter1. Here is the information of the promotion $Parameter2",
        "messageType": "SMS",
        "receiver": [{}],
        "sender": {},
    },
    ("tmf629", "customer"): {
        "name": "Geekhaven Club",
        "engagedParty": {"id": "42", "@referredType": "Organization"},
    },
    ("tmf683", "partyInteraction"): {
        "direction": "inbounds",
        "reason": "The user wanted to buy TV and internet plan",
        "interactionDate": {"startDateTime": "2021-06-03T16:23:29.481Z"},
        "status": "open",
        "channel": [{"id": "7", "href": "http://127.0.0.1/channel/7"}],
    },
    ("tmf622", "productOrder"): {
        "productOrderItem": [{"id": "1", "action": "add"}],
        "relatedParty": [{"id": "9", "@referredType": "Individual"}],
    },
    ("tmf635", "usage"): {"usageType": "Voice", "description": "Voice call ünïcode ✓"},
    ("tmf635", "usageSpecification"): {"name": "Voice-Usage-Specification"},
}
# A PATCH per resource that keeps the instance valid and changes a plain attribute.
PATCHES: dict[tuple[str, str], dict[str, Any]] = {
    ("tmf681", "communicationMessage"): {"subject": "Promotion"},
    ("tmf629", "customer"): {"name": "Geekhaven Club 2"},
    ("tmf683", "partyInteraction"): {"description": "follow-up"},
    ("tmf622", "productOrder"): {"description": "rush"},
    ("tmf635", "usage"): {"description": "updated"},
    ("tmf635", "usageSpecification"): {"description": "updated"},
}
CRUD_RESOURCES = sorted(PAYLOADS)


def picked(instance: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """The attributes of ``instance`` named in ``like`` (absent ones as None), to compare with ``like``."""
    return {key: instance.get(key) for key in like}


def collection_url(base: str, api_id: str, resource: str) -> str:
    """The absolute URL of a resource's collection on a server at ``base``."""
    return f"{base}{tmfapis.api(api_id).base_path}{resource}"


@dataclass(frozen=True, slots=True)
class Running:
    """A started server and what a test needs to talk to it."""

    url: str
    config: ServerConfig
    http: requests.Session

    def collection(self, api_id: str, resource: str) -> str:
        return collection_url(self.url, api_id, resource)

    def create(self, api_id: str, resource: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a valid body (the default payload unless given) and return the created instance."""
        response = self.http.post(
            self.collection(api_id, resource), json=body or PAYLOADS[(api_id, resource)]
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def start(config: ServerConfig, **changes: Any) -> Any:
    """Start a background server with some settings changed (use it as a context manager)."""
    return start_background(replace(config, **changes))
