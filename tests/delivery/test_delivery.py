"""Delivery in the environment stacks: the read-only roles view the cluster, and the `codebuild`
path declares runners inside the VPC that reach the private endpoint and nothing else. Preflight
checks whichever path is configured."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from components.config.stack_file import environment_configs
from components.delivery.names import (
    INFRA_REPOSITORY,
    drift_role_name,
    preview_role_name,
    runner_connection_name,
    runner_label,
    runner_project_name,
)
from components.shared.catalog import ENVIRONMENTS, load_catalog
from components.shared.errors import ConfigError
from components.shared.naming import role_arn
from tests.conftest import stack_plan
from tools.plan import Plan, build_plan
from tools.preflight.checks_delivery import check_bootstrap, check_delivery_path
from tools.preflight.core import CommandResult, PreflightContext

VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"
PROJECT = "aws:codebuild/project:Project"


def test_the_read_only_roles_may_view_the_cluster_and_nothing_more(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    readers = {role_arn(config.aws_account_id, name(env_plan.stack)) for name in (preview_role_name, drift_role_name)}
    associations = [
        a["inputs"]
        for a in env_plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if a["inputs"]["principalArn"] in readers
    ]
    assert sorted(a["principalArn"] for a in associations) == sorted(readers)
    assert {(a["policyArn"], a["accessScope"]["type"]) for a in associations} == {(VIEW, "cluster")}


def test_the_runners_exist_exactly_where_the_codebuild_path_is_configured(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    projects = env_plan.of_type(PROJECT)
    label = runner_label(env_plan.stack) if config.delivery.path == "codebuild" else None
    assert env_plan.outputs["delivery"] == {"path": config.delivery.path, **({"runnerLabel": label} if label else {})}
    assert len(projects) == (config.delivery.path == "codebuild")


def test_both_paths_are_in_use_across_the_stacks() -> None:
    paths = {environment_configs()[environment].delivery.path for environment in ENVIRONMENTS}
    assert paths == {"public", "codebuild"}


CODEBUILD = [e for e in ENVIRONMENTS if environment_configs()[e].delivery.path == "codebuild"]


@pytest.mark.parametrize("environment", CODEBUILD)
def test_a_runner_runs_in_the_private_subnets_with_the_configured_size(environment: str) -> None:
    plan, config = stack_plan(environment), environment_configs()[environment]
    project = plan.one(PROJECT)["inputs"]
    private = sorted(f"{s['name']}-id" for s in plan.of_type("aws:ec2/subnet:Subnet") if "private" in s["name"])
    assert project["name"] == runner_project_name(environment)
    assert sorted(project["vpcConfig"]["subnets"]) == private
    assert project["environment"]["computeType"] == config.delivery.runner_compute_type
    assert project["environment"]["type"] == "LINUX_CONTAINER"
    assert project["buildTimeout"] == config.delivery.runner_timeout_minutes
    assert project["source"]["auth"]["type"] == "CODECONNECTIONS"
    connection = plan.one("aws:codeconnections/connection:Connection")["inputs"]
    assert connection == {"name": runner_connection_name(environment), "providerType": "GitHub"}
    assert len(connection["name"]) <= 32


@pytest.mark.parametrize("environment", CODEBUILD)
def test_the_webhook_takes_queued_jobs_of_the_infra_and_deployable_repositories_only(environment: str) -> None:
    webhook = stack_plan(environment).one("aws:codebuild/webhook:Webhook")["inputs"]
    assert webhook["scopeConfiguration"] == {"name": load_catalog().organization, "scope": "GITHUB_ORGANIZATION"}
    [group] = webhook["filterGroups"]
    filters = {f["type"]: f["pattern"] for f in group["filters"]}
    repositories = [INFRA_REPOSITORY, *(s.repository for s in load_catalog().deployable)]
    assert filters == {"EVENT": "WORKFLOW_JOB_QUEUED", "REPOSITORY_NAME": f"^({'|'.join(repositories)})$"}


def test_only_infra_gets_a_runner_when_service_deploys_are_left_out() -> None:
    plan = build_plan("prod", {"delivery": {"path": "codebuild", "deployRepositories": False}})
    [group] = plan.one("aws:codebuild/webhook:Webhook")["inputs"]["filterGroups"]
    assert {f["pattern"] for f in group["filters"]} == {"WORKFLOW_JOB_QUEUED", f"^({INFRA_REPOSITORY})$"}


@pytest.mark.parametrize("environment", CODEBUILD)
def test_the_runner_sends_https_only_and_the_endpoint_admits_it(environment: str) -> None:
    plan = stack_plan(environment)
    [egress] = [
        r
        for r in plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r["name"].startswith("delivery-")
    ]
    runner_group = plan.one("aws:ec2/securityGroup:SecurityGroup", "delivery-runner")
    assert egress["inputs"]["securityGroupId"] == f"{runner_group['name']}-id"
    assert (egress["inputs"]["fromPort"], egress["inputs"]["toPort"], egress["inputs"]["ipProtocol"]) == (
        443,
        443,
        "tcp",
    )
    assert "ingress" not in runner_group["inputs"] and "egress" not in runner_group["inputs"]
    [ingress] = [
        r
        for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["name"].startswith("delivery-")
    ]
    assert ingress["inputs"]["referencedSecurityGroupId"] == f"{runner_group['name']}-id"
    assert ingress["inputs"]["securityGroupId"] == f"sg-pyairtable-{environment}-cluster"  # the cluster's (mock)


@pytest.mark.parametrize("environment", CODEBUILD)
def test_the_runner_role_writes_logs_and_attaches_to_its_subnets_only(environment: str) -> None:
    plan = stack_plan(environment)
    [policy] = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p["name"] == "delivery-runner"]
    statements = json.loads(policy["inputs"]["policy"])["Statement"]
    actions = sorted(a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert not [a for a in actions if a.startswith(("iam:", "sts:", "eks:", "s3:", "secretsmanager:"))]
    [permission] = [s for s in statements if s["Action"] == "ec2:CreateNetworkInterfacePermission"]
    assert len(permission["Condition"]["ArnEquals"]["ec2:Subnet"]) == len(
        environment_configs()[environment].availability_zones
    )
    trust = json.loads(plan.one("aws:iam/role:Role", "delivery-runner")["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "codebuild.amazonaws.com"}


@pytest.mark.parametrize(
    ("delivery", "key"),
    [
        ({"path": "ssm"}, "delivery.path"),
        ({"path": "codebuild", "runnerComputeType": "BUILD_LAMBDA_1GB"}, "delivery.runnerComputeType"),
        ({"path": "codebuild", "runnerLogRetentionDays": 31}, "delivery.runnerLogRetentionDays"),
        ({"path": "codebuild", "runnerImage": "ubuntu:latest"}, "delivery.runnerImage"),
        ({"path": "codebuild", "runner": "big"}, "delivery.runner"),
    ],
)
def test_bad_delivery_config_names_the_key(delivery: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"stack 'dev': config key 'pyairtable-infra:{key}'"):
        build_plan("dev", {"delivery": delivery})


# --- preflight ------------------------------------------------------------------------------------


def fake(answers: dict[str, CommandResult]):
    """A `run` that answers by the command's first two words, recording every call."""
    calls: list[Sequence[str]] = []

    def run(argv: Sequence[str]) -> CommandResult:
        calls.append(argv)
        return answers.get(" ".join(argv[:2]), CommandResult(1, "", "unexpected"))

    run.calls = calls  # type: ignore[attr-defined]
    return run


