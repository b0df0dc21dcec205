"""Customer-managed KMS keys: every key of the platform rotates yearly and waits the longest window before deletion."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

DELETION_WINDOW_DAYS = 30
"""The longest window KMS allows (7 to 30 days): a mistaken delete can be cancelled for a month."""


def rotating_key(
    name: str, *, alias: str, description: str, opts: pulumi.ResourceOptions, protect: bool
) -> aws.kms.Key:
    """A rotating key and its alias, both declared under `name`; `protect` guards the key (not the alias).

    `opts` carries the parent and provider of both.
    """
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=DELETION_WINDOW_DAYS,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=protect)),
    )
    aws.kms.Alias(name, name=alias, target_key_id=key.key_id, opts=opts)
    return key
