"""Customer-managed KMS keys: explicit key policies, yearly rotation, the longest deletion window.

Every key's policy separates three kinds of principal (CKV2_AWS_64, EKS Best Practices):
- key administrators (the admin roles and the role Pulumi runs as) manage the key but cannot use it
  to encrypt or decrypt, and cannot schedule its deletion;
- the break-glass role alone may schedule deletion (`ScheduleKeyDeletion`);
- key users, given per key: an AWS service principal with an encryption-context condition (CloudWatch
  Logs), a role by ARN (the EKS control plane), or the account's IAM policies through one AWS
  service only (Secrets Manager, `kms:ViaService`).
There is no statement giving the account root `kms:*`: that would let any IAM admin use or delete
the key and make the separation above meaningless. KMS refuses a policy that would lock out the
principal creating it (the lockout safety check), so the role Pulumi runs as is always an
administrator with `kms:PutKeyPolicy`; `key_policy_lockout_errors` checks that offline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared.iam import policy_document

DELETION_WINDOW_DAYS = 30
"""The longest window KMS allows (7 to 30 days): a mistaken delete can be cancelled for a month."""

ADMINISTRATOR_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
"""What a key administrator may do: manage, never use (no Encrypt/Decrypt) and never schedule deletion."""
BREAK_GLASS_ACTIONS = ("kms:DescribeKey", "kms:ScheduleKeyDeletion")
USER_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")
"""What a key user may do: use the key for data, nothing about the key itself."""


@dataclass(frozen=True)
class KeyAccess:
    """Who administers and who may delete a key (the environment's config)."""

    administrators: Sequence[str]
    """Role ARNs that manage the key; must include the role Pulumi runs as (KMS's lockout check)."""
    break_glass_role_arn: str
    """The only role that may schedule the key's deletion."""


def key_policy(access: KeyAccess, *users: Mapping[str, Any]) -> dict[str, Any]:
    """The key policy: administrators, the break-glass role, then the given key-user statements."""
    return policy_document(
        {
            "Sid": "KeyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(set(access.administrators))},
            "Action": list(ADMINISTRATOR_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "BreakGlassDeletion",
            "Effect": "Allow",
            "Principal": {"AWS": access.break_glass_role_arn},
            "Action": list(BREAK_GLASS_ACTIONS),
            "Resource": "*",
        },
        *users,
    )


def role_user_statement(sid: str, role_arn: pulumi.Input[str], actions: Sequence[str] = USER_ACTIONS) -> dict[str, Any]:
    """A key-user statement for one role by ARN (the role must exist before the key policy names it)."""
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": list(actions), "Resource": "*"}


GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
"""What a storage service (RDS, ElastiCache, AWS Backup) needs beyond use: grants for its own resources."""


def via_service_user_statement(
    sid: str, account_id: str, service_host: str, actions: Sequence[str] = USER_ACTIONS
) -> dict[str, Any]:
    """Key use by the account's IAM principals, only as `service_host` (e.g. Secrets Manager) calls KMS for them.

    The roles' own IAM policies still decide who; the key only ever serves that one service.
    """
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": list(actions),
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": service_host, "kms:CallerAccount": account_id}},
    }


def logs_user_statement(region: str, account_id: str) -> dict[str, Any]:
    """CloudWatch Logs may use the key for this account's log groups only (encryption-context condition)."""
    return {
        "Sid": "CloudWatchLogs",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
        "Resource": "*",
        "Condition": {
            "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account_id}:log-group:*"}
        },
    }


def key_policy_lockout_errors(policy: Mapping[str, Any], caller_role_arn: str) -> list[str]:
    """Why KMS's lockout safety check would refuse `policy` when `caller_role_arn` creates it (empty: it passes).

    KMS requires that the creating principal may call `PutKeyPolicy` under the new policy; an Allow
    statement naming the caller with that action (or `kms:*`) satisfies it.
    """
    for statement in policy.get("Statement", []):
        principals = statement.get("Principal", {}).get("AWS", [])
        principals = [principals] if isinstance(principals, str) else list(principals)
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else list(actions)
        if (
            statement.get("Effect") == "Allow"
            and caller_role_arn in principals
            and ({"kms:PutKeyPolicy", "kms:*"} & set(actions))
            and "Condition" not in statement
        ):
            return []
    return [f"{caller_role_arn} could not change the key policy afterwards (no unconditional kms:PutKeyPolicy)"]


def rotating_key(
    name: str,
    *,
    alias: str,
    description: str,
    policy: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    protect: bool,
) -> aws.kms.Key:
    """A rotating key with an explicit policy and its alias, both declared under `name`.

    `protect` guards the key (not the alias); `opts` carries the parent and provider of both.
    """
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=DELETION_WINDOW_DAYS,
        policy=policy,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=protect)),
    )
    aws.kms.Alias(name, name=alias, target_key_id=key.key_id, opts=opts)
    return key


@dataclass(frozen=True)
class LogsKeyArgs:
    """Inputs of `LogsKey`."""

    alias: str
    """Alias of the key, e.g. `alias/pyairtable-dev-logs`."""
    region: str
    """The region of the log groups (CloudWatch Logs' service principal is regional)."""
    account_id: str
    """The environment's account: the key serves only its log groups."""
    access: KeyAccess
    """Administrators and the break-glass role."""
    protect: bool
    """Protect the key from deletion (prod: losing it makes the logs unreadable)."""


class LogsKey(pulumi.ComponentResource):
    """The environment's customer-managed key for CloudWatch Logs (control-plane and flow logs, CKV_AWS_158)."""

    arn: pulumi.Output[str]
    """ARN of the key, for `kmsKeyId` of every log group."""
    policy: dict[str, Any]
    """The key policy (plain data: its inputs are config values)."""

    def __init__(self, name: str, args: LogsKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:kms:LogsKey", name, None, opts)
        self.policy = key_policy(args.access, logs_user_statement(args.region, args.account_id))
        key = rotating_key(
            f"{name}-key",
            alias=args.alias,
            description="CloudWatch Logs of the environment (control plane, VPC flow logs)",
            policy=pulumi.Output.json_dumps(self.policy),
            opts=pulumi.ResourceOptions(parent=self),
            protect=args.protect,
        )
        self.arn = key.arn
        self.register_outputs({"arn": key.arn})
