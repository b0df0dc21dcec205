"""Per pyairtable-infra stack: its secrets-provider key and the three roles its workflows assume.

- **up** (`up.yml`): trusted for the GitHub environment of the stack's name in pyairtable-infra only
  (where the prod gate of the GitHub issue applies), and for the account's administrators by hand.
  Reads and writes the stack's state, encrypts and decrypts its secrets; an environment's up role
  administers the account, except what the bootstrap owns (state bucket, keys, backups, these roles,
  the OIDC provider), which an explicit deny keeps out of reach.
- **preview** (`preview.yml`): trusted for `pull_request` events of pyairtable-infra only. Reads the
  stack's state and decrypts its secrets, reads the account (a refresh must), writes nothing but the
  state lock the backend takes for a preview.
- **drift** (`drift.yml`): the same read-only access, trusted for the GitHub environment `drift`.

The bootstrap itself is never run by CI: a workflow that could change these roles could widen them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config.common import PROJECT
from components.delivery.names import (
    DRIFT_ENVIRONMENT,
    DRIFT_WORKFLOW,
    GITHUB_OIDC_HOST,
    PREVIEW_WORKFLOW,
    UP_WORKFLOW,
    drift_role_name,
    preview_role_name,
    secrets_key_alias,
    up_role_name,
    workflow_subject,
)
from components.shared.iam import WEB_IDENTITY_AUDIENCE, policy_document
from components.shared.kms import KeyAccess, key_policy, role_user_statement, rotating_key

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY_ACCESS = "arn:aws:iam::aws:policy/ReadOnlyAccess"
UP_SESSION_SECONDS = 7200
"""An up that creates a cluster and its node groups takes longer than the default hour."""
READ_SESSION_SECONDS = 3600


def state_objects(bucket_arn: pulumi.Input[str], stack: str) -> list[pulumi.Output[str]]:
    """ARNs of one stack's objects in the DIY backend's project-scoped layout: its checkpoint, its
    history and backups, and its locks (`.pulumi/locks/<org>/<project>/<stack>/`)."""
    paths = (
        f"/.pulumi/stacks/{PROJECT}/{stack}.json*",
        f"/.pulumi/history/{PROJECT}/{stack}/*",
        f"/.pulumi/backups/{PROJECT}/{stack}/*",
        f"/.pulumi/locks/*/{PROJECT}/{stack}/*",
    )
    return [pulumi.Output.concat(bucket_arn, path) for path in paths]


def lock_objects(bucket_arn: pulumi.Input[str], stack: str) -> pulumi.Output[str]:
    """ARN pattern of one stack's lock files (a preview takes the lock too)."""
    return pulumi.Output.concat(bucket_arn, f"/.pulumi/locks/*/{PROJECT}/{stack}/*")


@dataclass(frozen=True)
class StackAccessArgs:
    """Inputs of `StackAccess`."""

    stack: str
    """The pyairtable-infra stack (org, dev, staging or prod)."""
    account_id: str
    """The AWS account holding the stack's state."""
    region: str
    """The account's region (Secrets Manager ARNs of an environment)."""
    organization: str
    """GitHub organization of pyairtable-infra."""
    oidc_provider_arn: pulumi.Input[str]
    """The account's GitHub Actions OIDC provider."""
    bucket_arn: pulumi.Input[str]
    """The state bucket."""
    state_key_arn: pulumi.Input[str]
    """The key that encrypts the state bucket."""
    other_stacks: Sequence[str]
    """The other stacks keeping state in the same bucket: the read-only roles are denied their state."""
    administrator_role_arns: Sequence[str]
    """People's roles that may assume the up role by hand (break glass)."""
    manages_account: bool
    """True for an environment stack (its up role administers the account), False for org (GitHub only)."""
    key_access: KeyAccess
    """The account's administrators and break-glass role (the secrets key's explicit policy)."""


