"""The offline plan's contract: its JSON shape, secret masking, stack ownership and snapshots."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from components.config.common import STACKS
from components.shared.paths import PROJECT_ROOT
from tests.conftest import stack_plan
from tools.plan import Plan, build_plan
from tools.plan_diff import diff_plans, render
from tools.snapshots import serialize, snapshot_path

ROOT = PROJECT_ROOT
OPTION_KEYS = {"protect", "retainOnDelete", "ignoreChanges", "import", "dependsOn"}
RESOURCE_KEYS = {"urn", "type", "name", "parent", "provider", "custom", "inputs", "options"}
# What each kind of stack may declare: the org stack GitHub only, environments AWS and Kubernetes
# (plus random values and their rotation timestamps, and the JWT signing key pair from `tls`).
ORG_PACKAGES = {"github", "pyairtable"}
ENV_PACKAGES = {"aws", "kubernetes", "random", "time", "tls", "pyairtable"}


def package_of(type_token: str) -> str:
    """`aws:eks/cluster:Cluster` -> aws; `pulumi:providers:aws` -> aws."""
    parts = type_token.split(":")
    return parts[2] if parts[:2] == ["pulumi", "providers"] else parts[0]


def test_json_contract(any_plan: Plan) -> None:
    plan = any_plan.as_json()
    assert set(plan) == {"stack", "resources", "outputs"}
    assert plan["stack"] == any_plan.stack
    assert plan["resources"], "every stack declares resources"
    for resource in plan["resources"]:
        assert set(resource) == RESOURCE_KEYS
        assert set(resource["options"]) == OPTION_KEYS
        assert resource["urn"].startswith(f"urn:pulumi:{any_plan.stack}::pyairtable-infra::")
        assert resource["urn"].endswith(f"::{resource['name']}")
        assert isinstance(resource["custom"], bool)
        assert isinstance(resource["options"]["protect"], bool)
        assert isinstance(resource["options"]["ignoreChanges"], list)
    json.dumps(plan)  # plain JSON data only


def test_every_custom_resource_names_an_explicit_provider(any_plan: Plan) -> None:
    provider_urns = {r["urn"] for r in any_plan.resources if r["type"].startswith("pulumi:providers:")}
    for resource in any_plan.resources:
        if resource["custom"] and not resource["type"].startswith("pulumi:providers:"):
            assert resource["provider"] in provider_urns, f"{resource['urn']} uses a default provider"


def test_each_stack_declares_only_its_own_providers_resources(any_plan: Plan) -> None:
    allowed = ORG_PACKAGES if any_plan.stack == "org" else ENV_PACKAGES
    packages = {package_of(resource["type"]) for resource in any_plan.resources}
    assert packages <= allowed, f"stack {any_plan.stack} declares {sorted(packages - allowed)}"


def test_no_resource_is_declared_by_two_stacks() -> None:
    """Cloud identity: the GitHub org belongs to one stack; each environment has its own AWS account."""
    owners: dict[tuple[str, str], str] = {}
    accounts = set()
    for stack in STACKS:
        plan = stack_plan(stack)
        for resource in plan.resources:
            if package_of(resource["type"]) == "github" and not resource["type"].startswith("pulumi:"):
                key = (resource["type"], resource["name"])
                assert owners.setdefault(key, stack) == stack, f"{key} declared by {owners[key]} and {stack}"
        providers = plan.of_type("pulumi:providers:aws")
        if stack == "org":
            assert not providers
            assert {package_of(r["type"]) for r in plan.resources} >= {"github"}
        else:
            assert len(providers) == 1
            account = tuple(json.loads(providers[0]["inputs"]["allowedAccountIds"]))
            assert account not in accounts, f"{stack} shares an AWS account with another environment"
            accounts.add(account)


def test_secret_config_values_are_masked() -> None:
    # A secret config value flows into whatever the program declares from it, always masked.
    plan = build_plan("dev")
    text = json.dumps(plan.as_json())
    assert "offline-plan-test-value" not in text
    assert "mock-random" not in text, "generated values must stay secret"


def test_snapshots_match_the_program(any_plan: Plan) -> None:
    path = snapshot_path(any_plan.stack)
    assert path.exists(), f"no snapshot for {any_plan.stack}: run `make snapshots`"
    expected = json.loads(path.read_text())
    actual = json.loads(serialize(any_plan.as_json()))
    diff = diff_plans(expected, actual)
    assert actual == expected, "plan differs from its snapshot (run `make snapshots` if intended):\n" + render(
        diff, "snapshot", "program"
    )


def test_snapshot_comparison_catches_a_changed_property(any_plan: Plan) -> None:
    changed = json.loads(serialize(any_plan.as_json()))
    resource = next(r for r in changed["resources"] if r["custom"])
    resource["inputs"]["plantedProperty"] = "changed"
    diff = diff_plans(any_plan.as_json(), changed)
    assert list(diff["changed"]) == [resource["urn"].split("::", 2)[2]]
    assert diff["changed"][resource["urn"].split("::", 2)[2]] == [("inputs.plantedProperty", None, "changed")]
    assert changed != json.loads(snapshot_path(any_plan.stack).read_text())


def test_plan_is_deterministic() -> None:
    assert build_plan("dev").as_json() == stack_plan("dev").as_json()


def test_diff_of_two_stacks_names_changed_properties() -> None:
    text = render(diff_plans(stack_plan("dev").as_json(), stack_plan("prod").as_json()), "dev", "prod")
    assert "allowedAccountIds" in text
    assert '"[\\"111111111111\\"]" -> "[\\"333333333333\\"]"' in text


def _run_plan_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [sys.executable, "-m", "tools.plan", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_writes_the_json_plan(tmp_path: Path) -> None:
    output = tmp_path / "dev.json"
    result = _run_plan_cli(ROOT, "dev", "--json", str(output))
    assert result.returncode == 0, result.stderr
    assert "== stack dev:" in result.stdout
    assert json.loads(output.read_text()) == json.loads(serialize(stack_plan("dev").as_json()))


def test_cli_bad_config_exits_nonzero_with_one_clear_message(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(
        ROOT, project, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "snapshots", "node_modules")
    )
    stack_file = project / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("capacityStrategy: spot", "capacityStrategy: cheap"))
    result = _run_plan_cli(project, "dev")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: stack 'dev': config key 'pyairtable-infra:capacityStrategy' = 'cheap'")
    assert "'spot', 'mixed' or 'reserved'" in result.stderr


def test_an_invoke_fails_the_plan() -> None:
    """Config says what a data source would look up; an invoke the plan does not expect is an error."""

    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        aws.get_availability_zones(opts=pulumi.InvokeOptions(provider=provider))

    with pytest.raises(Exception, match="unexpected invoke aws:index/getAvailabilityZones:getAvailabilityZones"):
        build_plan("dev", program=program)
