"""The bootstrap's bill of materials: its keys, the state it stores and the backups of it.

Counted from the bootstrap's settings, the same figures the program declares from (a test holds the
key count to the plan), and priced by the project's price table like every other stack.
"""

from __future__ import annotations

from bootstrap.settings import BootstrapSettings
from components.cost.bill_of_materials import LineItem
from components.cost.prices import Rate

ACCOUNT_KEYS = ("state bucket", "bootstrap secrets provider")
"""Keys of every bootstrap stack besides one secrets provider per hosted stack."""


def kms_key_count(settings: BootstrapSettings) -> int:
    """The account's bootstrap keys: one per hosted stack, the state bucket's, the bootstrap's own."""
    return len(settings.stacks) + len(ACCOUNT_KEYS)


def bootstrap_items(settings: BootstrapSettings) -> list[LineItem]:
    """What one account's bootstrap costs a month."""
    return [
        LineItem(
            "KMS keys",
            kms_key_count(settings),
            "key-month",
            Rate("kmsKey"),
            f"a secrets provider for each of {', '.join(settings.stacks)}; {' and '.join(ACCOUNT_KEYS)}",
        ),
        LineItem(
            "state bucket (S3 Standard)",
            settings.state_storage_gib,
            "GB-month",
            Rate("s3Standard"),
            "estimate from stateStorageGib, old versions included",
        ),
        LineItem(
            "state backups (AWS Backup, warm)",
            settings.state_storage_gib,
            "GB-month",
            Rate("backupS3Warm"),
            f"continuous backup kept {settings.backup_retention_days} days",
        ),
    ]
