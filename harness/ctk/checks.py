"""The kit's checks as small functions returning ``CheckResult``s named exactly as the kit names them.

Each check is evaluated on its own and really asserts: a mismatch fails with what was expected
and what came back. When there is no usable JSON body, each body check fails once with the reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import tmfapis
from harness.ctk.ajv import ajv_errors, errors_text
from harness.ctk.declaration import JSON_TYPES, IncludesIf, ResourceSuite, SchemaCheck, TypedAt
from harness.http import Reply, excerpt
from harness.record import PAYLOAD_FAULT, CheckResult, Tier

if TYPE_CHECKING:
    import jsonschema

__all__ = [
    "ABSENT",
    "SCRIPT_READS",
    "array_expected",
    "attribute_equals",
    "body_includes",
    "body_matches",
    "held_values",
    "includes_if",
    "instance_checks",
    "instances_of",
    "meets",
    "not_a_list",
    "not_array",
    "not_expected",
    "payload_conforms",
    "refused_body",
    "schema_problems",
    "schema_valid",
    "selection",
    "status_is",
    "typed_at",
    "unreadable",
    "unset_value",
    "value_at",
    "which",
]

SERVER_ASSIGNED = ("id", "href")  # what a server sets on a create whatever the payload says
ABSENT: Any = object()  # what ``value_at`` finds where a body has nothing, not even null


def value_at(body: Any, path: Sequence[str | int]) -> Any:
    """The value at ``path`` in a body, else ``ABSENT``: an index (or a name of digits, as the kit's ``[0]``) picks from
    an array, and a name below the top is read through an array by its first item, as the kits read
    ``billDocument.id`` (an answer that is an array has no attribute: the kit's ``instance['id']`` is undefined)."""
    for depth, part in enumerate(path):
        if depth and isinstance(body, list) and not str(part).isdigit():
            body = body[0] if body else ABSENT
        if isinstance(body, Mapping) and isinstance(part, str) and part in body:
            body = body[part]
        elif isinstance(body, list) and str(part).isdigit() and int(part) < len(body):
            body = body[int(part)]
        else:
            return ABSENT
    return body


# Where the kit's script stops on a read (Newman's "test script error"), which no check of the kit's names: ours fails
# this check, named by the path read.
SCRIPT_READS = "The kit's script reads "


def passed(name: str, tier: Tier = "ctk") -> CheckResult:
    return CheckResult(name=name, tier=tier, outcome="passed")


def failed(name: str, message: str, tier: Tier = "ctk") -> CheckResult:
    return CheckResult(name=name, tier=tier, outcome="failed", message=message)


def show(value: Any) -> str:
    """A short JSON rendering of a value for failure messages."""
    return excerpt(json.dumps(value, ensure_ascii=False)) if value is not None else "nothing (absent)"


def which(instance: Mapping[str, Any]) -> str:
    """``(id "x")`` or ``(no id)``: which instance a message is about."""
    return f"(id {show(instance['id'])})" if instance.get("id") is not None else "(no id)"


def not_a_list(reply: Reply) -> str | None:
    """Why an answer that should list instances does not (no JSON body, an object...), or None when it is an array."""
    if not reply.json_ok:
        return f"no JSON body: {reply.problem}"
    if isinstance(reply.body, list):
        return None
    kind = "an object" if isinstance(reply.body, dict) else f"a JSON {type(reply.body).__name__}"
    return f"the answer is {kind}, not an array: {show(reply.body)}"


def status_is(reply: Reply, expected: Sequence[int], tier: Tier = "ctk") -> CheckResult:
    name = "Status code is " + " or ".join(map(str, expected))
    wanted = " or ".join(map(str, expected))
    if reply.status is None:
        return failed(name, f"expected {wanted}, got no response: {reply.problem}", tier)
    if reply.status in expected:
        return passed(name, tier)
    detail = f" with body {excerpt(reply.text)!r}" if reply.text else ""
    return failed(name, f"expected {wanted}, got {reply.status}{detail}", tier)


def not_array(reply: Reply) -> list[CheckResult]:
    """The kit records this check only when the create answered with an array."""
    if isinstance(reply.body, list):
        return [failed("Array not expected as response", f"expected a JSON object, got an array of {len(reply.body)} items")]
    return []


def instances_of(reply: Reply) -> list[Any]:
    """The instances a response carries: the array's items, or the body itself when it is one object."""
    if not reply.json_ok:
        return []
    return list(reply.body) if isinstance(reply.body, list) else [reply.body]


def _contains(text: str, value: Any) -> bool:
    """Whether the raw body holds the value as the kit searches for it: a string verbatim, anything else as JSON.

    The kit's ``pm.response.text()`` include does not decode JSON escapes, so a body that writes "/" as
    "\\/" or "é" as "\\u00e9" fails there; ours fails it too.
    """
    return (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)) in text


def body_includes(
    reply: Reply, suite: ResourceSuite, attribute: str, held: Iterable[Mapping[str, Any]], instance: Any
) -> CheckResult:
    """``Body includes value held on <attr>``: the instance has the attribute, and the body holds each held value.

    The kit searches the body for the instance's own value, so it fails when the instance lacks it;
    ours also searches for the values held from the create, so a changed value fails too.
    """
    name = f"Body includes value held on {attribute}"
    if not reply.json_ok:
        return failed(name, f"no body to search: {reply.problem}")
    held = list(held)
    if any(attribute not in values for values in held):
        return failed(name, f"no value is held on {attribute}: the create's answer did not carry one")
    if not isinstance(instance, dict):
        return failed(name, f"expected a JSON object with {attribute}, got {show(instance)}")
    if value_at(instance, suite.path(attribute)) in (None, ABSENT):  # the kit fails on undefined and null alike
        return failed(name, f"the instance {which(instance)} has no {'.'.join(suite.path(attribute))}")
    missing = [values[attribute] for values in held if not _contains(reply.text, values[attribute])]
    if missing:
        return failed(name, f"expected the body to include {', '.join(show(value) for value in missing)}; it does not")
    return passed(name)


def instance_checks(
    reply: Reply,
    suite: ResourceSuite,
    instance: Any,
    held: Sequence[Mapping[str, Any]],
    typed: Iterable[str] | None = None,
) -> list[CheckResult]:
    """Checks 3 to 5 of the template on one instance: mandatory set, typed attributes, held values in the body.

    An attribute the kit requires only under a condition (``suite.when``) is required and typed only where it holds;
    an instance whose ``@type`` the suite lists in ``by_type`` has those attributes too, mandatory and typed. Where
    the kit wants at least one of some attributes (``suite.one_of``), its mandatory check wants one too, and types
    each one found by a check nested in it, made only where the instance has the mandatory attributes.
    """
    results = []
    name = "Instance has all mandatory attributes"
    unmet = {attribute for attribute, condition in suite.when.items() if not meets(instance, condition)}
    kind = instance.get("@type") if isinstance(instance, dict) else None
    subtype = suite.by_type.get(kind, {}) if isinstance(kind, str) else {}
    mandatory, typing = [*suite.mandatory, *subtype], {**suite.typed, **subtype}
    if not reply.json_ok:
        results.append(failed(name, reply.problem or ""))
    elif not isinstance(instance, dict):
        results.append(failed(name, f"expected a JSON object, got {show(instance)}"))
    else:
        required = dict.fromkeys([*mandatory, *(attribute for attribute in suite.when if attribute not in unmet)])
        missing = [attribute for attribute in required if attribute not in instance]
        found = [] if missing else _one_of_found(suite.one_of, instance)
        alternatives = [attribute for pairs in suite.one_of.values() for attribute in pairs]
        # the checks nested in the kit's mandatory check end first, and Newman reports them first
        results.extend(_typed(reply, instance, attribute, json_type, suite.path(attribute)) for attribute, json_type in found)
        if missing:
            results.append(failed(name, f"missing: {', '.join(missing)} {which(instance)}"))
        elif alternatives and not found:
            results.append(failed(name, f"has none of {', '.join(alternatives)} {which(instance)}"))
        else:
            results.append(passed(name))
    for name, attributes in suite.any_of.items():
        results.append(_has_one_of(reply, name, instance, attributes))
    for attribute in [*(suite.typed if typed is None else typed), *subtype]:
        unheld = attribute in suite.typed_if_truthy and not _truthy(value_at(instance, suite.path(attribute)))
        if attribute not in unmet and not unheld:
            results.append(_typed(reply, instance, attribute, typing[attribute], suite.path(attribute)))
    results.extend(body_includes(reply, suite, attribute, held, instance) for attribute in suite.includes)
    return results


def _one_of_found(one_of: Mapping[str, Mapping[str, str]], instance: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The kit's "at least one of" attributes an instance has, with their JSON types: those ``present`` among its
    keys (even null), those ``set`` where JavaScript takes their value as true (``_truthy``)."""
    present = [(attribute, json_type) for attribute, json_type in one_of.get("present", {}).items() if attribute in instance]
    return present + [(attribute, json_type) for attribute, json_type in one_of.get("set", {}).items()
                      if _truthy(instance.get(attribute, ABSENT))]


def array_expected(reply: Reply) -> CheckResult:
    """``Array expected as response``, where the kit asks only that the answer be an array (an empty one passes)."""
    name = "Array expected as response"
    if not reply.json_ok:
        return failed(name, f"no JSON body: {reply.problem}")
    return passed(name) if isinstance(reply.body, list) else failed(name, f"expected a JSON array, got {show(reply.body)}")


def _has_one_of(reply: Reply, name: str, instance: Any, attributes: Sequence[str]) -> CheckResult:
    """A check the kit names itself: the instance has at least one of the attributes (null counts, as in the kit)."""
    if not reply.json_ok:
        return failed(name, reply.problem or "")
    if not isinstance(instance, dict):
        return failed(name, f"expected a JSON object with one of {', '.join(attributes)}, got {show(instance)}")
    if any(attribute in instance for attribute in attributes):
        return passed(name)
    return failed(name, f"expected one of {', '.join(attributes)}; the instance {which(instance)} has none")


def _truthy(value: Any) -> bool:
    """Whether JavaScript takes the value as true (``if (instance.x)``): objects and arrays always, not 0, "" or NaN."""
    if value is ABSENT or value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return isinstance(value, (dict, list)) or bool(value)


def meets(instance: Any, condition: Mapping[str, Any]) -> bool:
    """Whether an instance has the values of a kit's condition (``isBundle: true``), compared as the kit's ``==``."""
    return isinstance(instance, dict) and all(instance.get(key) == value for key, value in condition.items())


def _typed(reply: Reply, instance: Any, attribute: str, json_type: str, path: Sequence[str]) -> CheckResult:
    """``Response has <attr> attribute``: the value where the kit reads it (``path``) has the JSON type."""
    name = f"Response has {attribute} attribute"
    if not reply.json_ok:
        return failed(name, reply.problem or "")
    value = value_at(instance, path)
    if value is ABSENT:
        return failed(name, f"expected {attribute} ({json_type}); it is absent")
    if _is_json_type(value, json_type):
        return passed(name)
    return failed(name, f"expected {attribute} to be a JSON {json_type}, got {show(value)}")


def _is_json_type(value: Any, json_type: str) -> bool:
    return isinstance(value, JSON_TYPES[json_type]) and not (json_type == "number" and isinstance(value, bool))


def typed_at(reply: Reply, name: str, check: TypedAt) -> CheckResult:
    """A check the kit names itself: the answer holds a value of the JSON type at the path (keys, array indexes)."""
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in check.path).lstrip(".")
    if not reply.json_ok:
        return failed(name, f"no JSON body: {reply.problem}")
    value = reply.body
    for part in check.path:
        indexed = isinstance(part, int) and isinstance(value, list) and part < len(value)
        if indexed or (isinstance(part, str) and isinstance(value, dict) and part in value):
            value = value[part]
        else:
            return failed(name, f"expected a JSON {check.type} at {where}; the answer has nothing there")
    if _is_json_type(value, check.type):
        return passed(name)
    return failed(name, f"expected a JSON {check.type} at {where}, got {show(value)}")


def held_values(
    reply: Reply,
    suite: ResourceSuite,
    instance_number: int,
    held: Mapping[str, Any],
    attributes: Iterable[str] | None = None,
    tier: Tier = "ctk",
) -> list[CheckResult]:
    """``<attr> is <held value>`` for one created instance, found in the response by its id."""
    attributes = list(suite.compared if attributes is None else attributes)
    # a value never held is the kit's unset variable: its name reads "undefined"
    names = [f"{attribute} is {_plain(held[attribute]) if attribute in held else 'undefined'}" for attribute in attributes]
    if not reply.json_ok:
        return [failed(name, f"no instance to compare: {reply.problem}", tier) for name in names]
    wanted_id = held.get("id")
    found = next((item for item in instances_of(reply) if isinstance(item, dict) and item.get("id") == wanted_id), None)
    if found is None:
        variable = suite.variable("id", instance_number)
        message = f"the created instance {variable} (id {show(wanted_id)}) is not in the response"
        return [failed(name, message, tier) for name in names]
    results = []
    for attribute, name in zip(attributes, names, strict=True):
        expected, actual = held.get(attribute), value_at(found, attribute.split("."))
        actual = None if actual is ABSENT else actual
        if (absent := unreadable(found, attribute)) is not None:  # the kit's read of the path throws: its check fails
            results.append(failed(name, f"the instance has no {absent}, so {attribute} cannot be read", tier))
        elif actual == expected:
            results.append(passed(name, tier))
        else:
            results.append(failed(name, f"expected {attribute} {show(expected)}, got {show(actual)}", tier))
    return results


def not_expected(reply: Reply, suite: ResourceSuite, other_number: int, other_id: Any) -> CheckResult:
    """``<ID> not expected on this test``: the other created instance must not pass the filter."""
    name = f"{suite.variable('id', other_number)} not expected on this test"
    if not reply.json_ok:
        return failed(name, f"cannot tell: {reply.problem}")
    if any(isinstance(item, dict) and item.get("id") == other_id for item in instances_of(reply)):
        return failed(name, f"the filter returned the other created instance (id {show(other_id)}), whose value differs")
    return passed(name)


def payload_conforms(suite: ResourceSuite, payload: Mapping[str, Any]) -> CheckResult:
    """Spec tier: the payload the kit's schema accepted also has what the OpenAPI ``_Create`` requires (every miss named)."""
    create = tmfapis.api(suite.api_id).resources[suite.resource].create_schema
    name = f"Payload is a valid {create}"
    problems = schema_problems(suite.api_id, create, payload)
    if problems:
        return failed(name, f"{PAYLOAD_FAULT}: the payload is not a valid {create}: "
                            f"{'; '.join(problems)}", "spec")
    return passed(name, "spec")


def schema_problems(api_id: str, definition: str, instance: Any, sent: Sequence[Any] = (),
                    create: str | None = None) -> list[str]:
    """Every way ``instance`` fails the spec's ``definition`` (``where: what``), leaving out what only echoes ``sent``.

    An answer that repeats what a request body held (a reference sent without its ``href``, say) is not the
    server's fault: an error is left out when one of the ``sent`` bodies (of the ``create`` schema) lacks the
    same required attribute at the same place, or holds the same wrong value there. At the top level only
    what the ``create`` schema lets a client send is excused: an ``id`` or a server-set state never is.
    """
    settable = set(tmfapis.api(api_id).definitions[create].get("properties", {})) if create else set()
    problems = []
    for error in tmfapis.schema_validator(api_id, definition).iter_errors(instance):
        path = list(error.absolute_path)
        top_level_unsettable = not path and error.validator == "required" and not _missing(error) <= settable
        # the server's own id and href are strings, as TMF630 and the kits want, whatever type a spec gives them
        own_string = len(path) == 1 and path[0] in SERVER_ASSIGNED and isinstance(error.instance, str)
        if own_string and error.validator == "type":
            continue
        if sent and not top_level_unsettable and any(_echoes(error, value_at(body, path)) for body in sent):
            continue
        where = ".".join(str(part) for part in path) or "(top level)"
        problems.append(f"{where}: {error.message}")
    return problems




def _at(body: Any, path: Sequence[str | int]) -> Any:
    for part in path:
        found = (isinstance(body, Mapping) and isinstance(part, str) and part in body) or (
            isinstance(body, list) and isinstance(part, int) and part < len(body))
        if not found:
            return ABSENT
        body = body[part]
    return body


def _echoes(error: jsonschema.ValidationError, sent: Any) -> bool:
    """Whether the value a request body held at the error's place explains the error."""
    if sent is ABSENT:
        return False
    if error.validator == "required" and isinstance(sent, Mapping):
        return not _missing(error) & set(sent)
    return bool(sent == error.instance)


def _missing(error: jsonschema.ValidationError) -> set[str]:
    """The attributes a ``required`` error finds missing."""
    present = error.instance if isinstance(error.instance, Mapping) else {}
    return {name for name in error.validator_value if name not in present}


def refused_body(reply: Reply, api_id: str, definition: str | None, body: Any) -> str | None:
    """Why a 4xx answer is the body's fault, not the server's (the body is not a valid ``definition``), or None."""
    if definition is None or reply.status is None or not 400 <= reply.status < 500:
        return None
    problems = schema_problems(api_id, definition, body)
    if not problems:
        return None
    return (f"the server refused ({reply.status}) a body that is not a valid {definition} ({'; '.join(problems)}): "
            + PAYLOAD_FAULT)


def body_matches(reply: Reply, api_id: str, definition: str, tier: Tier = "spec", listed: bool = False,
                 sent: Sequence[Any] = (), create: str | None = None) -> CheckResult:
    """``Body matches the <Entity> schema``: the body (every item of a list) validates against the spec's definition.

    What the answer only echoes of the ``sent`` bodies of the ``create`` schema is the payload's deviation, not
    the server's (``schema_problems``).
    """
    name = f"Body matches the {definition} schema"
    if not reply.json_ok:
        return failed(name, f"no body to validate: {reply.problem}", tier)
    if listed and (problem := not_a_list(reply)):
        return failed(name, f"expected a JSON array of {definition}; {problem}", tier)
    for position, instance in enumerate(reply.body if listed else [reply.body]):
        problems = schema_problems(api_id, definition, instance, sent, create)
        if problems:
            item = f"item {position}: " if listed else ""
            return failed(name, f"expected a valid {definition}; {item}{'; '.join(problems)}", tier)
    return passed(name, tier)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def selection(reply: Reply, attribute: str, only: bool = True) -> list[CheckResult]:
    """A field selection's checks, where the kit makes them: an array of instances with id, href and the attribute
    (``only``: and nothing else)."""
    must, alone = "Instance must have id, href and filtered attribute", "Instance has only id, href and filtered attribute"
    wanted = {"id", "href", attribute}
    if not reply.json_ok:
        names = (must, alone) if only else (must,)
        return [failed(name, f"no body: {reply.problem}") for name in (*names, "Array expected as response")]
    if not isinstance(reply.body, list) or not reply.body:
        return [failed("Array expected as response", f"expected a non-empty JSON array, got {show(reply.body)}")]
    results = []
    for instance in reply.body:
        keys = set(instance) if isinstance(instance, dict) else set()
        missing, extra = sorted(wanted - keys), sorted(keys - wanted)
        results.append(failed(must, f"missing: {', '.join(missing)} in {show(instance)}") if missing else passed(must))
        if only:
            results.append(failed(alone, f"not selected: {', '.join(extra)} in {show(instance)}") if extra else passed(alone))
    return results


def attribute_equals(reply: Reply, name: str, expected: Mapping[str, Any]) -> CheckResult:
    """A check the kit names itself (``Your test name``): each given attribute of the answer has the given value."""
    body = reply.body if reply.json_ok and isinstance(reply.body, dict) else None
    if body is None:
        return failed(name, f"expected a JSON object, got {reply.problem or show(reply.body)}")
    wrong = [f"{key} {show(body.get(key))} (expected {show(value)})" for key, value in expected.items() if body.get(key) != value]
    return failed(name, "; ".join(wrong)) if wrong else passed(name)


def schema_valid(reply: Reply, check: SchemaCheck) -> list[CheckResult]:
    """The kit's ajv check against a schema of its script: the whole body, or each instance of a non-empty array
    (and the whole body otherwise, where the kit's else branch validates it too).

    Named as the kit names it, with ajv's own errors text where the kit appends it (``ajv.errorsText()``), and where
    the kit makes a check of each error, that check too (``JSON.stringify(error)``).
    """
    if not reply.json_ok:
        return [failed(check.name, f"no JSON body to validate: {reply.problem}")]
    listed = isinstance(reply.body, list) and bool(reply.body)
    if listed:  # the kit's branch for a non-empty array
        validated = reply.body if check.each else [] if check.otherwise else [reply.body]
    else:
        validated = [reply.body] if check.otherwise or not check.each else []
    results = []
    for instance in validated:
        errors = ajv_errors(check.schema, instance, check.all_errors, check.json_pointers)
        name = check.name + errors_text(errors) if check.errors_in_name else check.name
        refused = f"the kit's schema refuses {which(instance) if isinstance(instance, dict) else 'the body'}"
        if check.error_checks:  # the kit makes a check that fails for each error, named by it
            results += [failed(error.as_json, f"{refused}: data{error.dataPath} {error.message}") for error in errors]
        results.append(failed(name, f"{refused}: {errors_text(errors)}") if errors else passed(name))
    return results


def includes_if(reply: Reply, check: IncludesIf) -> list[CheckResult]:
    """Where the answer holds the values of ``check.when``: each named check that the body text includes the answer's
    own value at its path (none where it does not hold them, as in the kit)."""
    body = reply.body if reply.json_ok and isinstance(reply.body, dict) else None
    if body is None or any(value_at(body, path.split(".")) != value for path, value in check.when.items()):
        return []
    results = []
    for name, path in check.includes.items():
        value = value_at(body, path.split("."))
        if value in (None, ABSENT):
            results.append(failed(name, f"the answer has no {path}"))
        elif not _contains(reply.text, value):
            results.append(failed(name, f"expected the body to include {show(value)} ({path}); it does not"))
        else:
            results.append(passed(name))
    return results


def unset_value(instance: Any, attribute: str) -> CheckResult:
    """``<attr> is undefined``: the kit's value check of an instance it never created, which an answer instance without
    id meets; the kit's script reads the attribute's path and fails where a parent on the way is absent."""
    name = f"{attribute} is undefined"
    absent = unreadable(instance, attribute)
    if absent is not None:
        return failed(name, f"the instance {which(instance) if isinstance(instance, Mapping) else show(instance)} "
                            f"has no {absent}, so {attribute} cannot be read")
    return passed(name)


def unreadable(instance: Any, attribute: str) -> str | None:
    """The parent a kit's script finds absent reading a dotted attribute (``instance['account']['id']`` throws where
    ``account`` is absent or null), or None where the read goes through."""
    value: Any = instance
    for part in attribute.split(".")[:-1]:
        if isinstance(value, list) and part.isdigit():  # the script's index (``instance['billDocument'][0]``)
            value = value[int(part)] if int(part) < len(value) else None
        else:
            if isinstance(value, list):
                value = value[0] if value else None
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            return part
    return None
