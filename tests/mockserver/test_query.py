"""Unit tests of the TMF630 query rules, one group per rule of ``mockserver.query``'s docstring."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver import query
from mockserver.query import EqualityIndex, ListQuery, QueryError, parse_filters, parse_list_query

ORDER: dict[str, Any] = {
    "id": "o1",
    "href": "http://h/o1",
    "@type": "ProductOrder",
    "state": "acknowledged",
    "priority": 2,
    "rating": 1.0,
    "isBundle": False,
    "note": None,
    "orderDate": "2021-06-03T16:23:29.481Z",
    "description": "a,b",
    "relatedParty": [{"id": "41", "role": "seller"}, {"id": "42", "role": "buyer", "tag": ["x", ["y"]]}],
    "productOrderItem": [{"product": {"characteristic": [{"name": "speed", "value": 100}]}}],
    "billingAccount": {"id": "ba1", "name": "Main"},
}


def found(**params: str | list[str]) -> bool:
    """Whether ORDER matches the filters of a query string given as keyword parameters."""
    given = {
        name.replace("__", "."): value if isinstance(value, list) else [value]
        for name, value in params.items()
    }
    return query.matches(ORDER, parse_list_query(given).filters)


def matched(text: str) -> bool:
    """Whether ORDER matches a query written as text (names may hold characters keywords cannot)."""
    return query.matches(ORDER, parse_filters(text))


# ---- reserved parameters and paths ----------------------------------------------------------------


def test_reserved_parameters_are_not_filters() -> None:
    parsed = parse_list_query({"fields": ["state"], "offset": ["1"], "limit": ["2"], "sort": ["-state"]})
    assert parsed == ListQuery((), ("state",), (("state", True),), 1, 2)


def test_no_parameters_is_everything() -> None:
    assert parse_list_query({}) == ListQuery((), None, (), 0, None)
    assert query.matches(ORDER, ())


def test_dotted_path_into_objects() -> None:
    assert found(billingAccount__id="ba1")
    assert not found(billingAccount__id="ba2")
    assert not found(billingAccount__missing="ba1")


def test_dotted_path_matches_any_array_element() -> None:
    assert found(relatedParty__id="42")
    assert found(relatedParty__id="41")
    assert not found(relatedParty__id="43")


def test_arrays_at_any_depth() -> None:
    assert found(productOrderItem__product__characteristic__value="100")
    assert found(productOrderItem__product__characteristic__name="speed")
    assert found(relatedParty__tag="y"), "a path ending on nested arrays matches their elements"
    assert found(relatedParty__tag="x")


def test_empty_attribute_names_are_rejected() -> None:
    with pytest.raises(QueryError, match="a..b"):
        parse_list_query({"a..b": ["1"]})
    with pytest.raises(QueryError):
        parse_list_query({"": ["1"]})
    with pytest.raises(QueryError, match=r"\.gt"):
        parse_list_query({".gt": ["1"]})


# ---- OR and AND -----------------------------------------------------------------------------------


def test_comma_means_or() -> None:
    assert found(state="rejected,acknowledged")
    assert not found(state="rejected,held")


def test_several_parameters_mean_and() -> None:
    assert found(state="acknowledged", priority="2")
    assert not found(state="acknowledged", priority="3")


def test_repeated_parameter_means_and() -> None:
    assert found(relatedParty__id=["41", "42"]), "each element may satisfy a different repetition"
    assert not found(state=["acknowledged", "held"])


# ---- quoting --------------------------------------------------------------------------------------


def test_quoted_value_matches_the_unquoted_one() -> None:
    assert found(orderDate="'2021-06-03T16:23:29.481Z'")
    assert found(orderDate="2021-06-03T16:23:29.481Z")
    assert not found(orderDate="'2021-06-03T16:23:29.482Z'")
    assert found(orderDate='"2021-06-03T16:23:29.481Z"'), "TMF641's kit quotes with double quotes"
    assert not found(orderDate='"2021-06-03T16:23:29.481Z\'')


def test_quoted_value_keeps_its_commas() -> None:
    assert found(description="'a,b'")
    assert not found(description="a,b"), "unquoted, the comma splits the value into a or b"
    assert found(description="x,'a,b'")
    assert found(description="'a,b',x")


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("a", ("a",)),
        ("a,b", ("a", "b")),
        ("'a,b',c", ("a,b", "c")),
        ("c,'a,b'", ("c", "a,b")),
        ("''", ("",)),
        ("'''", ("'",)),
        ("'", ("'",)),
        ("", ("",)),
        ("a,", ("a", "")),
        ("'s-Hertogenbosch,x", ("'s-Hertogenbosch", "x")),
        ("'a'b,c", ("'a'b", "c")),
        ("O'Brien", ("O'Brien",)),
        ('"a,b",c', ("a,b", "c")),
        ("\"a',b", ("\"a'", "b")),
    ],
)
def test_split_values(text: str, values: tuple[str, ...]) -> None:
    assert query.split_values(text) == values


# ---- equality -------------------------------------------------------------------------------------


def test_strings_compare_exactly() -> None:
    assert found(state="acknowledged")
    assert not found(state="Acknowledged"), "case-sensitive"
    assert not found(state="ack"), "no prefix match"
    assert not found(state=" acknowledged"), "no trimming"
    assert not found(state="acknowledged ")


def test_eq_operator_is_plain_equality() -> None:
    assert found(state__eq="acknowledged")
    assert not found(state__eq="held")


def test_booleans_compare_as_true_false() -> None:
    assert found(isBundle="false")
    assert not found(isBundle="true")
    assert not found(isBundle="False")
    assert not found(isBundle="0")


def test_numbers_compare_by_value() -> None:
    assert found(priority="2")
    assert found(priority="2.0")
    assert found(priority="2e0")
    assert found(rating="1"), "1 matches 1.0"
    assert not found(priority="02"), "not a JSON number, so only compared as text"
    assert not found(priority=" 2")
    assert not found(priority="3")
    assert query.matches({"n": 1}, parse_filters("n=1"))
    assert not query.matches({"n": True}, parse_filters("n=1")), "a boolean is not the number 1"
    assert query.matches({"s": "1"}, parse_filters("s=1")), "a string compares as text"
    assert not query.matches({"s": "1"}, parse_filters("s=1.0"))
    big = {"n": 12345678901234567891}
    assert query.matches(big, parse_filters("n=12345678901234567891"))
    assert not query.matches(big, parse_filters("n=12345678901234567890")), "integers compare exactly"
    assert not query.matches({"n": 1e308}, parse_filters("n=1e999")), "out of range is not a number"
    assert not query.matches({"n": 1}, parse_filters("n=" + "1" * 5000)), "too long to convert"


def test_missing_and_null_never_equal() -> None:
    assert not found(nothing="")
    assert not found(note="null")
    assert not found(note="")
    assert not found(billingAccount="ba1"), "an object equals nothing"


def test_ne_is_the_negation_of_eq() -> None:
    assert found(state__ne="held")
    assert not found(state__ne="acknowledged")
    assert found(nothing__ne="x"), "an absent attribute is not equal to x"
    assert found(note__ne="null"), "null is not equal to anything"
    assert not found(relatedParty__id__ne="42"), "some element has id 42"
    assert found(relatedParty__id__ne="43")
    assert not found(state__ne="held,acknowledged"), "a list means: equal to none of them"
    assert found(state__ne=["held", "rejected"])


# ---- ordering operators ---------------------------------------------------------------------------


def test_numbers_order_numerically() -> None:
    assert found(priority__gt="1.5")
    assert found(priority__gte="2")
    assert not found(priority__gt="2")
    assert found(priority__lt="10"), "numerically, not 2 < 10 as text"
    assert found(priority__lte="2")
    assert not found(priority__lt="abc"), "a number against a non-number never matches"


def test_numeric_strings_order_numerically() -> None:
    assert query.matches({"q": "10"}, parse_filters("q.gt=9"))
    assert not query.matches({"q": "10"}, parse_filters("q.gt=9x")), "as text '10' < '9x'"


def test_strings_order_by_code_point() -> None:
    assert found(state__gt="abc")
    assert found(state__lt="b")
    assert not found(state__lt="Z"), "lower case sorts after upper case"


def test_date_times_order_chronologically() -> None:
    assert found(orderDate__gt="2021-06-03T16:23:29Z")
    assert found(orderDate__lt="2021-06-03T18:23:30+02:00"), "offsets are honoured"
    assert not found(orderDate__gt="2021-06-03T18:23:30+02:00"), "as text this would be true"
    assert found(orderDate__gte="2021-06-03"), "a date means its midnight UTC"
    assert found(orderDate__lt="2021-06-04")
    assert found(orderDate__lte="2021-06-03T16:23:29.481+00:00")
    assert not found(orderDate__lt="2021-06-03T16:23:29.481")


def test_booleans_null_and_objects_do_not_order() -> None:
    assert not found(isBundle__lt="true")
    assert not found(note__gt="")
    assert not found(billingAccount__gt="")
    assert not found(nothing__lt="zzz")


def test_ordering_any_value_or_element() -> None:
    assert found(relatedParty__id__gt="41.5"), "element 42 satisfies it"
    assert not found(relatedParty__id__lt="41")
    assert found(priority__gt="5,1"), "any listed value may satisfy it"


def test_tmf630_symbol_forms() -> None:
    # As a query string splits them: "a>=5" is name "a>" with value "5"; "a>5" is name "a>5" alone.
    assert parse_list_query({"priority>": ["2"]}).filters == (query.Filter(("priority",), "gte", ("2",)),)
    assert parse_list_query({"priority<": ["2"]}).filters == (query.Filter(("priority",), "lte", ("2",)),)
    assert parse_list_query({"priority>1": [""]}).filters == (query.Filter(("priority",), "gt", ("1",)),)
    assert parse_list_query({"a.b<1,'2'": [""]}).filters == (query.Filter(("a", "b"), "lt", ("1", "2")),)
    assert found(**{"priority>": "2"})
    assert not found(**{"priority>2": ""})
    assert matched("orderDate<2022-01-01")
    with pytest.raises(QueryError, match="priority>x"):
        parse_list_query({"priority>x": ["1"]})


def test_operator_suffix_only_as_last_segment() -> None:
    assert parse_list_query({"a.gt.b": ["1"]}).filters == (query.Filter(("a", "gt", "b"), "eq", ("1",)),)
    assert parse_list_query({"gt": ["1"]}).filters == (query.Filter(("gt",), "eq", ("1",)),)


# ---- fields ---------------------------------------------------------------------------------------


def test_fields_keeps_id_href_and_the_asked_attributes() -> None:
    """As the official kits check it: ``Instance has only id, href and filtered attribute``."""
    assert query.select_fields(ORDER, ("state", "priority")) == {
        "id": "o1",
        "href": "http://h/o1",
        "state": "acknowledged",
        "priority": 2,
    }
    assert query.select_fields(ORDER, ("id",)) == {"id": "o1", "href": "http://h/o1"}
    assert query.select_fields(ORDER, ("@type",)) == {"id": "o1", "href": "http://h/o1", "@type": "ProductOrder"}


def test_fields_none_is_everything() -> None:
    assert query.select_fields(ORDER, None) == ORDER


def test_fields_nested_and_through_arrays() -> None:
    assert query.select_fields(ORDER, ("billingAccount.name",))["billingAccount"] == {"name": "Main"}
    assert query.select_fields(ORDER, ("relatedParty.role",))["relatedParty"] == [
        {"role": "seller"},
        {"role": "buyer"},
    ]
    assert query.select_fields(ORDER, ("relatedParty.tag",))["relatedParty"] == [{"tag": ["x", ["y"]]}]
    assert query.select_fields(ORDER, ("productOrderItem.product.characteristic.value",))[
        "productOrderItem"
    ] == [{"product": {"characteristic": [{"value": 100}]}}]


def test_fields_whole_attribute_wins_over_its_parts() -> None:
    assert query.select_fields(ORDER, ("billingAccount", "billingAccount.name"))["billingAccount"] == {
        "id": "ba1",
        "name": "Main",
    }
    assert query.select_fields(ORDER, ("billingAccount.name", "billingAccount"))["billingAccount"] == {
        "id": "ba1",
        "name": "Main",
    }


def test_unknown_fields_are_absent() -> None:
    selected = query.select_fields(
        ORDER, ("nothing", "state.sub", "billingAccount.nothing", "relatedParty.nothing", "note")
    )
    assert selected == {"id": "o1", "href": "http://h/o1", "note": None}


def test_fields_does_not_change_the_instance() -> None:
    before = repr(ORDER)
    query.select_fields(ORDER, ("relatedParty.role",))
    assert repr(ORDER) == before


def test_fields_parsing() -> None:
    assert parse_list_query({"fields": ["a,b.c"]}).fields == ("a", "b.c")
    assert parse_list_query({"fields": ["a", "b"]}).fields == ("a", "b")
    for bad in ("", "a,,b", "a,", "a..b"):
        with pytest.raises(QueryError, match="^fields"):
            parse_list_query({"fields": [bad]})


# ---- offset and limit -----------------------------------------------------------------------------


def test_offset_and_limit_parse() -> None:
    assert parse_list_query({"offset": ["0"], "limit": ["0"]}) == ListQuery(offset=0, limit=0)
    assert parse_list_query({"offset": ["10"], "limit": ["25"]}) == ListQuery(offset=10, limit=25)


@pytest.mark.parametrize("name", ["offset", "limit"])
@pytest.mark.parametrize(
    "bad", [["-1"], ["abc"], [""], ["1.0"], [" 1"], ["+1"], ["1" * 19], ["١"], ["1", "2"]]
)
def test_bad_offset_or_limit_names_the_parameter(name: str, bad: list[str]) -> None:
    with pytest.raises(QueryError, match=f"^{name}"):
        parse_list_query({name: bad})


# ---- sort -----------------------------------------------------------------------------------------

ITEMS: list[dict[str, Any]] = [
    {"id": "1", "n": 3, "s": "b"},
    {"id": "2", "s": "a"},
    {"id": "3", "n": 1, "s": "b"},
    {"id": "4", "n": None, "s": "a"},
    {"id": "5", "n": 3, "s": "a"},
]


def ids(items: list[dict[str, Any]]) -> list[str]:
    """The ids of instances, in order."""
    return [item["id"] for item in items]


def test_sort_parsing() -> None:
    assert parse_list_query({"sort": ["a,-b.c,+d"]}).sort == (("a", False), ("b.c", True), ("d", False))
    assert parse_list_query({"sort": ["a", "-b"]}).sort == (("a", False), ("b", True))
    for bad in ("", "-", "a,", "a..b", "+"):
        with pytest.raises(QueryError, match="^sort"):
            parse_list_query({"sort": [bad]})


def test_sort_ascending_missing_last_and_stable() -> None:
    assert ids(query.sort_instances(ITEMS, (("n", False),))) == ["3", "1", "5", "2", "4"]


def test_sort_descending_missing_still_last_and_stable() -> None:
    assert ids(query.sort_instances(ITEMS, (("n", True),))) == ["1", "5", "3", "2", "4"]


def test_sort_by_several_keys() -> None:
    assert ids(query.sort_instances(ITEMS, (("s", False), ("n", True)))) == ["5", "2", "4", "1", "3"]
    assert ids(query.sort_instances(ITEMS, (("s", True), ("n", False)))) == ["3", "1", "5", "2", "4"]


def test_sort_leaves_the_input_alone() -> None:
    items = list(ITEMS)
    query.sort_instances(items, (("n", True),))
    assert items == ITEMS


def test_sort_date_times_chronologically_and_types_in_order() -> None:
    items: list[dict[str, Any]] = [
        {"id": "late", "v": "2021-06-03T17:00:00Z"},
        {"id": "early", "v": "2021-06-03T18:00:00+02:00"},
        {"id": "text", "v": "abc"},
        {"id": "bool", "v": True},
        {"id": "number", "v": 7},
        {"id": "object", "v": {"a": 1}},
    ]
    assert ids(query.sort_instances(items, (("v", False),))) == [
        "number",
        "early",
        "late",
        "text",
        "bool",
        "object",
    ]


def test_sort_through_arrays_uses_the_first_value() -> None:
    items: list[dict[str, Any]] = [
        {"id": "a", "p": [{"n": None}, {"n": 5}]},
        {"id": "b", "p": [{"n": 2}, {"n": 9}]},
    ]
    assert ids(query.sort_instances(items, (("p.n", False),))) == ["b", "a"]


# ---- listener queries -----------------------------------------------------------------------------


def test_listener_query_forms() -> None:
    expected = (query.Filter(("eventType",), "eq", ("CustomerCreateEvent",)),)
    assert parse_filters("eventType=CustomerCreateEvent") == expected
    assert parse_filters("?eventType=CustomerCreateEvent") == expected
    assert parse_filters("eventType = CustomerCreateEvent") == expected
    assert parse_filters("") == ()
    assert parse_filters("  ") == ()
    assert parse_filters("a=1&b.gt=2") == (
        query.Filter(("a",), "eq", ("1",)),
        query.Filter(("b",), "gt", ("2",)),
    )
    assert parse_filters("a=x%26y+z") == (query.Filter(("a",), "eq", ("x&y+z",)),)


def test_listener_query_matches_event_bodies() -> None:
    event = {"eventType": "CustomerCreateEvent", "event": {"customer": {"id": "c1", "status": "Approved"}}}
    assert query.matches(event, parse_filters("eventType=CustomerCreateEvent"))
    assert query.matches(event, parse_filters("eventType=CustomerDeleteEvent,CustomerCreateEvent"))
    assert query.matches(event, parse_filters("event.customer.status=Approved"))
    assert not query.matches(event, parse_filters("eventType=CustomerDeleteEvent"))
    assert not query.matches(event, parse_filters("eventType=CustomerCreateEvent&event.customer.id=c2"))


def test_listener_query_rejects_reserved_parameters() -> None:
    with pytest.raises(QueryError, match="^fields"):
        parse_filters("eventType=X&fields=a")


# ---- equality index -------------------------------------------------------------------------------


class Held:
    """Instances by slot with their equality index, as a collection keeps them."""

    def __init__(self) -> None:
        self.instances: dict[int, dict[str, Any]] = {}
        self.index = EqualityIndex(self.instances.get)

    def put(self, slot: int, instance: dict[str, Any]) -> None:
        if slot in self.instances:
            self.index.remove(slot, self.instances[slot])
        self.instances[slot] = instance
        self.index.add(slot, instance)

    def delete(self, slot: int) -> None:
        self.index.remove(slot, self.instances.pop(slot))

    def found(self, text: str) -> set[int] | None:
        narrowed = self.index.candidates(parse_filters(text))
        return None if narrowed is None else set(narrowed.slots())


A, B, C, D, E = range(5)


def filled() -> Held:
    """Three small instances, at slots A, B and C."""
    held = Held()
    held.put(A, {"state": "new", "n": 1, "party": [{"id": "1"}, {"id": "2"}]})
    held.put(B, {"state": "done", "n": 1.0, "flag": True})
    held.put(C, {"state": "new", "n": "1", "party": {"id": "2"}})
    return held


def test_index_answers_equality_and_or() -> None:
    held = filled()
    assert held.found("state=new") == {A, C}
    assert held.found("state=new,done") == {A, B, C}
    assert held.found("state=none") == set()
    assert held.found("n=1") == {A, B, C}
    assert held.found("n=1.0") == {A, B}
    assert held.found("party.id=2") == {A, C}
    assert held.found("flag=true") == {B}
    assert held.found("state=new&party.id=1") == {A}
    assert held.found("state=new,done&n=1.0&flag=true") == {B}


def test_index_cannot_narrow_without_equality() -> None:
    held = filled()
    assert held.found("") is None
    assert held.found("state.ne=new&n.gt=0") is None
    assert held.found("state.ne=new&n=1.0") == {A, B}


def test_index_follows_removal_and_replacement() -> None:
    held = filled()
    assert held.found("state=new") == {A, C}
    held.delete(A)
    held.put(C, {"state": "done"})
    held.put(D, {"state": "new"})
    assert held.found("state=new") == {D}
    assert held.found("state=done") == {B, C}
    assert held.found("party.id=2") == set(), "paths indexed later see the current content"


def test_single_key_answers_are_the_postings_themselves() -> None:
    held = filled()
    narrowed = held.index.candidates(parse_filters("state=new"))
    assert narrowed is not None and list(narrowed.single or ()) == [A, C]
    assert held.index.candidates(parse_filters("state=nothing")).single == ()  # type: ignore[union-attr]
    assert held.index.candidates(parse_filters("state=new,done")).single is None  # type: ignore[union-attr]


def test_index_is_built_a_step_at_a_time_while_writes_go_on() -> None:
    held = Held()
    for slot in range(10):
        held.put(slot, {"k": "even" if slot % 2 == 0 else "odd"})
    assert not held.index.build_step(("k",), 4), "4 of 10 slots indexed"
    held.put(1, {"k": "even"})  # below the built mark: the index follows
    held.put(7, {"k": "even"})  # above it: the build reads the new content later
    held.put(10, {"k": "even"})  # a new slot
    while not held.index.build_step(("k",), 4):
        pass
    held.put(11, {"k": "even"})  # after the build: indexed at once
    assert held.found("k=even") == {0, 1, 2, 4, 6, 7, 8, 10, 11}
    assert held.found("k=odd") == {3, 5, 9}


def test_index_drops_least_recently_used_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(query, "MAX_INDEXED_PATHS", 2)
    held = filled()
    for text in ("state=new", "n=1", "state=new", "flag=true"):
        held.found(text)
    assert list(held.index._paths) == [("state",), ("flag",)], "n was the least recently used"
    held.put(E, {"state": "new", "n": 1, "flag": True})
    assert held.found("state=new") == {A, C, E}
    assert held.found("n=1") == {A, B, C, E}, "rebuilt after being dropped"
    assert held.found("flag=true") == {B, E}
