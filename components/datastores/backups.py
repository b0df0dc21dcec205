"""AWS Backup of the environment's persistent volumes (Prometheus's, and any other PVC's EBS volume).

The EBS CSI driver tags every volume it provisions with the PVC's namespace
(`kubernetes.io/created-for/pvc/namespace`); the selection takes every volume tagged with a
namespace of this cluster (`kubernetes.io/cluster/<name>: owned`, also set by the driver), so a new
PVC is covered without a change here. Recovery points go to a vault encrypted with the data stores'
CMK and expire after `backups.retentionDays`. PostgreSQL and Redis keep their own automated backups
and snapshots (`postgres.backupRetentionDays`, `redis.snapshotRetentionDays`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.datastores.limits import matches
from components.datastores.settings import BackupSettings
from components.shared.errors import ConfigError
from components.shared.iam import service_trust_policy
from components.shared.naming import cluster_name

BACKUP_POLICY_ARNS = (
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
)
CLUSTER_TAG = "kubernetes.io/cluster/{cluster}"
"""The EBS CSI driver tags the volumes it creates with the cluster's name (value `owned`)."""


def backup_names(environment: str) -> dict[str, str]:
    """Vault, plan, rule and selection names, checked against botocore's patterns."""
    base = f"{cluster_name(environment)}-volumes"
    names = {"BackupVaultName": base, "BackupRuleName": "daily", "BackupSelectionName": base}
    for shape, value in names.items():
        if not matches("backup", shape, value):
            raise ConfigError(f"stack {environment!r}: AWS Backup name {value!r} breaks botocore's {shape} pattern")
    return names


@dataclass(frozen=True)
class VolumeBackupsArgs:
    """Inputs of `VolumeBackups`."""

    environment: str
    """Environment name."""
    settings: BackupSettings
    """The `backups` config key (enabled: the caller declares this component only then)."""
    kms_key_arn: pulumi.Input[str]
    """The data stores' key (encrypts the vault)."""
    protect: bool
    """Prod: protect the vault."""


class VolumeBackups(pulumi.ComponentResource):
    """A vault, a daily plan and a selection of the cluster's EBS volumes, with the role AWS Backup uses."""

    def __init__(self, name: str, args: VolumeBackupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:datastores:VolumeBackups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names = backup_names(args.environment)
        vault = aws.backup.Vault(
            f"{name}-vault",
            name=names["BackupVaultName"],
            kms_key_arn=args.kms_key_arn,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        plan = aws.backup.Plan(
            f"{name}-plan",
            name=names["BackupVaultName"],
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name=names["BackupRuleName"],
                    target_vault_name=vault.name,
                    schedule=args.settings.schedule,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=args.settings.retention_days),
                )
            ],
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust_policy("backup.amazonaws.com"),
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-role-{index}", role=role.name, policy_arn=arn, opts=child)
            for index, arn in enumerate(BACKUP_POLICY_ARNS)
        ]
        aws.backup.Selection(
            f"{name}-selection",
            name=names["BackupSelectionName"],
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=["arn:aws:ec2:*:*:volume/*"],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=attachments)),
            selection_tags=[
                aws.backup.SelectionSelectionTagArgs(
                    type="STRINGEQUALS",
                    key=CLUSTER_TAG.format(cluster=cluster_name(args.environment)),
                    value="owned",
                )
            ],
        )
        self.register_outputs({"vault": vault.name, "selection": json.dumps(names)})
