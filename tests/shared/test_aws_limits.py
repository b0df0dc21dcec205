"""The vendored AWS limits hold to botocore's service models wherever a model states them."""

from __future__ import annotations

import re

import botocore
import botocore.loaders
import pytest

from components.shared.aws_limits import AWS_DATA_DIR, load_aws_limits


@pytest.fixture(scope="module")
def loader() -> botocore.loaders.Loader:
    return botocore.loaders.Loader()


def test_the_provenance_names_the_pinned_botocore() -> None:
    readme = (AWS_DATA_DIR / "README.md").read_text()
    assert f"botocore {botocore.__version__}" in readme, "name the botocore version the limits were read from"


def test_eks_shapes(loader: botocore.loaders.Loader) -> None:
    shapes = loader.load_service_model("eks", "service-2")["shapes"]
    limits = load_aws_limits()
    assert limits.tag_key_max_length.value == shapes["TagKey"]["max"]
    assert limits.tag_value_max_length.value == shapes["TagValue"]["max"]
    scaling = shapes["NodegroupScalingConfig"]["members"]
    assert limits.node_group_min_size.value == shapes[scaling["minSize"]["shape"]]["min"]
    assert limits.node_group_max_size_min.value == shapes[scaling["maxSize"]["shape"]]["min"]
    # No max in the model for the public CIDRs: the documented quota is the source (named in the data).
    public = shapes["VpcConfigRequest"]["members"]["publicAccessCidrs"]
    assert "max" not in shapes[public["shape"]]
    assert "quotas" in limits.public_access_cidrs_max.source


def test_gp3_sizes_from_the_ec2_model_documentation(loader: botocore.loaders.Loader) -> None:
    shapes = loader.load_service_model("ec2", "service-2")["shapes"]
    text = shapes["LaunchTemplateEbsBlockDeviceRequest"]["members"]["VolumeSize"]["documentation"]
    found = re.search(r"<code>gp3</code>: ([0-9,]+) - ([0-9,]+) GiB", text)
    assert found is not None, text
    low, high = (int(group.replace(",", "")) for group in found.groups())
    limits = load_aws_limits()
    assert (limits.gp3_min_gib.value, limits.gp3_max_gib.value) == (low, high)
