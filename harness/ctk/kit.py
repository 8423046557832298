"""What an official kit says: its collection's requests in order, with their folders, names, methods,
check names and test-script facts (``requiredAttributes``, typed and held attributes, value checks,
PATCH bodies), and its reduced payload schemas and Conformance Profile rows. Only read, never copied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_KITS_DIR",
    "Branch",
    "KitRequestFacts",
    "Poll",
    "ResourceFacts",
    "collection_path",
    "kit_facts",
    "kit_items",
    "kit_order",
    "launcher_environment",
    "payload_schema",
    "placed_items",
    "profile_rows",
    "routed",
]

DEFAULT_KITS_DIR = Path(__file__).resolve().parents[3] / "shared" / "official-ctks"
SCHEMA_KEYWORDS = ("type", "required", "properties", "items")

_REQUIRED = re.compile(r"var (?:requiredAttributes|baseAttributes) = \[([^\]]*)\]")
# Typed checks made for each attribute of a list: the JSON type, or one type for one attribute and another for the rest.
_EACH_TYPED = re.compile(
    r"\w+\.forEach\(attr => \{\s*pm\.test\('Response has ' \+ attr \+ ' attribute'.*?to\.be\.an?\("
    r"(?:'(\w+)'|attr === '([^']+)' \? '(\w+)'\s*:\s*'(\w+)')\)", re.DOTALL)
# Attributes an instance must have beside the others by its ``@type`` (``{BankCard: ['cardNumber'], ...}``).
_BY_TYPE = re.compile(r"(?:let|var) \w+ = \{((?:\s*\w+: \[[^\]]*\],?)+)\s*\}")
_TYPED = re.compile(r"pm\.test\('Response has (\S+) attribute'[^\n]*?to\.be\.an?\('(\w+)'\)")
_HOLDS = re.compile(r"pm\.globals\.set\(['\"]([A-Z@]+?)[A-Z]{2,6}(\d\d)['\"], instance\[['\"]([^'\"]+)['\"]\]\)")
_EQUALS = re.compile(
    r"pm\.test\((['\"])([^'\"]*)\1,\s*function\s*\(\)\s*\{\s*pm\.expect\((?:instance|jsonData)\.(\w+)\)\.to\.eql\("
    r"('[^']*'|\"[^\"]*\"|[\w.]+)\)"
)
# A test without a function (``pm.test('state is onHold'), function () {...}``), which Postman records as passed: the
# check of one attribute's value its stray function would make.
_UNCALLED_EQUALS = re.compile(
    r"pm\.test\((['\"])([^'\"]*)\1\),\s*function\s*\(\)\s*\{\s*pm\.expect\(instance\[['\"](\w+)['\"]\]\)\s*==\s*"
    r"('[^']*'|\"[^\"]*\"|[\w.]+)"
)
_CODE = re.compile(r"pm\.globals\.set\(['\"]ID([A-Z]{2,6})\d\d['\"], instance\[['\"]id['\"]\]\)")
_TEST = re.compile(r"pm\.test\((['\"])(.*?)\1")
_STATUS_TEST = re.compile(
    r"pm\.test\((['\"])([^'\"]*)\1,\s*function\s*\(\)\s*\{\s*(?:pm\.response\.to\.have\.status\((\d+)\)"
    r"|pm\.expect\(pm\.response\.code\)\.to\.be\.oneOf\(\[([\d,\s]+)\]\)"
    r"|pm\.expect\(\[([\d,\s]+)\]\)\.to\.include\(pm\.response\.code\))"
)
_MANDATORY_TEST = re.compile(
    r"pm\.test\((['\"])([^'\"]*)\1,\s*function\s*\(\)\s*\{\s*(?:let \w+ = false\s*)?"
    r"(?:pm\.expect\(Object\.keys\(instance\)\)|let (\w+) = Object\.keys\((?:instance|jsonData)\)\s*pm\.expect\(\3\))"
    r"\.to\.include\.members\((?:requiredAttributes|baseAttributes)\)"
)
# The kit's "at least one of" some attributes, in its mandatory test: a flag set where one is found and expected true;
# those of a list found among the keys and those found by their value, each typed by a test nested in the test.
_AT_LEAST_ONE = re.compile(r"let (\w+) = false\b.*?pm\.expect\(\1\)\.to\.be\.true", re.DOTALL)
_ONE_OF_PRESENT = re.compile(
    r"(\w+)\.forEach\(attr => \{\s*if \(keys\.includes\(attr\)\)\s*\{[^{}]*?"
    r"pm\.test\('Response has ' \+\s*attr \+ ' attribute'[^\n]*?to\.be\.an?\('(\w+)'\)")
_ONE_OF_SET = re.compile(
    r"if \(\w+\[['\"](\w+)['\"]\]\)\s*\{\s*pm\.test\('Response has \1 attribute'[^\n]*?to\.be\.an?\('(\w+)'\)")
# What a script does only on a status: ``if (pm.response.code == 201) {...}``, or through a variable holding the code.
_ON_STATUS = re.compile(r"if \((pm\.response\.code|\w+) ===? (\d+)\)\s*\{")
# What a script does only where the answer holds a value: ``if (jsonData["state"] == "done") {...}``.
_ON_VALUE = re.compile(r"if \(jsonData\[['\"](\w+)['\"]\] ===? ('[^']*'|\"[^\"]*\"|[\w.]+)\)\s*\{")
# A block that only routes the run: ``{ postman.setNextRequest("null") }`` ends it, a request's name goes there.
_ROUTES_ONLY = re.compile(r"^\{\s*postman\.setNextRequest\((null|\"[^\"]*\"|'[^']*')\);?\s*\}$")
# A script that judges the whole answer as one instance: it has no branch for an array.
_WHOLE = re.compile(r"var instance = pm\.response\.json\(\)")
_ARRAY_HANDLED = re.compile(r"forEach|Array\.isArray|instance = instance\[")
_INCLUDES = re.compile(r"pm\.test\('Body includes value held on (\S+)'")
# the value the check searches for: ``instance['validFor']["startDateTime"]`` is at validFor.startDateTime
_INCLUDED_VALUE = re.compile(
    r"pm\.test\('Body includes value held on (\S+)', function \(\) \{\s*"
    r"pm\.expect\(pm\.response\.text\(\)\)\.to\.include\(instance((?:\[[^\]]+\])+)\)"
)
_STATUS = re.compile(r"to\.have\.status\((\d+)\)")
_WHEN = re.compile(r"if \(instance\.id == pm\.globals\.get\(\"ID[A-Z]{2,6}(\d\d)\"\)\) \{(.*?)\n\s*\}", re.DOTALL)
_VALUE = re.compile(r"pm\.test\('(\S+) is ' \+")
_UNGUARDED_VALUE = re.compile(r"pm\.test\('(\S+) is ' \+ pm\.globals\.get\(\"[A-Z@]+(\d\d)\"\)")
# ``if (instance['isBundle'] !== undefined && instance['isBundle'] == true) { requiredAttributes.push('bundled...')``
_CONDITIONAL = re.compile(
    r"if \(instance\['(\w+)'\] !== undefined && instance\['\1'\] == ('[^']*'|\"[^\"]*\"|[\w.]+)\) ?\{\s*"
    r"requiredAttributes\.push\('([^']+)'\)"
)
_NOT_EXPECTED = re.compile(r"pm\.test\('ID[A-Z]{2,6}(\d\d) not expected on this test'")
# A check that the instance has at least one of a list of attributes (``conditionalAttributes.forEach(e => {
# if (Object.keys(instance).indexOf(e) >= 0) ...``), and the lists the script names.
_ANY_OF = re.compile(
    r"pm\.test\((['\"])([^'\"]*)\1,\s*function\s*\(\)\s*\{[^{}]*?(\w+)\.forEach\(\s*\(?(\w+)\)?\s*=>\s*\{\s*"
    r"if\s*\(Object\.keys\(instance\)\.indexOf\(\4\)\s*>=\s*0\)"
)
_LISTS = re.compile(r"(?:var|let|const) (\w+) = \[([^\]]*)\]")
# A type check made only where the instance holds a value (``if (instance.x){ pm.test('Response has x attribute'...``).
_TYPED_IF_TRUTHY = re.compile(r"if \(instance\.(\w+)\)\s*\{\s*pm\.test\('Response has \1 attribute'")
_COMMENT_LINE = re.compile(r"^\s*//.*$", re.MULTILINE)
# An ajv check: a schema written in the script, the options of ``new Ajv``, the test that validates with them.
_AJV_SCHEMA = re.compile(r"(\w+)\s*=\s*\{\s*\"\$schema\"")
_AJV_OPTIONS = re.compile(r"new Ajv\(\{([^}]*)\}\)")
_AJV_VALID = re.compile(r"var valid = (?:ajv\.validate\((\w+), (\w+)\)|(\w+)\((\w+)\));?")
_AJV_COMPILED = re.compile(r"var (\w+) = ajv\.compile\((\w+)\)")  # a validator function compiled from a schema
# a check made for each of the validator's errors, named by the error's JSON (it fails)
_AJV_ERROR_CHECKS = re.compile(r"(\w+)\.errors\.forEach\(\(?(\w+)\)?\s*=>\s*\{\s*pm\.test\(JSON\.stringify\(\2\)")
_AJV_TEST = re.compile(
    r"pm\.test\((['\"])([^'\"]*)\1( \+ ajv\.errorsText\(\))?,\s*function\s*\(\)\s*\{\s*(?:pm\.response\.json\(\);\s*)?"
    r"pm\.expect\((?:ajv\.validate\((\w+), (pm\.response\.json\(\)|\w+)\)|(valid))\)"
)
# A check the kit names itself of the JSON type of a value deep in the instance, read directly or through an alias
# (``var orderItem = instance['orderItem'][0]``); the template's ``Response has <attr> attribute`` is not one.
_SUBSCRIPTS = r"((?:\[['\"]?[\w@.]+['\"]?\])+)"
_ALIAS = re.compile(r"var (\w+) = instance" + _SUBSCRIPTS)
_TYPED_AT = re.compile(
    r"pm\.test\((['\"])((?!Response has )[^'\"]*)\1,\s*function\s*\(\)\s*\{\s*pm\.expect\((\w+)" + _SUBSCRIPTS
    + r"\)\.to\.be\.an?\('(\w+)'\)"
)
# Checks made for each attribute of the instance a map names, typing each attribute listed for it in its first item:
# ``Object.keys(instance).forEach(key => { if (key in map) {... pm.test(key + " has " + attr + " attribute", ...``
_KEYED_TYPED = re.compile(
    r"Object\.keys\(instance\)\.forEach\(key => \{\s*if \(key in (\w+)\)\s*\{.*?let item = instance\[key\]\[0\]\s*"
    r"pm\.test\(key \+ \" has \" \+ attr \+ \" attribute\", function\s*\(\)\s*\{\s*pm\.expect\(item\[attr\]\)\.to\.be\.an?\(['\"](\w+)['\"]\)",
    re.DOTALL)
# What a script reads of the instance outside any test, in order: an alias, or a value it keeps in a variable.
_READ = re.compile(r"(?:var \w+ = |pm\.globals\.set\(['\"]\w+['\"],\s*)instance" + _SUBSCRIPTS)
# Checks the script makes only where the instance holds a value (``if (instance['a']['b'] === "v") {...}``): that the
# body includes the instance's value at a path.
_IF_EQUALS = re.compile(r"if \(instance" + _SUBSCRIPTS + r"\s*===?\s*(['\"])([^'\"]*)\2\)\s*\{(.*?)\n\}", re.DOTALL)
_INCLUDES_AT = re.compile(
    r"pm\.test\((['\"])([^'\"]*)\1,\s*function\s*\(\)\s*\{\s*pm\.expect\(pm\.response\.text\(\)\)\.to\.include\(instance"
    + _SUBSCRIPTS + r"\)"
)
# The kit's asynchronous route: a 202 answer keeps a monitor id (from a header or the body) and goes to the poll.
_ACCEPTED = re.compile(r"pm\.globals\.set\(['\"]MONITOR_ID['\"],\s*(?:pm\.response\.headers\[['\"](\w+)['\"]\]|\w+\[['\"](\w+)['\"]\])")
_FIRST_ITEM = re.compile(r"\binstance = \w+\[0\]")  # the script checks the answer's first item alone
_UNTIL = re.compile(r"if \(instance\[['\"](\w+)['\"]\] == ['\"]([^'\"]+)['\"]\)")
_RETRIES = re.compile(r"\.get\(['\"]\w+['\"]\) <= (\d+)")
_WAIT = re.compile(r"setTimeout\(function\s*\(\)\s*\{\s*\},\s*\[?(\d+)\]?\)")
_GIVE_UP = re.compile(r"pm\.test\((['\"])([^'\"]+)\1,\s*function\s*\(\)\s*\{\s*pm\.expect\.fail\(\)\s*\}\);\s*postman\.setNextRequest\(null\)")
_GO_TO = re.compile(r"postman\.setNextRequest\(\"([^\"]+)\"\)")
# Checks a kit records only when they fail (or, named by another variable than ID, only for an instance without id):
# compared by what they test, not by name.
_ONLY_ON_FAILURE = re.compile(r"^(Array not expected as response|[A-Z@]+\d\d not expected on this test)$")


@dataclass(frozen=True, slots=True)
class Branch:
    """What a test script checks on one instance: mandatory set, typed attributes, body includes, value checks."""

    mandatory: tuple[str, ...] = ()
    typed: tuple[tuple[str, str], ...] = ()
    includes: tuple[str, ...] = ()
    values: tuple[tuple[int, tuple[str, ...]], ...] = ()  # (instance number, compared attributes)
    not_expected: tuple[int, ...] = ()
    included_at: tuple[tuple[str, str], ...] = ()  # (included name, dotted path) where the value is not at its name
    when: tuple[tuple[str, str, Any], ...] = ()  # (attribute, condition attribute, value): required only then
    any_of: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (check name, attributes): the instance has one of them
    typed_if_truthy: tuple[str, ...] = ()  # typed attributes checked only where the instance holds a truthy value
    # the "at least one of" attributes of its mandatory test: found among the keys (present) or by their value (set)
    one_of: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    @property
    def alternatives(self) -> dict[str, dict[str, str]]:
        """The "at least one of" attributes as a declaration's ``one_of`` says them."""
        return {how: dict(typed) for how, typed in self.one_of}

    @property
    def conditional(self) -> dict[str, dict[str, Any]]:
        """Attribute -> the condition under which the script requires it, as a declaration's ``when`` says it."""
        return {attribute: {on: value} for attribute, on, value in self.when}

    def unset_values(self, count: int) -> tuple[str, ...]:
        """The dotted attributes of the value checks written for an instance the kit never creates (it creates
        ``count``): they run on an answer instance without id (the variables are unset) and fail where the
        attribute's parent is absent."""
        return tuple(dict.fromkeys(a for number, attributes in self.values if number > count for a in attributes if "." in a))
    by_type: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (@type, its further typed attributes)
    mandatory_name: str | None = None  # the name of the check of the mandatory attributes


