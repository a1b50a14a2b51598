"""Values that were accepted and must be refused (issue 20 item 4), each class with a generating test: a
Karpenter budget schedule Karpenter cannot parse, GUIDs that are not GUIDs, dates that are not dates,
IPv6 and private API server ranges, ``secure:`` values that hold no secret, and floats so small they
overflow where the cost report divides by them."""

from __future__ import annotations

import ipaddress
import json
import string
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from config.catalog import load_catalog
from config.cron import CRD_PATTERN, CronError, check_schedule
from config.errors import ConfigError
from config.schema import NON_PUBLIC_SOURCES, StackConfig
from cost import estimate_cost
from sizing.deployments import plan_models
from tests.conftest import ROOT
from tests.test_hardening import BASE, FLOAT_FIELDS, FULL, outcome, stack_text, with_value

NAP: dict[str, Any] = {
    **BASE,
    "nodeProvisioning": {
        "mode": "nap",
        "nodePools": [
            {"name": "serve", "skus": ["Standard_NC24ads_A100_v4"], "onDemand": {"limits": {"gpus": 2}}}
        ],
    },
}
SCHEDULE_PATH = "nodeProvisioning.nodePools[0].disruption.budgets[0].schedule"
EXAMPLES = settings(max_examples=60)


def budget(schedule: str) -> ConfigError | StackConfig:
    doc = json.loads(json.dumps(NAP))
    doc["nodeProvisioning"]["nodePools"][0]["disruption"] = {
        "budgets": [{"nodes": "0", "schedule": schedule, "duration": "12h"}]
    }
    return outcome(stack_text(doc))


# --- Karpenter budget schedules ------------------------------------------------------------------

FIELD_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
NAMES = {3: ["jan", "FEB", "Mar", "dec"], 4: ["sun", "MON", "Fri", "sat"]}


@st.composite
def cron_field(draw: st.DrawFn, index: int) -> str:
    low, high = FIELD_RANGES[index]
    number = st.integers(low, high).map(str)
    if index in NAMES:
        number = number | st.sampled_from(NAMES[index])
    kind = draw(st.sampled_from(["star", "one", "range", "step", "list"]))
    if kind == "star":
        return draw(st.sampled_from(["*", "?", f"*/{draw(st.integers(1, high or 1))}"]))
    if kind == "one":
        return draw(number)
    a, b = sorted(draw(st.lists(st.integers(low, high), min_size=2, max_size=2)))
    if kind == "range":
        return f"{a}-{b}"
    if kind == "step":
        return f"{a}-{b}/{draw(st.integers(1, 10))}"
    return ",".join(draw(st.lists(number, min_size=1, max_size=3)))


@st.composite
def schedules(draw: st.DrawFn) -> str:
    fields = [draw(cron_field(i)) for i in range(5)]
    if fields[2] not in ("*", "?") and fields[4] in ("*", "?"):
        fields[2] = "1"  # a day of month every month has (a Feb 30 alone never fires: refused, tested below)
    return draw(st.sampled_from([" ", "  ", "\t"])).join(fields)


