"""Stack config validation: every bad value stops the program with one message naming stack, key, value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.config.stack_file import (
    check_vpcs_apart,
    environment_configs,
    parse_stack_config,
    refuse_secret_values,
    stack_file_config,
)
from components.shared.errors import ConfigError
from components.shared.paths import PROJECT_ROOT
from tools.plan import build_plan

ROOT = PROJECT_ROOT


def raw_config(stack: str, **overrides: str) -> dict[str, str]:
    """The stack's checked-in config with some keys replaced (values as the engine passes them)."""
    values, _ = stack_file_config(stack)
    values.update({f"pyairtable-infra:{key}": value for key, value in overrides.items()})
    return values


def test_checked_in_stacks_parse() -> None:
    assert isinstance(parse_stack_config("org", raw_config("org")), OrgConfig)
    for stack in ("dev", "staging", "prod"):
        config = parse_stack_config(stack, raw_config(stack))
        assert isinstance(config, EnvironmentConfig)
        assert config.environment == stack


def test_models_are_frozen() -> None:
    config = parse_stack_config("dev", raw_config("dev"))
    with pytest.raises(Exception, match="frozen"):
        config.budget_usd = 1  # type: ignore[misc]


BAD_ENV_VALUES = [
    # (stack, key, raw value, fragments the message must contain)
    ("dev", "capacityStrategy", "cheap", ["'spot'", "'mixed'", "'reserved'"]),
    (
        "dev",
        "nodes",
        '{"instanceTypes": ["m6i.large", "m6a.large", "m5.lrage"], "minSize": 1, "desiredSize": 2,'
        ' "maxSize": 4, "diskSizeGib": 50}',
        ["m5.lrage", "did you mean", "m5.large"],
    ),
    (
        "dev",
        "nodes",
        '{"instanceTypes": ["m6i.large", "m6a.large", "m5.large"], "minSize": 5, "desiredSize": 2,'
        ' "maxSize": 4, "diskSizeGib": 50}',
        ["minSize <= desiredSize <= maxSize", "5 <= 2 <= 4"],
    ),
    (
        "dev",
        "nodes",
        '{"instanceTypes": ["m6i.large", "m6a.large"], "minSize": 1, "desiredSize": 2,'
        ' "maxSize": 4, "diskSizeGib": 50}',
        ["at least 3", "m6a.large"],
    ),
    (
        "dev",
        "nodes",
        '{"instanceTypes": ["m6i.large", "m6a.xlarge", "m5.large"], "minSize": 1, "desiredSize": 2,'
        ' "maxSize": 4, "diskSizeGib": 50}',
        ["one size", "xlarge"],
    ),
    ("dev", "kubernetesVersion", "1.27", ["'1.27'", "version table", "1.34"]),
    ("dev", "vpcCidr", "10.10.0.0/33", ["vpcCidr", "10.10.0.0/33"]),
    ("dev", "vpcCidr", "10.0.0.0/12", ["/16 and /24"]),
    ("dev", "publicAccessCidrs", '["0.0.0.0/0"]', ["0.0.0.0/0", "too wide", "/16"]),
    ("dev", "publicAccessCidrs", '["10.1.0.0/16"]', ["10.1.0.0/16", "not a public range"]),
    ("dev", "publicAccessCidrs", json.dumps([f"198.51.{i}.0/24" for i in range(41)]), ["41 CIDRs", "at most 40"]),
    ("dev", "publicAccessCidrs", "[]", ["publicAccessCidrs", "needs the CIDRs"]),
    ("dev", "cluster", '{"endpointPublicAccess": false}', ["cluster.endpointPublicAccess", "no path into the VPC"]),
    ("dev", "cluster", '{"deploySubjects": "any"}', ["deploySubjects", "legacyAndPinned", "pinned"]),
    ("dev", "adminRoleArns", '["arn:aws:iam::999999999999:role/admin"]', ["999999999999", "111111111111"]),
    ("dev", "awsRoleArn", "arn:aws:iam::999999999999:role/pulumi", ["awsRoleArn", "999999999999"]),
    ("dev", "breakGlassRoleArn", "", ["breakGlassRoleArn", "IAM role ARN"]),
    ("dev", "accountSharedWith", '["qa"]', ["accountSharedWith", "qa", "not environments"]),
    ("dev", "network", '{"subnetIndexes": {"a": 0, "b": 0}}', ["network.subnetIndexes", "share a subnet index"]),
    ("dev", "network", '{"subnetIndexes": {"a": 0, "c": 1}}', ["network.subnetIndexes", "['b']", "no subnet index"]),
    ("dev", "network", '{"subnetIndexes": {"a": 0, "b": 3}}', ["network.subnetIndexes", "outside 0..2"]),
    ("dev", "network", '{"subnetIndexes": {"a": 0, "b": 1}, "subnetSlots": 3}', ["subnetSlots", "power of two"]),
    ("dev", "network", '{"subnetIndexes": {"a": 0, "b": 1}, "vpcEndpoints": ["sqs"]}', ["vpcEndpoints", "sqs"]),
    ("dev", "alertReceivers", '[{"name": "a", "kind": "slack"}, {"name": "a", "kind": "webhook"}]', ["used twice"]),
    ("prod", "alertReceivers", '[{"name": "prod-alerts", "kind": "slack"}]', ["alertReceivers", "paging receiver"]),
    ("prod", "prometheusStorageGib", "0", ["prometheusStorageGib", "> 0"]),
    ("prod", "clusterLogRetentionDays", "90", ["clusterLogRetentionDays", "at least 365"]),
    ("prod", "secretRotationDays", "400", ["secretRotationDays", "between 30 and 365"]),
    ("prod", "secretRotationDays", "7", ["secretRotationDays", "between 30 and 365"]),
    ("dev", "costCenter", "x" * 257, ["costCenter", "at most 256"]),
    (
        "dev",
        "nodes",
        '{"instanceTypes": ["m6i.large", "m6a.large", "m5.large"], "minSize": 1, "desiredSize": 2,'
        ' "maxSize": 4, "diskSizeGib": 70000}',
        ["diskSizeGib 70000", "65536"],
    ),
    (
        "dev",
        "nodes",
        '{"instanceTypes": ["m6i.large", "m6a.large", "m5.large"], "minSize": 1, "desiredSize": 2,'
        ' "maxSize": 451, "diskSizeGib": 50}',
        ["maxSize 451", "450"],
    ),
    ("dev", "availabilityZones", '["eu-west-1a", "us-east-1b"]', ["eu-west-1a", "us-east-1"]),
    ("dev", "clusterLogTypes", '["api", "audit"]', ["authenticator", "required"]),
    ("dev", "clusterLogTypes", '["api", "audit", "authenticator"]', ["controllerManager", "scheduler", "required"]),
    (
        "dev",
        "addonVersions",
        '{"vpc-cni": "v1.20.4-eksbuild.1", "coredns": "v1.12.3-eksbuild.1", "kube-proxy":'
        ' "v1.34.0-eksbuild.2", "aws-ebs-csi-driver": "v1.50.0-eksbuild.1", "eks-pod-identity-agent":'
        ' "v1.3.8-eksbuild.2", "metrics-server": "v0.7.2-eksbuild.1"}',
        ["metrics-server", "allowed"],
    ),
    ("dev", "secretRotationDays", "0", ["secretRotationDays", "positive", "0"]),
    ("dev", "secretRecoveryWindowDays", "0", ["secretRecoveryWindowDays", "greater than or equal to 7"]),
    ("dev", "flowLogRetentionDays", "10", ["10", "allowed"]),
    ("dev", "awsRegion", "us-east-9", ["us-east-9", "region"]),
    ("dev", "awsAccountId", "12345", ["awsAccountId", "12345"]),
    ("dev", "onDemandBaseCount", "2", ["onDemandBaseCount", "mixed"]),
    ("staging", "onDemandBaseCount", "0", ["onDemandBaseCount >= 1"]),
    (
        "prod",
        "nodes",
        '{"instanceTypes": ["m7i.large"], "minSize": 3, "desiredSize": 3, "maxSize": 6, "diskSizeGib": 80}',
        ["m7i.large", "no reservation"],
    ),
    (
        "dev",
        "reservations",
        '[{"instanceType": "m6i.large", "count": 1, "termYears": 1, "paymentOption": "no-upfront"}]',
        ["reservations", "reserved only"],
    ),
    (
        "prod",
        "reservations",
        '[{"instanceType": "m6i.large", "count": 3, "termYears": 2, "paymentOption": "no-upfront"}]',
        ["termYears", "1", "3"],
    ),
]