class StackAccess(pulumi.ComponentResource):
    """A stack's secrets-provider key and its up, preview and drift roles."""

    up_role_arn: pulumi.Output[str]
    """The role `up.yml` assumes."""
    preview_role_arn: pulumi.Output[str]
    """The role `preview.yml` assumes."""
    drift_role_arn: pulumi.Output[str]
    """The role `drift.yml` assumes."""

    def __init__(self, name: str, args: StackAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:bootstrap:StackAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        organization, stack = args.organization, args.stack
        up_subjects = workflow_subject(organization, f"environment:{stack}", UP_WORKFLOW, "refs/heads/main")
        up = self._role(
            f"{name}-up",
            role_name=up_role_name(stack),
            description=f"pulumi up of {stack} from pyairtable-infra's up.yml (GitHub environment {stack})",
            statements=[
                *self._trust(args, up_subjects),
                self._people(args),
            ],
            session_seconds=UP_SESSION_SECONDS,
            opts=child,
        )
        preview = self._role(
            f"{name}-preview",
            role_name=preview_role_name(stack),
            description=f"pulumi preview of {stack} on pull requests of pyairtable-infra (read-only)",
            statements=self._trust(
                args, workflow_subject(organization, "pull_request", PREVIEW_WORKFLOW, "refs/pull/*/merge")
            ),
            session_seconds=READ_SESSION_SECONDS,
            opts=child,
        )
        drift = self._role(
            f"{name}-drift",
            role_name=drift_role_name(stack),
            description=f"nightly drift check of {stack} (read-only)",
            statements=self._trust(
                args,
                workflow_subject(organization, f"environment:{DRIFT_ENVIRONMENT}", DRIFT_WORKFLOW, "refs/heads/main"),
            ),
            session_seconds=READ_SESSION_SECONDS,
            opts=child,
        )
        # The CLI calls KMS itself (no service in between): the key names its users, so the roles come first.
        key = rotating_key(
            f"{name}-secrets",
            alias=secrets_key_alias(args.stack),
            description=f"Secrets provider of the {args.stack} stack (losing it loses every secret in its state)",
            policy=pulumi.Output.json_dumps(
                key_policy(
                    args.key_access,
                    role_user_statement("UpEncryptsAndDecrypts", up.arn),
                    role_user_statement("PreviewDecrypts", preview.arn, ("kms:Decrypt", "kms:DescribeKey")),
                    role_user_statement("DriftDecrypts", drift.arn, ("kms:Decrypt", "kms:DescribeKey")),
                )
            ),
            opts=child,
            protect=True,
        )
        aws.iam.RolePolicy(f"{name}-up-state", role=up.id, policy=self._write_policy(args, key), opts=child)
        for role, suffix in ((preview, "preview"), (drift, "drift")):
            aws.iam.RolePolicy(f"{name}-{suffix}-state", role=role.id, policy=self._read_policy(args, key), opts=child)
        if args.manages_account:
            aws.iam.RolePolicyAttachment(f"{name}-up-admin", role=up.name, policy_arn=ADMINISTRATOR_ACCESS, opts=child)
            aws.iam.RolePolicy(f"{name}-up-guard", role=up.id, policy=self._guard_policy(args), opts=child)
            for role, suffix in ((preview, "preview"), (drift, "drift")):
                aws.iam.RolePolicyAttachment(
                    f"{name}-{suffix}-read", role=role.name, policy_arn=READ_ONLY_ACCESS, opts=child
                )
        self.up_role_arn = up.arn
        self.preview_role_arn = preview.arn
        self.drift_role_arn = drift.arn
        self.register_outputs(
            {
                "secretsKeyArn": key.arn,
                "upRoleArn": self.up_role_arn,
                "previewRoleArn": self.preview_role_arn,
                "driftRoleArn": self.drift_role_arn,
            }
        )

    @staticmethod
    def _trust(args: StackAccessArgs, subjects: Sequence[str]) -> list[dict[str, Any]]:
        """GitHub's OIDC tokens whose `sub` is one of `subjects` (a pattern: StringLike), audience STS."""
        return [
            {
                "Effect": "Allow",
                "Principal": {"Federated": args.oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": WEB_IDENTITY_AUDIENCE},
                    "StringLike": {f"{GITHUB_OIDC_HOST}:sub": list(subjects)},
                },
            }
        ]

    @staticmethod
    def _people(args: StackAccessArgs) -> dict[str, Any]:
        """The account's administrators, by principal ARN (a role named in a trust policy must already
        exist; the account principal with a condition does not need that)."""
        return {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{args.account_id}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": list(args.administrator_role_arns)}},
        }

    @staticmethod
    def _role(
        name: str,
        *,
        role_name: str,
        description: str,
        statements: list[dict[str, Any]],
        session_seconds: int,
        opts: pulumi.ResourceOptions,
    ) -> aws.iam.Role:
        return aws.iam.Role(
            name,
            name=role_name,
            description=description,
            assume_role_policy=pulumi.Output.json_dumps(policy_document(*statements)),
            max_session_duration=session_seconds,
            opts=opts,
        )

    @staticmethod
    def _list_bucket(args: StackAccessArgs) -> dict[str, Any]:
        return {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": args.bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [".pulumi/*", ".pulumi"]}},
        }

    @staticmethod
    def _meta(args: StackAccessArgs) -> dict[str, Any]:
        return {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": pulumi.Output.concat(args.bucket_arn, "/.pulumi/meta.yaml"),
        }

    def _write_policy(self, args: StackAccessArgs, key: aws.kms.Key) -> pulumi.Output[str]:
        """The up role's state access: its stack's objects, the state key and its secrets key."""
        return pulumi.Output.json_dumps(
            policy_document(
                self._list_bucket(args),
                self._meta(args),
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": state_objects(args.bucket_arn, args.stack),
                },
                {
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    "Resource": [args.state_key_arn, key.arn],
                },
            )
        )

    def _read_policy(self, args: StackAccessArgs, key: aws.kms.Key) -> pulumi.Output[str]:
        """Read the stack's state and decrypt its secrets; write only the lock; never other stacks' state."""
        statements: list[Mapping[str, Any]] = [
            self._list_bucket(args),
            self._meta(args),
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": state_objects(args.bucket_arn, args.stack)},
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": lock_objects(args.bucket_arn, args.stack),
            },
            # Decrypt the state; GenerateDataKey only because the lock file is written with SSE-KMS.
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": args.state_key_arn},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn},
        ]
        if args.other_stacks:
            # ReadOnlyAccess reads every object; the other stacks' state in this bucket stays closed.
            statements.append(
                {
                    "Effect": "Deny",
                    "Action": "s3:GetObject",
                    "Resource": [arn for other in args.other_stacks for arn in state_objects(args.bucket_arn, other)],
                }
            )
        if args.manages_account:
            # A refresh reads the generated secrets' current values (README "Delivery": the remaining risk).
            statements += [
                {
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": (
                        f"arn:aws:secretsmanager:{args.region}:{args.account_id}:secret:pyairtable/{args.stack}/*"
                    ),
                },
                {
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{args.region}.amazonaws.com"}},
                },
            ]
        return pulumi.Output.json_dumps(policy_document(*statements))

    @staticmethod
    def _guard_policy(args: StackAccessArgs) -> pulumi.Output[str]:
        """What AdministratorAccess must not reach: the bootstrap's own resources."""
        account = args.account_id
        return pulumi.Output.json_dumps(
            policy_document(
                {
                    "Sid": "StateBucketStaysAsBootstrapped",
                    "Effect": "Deny",
                    "Action": [
                        "s3:DeleteBucket",
                        "s3:DeleteBucketPolicy",
                        "s3:PutBucketPolicy",
                        "s3:PutBucketVersioning",
                        "s3:PutLifecycleConfiguration",
                        "s3:PutEncryptionConfiguration",
                        "s3:PutBucketPublicAccessBlock",
                        "s3:DeleteObjectVersion",
                    ],
                    "Resource": [args.bucket_arn, pulumi.Output.concat(args.bucket_arn, "/*")],
                },
                {
                    "Sid": "StateKeysStay",
                    "Effect": "Deny",
                    "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DeleteAlias"],
                    "Resource": "*",
                    "Condition": {"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/pyairtable-pulumi-*"}},
                },
                {
                    "Sid": "CiIdentityStays",
                    "Effect": "Deny",
                    "Action": [
                        "iam:Attach*",
                        "iam:Create*",
                        "iam:Delete*",
                        "iam:Detach*",
                        "iam:Put*",
                        "iam:Tag*",
                        "iam:Untag*",
                        "iam:Update*",
                        "iam:AddClientIDToOpenIDConnectProvider",
                        "iam:RemoveClientIDFromOpenIDConnectProvider",
                    ],
                    "Resource": [
                        f"arn:aws:iam::{account}:role/pyairtable-infra-*",
                        f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}",
                    ],
                },
                {
                    "Sid": "BackupsStay",
                    "Effect": "Deny",
                    "Action": [
                        "backup:DeleteBackupVault",
                        "backup:DeleteRecoveryPoint",
                        "backup:DeleteBackupPlan",
                        "backup:DeleteBackupSelection",
                        "backup:UpdateBackupPlan",
                        "backup:PutBackupVaultAccessPolicy",
                    ],
                    "Resource": "*",
                },
            )
        )
