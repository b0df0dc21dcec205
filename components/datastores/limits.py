"""What RDS for PostgreSQL, ElastiCache and AWS Backup accept, read from data the repository vendors.

Request-field rules (patterns, enums) come from botocore's service models
(`data/upstream/botocore/datastores.json`, extracted by `tools/vendor_botocore.py`); what the
models do not say (engine versions, instance classes, storage bounds) comes from the AWS
documentation, transcribed with sources into `data/datastores.yaml`. Config checks read both, so
a limit is data in one place, not a number in a validator.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import yaml

from components.shared.paths import DATA_DIR

BOTOCORE_RULES = DATA_DIR / "upstream" / "botocore" / "datastores.json"
CAPABILITIES = DATA_DIR / "datastores.yaml"


@cache
def botocore_rule(service: str, shape: str) -> dict[str, Any]:
    """One vendored botocore shape rule: pattern, min, max, enum (whichever the model states)."""
    return json.loads(BOTOCORE_RULES.read_text())["services"][service][shape]


@cache
def capabilities() -> dict[str, Any]:
    """The hand-transcribed capability tables of `data/datastores.yaml`."""
    return yaml.safe_load(CAPABILITIES.read_text())


def matches(service: str, shape: str, value: str) -> bool:
    """Whether `value` satisfies botocore's pattern and length for the shape (the whole value)."""
    rule = botocore_rule(service, shape)
    pattern = rule.get("pattern")
    if pattern is not None and not re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value):
        return False
    return rule.get("min", 0) <= len(value) <= rule.get("max", len(value))


def enum(service: str, shape: str) -> tuple[str, ...]:
    """The values botocore's model allows for an enum shape."""
    return tuple(botocore_rule(service, shape)["enum"])


def check_identifier(value: str, max_length: int = 63) -> str | None:
    """An RDS or ElastiCache identifier: botocore's rule (a letter first, single hyphens, no trailing one)."""
    if len(value) > max_length or not matches("rds", "DBProxyName", value):
        return (
            f"{value!r} is not an identifier AWS accepts: 1 to {max_length} letters, digits and single "
            "hyphens, starting with a letter and not ending with a hyphen"
        )
    return None
