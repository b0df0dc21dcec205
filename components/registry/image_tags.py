"""The publish workflow's tag rules: what a build of a git ref is called on GHCR, and whether to build at all.

Standard library only: the org stack embeds this file into the seeded `container-publish.yml`
(`embed_files` in `components/github/files.py`), which runs it in the calling service repository, where
pyairtable-infra cannot be checked out. Tests import it like any module.

- A git tag `vX.Y.Z` (semver, optional pre-release) is a release: tags `X.Y.Z` and `sha-<short>`.
  Staging and prod admit only such versions or digests (the admission policy).
- A branch push is a dev build: `sha-<short>` and the branch's name; the default branch also gets
  `latest`. No release ever gets `latest` or a branch tag.
- `sha-<short>` is immutable: when it already exists, nothing is rebuilt; the new tags are added to
  the existing digest (`promote`), so a release is the very image dev ran, attestations included.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass

REGISTRY_HOST = "ghcr.io"
"""The only registry (a literal, equal to `components.shared.naming.REGISTRY_HOST`; a test holds them together)."""
SHORT_SHA_LENGTH = 12
"""Hex digits of the commit in `sha-<short>`: 12 keeps collisions out of reach for any repository's lifetime."""
IMMUTABLE_PREFIX = "sha-"
LATEST = "latest"
REFERRERS_TAG_PREFIX = "sha256-"
"""Tags of this form are the OCI referrers fallback index (attestations); a build may never take one."""
SEMVER_GIT_TAG = re.compile(
    r"^v(?P<version>(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?)$"
)
"""`vX.Y.Z[-pre.release]` (semver 2.0.0 without build metadata: `+` is not allowed in an image tag)."""
SEMVER_IMAGE_TAG = re.compile(SEMVER_GIT_TAG.pattern.replace("^v(?P<version>", "^(?P<version>"))
"""The image tag of a release: the git tag without its `v`."""
IMAGE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DOCKER_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
OWNER = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")


class PublishError(ValueError):
    """A ref or input this workflow refuses to publish; the message says what is allowed."""


@dataclass(frozen=True)
class PublishPlan:
    """What one run of the publish workflow does."""

    image: str
    """`ghcr.io/<owner>/<image>`, lowercase."""
    channel: str
    """`release` (a semver git tag) or `dev` (a branch)."""
    tags: tuple[str, ...]
    """Bare tags, the immutable `sha-<short>` first."""
    build: bool
    """False: `sha-<short>` exists already, so its digest only gets the other tags."""
    version: str
    """`X.Y.Z` for a release, `sha-<short>` for a dev build (the OCI version label)."""
    labels: tuple[str, ...]
    """OCI labels `key=value`: the source label links the package to its repository."""

    @property
    def immutable_tag(self) -> str:
        """`sha-<short>`: never moved once pushed."""
        return self.tags[0]

    @property
    def references(self) -> tuple[str, ...]:
        """Every tag as a full reference, `ghcr.io/<owner>/<image>:<tag>`."""
        return tuple(f"{self.image}:{tag}" for tag in self.tags)


def immutable_tag(sha: str) -> str:
    """`sha-<first 12 hex digits>` of a full commit SHA."""
    if not COMMIT.match(sha):
        raise PublishError(f"commit {sha!r} is not a full 40-digit lowercase SHA")
    return f"{IMMUTABLE_PREFIX}{sha[:SHORT_SHA_LENGTH]}"


def branch_tag(branch: str) -> str:
    """A branch's image tag: its name, with characters a tag cannot hold replaced by `-`.

    A branch whose tag would read as a release, an immutable tag, `latest` or a referrers index is
    refused: a dev build must never pass for something staging and prod admit or trust.
    """
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", branch).lstrip(".-")[:128]
    reserved = (
        SEMVER_IMAGE_TAG.match(tag)
        or SEMVER_GIT_TAG.match(tag)
        or tag.startswith((IMMUTABLE_PREFIX, REFERRERS_TAG_PREFIX))
        or tag == LATEST
    )
    if not tag or not DOCKER_TAG.match(tag) or reserved:
        raise PublishError(
            f"branch {branch!r} would be tagged {tag!r}, which is empty or reserved; allowed: branch names that "
            f"do not read as a version, `{LATEST}`, or start with `{IMMUTABLE_PREFIX}` or `{REFERRERS_TAG_PREFIX}`"
        )
    return tag


