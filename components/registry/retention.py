"""Retention of the organization's GHCR packages: which versions to keep, which to delete, and doing it.

Standard library only: the scheduled workflow `registry-retention.yml` runs this file from its own
checkout of pyairtable-infra (`python3 components/registry/retention.py`).

On GHCR every manifest is a package version. A multi-arch image is an index (tagged) whose
per-platform manifests are untagged versions; buildx's SBOM and provenance are attestation
manifests inside that index, untagged too; a GitHub attestation pushed to the registry is a manifest
whose `subject` is the image, listed by the referrers fallback index tagged `sha256-<image digest>`.
A cleaner that deletes "untagged versions" therefore breaks tagged images and erases attestations.

The rule (`plan_retention`, pure):
1. Roots: every version with a semver tag; the newest `keep_newest` image versions with any tag
   (referrers indexes `sha256-*` do not count as images); every version younger than the minimum
   age (a push in progress uploads its platform manifests before their index).
2. Kept: the roots and everything they reach: an index's manifests, and the referrers of a kept
   manifest (attestations whose `subject` is kept, and the `sha256-<digest>` index of a kept digest).
3. Everything else is deleted: orphaned untagged versions, and dev builds (only `sha-<short>` or
   branch tags) that are neither among the newest nor referenced.
4. If any version's manifest could not be read, nothing is deleted: its references are unknown.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SEMVER_TAG = re.compile(r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$")
"""A release tag (`1.2.3`, `1.2.3-rc.1`; a leading `v` is tolerated for images published before the rules)."""
REFERRERS_TAG = re.compile(r"^sha256-(?P<hex>[0-9a-f]{64})$")
"""The OCI referrers tag schema: the index of the manifests that refer to `sha256:<hex>`."""
MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
GITHUB_API = "https://api.github.com"
REGISTRY = "https://ghcr.io"


@dataclass(frozen=True)
class PackageVersion:
    """One GHCR package version: a manifest, by its digest."""

    id: int
    """GitHub's package version id (what the delete API takes)."""
    digest: str
    """`sha256:<hex>`, the version's name."""
    tags: tuple[str, ...]
    """Its tags; empty for platform manifests, attestations and moved-away builds."""
    created: datetime.datetime
    """When it was pushed (timezone-aware)."""


@dataclass(frozen=True)
class Decision:
    """What happens to one version, and why (shown in the run's report)."""

    version: PackageVersion
    keep: bool
    reason: str


@dataclass(frozen=True)
class RetentionPlan:
    """The decisions for one package; `blocked` says why nothing may be deleted, if so."""

    decisions: tuple[Decision, ...]
    blocked: str = ""

    @property
    def deletions(self) -> tuple[PackageVersion, ...]:
        """The versions to delete (none when blocked)."""
        if self.blocked:
            return ()
        return tuple(decision.version for decision in self.decisions if not decision.keep)


@dataclass
class _Graph:
    """Who references whom: an index's manifests, and the referrers of each digest."""

    children: dict[str, list[str]] = field(default_factory=dict)
    referrers: dict[str, list[str]] = field(default_factory=dict)

    def reached_from(self, roots: Iterable[str]) -> dict[str, str]:
        """Every digest reachable from the roots, with the first digest that reached it."""
        reached = {root: root for root in roots}
        stack = list(reached)
        while stack:
            digest = stack.pop()
            for following in [*self.children.get(digest, ()), *self.referrers.get(digest, ())]:
                if following not in reached:
                    reached[following] = digest
                    stack.append(following)
        return reached


def _graph(versions: Sequence[PackageVersion], manifests: Mapping[str, Mapping[str, Any]]) -> _Graph:
    graph = _Graph()
    for digest, manifest in manifests.items():
        graph.children[digest] = [str(entry["digest"]) for entry in manifest.get("manifests", ())]
        subject = manifest.get("subject")
        if isinstance(subject, Mapping) and "digest" in subject:
            graph.referrers.setdefault(str(subject["digest"]), []).append(digest)
    for version in versions:
        for tag in version.tags:
            match = REFERRERS_TAG.match(tag)
            if match:
                graph.referrers.setdefault(f"sha256:{match['hex']}", []).append(version.digest)
    return graph