@pytest.mark.parametrize(("stack", "key", "value", "fragments"), BAD_ENV_VALUES)
def test_bad_values_name_stack_key_value_and_what_is_allowed(
    stack: str, key: str, value: str, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(stack, raw_config(stack, **{key: value}))
    message = str(caught.value)
    assert f"stack {stack!r}" in message
    assert f"pyairtable-infra:{key}" in message or key in message
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in message


def test_unknown_key_suggests_the_close_one() -> None:
    raw = raw_config("dev")
    raw["pyairtable-infra:kubernetesVersoin"] = "1.34"
    with pytest.raises(
        ConfigError,
        match=r"unknown config key 'pyairtable-infra:kubernetesVersoin'.*"
        r"did you mean 'pyairtable-infra:kubernetesVersion'\?",
    ):
        parse_stack_config("dev", raw)


def test_env_key_in_org_stack_is_refused_unless_it_is_the_project_default() -> None:
    raw = raw_config("org")
    assert "pyairtable-infra:kubernetesVersion" in raw  # the engine passes project defaults to every stack
    parse_stack_config("org", raw)
    raw["pyairtable-infra:kubernetesVersion"] = "1.33"
    with pytest.raises(ConfigError, match="applies to environment stacks only"):
        parse_stack_config("org", raw)


def test_default_provider_config_is_refused() -> None:
    raw = raw_config("dev")
    raw["aws:region"] = "eu-west-1"
    with pytest.raises(ConfigError, match="default providers are disabled"):
        parse_stack_config("dev", raw)


def test_unknown_stack_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"stack 'qa' is not a stack of pyairtable-infra; allowed"):
        parse_stack_config("qa", {})


