"""The bootstrap (bootstrap/): per account, the state bucket and its backup, the secrets keys, the one
GitHub OIDC provider, and separate up, preview and drift roles for each stack kept there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from bootstrap.plan import ACCOUNTS, BOOTSTRAP_ROOT, bootstrap_plan
from bootstrap.settings import BOOTSTRAP_KEY_STACK, PROJECT, parse_bootstrap_config
from bootstrap.state_backend import NEWEST_VERSIONS_KEPT
from components.config.common import ORG_STACK, STACKS
from components.config.stack_file import environment_configs
from components.cost.prices import load_prices
from components.delivery.names import (
    GITHUB_OIDC_HOST,
    backend_url,
    drift_role_name,
    preview_role_name,
    secrets_key_alias,
    secrets_provider_url,
    state_bucket_name,
    up_role_name,
)
from components.shared.errors import ConfigError
from components.shared.kms import DELETION_WINDOW_DAYS, key_policy_lockout_errors
from components.shared.naming import role_arn
from components.shared.paths import PROJECT_ROOT
from tests.conftest import stack_plan
from tools.plan import Plan
from tools.snapshots import snapshot_path

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"


def bootstrap_settings(account: str) -> dict[str, Any]:
    return yaml.safe_load((BOOTSTRAP_ROOT / f"Pulumi.{account}.yaml").read_text())


def hosted(account: str) -> list[str]:
    return bootstrap_settings(account)["config"][f"{PROJECT}:stacks"]


def host_of(stack: str) -> str:
    [account] = [account for account in ACCOUNTS if stack in hosted(account)]
    return account


@pytest.fixture(params=ACCOUNTS)
def account_plan(request: pytest.FixtureRequest) -> Plan:
    return bootstrap_plan(request.param)


def test_the_snapshots_match_the_bootstrap(account_plan: Plan) -> None:
    path = snapshot_path(f"bootstrap-{account_plan.stack}")
    assert json.loads(path.read_text()) == account_plan.as_json(), "run `make snapshots`"


def test_every_stack_keeps_its_state_in_exactly_one_account_the_org_stack_in_prod() -> None:
    assert sorted(stack for account in ACCOUNTS for stack in hosted(account)) == sorted(STACKS)
    assert host_of(ORG_STACK) == "prod"
    for account in ACCOUNTS:
        assert account in hosted(account)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_names_its_own_kms_secrets_provider(stack: str) -> None:
    region = environment_configs()[host_of(stack)].aws_region
    stack_file = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    assert stack_file["secretsprovider"] == secrets_provider_url(stack, region)
    assert "backend" not in stack_file, "jobs set PULUMI_BACKEND_URL; stack files have no backend"


def test_the_bootstrap_stack_files_name_the_bootstrap_key() -> None:
    for account in ACCOUNTS:
        region = environment_configs()[account].aws_region
        assert bootstrap_settings(account)["secretsprovider"] == secrets_provider_url(BOOTSTRAP_KEY_STACK, region)


def test_the_readme_lists_every_stack_backend() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    for stack in STACKS:
        config = environment_configs()[host_of(stack)]
        url = backend_url(config.aws_account_id, config.aws_region)
        assert f"| `{stack}` | `{url}` |" in readme, f"README backend table misses {stack}"


# --- the state bucket ---------------------------------------------------------------------------


def one_input(plan: Plan, type_name: str) -> dict[str, Any]:
    return plan.one(f"aws:s3/{type_name}")["inputs"]


def test_the_state_bucket_is_private_versioned_encrypted_tls_only_and_protected(account_plan: Plan) -> None:
    account_id = environment_configs()[account_plan.stack].aws_account_id
    bucket = account_plan.one("aws:s3/bucket:Bucket")
    assert bucket["inputs"]["bucket"] == state_bucket_name(account_id)
    assert bucket["options"]["protect"] and bucket["options"]["retainOnDelete"]
    versioning = one_input(account_plan, "bucketVersioning:BucketVersioning")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    [rule] = one_input(account_plan, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[
        "rules"
    ]
    state_key = account_plan.one("aws:kms/key:Key", "state-key")
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": f"arn:aws:mock:::key/{state_key['name']}",
    }
    block = one_input(account_plan, "bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"))
    assert block["restrictPublicBuckets"] is True
    [statement] = json.loads(one_input(account_plan, "bucketPolicy:BucketPolicy")["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert one_input(account_plan, "bucketOwnershipControls:BucketOwnershipControls")["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }


def test_old_state_versions_expire_after_the_configured_days(account_plan: Plan) -> None:
    settings = parse_bootstrap_config(account_plan.stack, {f"{PROJECT}:stacks": json.dumps(hosted(account_plan.stack))})
    lifecycle = account_plan.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    [rule] = lifecycle["inputs"]["rules"]
    assert rule["noncurrentVersionExpiration"] == {
        "noncurrentDays": settings.settings.state_version_days,
        "newerNoncurrentVersions": NEWEST_VERSIONS_KEPT,
    }
    assert account_plan.one("aws:s3/bucketVersioning:BucketVersioning")["urn"] in lifecycle["options"]["dependsOn"]


def test_the_state_is_backed_up_continuously_into_a_protected_encrypted_vault(account_plan: Plan) -> None:
    vault = account_plan.one("aws:backup/vault:Vault")
    assert vault["options"]["protect"] and vault["inputs"]["kmsKeyArn"].endswith("/state-key")
    [rule] = account_plan.one("aws:backup/plan:Plan")["inputs"]["rules"]
    assert rule["enableContinuousBackup"] is True and rule["lifecycle"]["deleteAfter"] == 35
    selection = account_plan.one("aws:backup/selection:Selection")
    bucket = account_plan.one("aws:s3/bucket:Bucket")
    assert selection["inputs"]["resources"] == [f"arn:aws:mock:::bucket/{bucket['name']}"]  # the mock's ARN


def test_every_key_is_protected_rotating_with_the_longest_window_one_per_stack(account_plan: Plan) -> None:
    keys = account_plan.of_type("aws:kms/key:Key")
    assert all(k["options"]["protect"] and k["inputs"]["enableKeyRotation"] for k in keys)
    assert {k["inputs"]["deletionWindowInDays"] for k in keys} == {DELETION_WINDOW_DAYS}
    aliases = sorted(alias["inputs"]["name"] for alias in account_plan.of_type("aws:kms/alias:Alias"))
    expected = [secrets_key_alias(stack) for stack in [*hosted(account_plan.stack), BOOTSTRAP_KEY_STACK]]
    assert aliases == sorted([*expected, "alias/pyairtable-pulumi-state"])


# --- the GitHub OIDC provider: one owner ---------------------------------------------------------


def github_providers(plan: Plan) -> list[dict[str, Any]]:
    return [p for p in plan.of_type(OIDC) if p["inputs"]["url"] == f"https://{GITHUB_OIDC_HOST}"]


def test_the_bootstrap_owns_the_github_oidc_provider(account_plan: Plan) -> None:
    [provider] = github_providers(account_plan)
    assert provider["options"]["protect"] and provider["inputs"]["clientIdLists"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize("environment", ACCOUNTS)
def test_no_environment_stack_declares_the_github_oidc_provider(environment: str) -> None:
    assert github_providers(stack_plan(environment)) == []


# --- the roles ----------------------------------------------------------------------------------


def role(plan: Plan, name: str) -> dict[str, Any]:
    [found] = [r for r in plan.of_type(ROLE) if r["inputs"]["name"] == name]
    return found


def trust(plan: Plan, name: str) -> list[dict[str, Any]]:
    return json.loads(role(plan, name)["inputs"]["assumeRolePolicy"])["Statement"]


def subjects(statements: list[dict[str, Any]]) -> list[str]:
    return [
        s
        for st in statements
        if "Federated" in st["Principal"]
        for s in st["Condition"]["StringLike"][f"{GITHUB_OIDC_HOST}:sub"]
    ]


def policies_of(plan: Plan, role_resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in plan.of_type(ROLE_POLICY):
        if policy["inputs"]["role"] == f"{role_resource['name']}-id":
            yield from json.loads(policy["inputs"]["policy"])["Statement"]


def managed(plan: Plan, role_resource: dict[str, Any]) -> set[str]:
    return {
        a["inputs"]["policyArn"]
        for a in plan.of_type(ATTACHMENT)
        if a["inputs"]["role"] == role_resource["inputs"]["name"]
    }


def hosted_stacks() -> list[tuple[str, str]]:
    return [(account, stack) for account in ACCOUNTS for stack in hosted(account)]


@pytest.mark.parametrize(("account", "stack"), hosted_stacks())
def test_the_up_role_trusts_only_the_github_environment_of_its_stack(account: str, stack: str) -> None:
    plan = bootstrap_plan(account)
    statements = trust(plan, up_role_name(stack))
    assert subjects(statements) == [
        f"repo:pyairtable/pyairtable-infra:environment:{stack}",
        f"repo:pyairtable/pyairtable-infra:environment:{stack}:job_workflow_ref:"
        "pyairtable/pyairtable-infra/.github/workflows/up.yml@refs/heads/main",
    ]
    people = [st for st in statements if "AWS" in st["Principal"]]
    admins = [a for a in environment_configs()[account].admin_role_arns if "pyairtable-infra-" not in a]
    assert [st["Condition"]["ArnEquals"]["aws:PrincipalArn"] for st in people] == [admins]


@pytest.mark.parametrize(("account", "stack"), hosted_stacks())
def test_the_read_only_roles_trust_pull_requests_and_the_drift_environment_only(account: str, stack: str) -> None:
    plan = bootstrap_plan(account)
    assert subjects(trust(plan, preview_role_name(stack))) == [
        "repo:pyairtable/pyairtable-infra:pull_request",
        "repo:pyairtable/pyairtable-infra:pull_request:job_workflow_ref:"
        "pyairtable/pyairtable-infra/.github/workflows/preview.yml@refs/pull/*/merge",
    ]
    assert [s.split(":job_workflow_ref")[0] for s in subjects(trust(plan, drift_role_name(stack)))] == [
        "repo:pyairtable/pyairtable-infra:environment:drift"
    ] * 2
    for name in (preview_role_name(stack), drift_role_name(stack)):
        assert all("Federated" in st["Principal"] for st in trust(plan, name)), "no person assumes a reader"


WRITE_PREFIXES = ("Put", "Delete", "Create", "Update", "Attach", "Detach", "Encrypt", "Schedule", "Tag", "Untag")


def writes(statements: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Allowed actions that change something, with their resources (kms:GenerateDataKey encrypts)."""
    found = []
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            verb = action.split(":")[1]
            if verb.startswith(WRITE_PREFIXES) or verb == "*" or action == "kms:GenerateDataKey":
                found.append((action, statement["Resource"]))
    return found