def is_referrers_index(version: PackageVersion) -> bool:
    """A version whose only tags are referrers tags (`sha256-<hex>`): attestations, not an image."""
    return bool(version.tags) and all(REFERRERS_TAG.match(tag) for tag in version.tags)


def plan_retention(
    versions: Sequence[PackageVersion],
    manifests: Mapping[str, Mapping[str, Any]],
    *,
    keep_newest: int,
    min_age: datetime.timedelta,
    now: datetime.datetime,
) -> RetentionPlan:
    """Decide every version of one package (see the module's docstring for the rule)."""
    roots: dict[str, str] = {}
    for version in versions:
        if any(SEMVER_TAG.match(tag) for tag in version.tags):
            roots.setdefault(version.digest, "semver tag " + ", ".join(sorted(version.tags)))
    images = sorted(
        (version for version in versions if version.tags and not is_referrers_index(version)),
        key=lambda version: version.created,
        reverse=True,
    )
    for rank, version in enumerate(images[:keep_newest], start=1):
        roots.setdefault(version.digest, f"newest image #{rank}")
    for version in versions:
        if now - version.created < min_age:
            roots.setdefault(version.digest, f"younger than {min_age.days} days")
    reached = _graph(versions, manifests).reached_from(roots)

    decisions = []
    for version in versions:
        if version.digest in roots:
            decisions.append(Decision(version, True, roots[version.digest]))
        elif version.digest in reached:
            decisions.append(Decision(version, True, f"referenced by kept {reached[version.digest]}"))
        else:
            decisions.append(Decision(version, False, "not referenced by any kept version"))
    unread = sorted(version.digest for version in versions if version.digest not in manifests)
    blocked = f"manifests of {unread} could not be read, so their references are unknown" if unread else ""
    return RetentionPlan(tuple(decisions), blocked)


def token_expiry_notice(expires_on: datetime.date, today: datetime.date, warning_days: int) -> str:
    """A rotation notice when the pull token expires within `warning_days` (or has), else ""."""
    left = (expires_on - today).days
    if left < 0:
        return f"the registry pull token expired on {expires_on}: the clusters can no longer pull new images"
    if left <= warning_days:
        return f"the registry pull token expires on {expires_on} ({left} days): rotate it (README, Registry)"
    return ""


# --- the GitHub and registry APIs (not unit-tested: they need a real token) ----------------------


def _request(url: str, headers: Mapping[str, str], method: str = "GET") -> tuple[bytes, Mapping[str, str]]:
    request = urllib.request.Request(url, headers=dict(headers), method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read(), dict(response.headers)


def _api_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }


def list_versions(organization: str, package: str, token: str) -> list[PackageVersion]:
    """Every version of an organization's container package (the REST API, 100 per page)."""
    versions, page = [], 1
    while True:
        query = urllib.parse.urlencode({"per_page": 100, "page": page})
        body, _ = _request(
            f"{GITHUB_API}/orgs/{organization}/packages/container/{package}/versions?{query}", _api_headers(token)
        )
        batch = json.loads(body)
        versions += [
            PackageVersion(
                id=int(item["id"]),
                digest=str(item["name"]),
                tags=tuple(item.get("metadata", {}).get("container", {}).get("tags", ())),
                created=datetime.datetime.fromisoformat(str(item["created_at"]).replace("Z", "+00:00")),
            )
            for item in batch
        ]
        if len(batch) < 100:
            return versions
        page += 1