def _branch(text: str, script: str = "") -> Branch:
    """The checks of one branch ``text`` of a test ``script`` (where a map of attributes by type may be defined)."""
    required = _REQUIRED.search(text)
    values, not_expected = [], []
    for number, block in _WHEN.findall(text):
        compared = tuple(_VALUE.findall(block))
        if compared:
            values.append((int(number), compared))
        not_expected += [int(n) for n in _NOT_EXPECTED.findall(block)]
    if not values:  # value checks made on every instance, each against one created instance's variable
        for attribute, number in _UNGUARDED_VALUE.findall(text):
            found = next((entry for entry in values if entry[0] == int(number)), None)
            if found is None:
                values.append((int(number), (attribute,)))
            elif attribute not in found[1]:
                values[values.index(found)] = (found[0], (*found[1], attribute))
    mandatory = tuple(dict.fromkeys(re.findall(r"'([^']+)'", required.group(1)))) if required else ()
    each = _EACH_TYPED.search(text)
    by_type = _BY_TYPE.search(script or text) if each and 'instance["@type"]' in text else None

    def json_type(attribute: str) -> str:
        assert each is not None
        return each.group(1) or (each.group(3) if attribute == each.group(2) else each.group(4))

    named = _MANDATORY_TEST.search(text)
    one_of = _one_of(text)
    nested = {attribute for _, typed in one_of for attribute, _ in typed}
    return Branch(
        mandatory_name=named.group(2) if named else None,
        mandatory=mandatory,
        typed=tuple(pair for pair in _TYPED.findall(text) if pair[0] not in nested)
        + (tuple((name, json_type(name)) for name in mandatory) if each else ()),
        one_of=one_of,
        by_type=tuple((kind, tuple((name, json_type(name)) for name in re.findall(r"['\"]([^'\"]+)['\"]", names)))
                      for kind, names in re.findall(r"(\w+): \[([^\]]*)\]", by_type.group(1))) if by_type else (),
        includes=tuple(_INCLUDES.findall(text)),
        values=tuple(values),
        not_expected=tuple(not_expected),
        included_at=tuple(_included_at(text)),
        when=tuple(dict.fromkeys((pushed, attribute, _literal(value))
                                 for attribute, value, pushed in _CONDITIONAL.findall(text))),
        any_of=tuple(_any_of(text)),
        typed_if_truthy=tuple(dict.fromkeys(_TYPED_IF_TRUTHY.findall(text))),
    )


