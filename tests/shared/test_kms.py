"""Every KMS key has an explicit policy: administrators apart from users, deletion for the break-glass role only.

Also the two things KMS itself checks on a logs key: CloudWatch Logs may use it only under an
`aws:logs:arn` encryption context of this account, and the creating role keeps `PutKeyPolicy`
(the lockout safety check).
"""

from __future__ import annotations

import json
from typing import Any

from components.config.stack_file import environment_configs
from components.shared.kms import (
    ADMINISTRATOR_ACTIONS,
    KeyAccess,
    key_policy,
    key_policy_lockout_errors,
    logs_user_statement,
)
from tools.plan import Plan

KEY = "aws:kms/key:Key"


def policies(plan: Plan) -> dict[str, dict[str, Any]]:
    return {key["name"]: json.loads(key["inputs"]["policy"]) for key in plan.of_type(KEY)}


def _list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def test_every_key_separates_administrators_users_and_deletion(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    administrators = sorted({*config.admin_role_arns, config.aws_role_arn})
    found = policies(env_plan)
    assert set(found) == {"eks-secrets", "secrets-key-key", "logs-key-key", "datastores-key"}
    for name, policy in found.items():
        statements = {statement["Sid"]: statement for statement in policy["Statement"]}
        admin = statements["KeyAdministrators"]
        assert admin["Principal"] == {"AWS": administrators}
        assert admin["Action"] == list(ADMINISTRATOR_ACTIONS)
        assert not {"kms:Encrypt", "kms:Decrypt", "kms:ScheduleKeyDeletion", "kms:*"} & set(admin["Action"])
        deleting = [s for s in policy["Statement"] if {"kms:ScheduleKeyDeletion", "kms:*"} & set(_list(s["Action"]))]
        assert [s["Principal"] for s in deleting] == [{"AWS": config.break_glass_role_arn}], name
        for statement in policy["Statement"]:
            if statement["Principal"].get("AWS") == f"arn:aws:iam::{config.aws_account_id}:root":
                # The account's IAM policies only ever get the key through one service, never kms:*.
                assert "kms:ViaService" in statement["Condition"]["StringEquals"], name
                assert "kms:*" not in _list(statement["Action"])
        assert key_policy_lockout_errors(policy, config.aws_role_arn) == [], name


def test_the_logs_key_serves_cloudwatch_logs_of_this_account_only(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    statements = {s["Sid"]: s for s in policies(env_plan)["logs-key-key"]["Statement"]}
    logs = statements["CloudWatchLogs"]
    assert logs["Principal"] == {"Service": f"logs.{config.aws_region}.amazonaws.com"}
    groups_of_account = f"arn:aws:logs:{config.aws_region}:{config.aws_account_id}:log-group:*"
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": groups_of_account}}
    groups = env_plan.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert groups and {g["inputs"]["kmsKeyId"] for g in groups} == {"arn:aws:mock:::key/logs-key-key"}


def test_the_cluster_role_is_the_secrets_envelope_keys_only_user(env_plan: Plan) -> None:
    users = [
        s
        for s in policies(env_plan)["eks-secrets"]["Statement"]
        if s["Sid"] not in ("KeyAdministrators", "BreakGlassDeletion")
    ]
    assert [s["Principal"] for s in users] == [{"AWS": "arn:aws:mock:::role/eks-cluster"}]
    assert "kms:ScheduleKeyDeletion" not in users[0]["Action"]


def test_the_lockout_check_fails_without_the_creating_role() -> None:
    """KMS refuses a policy that leaves its creator no PutKeyPolicy; the offline check finds it too."""
    creator = "arn:aws:iam::111111111111:role/pyairtable-pulumi"
    others = KeyAccess(
        administrators=["arn:aws:iam::111111111111:role/pyairtable-admin"],
        break_glass_role_arn="arn:aws:iam::111111111111:role/break-glass",
    )
    policy = key_policy(others, logs_user_statement("us-east-1", "111111111111"))
    assert key_policy_lockout_errors(policy, creator) == [
        f"{creator} could not change the key policy afterwards (no unconditional kms:PutKeyPolicy)"
    ]
    with_creator = key_policy(KeyAccess([*others.administrators, creator], others.break_glass_role_arn))
    assert key_policy_lockout_errors(with_creator, creator) == []