def read_manifests(
    organization: str, package: str, user: str, token: str, digests: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Each digest's manifest from ghcr.io; a digest that cannot be read is left out (and blocks deletion)."""
    scope = urllib.parse.urlencode({"scope": f"repository:{organization}/{package}:pull", "service": "ghcr.io"})
    basic = base64.b64encode(f"{user}:{token}".encode()).decode()
    body, _ = _request(f"{REGISTRY}/token?{scope}", {"Authorization": f"Basic {basic}"})
    bearer = json.loads(body)["token"]
    headers = {"Authorization": f"Bearer {bearer}", "Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
    manifests = {}
    for digest in digests:
        try:
            body, _ = _request(f"{REGISTRY}/v2/{organization}/{package}/manifests/{digest}", headers)
        except urllib.error.HTTPError as error:
            print(f"::warning::{package}@{digest}: manifest not readable ({error.code})")
            continue
        manifests[digest] = json.loads(body)
    return manifests


def delete_version(organization: str, package: str, version: PackageVersion, token: str) -> None:
    """Delete one package version (needs a token with delete:packages)."""
    _request(
        f"{GITHUB_API}/orgs/{organization}/packages/container/{package}/versions/{version.id}",
        _api_headers(token),
        method="DELETE",
    )


def report(package: str, plan: RetentionPlan, apply: bool) -> str:
    """A Markdown section of the run's summary: every decision, and whether deletions happened."""
    verb = "deleted" if apply and not plan.blocked else "would delete (dry run)" if not plan.blocked else "kept all"
    lines = [f"### {package}: {len(plan.deletions)} version(s) {verb}", ""]
    if plan.blocked:
        lines += [f"Blocked: {plan.blocked}", ""]
    lines += ["| digest | tags | decision | reason |", "|---|---|---|---|"]
    for decision in plan.decisions:
        version = decision.version
        tags = ", ".join(version.tags) or "(untagged)"
        verdict = "keep" if decision.keep else "delete"
        lines.append(f"| `{version.digest[:19]}` | {tags} | {verdict} | {decision.reason} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Plan (and with `--apply`, carry out) retention for every listed package of the organization."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--organization", required=True)
    parser.add_argument("--packages", required=True, help="JSON list of package names")
    parser.add_argument("--keep-newest", type=int, required=True)
    parser.add_argument("--min-age-days", type=int, required=True)
    parser.add_argument("--apply", action="store_true", help="delete; without it, a dry run that only reports")
    parser.add_argument("--token-expires-on", type=datetime.date.fromisoformat, help="the pull token's expiry")
    parser.add_argument("--warning-days", type=int, default=30, help="fail this many days before that expiry")
    arguments = parser.parse_args(argv)
    token, user = os.environ.get("REGISTRY_ADMIN_TOKEN", ""), os.environ.get("REGISTRY_ADMIN_USER", "")
    if not token or not user:
        print("::error::REGISTRY_ADMIN_TOKEN and REGISTRY_ADMIN_USER must be set (README, Registry)")
        return 1
    now = datetime.datetime.now(datetime.UTC)
    summary = []
    for package in json.loads(arguments.packages):
        try:
            versions = list_versions(arguments.organization, package, token)
            manifests = read_manifests(arguments.organization, package, user, token, [v.digest for v in versions])
            plan = plan_retention(
                versions,
                manifests,
                keep_newest=arguments.keep_newest,
                min_age=datetime.timedelta(days=arguments.min_age_days),
                now=now,
            )
            if arguments.apply:
                for version in plan.deletions:
                    delete_version(arguments.organization, package, version, token)
        except (urllib.error.URLError, KeyError, ValueError) as error:
            print(f"::error::{package}: {error}")
            return 1
        summary.append(report(package, plan, arguments.apply))
    text = "\n".join(summary)
    print(text)
    if "GITHUB_STEP_SUMMARY" in os.environ:
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as file:
            file.write(text)
    if arguments.token_expires_on is not None:
        notice = token_expiry_notice(arguments.token_expires_on, now.date(), arguments.warning_days)
        if notice:
            # A failed scheduled run is the GitHub side of the alert (each cluster's Alertmanager is the other).
            print(f"::error::{notice}")
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