def _one_of(text: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The attributes of which a mandatory test wants at least one, with the JSON type its nested tests check:
    ``(("present", ((attribute, type), ...)), ("set", ...))``, where it has such a test."""
    test = _AT_LEAST_ONE.search(text)
    if test is None:
        return ()
    present = []
    for listed, json_type in _ONE_OF_PRESENT.findall(test.group(0)):
        names = re.search(rf"var {listed} = \[([^\]]*)\]", text)
        present += [(name, json_type) for name in re.findall(r"'([^']+)'", names.group(1) if names else "")]
    found = (("present", tuple(present)), ("set", tuple(_ONE_OF_SET.findall(test.group(0)))))
    return tuple((how, typed) for how, typed in found if typed)


def _any_of(text: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each check that the instance has at least one attribute of a list the script names: (name, attributes)."""
    lists = {name: tuple(re.findall(r"'([^']+)'|\"([^\"]+)\"", items)) for name, items in _LISTS.findall(text)}
    for _, name, listed, _ in _ANY_OF.findall(text):
        if listed in lists:
            yield name, tuple(single or double for single, double in lists[listed])


def _included_at(text: str) -> Iterator[tuple[str, str]]:
    """Each ``Body includes value held on <name>`` whose value is read at another path than ``<name>``."""
    for name, subscripts in _INCLUDED_VALUE.findall(text):
        path = ".".join(re.findall(r"\[['\"]?([^'\"\]]+)['\"]?\]", subscripts))
        if path != name:
            yield name, path


@dataclass(frozen=True, slots=True)
class Poll:
    """A request the kit sends again (``setNextRequest`` to itself) until an attribute of the answer has a value."""

    attribute: str
    value: str
    tries: int  # the most requests the kit sends before it gives up
    wait_s: float  # between two requests
    give_up: str  # the check the kit fails when it gives up
    then: str | None  # the request the kit goes to when the value is reached


@dataclass(frozen=True, slots=True)
class KitRequestFacts:
    """One kit request: folder, name, method, URL, status check and the checks of its object (and array) branch."""

    name: str
    method: str
    url: str
    status: int | None
    resource: str
    single: Branch  # a JSON object answer (create, by id, PATCH; the else branch of lists)
    listed: Branch | None  # each item of a JSON array answer, where the script has that branch
    holds: tuple[str, ...] = ()  # attributes the create stores in variables
    body: Mapping[str, Any] | None = None
    folder: str = ""
    statuses: tuple[int, ...] = ()  # what the status check accepts, in the kit's order
    status_name: str | None = None  # the status check's name
    mandatory_name: str | None = None  # the name of the check of the required attributes
    checks: tuple[str, ...] = ()  # the names of the checks on an object answer, each once, value checks as "<attr> is "
    listed_checks: tuple[str, ...] = ()  # the same on an array answer
    position: tuple[int, ...] = ()  # indexes from the collection's top, as a launcher addresses the item
    equals: tuple[tuple[str, str, Any], ...] = ()  # (check name, attribute, value) of the script's own equality checks
    code: str | None = None  # the API code of the variables the script sets (``IDCU01``: ``CU``)
    script: str = ""  # the test script
    items_only: bool = False  # the script checks the items of an array answer and nothing else (no else branch)
    prerequest: str = ""  # the pre-request script
    valid: tuple[Mapping[str, Any], ...] = ()  # its ajv checks, as a declaration's step writes them (``valid``)
    # (name, path, JSON type, made only where the answer has the path's first attribute) on an object answer
    typed_at: tuple[tuple[str, tuple[str | int, ...], str, bool], ...] = ()
    includes_if: tuple[Mapping[str, Any], ...] = ()  # body-includes checks made where the instance holds a value
    # the dotted paths its script reads outside any test, in order, where one can fail (a read of an absent parent
    # stops the script: the variables it would set after it stay unset)
    reads: tuple[str, ...] = ()
    accepted: tuple[str, str] | None = None  # on a 202 answer: where the monitor id is ("header"/"body", its name)
    poll: Poll | None = None  # a request the kit sends again until its answer says the work is done
    routed: bool = False  # reached only on the kit's asynchronous route (after the request that ends the run)
    empty_unchecked: bool = False  # an empty array answer gets no instance check (``if (Array.isArray(jsonData))``)
    else_array: bool = False  # its else branch only asks for an array (``Array.isArray(jsonData)).to.be.true``)
    whole: bool = False  # a read judging the whole answer as one instance, an array too: it has no branch for an array
    ends_on: tuple[int, ...] = ()  # the statuses on which the kit's run ends after it
    # (a later request's name, the statuses and the answer's values ({attribute: value}) that go there)
    goes_to: tuple[tuple[str, tuple[int | dict[str, Any], ...]], ...] = ()
    only_on: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (check name, the only statuses on which it is made)
    first_only: bool = False  # only the answer's first item gets the instance checks (``instance = jsonData[0]``)

    @property
    def query(self) -> tuple[str, str] | None:
        """(attribute, raw value) of ``?attribute=value``, or None."""
        match = re.search(r"\?([^=]+)=(.*)$", self.url)
        return (match.group(1), match.group(2)) if match else None

    @property
    def creates(self) -> bool:
        """Whether the request creates an instance (a POST the kit expects to succeed)."""
        return self.method == "POST" and not (self.statuses and self.statuses[0] >= 400)

    @property
    def path(self) -> str:
        """The URL after the API root, without the query."""
        return re.sub(r"^\{\{\w+\}\}", "", self.url).split("?")[0]

    @property
    def own_path(self) -> str:
        """The path from the resource on: without the instance of another it is nested under (``a/{{ID}}/b/x``: ``b/x``)."""
        return re.sub(r"^[^/]+/\{\{\w+\}\}/(?=[^/])", "", self.path)


@dataclass(frozen=True, slots=True)
class ResourceFacts:
    """What one kit says about one resource: its requests in order, and its create's facts."""

    resource: str
    entity: str
    requests: tuple[KitRequestFacts, ...]
    payload_schema: Mapping[str, Any] = field(default_factory=dict)

    @property
    def create(self) -> KitRequestFacts:
        """The request whose answer the kit keeps values from: its first create, else a list that holds them."""
        return next(iter(self.creates), None) or next(request for request in self.requests if request.holds)

    @property
    def instances(self) -> int:
        """The instances later requests use: the created ones, or the one a list holds."""
        return len(self.creates) or 1

    @property
    def created_checks(self) -> Branch:
        """The checks of the instance the kit keeps values from."""
        create = self.create
        return create.listed if not create.creates and create.listed else create.single

    @property
    def included_at(self) -> dict[str, str]:
        """Where the kit's body includes checks read a value that is not at its name, over all its requests."""
        branches = [branch for r in self.requests for branch in (r.single, r.listed) if branch is not None]
        return {name: path for branch in branches for name, path in branch.included_at}

    @property
    def creates(self) -> list[KitRequestFacts]:
        """The requests that create an instance: POSTs expecting success."""
        return [request for request in self.requests if request.creates]

    @property
    def each_payload(self) -> bool:
        """Whether the kit runs the resource's requests once per configured payload: a later request routes back to
        the create, whose body is a variable the kit fills with the next payload."""
        create = next(iter(self.creates), None)
        if create is None or not str(create.body).startswith("{{"):
            return False
        return any(f'setNextRequest("{create.name}")' in request.script for request in self.requests)


def collection_path(kit_dir: Path) -> Path:
    """The kit's Postman collection: the one its launcher loads, else ``*.testkit.json`` or ``*.postman_collection.json``."""
    launcher = kit_dir / "launcher.js"
    if launcher.exists():
        loaded = re.search(r"pmCollection = require\('\./([^']+\.json)'\)", launcher.read_text(encoding="utf-8"))
        if loaded and (kit_dir / loaded.group(1)).is_file():
            return kit_dir / loaded.group(1)
    return next(
        path for path in sorted(kit_dir.glob("*.json"))
        if path.name.endswith((".testkit.json", ".postman_collection.json"))
    )


def kit_items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A collection's requests in run order, folders flattened."""
    for _, _, item in placed_items(items):
        yield item


def placed_items(items: list[dict[str, Any]], at: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], str, dict[str, Any]]]:
    """A collection's requests in run order, each with its indexes from the top and its folder's name."""
    for index, item in enumerate(items):
        if "item" in item:
            for position, folder, inner in placed_items(item["item"], (*at, index)):
                yield position, folder or item["name"], inner
        else:
            yield (*at, index), "", item