def test_missing_required_key_is_named() -> None:
    raw = raw_config("dev")
    del raw["pyairtable-infra:awsAccountId"]
    with pytest.raises(ConfigError, match=r"stack 'dev': config key 'pyairtable-infra:awsAccountId' is required"):
        parse_stack_config("dev", raw)


BAD_ORG_VALUES = [
    (
        "teams",
        '{"platform": {"description": "p", "maintainers": ["alice"], "members": ["alice"]}, "backend-go":'
        ' {"description": "g"}, "ai-python": {"description": "a"}, "devops": {"description": "d"}}',
        ["alice", "both maintainer and member"],
    ),
    (
        "teams",
        '{"platform": {"description": "p"}, "backend-go": {"description": "g"}, "devops": {"description": "d"}}',
        ["ai-python", "not configured"],
    ),
    (
        "teams",
        '{"platform": {"description": "p", "members": ["-bad-login"]}, "backend-go": {"description": "g"},'
        ' "ai-python": {"description": "a"}, "devops": {"description": "d"}}',
        ["-bad-login"],
    ),
    ("existingRepositories", '["pyairtable-legacy"]', ["pyairtable-legacy", "not in the catalog"]),
    ("branchProtection", "none", ["'rulesets'", "'classic'"]),
    ("billingEmail", "billing", ["billingEmail", "'billing'"]),
]


@pytest.mark.parametrize(("key", "value", "fragments"), BAD_ORG_VALUES)
def test_bad_org_values(key: str, value: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config("org", raw_config("org", **{key: value}))
    message = str(caught.value)
    assert "stack 'org'" in message
    for fragment in fragments:
        assert fragment in message, message


def test_bad_config_stops_before_any_resource_is_declared() -> None:
    with pytest.raises(ConfigError):
        build_plan("dev", {"capacityStrategy": "cheap"})


def test_overlapping_vpcs_are_refused() -> None:
    staging = parse_stack_config("staging", raw_config("staging", vpcCidr="10.10.128.0/17"))
    assert isinstance(staging, EnvironmentConfig)
    with pytest.raises(
        ConfigError,
        match=r"stack 'staging': config key 'pyairtable-infra:vpcCidr' = "
        r"'10.10.128.0/17' overlaps stack 'dev' \(10.10.0.0/16\)",
    ):
        check_vpcs_apart(staging, environment_configs())


def test_overlapping_vpcs_stop_the_program() -> None:
    with pytest.raises(ConfigError, match="overlaps stack 'prod'"):
        build_plan("dev", {"vpcCidr": "10.30.0.0/20"})


def test_checked_in_vpcs_are_apart() -> None:
    configs = environment_configs()
    for config in configs.values():
        check_vpcs_apart(config, configs)


def test_a_key_set_as_a_secret_is_refused_rather_than_revealed() -> None:
    # Pulumi.<stack>.yaml `secure:` values become secrets in the offline plan, as under the engine.
    values, _ = stack_file_config("dev")
    with pytest.raises(ConfigError, match=r"stack 'dev': config key 'pyairtable-infra:costCenter' is set as a secret"):
        refuse_secret_values("dev", {"pyairtable-infra:costCenter"})
    refuse_secret_values("dev", {"aws:secretKey"})  # another namespace's secret is not ours to judge
    assert "pyairtable-infra:costCenter" in values


def test_a_secure_stack_value_stops_the_program(tmp_path: Path) -> None:
    for name in ("__main__.py", "Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text() + "  pyairtable-infra:costCenter:\n    secure: v1:abc\n")
    with pytest.raises(ConfigError, match="'pyairtable-infra:costCenter' is set as a secret"):
        build_plan("dev", root=tmp_path)