def context(environment: str, answers: dict[str, CommandResult], **delivery: Any) -> PreflightContext:
    config = environment_configs()[environment]
    if delivery:
        config = config.model_copy(update={"delivery": config.delivery.model_copy(update=delivery)})
    return PreflightContext(stack=environment, config=config, run=fake(answers))


def test_preflight_public_path_passes_inside_the_cidrs_and_fails_outside() -> None:
    inside = str(next(iter(environment_configs()["dev"].public_access_cidrs)).network_address + 7)
    assert check_delivery_path(context("dev", {"curl --silent": CommandResult(0, inside + "\n")})).status == "pass"
    outside = check_delivery_path(context("dev", {"curl --silent": CommandResult(0, "192.0.2.10\n")}))
    assert outside.status == "fail" and "outside publicAccessCidrs" in outside.detail and outside.fix
    missing = check_delivery_path(context("dev", {"curl --silent": CommandResult(127)}))
    assert missing.status == "skip"


def connections(status: str) -> CommandResult:
    """`aws codeconnections list-connections` listing prod's runner connection in `status`."""
    listed = [{"ConnectionName": runner_connection_name("prod"), "ConnectionStatus": status}]
    return CommandResult(0, json.dumps({"Connections": listed}))


def test_preflight_codebuild_path_needs_the_project_and_a_completed_connection() -> None:
    project = CommandResult(0, json.dumps({"projects": [{"name": runner_project_name("prod")}]}))

    ready = {"aws codebuild": project, "aws codeconnections": connections("AVAILABLE")}
    assert check_delivery_path(context("prod", ready)).status == "pass"
    pending = check_delivery_path(context("prod", {**ready, "aws codeconnections": connections("PENDING")}))
    assert pending.status == "fail" and "PENDING" in pending.detail and "Update pending connection" in pending.fix
    first_up = check_delivery_path(context("prod", {"aws codebuild": CommandResult(0, '{"projects": []}')}))
    assert first_up.status == "skip" and "first `pulumi up`" in first_up.fix


def test_preflight_bootstrap_needs_a_versioned_bucket_and_the_oidc_provider() -> None:
    versioned = CommandResult(0, '{"Status": "Enabled"}')
    good = {"aws s3api": versioned, "aws iam": CommandResult(0, "{}")}
    assert check_bootstrap(context("staging", good)).status == "pass"
    unversioned = check_bootstrap(context("staging", {**good, "aws s3api": CommandResult(0, "{}")}))
    assert unversioned.status == "fail" and "never enabled" in unversioned.detail
    no_provider = check_bootstrap(context("staging", {**good, "aws iam": CommandResult(254, "", "NoSuchEntity")}))
    assert no_provider.status == "fail" and "bootstrap" in no_provider.fix
    assert check_bootstrap(context("staging", {"aws s3api": CommandResult(127)})).status == "skip"