def _script(item: dict[str, Any], listen: str = "test") -> str:
    return "\n".join(
        "\n".join(event["script"]["exec"]) for event in item.get("event", []) if event.get("listen") == listen
    )


def _request_facts(item: dict[str, Any], folder: str = "", position: tuple[int, ...] = ()) -> KitRequestFacts:
    request = item["request"]
    url = request["url"]["raw"] if isinstance(request["url"], dict) else request["url"]
    script = _script(item)
    status = _STATUS.search(script)
    array_at, else_at = script.find("jsonData.forEach"), script.find("else {")
    if array_at >= 0 and else_at > array_at:
        listed, single = _branch(script[array_at:else_at], script), _branch(script[else_at:], script)
        on_object, on_array = script[:array_at] + script[else_at:], script[:else_at]
    else:
        listed, single = None, _branch(script)
        on_object = on_array = script
    items_only = array_at >= 0 and listed is None
    raw = (request.get("body") or {}).get("raw")
    holds = tuple(dict.fromkeys(attribute for _, _, attribute in _HOLDS.findall(_COMMENT_LINE.sub("", script))))
    status_test = _STATUS_TEST.search(script)
    statuses: tuple[int, ...] = ()
    if status_test:
        statuses = tuple(int(code) for code in re.findall(r"\d+", "".join(g or "" for g in status_test.groups()[2:])))
    path = _resource_path(url)
    on_status = _on_status(script)
    routes = [(status, _target(found)) for status, block in on_status if (found := _ROUTES_ONLY.match(block))]
    poll = _poll(item["name"], script)
    return KitRequestFacts(
        name=item["name"],
        method=request["method"],
        url=url,
        status=int(status.group(1)) if status else (statuses[0] if statuses else None),
        resource=path[:1].lower() + path[1:],
        single=single,
        listed=listed,
        holds=holds,
        body=_json(raw),
        folder=folder,
        statuses=statuses,
        status_name=status_test.group(2) if status_test else None,
        mandatory_name=found.group(2) if (found := _MANDATORY_TEST.search(script)) else None,
        checks=_check_names(on_object, single) + tuple(name for name, *_, present in _typed_at(on_object) if present),
        listed_checks=_check_names(on_array, listed or single),
        position=position,
        code=code.group(1) if (code := _CODE.search(script)) else None,
        script=script,
        items_only=items_only,
        prerequest=_script(item, "prerequest"),
        equals=tuple((name, attribute, _literal(value))
                     for _, name, attribute, value in [*_EQUALS.findall(script), *_UNCALLED_EQUALS.findall(script)]),
        valid=_ajv_checks(script, array_at, else_at),
        typed_at=_typed_at(on_object),
        includes_if=_includes_if(on_object),
        reads=_reads(on_object) if array_at < 0 else _reads(on_array) if holds else (),
        empty_unchecked=listed is not None and bool(re.search(r"if \(Array\.isArray\(jsonData\)\) \{", script)),
        first_only=array_at < 0 and bool(_FIRST_ITEM.search(script)),
        accepted=_accepted(script),
        poll=poll,
        else_array=listed is not None and "pm.expect(Array.isArray(jsonData)).to.be.true" in script[else_at:],
        whole=request["method"] == "GET" and bool(_WHOLE.search(script)) and not _ARRAY_HANDLED.search(script),
        ends_on=tuple(status for status, target in routes if target is None),
        goes_to=_by_target([*((target, status) for status, target in routes if target is not None),
                            *((target, value) for value, target in _value_routes(script))]),
        # a poll's checks are made on its awaited answer alone (its ``until``)
        only_on=() if poll else _by_target((name, status) for status, block in on_status for _, name in _TEST.findall(block)),
    )


