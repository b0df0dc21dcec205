"""AWS limits the config is checked against (data/upstream/aws/limits.yaml), and the EKS version table.

Both are vendored data with their source beside them, so a limit is written once and a test can
hold it to its machine-readable origin (botocore's service models) where one exists.
"""

from __future__ import annotations

import datetime
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from components.shared.data_files import load_data_file
from components.shared.paths import DATA_DIR

AWS_DATA_DIR = DATA_DIR / "upstream" / "aws"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Limit(_Frozen):
    """One limit and where it comes from."""

    value: int
    source: str


class AwsLimits(_Frozen):
    """The limits of data/upstream/aws/limits.yaml."""

    tag_key_max_length: Limit = Field(alias="tagKeyMaxLength")
    tag_value_max_length: Limit = Field(alias="tagValueMaxLength")
    node_group_min_size: Limit = Field(alias="nodeGroupMinSize")
    node_group_max_size_min: Limit = Field(alias="nodeGroupMaxSizeMin")
    node_group_max_size: Limit = Field(alias="nodeGroupMaxSize")
    gp3_min_gib: Limit = Field(alias="gp3MinGib")
    gp3_max_gib: Limit = Field(alias="gp3MaxGib")
    public_access_cidrs_max: Limit = Field(alias="publicAccessCidrsMax")


class KubernetesVersion(_Frozen):
    """A Kubernetes minor version on EKS and the last day of its standard support."""

    version: str = Field(pattern=r"^1\.[0-9]+$")
    released: datetime.date
    end_of_standard_support: datetime.date = Field(alias="endOfStandardSupport")


class KubernetesVersions(_Frozen):
    """The EKS release calendar (data/upstream/aws/eks-kubernetes-versions.yaml)."""

    source: str
    retrieved: datetime.date
    versions: tuple[KubernetesVersion, ...] = Field(min_length=1)

    def find(self, version: str) -> KubernetesVersion | None:
        """The row of `version`, or None when the table does not list it."""
        return next((row for row in self.versions if row.version == version), None)


@cache
def load_aws_limits(path: Path = AWS_DATA_DIR / "limits.yaml") -> AwsLimits:
    """The AWS limits (read once)."""
    return load_data_file(AwsLimits, path)


@cache
def load_kubernetes_versions(path: Path = AWS_DATA_DIR / "eks-kubernetes-versions.yaml") -> KubernetesVersions:
    """The EKS version table (read once)."""
    return load_data_file(KubernetesVersions, path)
