"""The deletion guard: fail a preview that deletes or replaces what holds code, data or keys.

    python -m tools.deletion_guard preview.json [--max-share 0.2]

Reads `pulumi preview --json` (tools/preview_json.py) and exits 1 when a step deletes or replaces a
protected kind (a repository, a cluster, a VPC, a KMS key, a secret, a database, a state bucket), or
when the preview deletes or replaces more than `--max-share` of the stack's teams or rulesets. Each
offending step is printed on its own line. `protect=True` already stops a delete of what is
protected in prod; this guard also covers dev and staging and the replacements that a rename or a
changed create-only property would plan, before anyone approves them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.preview_json import DELETING_OPS, PreviewFormatError, load_preview, step_type, steps

PROTECTED_KINDS: Mapping[str, frozenset[str]] = {
    "repository": frozenset({"github:index/repository:Repository"}),
    "cluster": frozenset({"aws:eks/cluster:Cluster"}),
    "VPC": frozenset({"aws:ec2/vpc:Vpc"}),
    "KMS key": frozenset({"aws:kms/key:Key"}),
    "secret": frozenset({"aws:secretsmanager/secret:Secret"}),
    "database": frozenset(
        {
            "aws:rds/instance:Instance",
            "aws:rds/cluster:Cluster",
            "aws:elasticache/replicationGroup:ReplicationGroup",
            "aws:dynamodb/table:Table",
        }
    ),
    "state bucket": frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}),
}
"""Kinds no preview may delete or replace, by Pulumi type token (a secret's *versions* rotate, so
only the secret itself is here)."""

SHARED_KINDS: Mapping[str, frozenset[str]] = {
    "team": frozenset({"github:index/team:Team"}),
    "ruleset": frozenset(
        {
            "github:index/repositoryRuleset:RepositoryRuleset",
            "github:index/organizationRuleset:OrganizationRuleset",
            "github:index/branchProtection:BranchProtection",
        }
    ),
}
"""Kinds a preview may delete a few of (a team is renamed, a repository leaves the catalog), but not
more than the configured share at once: that is a mistyped config, not a change."""

DEFAULT_MAX_SHARE = 0.2


@dataclass(frozen=True)
class Offence:
    """One step the guard refuses, or a kind of which too large a share goes."""

    kind: str
    op: str
    urn: str

    def render(self) -> str:
        """One line a reviewer can act on."""
        return f"refused: {self.op} of {self.kind} {self.urn}"


def _kind(type_token: str, kinds: Mapping[str, frozenset[str]]) -> str | None:
    return next((kind for kind, types in kinds.items() if type_token in types), None)


def find_offences(preview: Mapping[str, Any], max_share: float = DEFAULT_MAX_SHARE) -> list[Offence]:
    """Every protected step, then one offence per shared kind whose deleted share exceeds `max_share`."""
    offences: list[Offence] = []
    seen: set[str] = set()
    total: dict[str, set[str]] = {kind: set() for kind in SHARED_KINDS}
    going: dict[str, list[tuple[str, str]]] = {kind: [] for kind in SHARED_KINDS}
    for step in steps(preview):
        type_token, op, urn = step_type(step), step["op"], step["urn"]
        shared = _kind(type_token, SHARED_KINDS)
        if shared is not None:
            total[shared].add(urn)
            if op in DELETING_OPS and urn not in {u for _, u in going[shared]}:
                going[shared].append((op, urn))
        protected = _kind(type_token, PROTECTED_KINDS)
        if protected is not None and op in DELETING_OPS and urn not in seen:
            seen.add(urn)
            offences.append(Offence(protected, op, urn))
    for kind, steps_going in going.items():
        if total[kind] and len(steps_going) / len(total[kind]) > max_share:
            share = f"{len(steps_going)} of {len(total[kind])} {kind}s (more than {max_share:.0%})"
            offences.extend(Offence(f"{kind} [{share}]", op, urn) for op, urn in steps_going)
    return offences


def main(argv: list[str] | None = None) -> int:
    """Command line: exit 0 when the preview is safe, 1 with every offending step, 2 on a bad file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preview", type=Path, help="the output of `pulumi preview --json`")
    parser.add_argument(
        "--max-share",
        type=float,
        default=DEFAULT_MAX_SHARE,
        help=f"largest share of teams or rulesets one preview may delete (default {DEFAULT_MAX_SHARE})",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.max_share <= 1:
        parser.error(f"--max-share {args.max_share} is not between 0 and 1")
    try:
        preview = load_preview(args.preview)
    except PreviewFormatError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    offences = find_offences(preview, args.max_share)
    for offence in offences:
        print(offence.render())
    if offences:
        print(f"deletion guard: {len(offences)} step(s) refused; split the change or restore the resource")
        return 1
    print(f"deletion guard: {len(steps(preview))} steps, nothing protected deleted or replaced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