def _on_status(script: str) -> list[tuple[int, str]]:
    """The blocks a script runs only on one status of the answer: (status, the block with its braces)."""
    blocks = []
    for found in _ON_STATUS.finditer(script):
        code = found.group(1)
        if code == "pm.response.code" or re.search(rf"\b(?:let|var|const) {code} = pm\.response\.code\b", script):
            blocks.append((int(found.group(2)), _braced(script, found.end() - 1)))
    return blocks


def _value_routes(script: str) -> list[tuple[dict[str, Any], str]]:
    """Where a script sends the run on to a request by a value of the answer: ({attribute: value}, the request's name)."""
    routes = []
    for found in _ON_VALUE.finditer(script):
        goes = _ROUTES_ONLY.match(_braced(script, found.end() - 1))
        if goes and (target := _target(goes)) is not None:
            routes.append(({found.group(1): _literal(found.group(2))}, target))
    return routes


def _target(routes_only: re.Match[str]) -> str | None:
    """The request a block that only routes goes on with, or None where it ends the run (``null``, ``"null"``)."""
    target = routes_only.group(1).strip("'\"")
    return None if target == "null" else target


def _by_target(pairs: Iterable[tuple[str, Any]]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """(name, status or condition) pairs grouped by name, in the script's order: ((name, (status, ...)), ...)."""
    grouped: dict[str, list[Any]] = {}
    for name, on in pairs:
        if on not in grouped.setdefault(name, []):
            grouped[name].append(on)
    return tuple((name, tuple(on)) for name, on in grouped.items())


def _reads(script: str) -> tuple[str, ...]:
    """The dotted paths the script reads outside its tests, in order, where one of them can fail (has a parent)."""
    reads = tuple(_dotted(subscripts) for subscripts in _READ.findall(script))
    return reads if any("." in read for read in reads) else ()


def _includes_if(script: str) -> tuple[dict[str, Any], ...]:
    """The script's checks made only where the instance holds a value: ``{if: {path: value}, includes: {name: path}}``,
    paths as dotted names."""
    found = []
    for subscripts, _, value, block in _IF_EQUALS.findall(script):
        includes = {name: _dotted(inner) for _, name, inner in _INCLUDES_AT.findall(block)}
        if includes:
            found.append({"if": {_dotted(subscripts): value}, "includes": includes})
    return tuple(found)


def _dotted(subscripts: str) -> str:
    return ".".join(str(part) for part in _path(subscripts))


def _typed_at(script: str) -> tuple[tuple[str, tuple[str | int, ...], str, bool], ...]:
    """The script's own checks of a value's type at a path of the instance: (name, path, JSON type, whether made only
    where the instance has the path's first attribute)."""
    aliases = {alias: _path(subscripts) for alias, subscripts in _ALIAS.findall(script)}
    found: list[tuple[str, tuple[str | int, ...], str, bool]] = []
    for _, name, variable, subscripts, json_type in _TYPED_AT.findall(script):
        if variable == "instance" or variable in aliases:
            found.append((name, (*aliases.get(variable, ()), *_path(subscripts)), json_type, False))
    for listed, json_type in _KEYED_TYPED.findall(script):
        keyed = re.search(rf"let {listed} = \{{([^}}]*)\}}", script)
        for key, names in re.findall(r"(\w+): \[([^\]]*)\]", keyed.group(1) if keyed else ""):
            found += [(f"{key} has {attr} attribute", (key, 0, attr), json_type, True)
                      for attr in re.findall(r"['\"]([^'\"]+)['\"]", names)]
    return tuple(found)


def _path(subscripts: str) -> tuple[str | int, ...]:
    """``['orderItem'][0]`` as ``("orderItem", 0)``: a quoted subscript is a key, a bare number an index."""
    return tuple(int(bare) if bare else key for key, bare in re.findall(r"\[['\"]([^'\"]+)['\"]\]|\[(\d+)\]", subscripts))


def _ajv_checks(script: str, array_at: int = -1, else_at: int = -1) -> tuple[dict[str, Any], ...]:
    """The script's ajv checks: name, schema and ajv options, whether each listed instance is validated (``each``) and
    the whole body in the else branch (``otherwise``), and whether each error is a check of its own (``error_checks``).

    ``array_at`` and ``else_at`` are where the script's branches for a non-empty array and for any other answer begin.
    """
    # each check reads its schema anew: a schema two checks share is written out in each
    schemas = {found.group(1): _braced(script, script.index("{", found.start())) for found in _AJV_SCHEMA.finditer(script)}
    compiled = dict(_AJV_COMPILED.findall(script))
    options = _AJV_OPTIONS.search(script)
    flags = options.group(1) if options else ""
    checks: dict[str, dict[str, Any]] = {}  # by name: a check the kit makes in both branches is one check
    for test in _AJV_TEST.finditer(script):
        _, name, errors_in_name, schema, target, by_variable = test.groups()
        error_checks = False
        if by_variable:
            validated = [*_AJV_VALID.finditer(script[:test.start()])]
            if not validated:
                continue
            schema, target, function, argument = validated[-1].groups()
            if function:
                schema, target = compiled.get(function, ""), argument
                errors = _AJV_ERROR_CHECKS.search(script[:test.start()], validated[-1].end())
                error_checks = errors is not None and errors.group(1) == function
        if schema not in schemas:
            continue
        check = checks.setdefault(name, {"name": name})
        if errors_in_name:
            check["errors_in_name"] = True
        branched = 0 <= array_at < else_at
        if branched and test.start() >= else_at:
            check["otherwise"] = True
        elif 0 <= array_at < test.start() and (branched or target == "instance"):
            check["each"] = True
        if error_checks:
            check["error_checks"] = True
        for option, key in (("allErrors", "all_errors"), ("jsonPointers", "json_pointers")):
            if re.search(rf"\b{option}\s*:\s*true", flags):
                check[key] = True
        check["schema"] = json.loads(schemas[schema])
    return tuple({**{k: v for k, v in check.items() if k != "schema"}, "schema": check["schema"]} for check in checks.values())


def _braced(text: str, start: int) -> str:
    """The balanced ``{...}`` of ``text`` that opens at ``start``."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start:index + 1]
    return text[start:]


def _resource_path(url: str) -> str:
    """The resource a URL goes to: its last collection segment (``a/{{ID}}/b?x=1``: ``b``)."""
    segments = re.sub(r"^\{\{\w+\}\}", "", url).split("?")[0].split("/")
    return next((segment for segment in reversed(segments[0::2]) if segment), segments[0])


def _accepted(script: str) -> tuple[str, str] | None:
    """Where a request's script keeps the monitor id from when the answer is 202, or None."""
    found = _ACCEPTED.search(script) if "== 202" in script else None
    if found is None:
        return None
    return ("header", found.group(1)) if found.group(1) else ("body", found.group(2))


def _poll(name: str, script: str) -> Poll | None:
    """What a request that sends itself again waits for, how often and how long, or None."""
    until, nexts = _UNTIL.search(script), _GO_TO.findall(script)
    if until is None or name not in nexts:
        return None
    retries, wait, give_up = _RETRIES.search(script), _WAIT.search(script), _GIVE_UP.search(script)
    then = next((target for target in nexts if target != name and target != "null"), None)
    # the kit counts the tries from the second request on and gives up on the one after its bound
    return Poll(until.group(1), until.group(2), int(retries.group(1)) + 2 if retries else 1,
                int(wait.group(1)) / 1000 if wait else 0.0, give_up.group(2) if give_up else "", then)


def _literal(text: str) -> Any:
    """A JavaScript literal of a test script as a value."""
    return text[1:-1] if text[:1] in "'\"" else json.loads(text)


def _check_names(script: str, branch: Branch) -> tuple[str, ...]:
    names: list[str] = []
    for _, name in _TEST.findall(script):
        if name == "Response has ":  # 'Response has ' + attr + ' attribute', made for each attribute of a list
            typed = [*branch.typed, *(pair for _, pairs in branch.by_type for pair in pairs),
                     *(pair for _, pairs in branch.one_of for pair in pairs)]
            names += [f"Response has {attribute} attribute" for attribute, _ in typed]
        elif not _ONLY_ON_FAILURE.match(name):
            names.append(name)
    return tuple(dict.fromkeys(names))


def _json(raw: str | None) -> Any:
    """A request body as JSON; the kit's text where it is not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def payload_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The kit's payload schema reduced to what validation of a payload needs: types, required, nesting."""
    reduced: dict[str, Any] = {}
    for key in SCHEMA_KEYWORDS:
        if key not in schema:
            continue
        value = schema[key]
        if key == "properties":
            value = {name: payload_schema(node) for name, node in value.items()}
        elif key == "items":
            value = payload_schema(value)
        reduced[key] = value
    return reduced


def kit_facts(kit_dir: Path) -> list[ResourceFacts]:
    """The kit's resources in collection order, each with its requests and its reduced payload schema."""
    resources: dict[str, list[KitRequestFacts]] = {}
    waiting: list[KitRequestFacts] = []  # a request outside the API (the kit's routing Start) joins the next resource
    ordered = kit_order(kit_dir)
    # a resource the kit only polls or reads by a variable nobody sets here (a monitor) belongs to the route that polls it
    keeps = {request.resource for request in ordered if request.creates or request.holds}
    current = None
    for request in ordered:
        if not request.url.startswith("{{"):
            waiting.append(request)
            continue
        if request.resource in keeps or current is None:
            current = request.resource
        resources.setdefault(current, []).extend([*waiting, request])
        waiting = []
    facts = []
    for resource, own in resources.items():
        entity = resource[0].upper() + resource[1:]
        schema_path = kit_dir / "schemas" / f"{entity}.schema.json"
        schema = json.loads(schema_path.read_text(encoding="utf-8")) if schema_path.exists() else {}
        facts.append(ResourceFacts(resource, entity, tuple(own), payload_schema(schema)))
    return facts


def _routed(requests: list[KitRequestFacts]) -> list[KitRequestFacts]:
    """Mark the requests a kit with an asynchronous route reaches only by that route: those after the first request
    that ends the run (``setNextRequest(null)``)."""
    if not any(request.accepted for request in requests):
        return requests
    end = next((at for at, request in enumerate(requests) if "setNextRequest(null)" in request.script), len(requests))
    return [replace(request, routed=True) if at > end else request for at, request in enumerate(requests)]


def profile_rows(kit_dir: Path, entity: str) -> set[str]:
    """The top-level attribute rows of the Conformance Profile's "<Entity> Resource Mandatory Attributes" table."""
    path = kit_dir / "conformance-profile.txt"
    if not path.exists():
        return set()
    text = path.read_text(encoding="utf-8")
    start = re.search(rf"{entity} RESOURCE MANDATORY\s+ATTRIBUTES", text, re.IGNORECASE)
    end = text.find("OPERATIONS CONFORMANCE", start.end()) if start else -1
    if start is None or end < 0:
        return set()
    rows = set()
    for line in text[start.end():end].splitlines():
        match = re.match(r"^ ?(?:\| )?(@?[A-Za-z][\w.]*)(?:\s{2,}|\s*$)", line)
        if match and match.group(1) not in ("Mandatory", "Rule", "M", "O"):
            rows.add(match.group(1))
    return rows


def kit_order(kit_dir: Path, environment: Mapping[str, str] | None = None) -> list[KitRequestFacts]:
    """The kit's requests in the order Newman runs them, all resources together: where the kit routes on a value
    its launcher puts in the environment (``resourceToTest`` from ``config.json``, or ``environment``), the routed ones;
    those only its asynchronous route reaches marked ``routed``."""
    collection = json.loads(collection_path(kit_dir).read_text(encoding="utf-8"))
    requests = [_request_facts(item, folder, at) for at, folder, item in placed_items(collection["item"])]
    return _routed(routed(requests, launcher_environment(kit_dir) if environment is None else environment))


# ``if (resourceToTest.toLowerCase() == "testcase"){ postman.setNextRequest("Post TestCase") }``
_ROUTE = re.compile(r"if \((\w+)\.toLowerCase\(\) == ['\"]([^'\"]+)['\"]\)\s*\{\s*postman\.setNextRequest\(['\"]([^'\"]+)['\"]\)")
_ROUTED_ON = re.compile(r"(\w+) = pm\.environment\.get\(['\"](\w+)['\"]\)")
_NEXT = re.compile(r"postman\.setNextRequest\((null|'[^']*'|\"[^\"]*\")\)")
# the launcher's ``{"key": "resourceToTest", "value": config['resourcesToTest']}``
_ENVIRONMENT_FROM_CONFIG = re.compile(r"['\"]key['\"]\s*:\s*['\"](\w+)['\"]\s*,\s*['\"]value['\"]\s*:\s*config\[['\"](\w+)['\"]\]")


def launcher_environment(kit_dir: Path) -> dict[str, str]:
    """The environment values the kit's launcher takes from its ``config.json`` (``resourceToTest``)."""
    launcher, config = kit_dir / "launcher.js", kit_dir / "config.json"
    if not launcher.exists() or not config.exists():
        return {}
    settings = json.loads(config.read_text(encoding="utf-8"))
    return {key: str(settings[name]) for key, name in _ENVIRONMENT_FROM_CONFIG.findall(launcher.read_text(encoding="utf-8"))
            if isinstance(settings.get(name), str)}


def _next_request(request: KitRequestFacts, environment: Mapping[str, str]) -> str | None | bool:
    """Where the run goes after ``request``: a request's name, None (the run ends), or False (on in order).

    Only the routes a run's configuration decides are followed: one on an environment value in the pre-request
    script, and an unconditional ``postman.setNextRequest`` in the test script (outside any block).
    """
    script = request.script
    ends = [found for found in _NEXT.finditer(script) if script[:found.start()].count("{") == script[:found.start()].count("}")]
    if ends:
        target = ends[-1].group(1)
        return None if target == "null" else target[1:-1]
    variables = {name: environment.get(key) for name, key in _ROUTED_ON.findall(request.prerequest)}
    for name, value, target in _ROUTE.findall(request.prerequest):
        if (variables.get(name) or "").lower() == value:
            return str(target)
    return False


def routed(requests: list[KitRequestFacts], environment: Mapping[str, str]) -> list[KitRequestFacts]:
    """The requests Newman runs of a kit that routes on its launcher's environment (``postman.setNextRequest``); the
    others run every request in order (their routes depend on answers: harness.ctk does not follow them)."""
    if not any(_ROUTE.search(request.prerequest) for request in requests):
        return requests
    names = {request.name: index for index, request in reversed(list(enumerate(requests)))}
    order: list[KitRequestFacts] = []
    at: int | None = 0
    while at is not None and at < len(requests) and len(order) < len(requests):
        order.append(requests[at])
        target = _next_request(requests[at], environment)
        at = at + 1 if target is False else names.get(target) if isinstance(target, str) else None
    return order
