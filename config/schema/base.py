"""The strict base of every config model, and the types, validators and bounds the concerns share."""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Purpose = Literal["serving", "batch"]

_TAG_FORBIDDEN = re.compile(r"[<>%&\\?/]")


class Strict(BaseModel):
    """Base of every config model: strict types, no unknown keys, camelCase keys, immutable."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,  # NaN and infinity are refused in every float field
        alias_generator=to_camel,
        populate_by_name=False,
        validate_default=True,
        use_attribute_docstrings=True,  # the docstring under a field is its description (tools.gen_docs)
    )


def _cidr(value: str) -> str:
    """Accepted: a CIDR block, e.g. `10.244.0.0/16`."""
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a CIDR block ({exc}); e.g. 10.244.0.0/16") from exc
    return value


# The editor's hint in the JSON schema (the validators decide: a GUID's layout, a real date)
GUID_SCHEMA: dict[str, object] = {"pattern": "^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"}
DATE_SCHEMA: dict[str, object] = {"pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _guid(value: str) -> str:
    """Accepted: an Entra ID object ID, a GUID like `7b3c0a52-1f4e-4d2a-9c6b-0e5d8f7a6b21` (not all zeros)."""
    if not _GUID.fullmatch(value) or not value.replace("-", "").strip("0"):
        raise ValueError(
            f"{value!r} is not an Entra ID object ID: a GUID of 8-4-4-4-12 hexadecimal digits such as "
            "7b3c0a52-1f4e-4d2a-9c6b-0e5d8f7a6b21 (az ad group show --group NAME --query id)"
        )
    return value


def _iso_date(value: str) -> str:
    """Accepted: a calendar date `YYYY-MM-DD`."""
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date YYYY-MM-DD, e.g. 2026-11-01") from None
    return value


MAX_USER_TAGS = 47  # Azure allows 50 tags per resource; the program adds 3 (facts.tags)


def _tags(value: dict[str, str]) -> dict[str, str]:
    """Accepted: at most 47 tags; names of 1-512 characters without `< > % & \\ ? /`, values up to
    256 characters."""
    if len(value) > MAX_USER_TAGS:
        raise ValueError(
            f"{len(value)} tags: Azure allows 50 per resource and the program adds 3, so at most "
            f"{MAX_USER_TAGS}"
        )
    for key, val in value.items():
        if not key or len(key) > 512 or _TAG_FORBIDDEN.search(key):
            raise ValueError(f"tag name {key!r} breaks Azure rules: 1-512 characters, none of < > % & \\ ? /")
        if len(val) > 256:
            raise ValueError(f"tag {key!r}: value longer than 256 characters")
    return value


def _distinct_zones(value: list[int]) -> list[int]:
    """Accepted: each zone once."""
    repeated = sorted({z for z in value if value.count(z) > 1})
    if repeated:
        raise ValueError(f"zones repeated: {repeated}; list each availability zone once")
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
Guid = Annotated[str, AfterValidator(_guid), Field(json_schema_extra=GUID_SCHEMA)]
IsoDate = Annotated[str, AfterValidator(_iso_date), Field(json_schema_extra=DATE_SCHEMA)]
Tags = Annotated[dict[str, str], AfterValidator(_tags)]
Zone = Annotated[int, Field(ge=1, le=3)]  # strict int: a bool is refused (Literal[1] would take True)
Zones = Annotated[list[Zone], AfterValidator(_distinct_zones)]
PoolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,9}$")]  # + "sp" for the spot pool: AKS allows 12
DnsLabel = Annotated[str, Field(pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")]
Surge = Annotated[str, Field(pattern=r"^(([1-9][0-9]?|100)%|[1-9][0-9]{0,2})$")]  # "10%" or nodes: "1"
Duration = Annotated[str, Field(pattern=r"^[0-9]+(s|m|h)$")]


# Sane ceilings of the float fields (finite, and far above any real figure)
MAX_USD_PER_HOUR = 1_000.0  # a VM's hourly price (the largest GPU VMs list about 100 USD/h)
MAX_USD_PER_MILLION_TOKENS = 10_000.0  # a per-token API's price
MAX_TOKENS_PER_SECOND = 10_000_000.0  # one replica's throughput
MAX_MONTHLY_AMOUNT = 1_000_000_000.0  # a budget (billing currency)
# Floors of the float fields the cost report divides by: a denormal such as 5e-324 would overflow to
# infinity there (issue 20), so the smallest meaningful figure is the floor.
MIN_TOKENS_PER_SECOND = 0.01  # one replica's throughput (a token every 100 s)
MIN_MONTHLY_AMOUNT = 0.01  # a budget (one cent of the billing currency)


_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")  # fullmatch


def _email(value: str) -> str:
    """Accepted: e-mail addresses like `platform-team@example.com`."""
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an e-mail address like platform-team@example.com")
    return value


Email = Annotated[str, AfterValidator(_email)]


SemVer = Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]
K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