@EXAMPLES
@given(schedules() | st.sampled_from(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight"]))
def test_schedules_karpenter_parses_are_accepted(schedule: str) -> None:
    assert CRD_PATTERN.search(schedule)
    check_schedule(schedule)
    assert isinstance(budget(schedule), StackConfig)


BAD_TOKENS = [
    "MONN",
    "a",
    "60",
    "24",
    "32",
    "13",
    "7",
    "-1",
    "5-1",
    "1-2-3",
    "*/0",
    "1/2/3",
    "",
    "\u0663",
    "\uff17",
    "1\x00",
]


@EXAMPLES
@given(schedules(), st.integers(0, 4), st.sampled_from(BAD_TOKENS))
def test_schedules_karpenter_cannot_parse_are_refused_on_the_key(
    schedule: str, index: int, token: str
) -> None:
    fields = schedule.split()
    low, high = FIELD_RANGES[index]
    if token.isascii() and token.isdigit() and low <= int(token) <= high:
        token = "x"  # in range for this field: not a bad token here
    fields[index] = token
    bad = " ".join(fields)
    with pytest.raises(CronError):
        check_schedule(bad)
    result = budget(bad)
    assert isinstance(result, ConfigError) and f"aks-llm:{SCHEDULE_PATH}:" in result.render()


@pytest.mark.parametrize(
    "schedule",
    [
        "a b c d e",
        "0 7 * * MONN",
        "0 7 * *",
        "0 7 * * 1 2",
        "@every 1h",
        "@dailyX",
        "TZ=Europe/Stockholm 0 7 * * 1-5",
        "0 0 31 2 *",  # parses, never fires: Karpenter would read the budget as always active
        "0 0 30 2 *",
    ],
)
def test_known_bad_schedules_are_refused(schedule: str) -> None:
    result = budget(schedule)
    assert isinstance(result, ConfigError), schedule
    assert "Karpenter could not use this budget" in result.render()


def test_the_crd_pattern_is_the_pinned_crds() -> None:
    """config.cron's copy of the CRD pattern is the one in the NodePool CRD the tests use (../shared)."""
    crd = ROOT.parent / "shared" / "crds" / "karpenter.sh_nodepools.yaml"
    if not crd.is_file():
        pytest.skip("../shared/crds is not here")
    assert (
        "^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))|((.+)\\s(.+)\\s(.+)\\s(.+)\\s(.+))$"
        in (yaml.safe_dump(yaml.safe_load(crd.read_text()), width=10_000))
    )


# --- GUIDs, dates ----------------------------------------------------------------------------------


def admins(ids: list[str]) -> ConfigError | StackConfig:
    return outcome(stack_text(with_value(BASE, ("cluster", "adminGroupObjectIds"), ids)))


@EXAMPLES
@given(st.uuids().filter(lambda u: u.int != 0), st.booleans())
def test_guids_are_accepted(guid: Any, upper: bool) -> None:
    text = str(guid).upper() if upper else str(guid)
    assert isinstance(admins([text]), StackConfig)


@EXAMPLES
@given(st.text(alphabet="0123456789abcdef-", min_size=36, max_size=36))
def test_36_characters_that_are_not_a_guid_are_refused(text: str) -> None:
    parts = text.split("-")
    is_guid = [len(p) for p in parts] == [8, 4, 4, 4, 12] and text.replace("-", "").strip("0") != ""
    result = admins([text])
    assert isinstance(result, StackConfig) == is_guid
    if isinstance(result, ConfigError):
        assert "adminGroupObjectIds[0]" in result.render() and "not an Entra ID object ID" in result.render()


def test_the_nil_guid_and_dashes_are_refused() -> None:
    for text in ["-" * 36, "0" * 36, "00000000-0000-0000-0000-000000000000"]:
        assert isinstance(admins([text]), ConfigError), text


@EXAMPLES
@given(st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99))
def test_prices_as_of_must_be_a_calendar_date(year: int, month: int, day: int) -> None:
    text = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        __import__("datetime").date(year, month, day)
        real = True
    except ValueError:
        real = False
    result = outcome(stack_text(with_value(BASE, ("prices",), {"asOf": text})))
    assert isinstance(result, StackConfig) == real, text
    if isinstance(result, ConfigError):
        assert "prices.asOf" in result.render() and "not a calendar date" in result.render()


# --- API server ranges -----------------------------------------------------------------------------


def api_ranges(ranges: list[str]) -> ConfigError | StackConfig:
    return outcome(stack_text({**BASE, "cluster": {"apiServer": {"authorizedIpRanges": ranges}}}))


V4 = st.builds(
    lambda a, p: str(ipaddress.ip_network(f"{ipaddress.IPv4Address(a)}/{p}", strict=False)),
    st.integers(0, 2**32 - 1),
    st.integers(1, 32),
)


@EXAMPLES
@given(V4)
def test_ipv4_ranges_are_refused_exactly_when_no_public_source_lies_in_them(cidr: str) -> None:
    network = ipaddress.IPv4Network(cidr)
    private = any(network.subnet_of(ipaddress.IPv4Network(block)) for block in NON_PUBLIC_SOURCES)
    result = api_ranges([cidr])
    assert isinstance(result, ConfigError) == private, cidr
    if isinstance(result, ConfigError):
        assert (
            "authorizedIpRanges[0]" in result.render()
            and "never comes from such an address" in result.render()
        )


@EXAMPLES
@given(
    st.builds(
        lambda a, p: str(ipaddress.ip_network(f"{ipaddress.IPv6Address(a)}/{p}", strict=False)),
        st.integers(0, 2**128 - 1),
        st.integers(0, 128),
    )
)
def test_ipv6_ranges_are_refused(cidr: str) -> None:
    result = api_ranges([cidr])
    assert isinstance(result, ConfigError) and "IPv6" in result.render()


@pytest.mark.parametrize("cidr", ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"])
def test_the_documentation_ranges_are_not_this_rules_to_refuse(cidr: str) -> None:
    """RFC 5737 ranges (the committed stacks' placeholders) are the deploy-time rule's, not this one's."""
    assert isinstance(api_ranges([cidr]), StackConfig)


# --- secure: values --------------------------------------------------------------------------------

NOT_CIPHERTEXT = (
    st.just("")
    | st.text(alphabet=" \t", min_size=1, max_size=3)
    | st.none()
    | st.integers()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.lists(st.text(string.ascii_letters, max_size=3), max_size=2)
    | st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=3), st.integers(), max_size=2)
)


