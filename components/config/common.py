"""What every stack's config shares: the project's names, the frozen model base, key-naming errors."""

from __future__ import annotations

import difflib
from typing import Annotated

import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field

from components.shared.catalog import ENVIRONMENTS
from components.shared.paths import PROJECT_ROOT

PROJECT = "pyairtable-infra"
PROJECT_FILE = PROJECT_ROOT / "Pulumi.yaml"
ORG_STACK = "org"
STACKS = (ORG_STACK, *ENVIRONMENTS)
INSTANCE_TYPES = frozenset(member.value for member in aws.ec2.InstanceType)
AWS_REGIONS = frozenset(member.value for member in aws.Region)
DURATION_PATTERN = r"^[0-9]+(s|m|h|d|w|y)$"
SECURE_TEST_VALUE = "offline-plan-test-value"


class FrozenModel(BaseModel):
    """Config models are immutable and refuse unknown keys; aliases are the camelCase config keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def check_instance_type(value: str) -> str:
    """An EC2 instance type the AWS SDK knows, with a did-you-mean hint."""
    if value not in INSTANCE_TYPES:
        close = difflib.get_close_matches(value, sorted(INSTANCE_TYPES), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"{value!r} is not an EC2 instance type known to pulumi-aws{hint}")
    return value


InstanceType = Annotated[str, Field(min_length=1)]
GitHubLogin = Annotated[str, Field(pattern=r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$", max_length=39)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