def plan_publish(
    *,
    ref: str,
    sha: str,
    owner: str,
    repository: str,
    image: str,
    default_branch: str,
    immutable_tag_exists: bool,
    server_url: str = "https://github.com",
) -> PublishPlan:
    """The tags, labels and build decision for a push of `ref` at commit `sha`."""
    if not IMAGE_NAME.match(image):
        raise PublishError(f"image name {image!r} is not a lowercase DNS label")
    if not OWNER.match(owner):
        raise PublishError(f"owner {owner!r} is not a GitHub login")
    immutable = immutable_tag(sha)
    if ref.startswith("refs/tags/"):
        match = SEMVER_GIT_TAG.match(ref.removeprefix("refs/tags/"))
        if match is None:
            raise PublishError(f"git tag {ref.removeprefix('refs/tags/')!r} is not a release; allowed: vX.Y.Z[-pre]")
        channel, version, moving = "release", match["version"], [match["version"]]
    elif ref.startswith("refs/heads/"):
        branch = ref.removeprefix("refs/heads/")
        channel, version, moving = "dev", immutable, [branch_tag(branch)]
        if branch == default_branch:
            moving.append(LATEST)
    else:
        raise PublishError(f"ref {ref!r} is neither a branch nor a tag; pull requests never publish")
    name = f"{REGISTRY_HOST}/{owner.lower()}/{image}"
    labels = (
        f"org.opencontainers.image.source={server_url}/{repository}",
        f"org.opencontainers.image.revision={sha}",
        f"org.opencontainers.image.version={version}",
        f"org.opencontainers.image.title={image}",
    )
    return PublishPlan(name, channel, (immutable, *moving), not immutable_tag_exists, version, labels)


def _existing_digest(reference: str) -> str:
    """The digest `reference` points to on the registry, or "" when there is none (buildx inspect)."""
    result = subprocess.run(
        ["docker", "buildx", "imagetools", "inspect", reference, "--format", "{{json .Manifest}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return ""
    return str(json.loads(result.stdout)["digest"])


def main() -> int:
    """Read the run's refs from the environment, write the plan to `$GITHUB_OUTPUT`."""
    environ = os.environ
    try:
        probe = f"{REGISTRY_HOST}/{environ['GITHUB_REPOSITORY_OWNER'].lower()}/{environ['IMAGE']}"
        existing = _existing_digest(f"{probe}:{immutable_tag(environ['GITHUB_SHA'])}")
        plan = plan_publish(
            ref=environ["GITHUB_REF"],
            sha=environ["GITHUB_SHA"],
            owner=environ["GITHUB_REPOSITORY_OWNER"],
            repository=environ["GITHUB_REPOSITORY"],
            image=environ["IMAGE"],
            default_branch=environ["DEFAULT_BRANCH"],
            immutable_tag_exists=bool(existing),
            server_url=environ.get("GITHUB_SERVER_URL", "https://github.com"),
        )
    except (PublishError, KeyError) as error:
        print(f"::error::cannot publish: {error}")
        return 1
    outputs = {
        "image": plan.image,
        "channel": plan.channel,
        "build": str(plan.build).lower(),
        "immutable": f"{plan.image}:{plan.immutable_tag}",
        "existing-digest": existing,
        "tags": ",".join(plan.references),
        "labels": "\n".join(plan.labels),
    }
    with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
        for key, value in outputs.items():
            output.write(f"{key}<<EOF_PUBLISH_PLAN\n{value}\nEOF_PUBLISH_PLAN\n")
    print(f"{plan.channel}: {'build' if plan.build else 'promote'} {', '.join(plan.references)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
