"""The account's Pulumi state bucket: versioned, KMS-encrypted, private, TLS-only, old versions
expired, protected, and backed up by AWS Backup (continuous, point-in-time restore).

Losing the state loses Pulumi's knowledge of every resource (and of the secrets it generated), so
the bucket is protected and retained, and every object version is kept for a while and backed up
into a vault encrypted with the same key.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.delivery.names import state_bucket_name
from components.shared.iam import policy_document, service_trust_policy
from components.shared.kms import (
    GRANT_ACTIONS,
    USER_ACTIONS,
    KeyAccess,
    key_policy,
    rotating_key,
    via_service_user_statement,
)

NEWEST_VERSIONS_KEPT = 10
"""Old versions of a state file kept whatever their age (the last ten updates can always be undone)."""
INCOMPLETE_UPLOAD_DAYS = 7
BACKUP_POLICIES = (
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
)
BACKUP_SCHEDULE = "cron(0 5 * * ? *)"
"""Daily at 05:00 UTC, after the nightly drift check (drift.yml) has read the state."""


@dataclass(frozen=True)
class StateBackendArgs:
    """Inputs of `StateBackend`."""

    account_id: str
    """The AWS account (names the bucket and scopes the service trusts)."""
    region: str
    """The account's region (S3 and AWS Backup call KMS from there)."""
    key_access: KeyAccess
    """The account's administrators and break-glass role (the key's explicit policy)."""
    state_version_days: int
    """Days an old version of a state file is kept."""
    backup_retention_days: int
    """Days AWS Backup keeps each recovery point."""


class StateBackend(pulumi.ComponentResource):
    """The state bucket, its key, and its backup."""

    bucket_name: pulumi.Output[str]
    """Name of the bucket (`PULUMI_BACKEND_URL` is `s3://<name>?region=<region>`)."""
    bucket_arn: pulumi.Output[str]
    """ARN of the bucket, for the CI roles' policies."""
    key_arn: pulumi.Output[str]
    """ARN of the key that encrypts the bucket and its backups."""

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:bootstrap:StateBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        key = rotating_key(
            f"{name}-key",
            alias="alias/pyairtable-pulumi-state",
            description="Encrypts the Pulumi state bucket and its backups",
            # Used only through S3 (state objects) and AWS Backup (the vault); the roles' IAM policies decide who.
            policy=pulumi.Output.json_dumps(
                key_policy(
                    args.key_access,
                    via_service_user_statement("StateObjects", args.account_id, f"s3.{args.region}.amazonaws.com"),
                    via_service_user_statement(
                        "StateBackups",
                        args.account_id,
                        f"backup.{args.region}.amazonaws.com",
                        (*USER_ACTIONS, *GRANT_ACTIONS),
                    ),
                )
            ),
            opts=child,
            protect=True,
        )
        bucket = aws.s3.Bucket(f"{name}-bucket", bucket=state_bucket_name(args.account_id), opts=kept)
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(
                policy_document(
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                )
            ),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="old-state-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.state_version_days, newer_noncurrent_versions=NEWEST_VERSIONS_KEPT
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=INCOMPLETE_UPLOAD_DAYS
                    ),
                )
            ],
            # S3 refuses a noncurrent-version rule on a bucket whose versioning is not yet enabled.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        self._backup(name, args=args, bucket=bucket, key=key, versioning=versioning, kept=kept, child=child)
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.key_arn = key.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn, "keyArn": self.key_arn})

    def _backup(
        self,
        name: str,
        *,
        args: StateBackendArgs,
        bucket: aws.s3.Bucket,
        key: aws.kms.Key,
        versioning: aws.s3.BucketVersioning,
        kept: pulumi.ResourceOptions,
        child: pulumi.ResourceOptions,
    ) -> None:
        """Continuous backups of the bucket (AWS Backup needs versioning on) into a protected vault."""
        vault = aws.backup.Vault(f"{name}-vault", name="pyairtable-pulumi-state", kms_key_arn=key.arn, opts=kept)
        plan = aws.backup.Plan(
            f"{name}-backup",
            name="pyairtable-pulumi-state",
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="continuous",
                    target_vault_name=vault.name,
                    schedule=BACKUP_SCHEDULE,
                    enable_continuous_backup=True,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=args.backup_retention_days),
                )
            ],
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-backup",
            name="pyairtable-pulumi-state-backup",
            description="AWS Backup backs up and restores the Pulumi state bucket",
            assume_role_policy=service_trust_policy("backup.amazonaws.com", source_account=args.account_id),
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-backup-{policy.rsplit('For', 1)[-1].lower()}", role=role.name, policy_arn=policy, opts=child
            )
            for policy in BACKUP_POLICIES
        ]
        aws.backup.Selection(
            f"{name}-backup",
            name="pyairtable-pulumi-state",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[bucket.arn],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning, *attachments]),
        )