@EXAMPLES
@given(NOT_CIPHERTEXT)
def test_a_secure_value_that_holds_no_ciphertext_is_refused(value: object) -> None:
    doc = {"config": {"aks-llm:location": "swedencentral", "aks-llm:hfToken": {"secure": value}}}
    result = outcome(yaml.safe_dump(doc))
    assert isinstance(result, ConfigError) and "aks-llm:hfToken.secure" in result.render()


@EXAMPLES
@given(st.text(string.ascii_letters + string.digits + ":+/=", min_size=1, max_size=40))
def test_a_ciphertext_string_counts_as_the_secret(ciphertext: str) -> None:
    doc = {
        "config": {
            "aks-llm:location": "swedencentral",
            "aks-llm:cluster": {"apiServer": {"privateCluster": True}},
            "aks-llm:hfToken": {"secure": ciphertext},
        }
    }
    assert isinstance(outcome(yaml.safe_dump(doc)), StackConfig)


# --- tiny floats -----------------------------------------------------------------------------------


@settings(max_examples=60)
@given(st.sampled_from(FLOAT_FIELDS), st.floats(min_value=5e-324, max_value=1e-3) | st.just(5e-324))
def test_a_tiny_float_is_refused_on_its_key_or_every_cost_figure_stays_finite(
    path: tuple[Any, ...], value: float
) -> None:
    """Before: 5e-324 in throughputTokensPerSecond printed inf, and --json failed naming no key."""
    result = outcome(stack_text(with_value(FULL, path, value)))
    if isinstance(result, ConfigError):
        key = ".".join(str(p) for p in path if not isinstance(p, int))
        assert key.split(".")[-1] in result.render(), result.render()
        return
    catalog = load_catalog()
    cost = estimate_cost(result, catalog, plan_models(result, catalog)).to_dict()
    json.dumps(cost, allow_nan=False)  # ValueError on inf or NaN


def test_the_floor_of_the_divided_floats_is_named() -> None:
    for path in [("costComparison", "throughputTokensPerSecond"), ("budget", "monthlyAmount")]:
        result = outcome(stack_text(with_value(FULL, path, 5.0e-324)))
        assert isinstance(result, ConfigError) and "a number >= 0.01" in result.render()
