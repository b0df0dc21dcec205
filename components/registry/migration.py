"""The move from the legacy personal GHCR namespace to the organization: copy every tag, verify every digest.

Standard library only: the manually dispatched workflow `registry-migration.yml` runs this file from
its own checkout of pyairtable-infra, with `skopeo` (on GitHub's Ubuntu runners) doing the copies.

- Every tag of every configured legacy package is copied with `skopeo copy --all --preserve-digests`:
  the index, each platform manifest and the attestations inside it keep their digests, so what was
  verified or deployed by digest before the move is the same image after it. Referrers indexes
  (`sha256-<digest>` tags: signed attestations) are tags too, and are copied the same way.
- A tag that already exists in the organization with the same digest is left alone; with another
  digest it is a conflict, reported and never overwritten.
- After the copies, every tag's digest is read again on both sides and must match.
- A digest-preserving copy cannot change the image's labels, so each package is then linked to its
  service repository by one extra index, tagged `migrated`, whose `org.opencontainers.image.source`
  annotation names `https://github.com/<organization>/<repository>` (over the same manifests).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LINK_TAG = "migrated"
"""The tag of the index that links a migrated package to its repository (retention may drop it later)."""


@dataclass(frozen=True)
class TagMove:
    """One tag of one package: its digests on both sides, and what to do with it."""

    package: str
    """The organization's package (the catalog service)."""
    tag: str
    source_digest: str
    target_digest: str
    """The digest the organization's tag points at today, "" if the tag does not exist there."""

    @property
    def action(self) -> str:
        """`copy`, `present` (same digest already there) or `conflict` (another digest: never overwritten)."""
        if not self.target_digest:
            return "copy"
        return "present" if self.target_digest == self.source_digest else "conflict"


def plan_moves(package: str, source: Mapping[str, str], target: Mapping[str, str]) -> list[TagMove]:
    """Every source tag of a package against the organization's tags (tag -> digest on each side)."""
    return [TagMove(package, tag, digest, target.get(tag, "")) for tag, digest in sorted(source.items())]


def verify(moves: Sequence[TagMove], target_after: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Problems after copying: a copied or present tag whose organization digest is not the source digest."""
    problems = []
    for move in moves:
        if move.action == "conflict":
            problems.append(f"{move.package}:{move.tag}: the organization already has {move.target_digest}")
            continue
        found = target_after.get(move.package, {}).get(move.tag, "")
        if found != move.source_digest:
            problems.append(f"{move.package}:{move.tag}: expected {move.source_digest}, found {found or 'nothing'}")
    return problems


def link_command(organization: str, package: str, repository: str, digest: str) -> list[str]:
    """The buildx command linking a package to its repository: an annotated index over `digest`, tagged `migrated`."""
    source = f"https://github.com/{organization}/{repository}"
    return [
        "docker", "buildx", "imagetools", "create",
        "--annotation", f"index:org.opencontainers.image.source={source}",
        "--tag", f"ghcr.io/{organization}/{package}:{LINK_TAG}",
        f"ghcr.io/{organization}/{package}@{digest}",
    ]  # fmt: skip


def report(moves: Sequence[TagMove], problems: Sequence[str], dry_run: bool) -> str:
    """The run's Markdown summary: each tag, its digest and what happened."""
    lines = [f"## Registry migration ({'dry run' if dry_run else 'copied'})", ""]
    lines += ["| package | tag | digest | action |", "|---|---|---|---|"]
    lines += [f"| {m.package} | {m.tag} | `{m.source_digest[:19]}` | {m.action} |" for m in moves]
    lines += ["", f"{len(problems)} problem(s)", *[f"- {problem}" for problem in problems]]
    return "\n".join(lines) + "\n"


# --- skopeo (not unit-tested: it needs the registry) ------------------------------------------------


def _skopeo(*arguments: str) -> str:
    result = subprocess.run(["skopeo", *arguments], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"skopeo {arguments[0]}: {result.stderr.strip()}")
    return result.stdout


def tag_digests(reference: str, authfile: str) -> dict[str, str]:
    """Each tag of a repository (`ghcr.io/<namespace>/<package>`) with the digest of its raw manifest."""
    try:
        tags = json.loads(_skopeo("list-tags", "--authfile", authfile, f"docker://{reference}"))["Tags"]
    except RuntimeError:
        return {}  # the repository does not exist (yet)
    return {
        tag: "sha256:"
        + hashlib.sha256(
            _skopeo("inspect", "--raw", "--authfile", authfile, f"docker://{reference}:{tag}").encode()
        ).hexdigest()
        for tag in tags
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Copy (or with `--dry-run`, only plan) every legacy tag into the organization, then verify."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--legacy-namespace", required=True)
    parser.add_argument("--organization", required=True)
    parser.add_argument(
        "--packages", required=True, help='JSON object: legacy package -> {"package": ..., "repository": ...}'
    )
    parser.add_argument("--source-authfile", required=True)
    parser.add_argument("--target-authfile", required=True)
    parser.add_argument("--dry-run", action="store_true")
    arguments = parser.parse_args(argv)
    targets: dict[str, dict[str, str]] = json.loads(arguments.packages)
    packages = {legacy: target["package"] for legacy, target in targets.items()}
    moves: list[TagMove] = []
    try:
        for legacy, package in sorted(packages.items()):
            source = tag_digests(f"ghcr.io/{arguments.legacy_namespace}/{legacy}", arguments.source_authfile)
            target = tag_digests(f"ghcr.io/{arguments.organization}/{package}", arguments.target_authfile)
            package_moves = plan_moves(package, source, target)
            moves += package_moves
            if arguments.dry_run:
                continue
            for move in package_moves:
                if move.action == "copy":
                    _skopeo(
                        "copy", "--all", "--preserve-digests",
                        "--src-authfile", arguments.source_authfile, "--dest-authfile", arguments.target_authfile,
                        f"docker://ghcr.io/{arguments.legacy_namespace}/{legacy}@{move.source_digest}",
                        f"docker://ghcr.io/{arguments.organization}/{package}:{move.tag}",
                    )  # fmt: skip
        after = {
            package: tag_digests(f"ghcr.io/{arguments.organization}/{package}", arguments.target_authfile)
            for package in sorted(set(packages.values()))
        }
        problems = [] if arguments.dry_run else verify(moves, after)
        if not arguments.dry_run and not problems:
            for legacy, target in sorted(targets.items()):
                # Any copied digest will do: the link is a property of the package, not of one version.
                copied = next((m for m in moves if m.package == target["package"]), None)
                if copied is not None:
                    command = link_command(
                        arguments.organization, target["package"], target["repository"], copied.source_digest
                    )
                    if subprocess.run(command, check=False).returncode != 0:
                        raise RuntimeError(f"linking {legacy} to {target['repository']} failed")
    except RuntimeError as error:
        print(f"::error::{error}")
        return 1
    text = report(moves, problems, arguments.dry_run)
    print(text)
    if "GITHUB_STEP_SUMMARY" in os.environ:
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as file:
            file.write(text)
    for problem in problems:
        print(f"::error::{problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