@pytest.mark.parametrize(("account", "stack"), hosted_stacks())
def test_the_read_only_roles_write_nothing_but_their_lock(account: str, stack: str) -> None:
    plan = bootstrap_plan(account)
    for name in (preview_role_name(stack), drift_role_name(stack)):
        reader = role(plan, name)
        assert {action for action, resource in writes(list(policies_of(plan, reader)))} == {
            "s3:PutObject",
            "s3:DeleteObject",
            "kms:GenerateDataKey",
        }
        for action, resource in writes(list(policies_of(plan, reader))):
            assert "/.pulumi/locks/" in resource or resource.endswith("/state-key"), (action, resource)
        expected = {"arn:aws:iam::aws:policy/ReadOnlyAccess"} if stack != ORG_STACK else set()
        assert managed(plan, reader) == expected


def test_the_write_check_catches_a_crafted_write() -> None:
    assert writes([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "x"}]) == [
        ("s3:PutObject", "x")
    ]
    assert writes([{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]) == [("iam:*", "*")]


@pytest.mark.parametrize(("account", "stack"), hosted_stacks())
def test_the_up_role_writes_its_own_state_and_cannot_touch_the_bootstrap(account: str, stack: str) -> None:
    plan = bootstrap_plan(account)
    up = role(plan, up_role_name(stack))
    statements = list(policies_of(plan, up))
    state_writes = [resource for action, resource in writes(statements) if action == "s3:PutObject"]
    assert state_writes and all(f"/pyairtable-infra/{stack}" in r for resources in state_writes for r in resources)
    if stack == ORG_STACK:
        assert managed(plan, up) == set(), "the org stack needs no AWS access beyond its state"
        return
    assert managed(plan, up) == {"arn:aws:iam::aws:policy/AdministratorAccess"}
    denied = {st["Sid"] for st in statements if st["Effect"] == "Deny"}
    assert denied == {"StateBucketStaysAsBootstrapped", "StateKeysStay", "CiIdentityStays", "BackupsStay"}


def test_up_preview_and_drift_are_three_distinct_roles() -> None:
    for account, stack in hosted_stacks():
        names = {up_role_name(stack), preview_role_name(stack), drift_role_name(stack)}
        assert len(names) == 3 and all(role(bootstrap_plan(account), name) for name in names)


@pytest.mark.parametrize("environment", ACCOUNTS)
def test_the_environment_runs_as_its_up_role_which_is_also_an_admin(environment: str) -> None:
    """CI empties awsRoleArn and runs as the job's own role: the access entries stay the same only
    because the up role is among the administrators (README "Delivery")."""
    config = environment_configs()[environment]
    up = role_arn(config.aws_account_id, up_role_name(environment))
    assert config.aws_role_arn == up and up in config.admin_role_arns


# --- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "raw", "message"),
    [
        ("dev", {f"{PROJECT}:stacks": '["dev", "qa"]'}, "must name distinct stacks"),
        ("dev", {f"{PROJECT}:stacks": '["org"]'}, "must include the account's own environment 'dev'"),
        ("dev", {f"{PROJECT}:stacks": '["dev"]', f"{PROJECT}:stateVersionDays": "5"}, "stateVersionDays"),
        ("dev", {"aws:region": "us-east-1"}, "is not a pyairtable-bootstrap key"),
        ("org", {f"{PROJECT}:stacks": '["org"]'}, "one per AWS account"),
    ],
)
def test_bad_bootstrap_config_is_one_clear_error(stack: str, raw: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        parse_bootstrap_config(stack, raw)
    assert str(error.value).startswith("stack ")


def test_the_bootstrap_bill_counts_the_keys_it_declares_and_prices_them_from_the_table(account_plan: Plan) -> None:
    bill = account_plan.outputs["cost"]
    items = {item["item"]: item for item in bill["items"]}
    assert items["KMS keys"]["quantity"] == len(account_plan.of_type("aws:kms/key:Key"))
    region = environment_configs()[account_plan.stack].aws_region
    prices = load_prices().region(region)
    assert items["KMS keys"]["unitPriceUsd"] == prices.rate("kmsKey").usd
    assert items["state backups (AWS Backup, warm)"]["unitPriceUsd"] == prices.rate("backupS3Warm").usd
    assert bill["monthlyUsd"] == round(sum(item["monthlyUsd"] for item in bill["items"]), 2)
    assert bill["overBudget"] is (bill["monthlyUsd"] > bill["budgetUsd"])


def test_every_key_has_an_explicit_policy_people_administer_and_only_the_up_role_encrypts(account_plan: Plan) -> None:
    config = environment_configs()[account_plan.stack]
    people = [arn for arn in config.admin_role_arns if "pyairtable-infra-" not in arn]
    for key in account_plan.of_type("aws:kms/key:Key"):
        policy = json.loads(key["inputs"]["policy"])
        assert key_policy_lockout_errors(policy, people[0]) == [], key["name"]
        statements = {statement["Sid"]: statement for statement in policy["Statement"]}
        assert statements["BreakGlassDeletion"]["Principal"] == {"AWS": config.break_glass_role_arn}
        if key["name"].endswith("-secrets") and key["name"] != "bootstrap-secrets":
            stack = key["name"].removesuffix("-secrets")
            assert statements["UpEncryptsAndDecrypts"]["Principal"]["AWS"].endswith(f"/{up_role_name(stack)}")
            for reader in ("PreviewDecrypts", "DriftDecrypts"):
                assert statements[reader]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
