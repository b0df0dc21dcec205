"""A GHCR package as the versions API and the registry show it: multi-arch images with attestations.

Each image is what `docker buildx build --platform linux/amd64,linux/arm64 --provenance --sbom`
pushes (an OCI index over two platform manifests and two attestation manifests, the latter marked
`vnd.docker.reference.type: attestation-manifest`), plus what `actions/attest-build-provenance`
pushes (a Sigstore bundle manifest whose `subject` is the index, and the referrers fallback index
tagged `sha256-<index hex>`). Digests are the real sha256 of each manifest's JSON, so every
reference resolves the way it does on the registry.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from components.registry.retention import PackageVersion

NOW = datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.UTC)
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def digest_of(manifest: dict[str, Any]) -> str:
    """The manifest's digest as the registry computes it (sha256 of its bytes)."""
    return "sha256:" + hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def _descriptor(manifest: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"mediaType": manifest["mediaType"], "digest": digest_of(manifest), "size": 1000, **extra}


def _image_manifest(seed: str, artifact_type: str | None = None, subject: str | None = None) -> dict[str, Any]:
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "0" * 64, "size": 1}
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{seed:0<64}"[:71]},
        "layers": [layer],
    }
    if artifact_type:
        manifest["artifactType"] = artifact_type
    if subject:
        manifest["subject"] = {"mediaType": INDEX, "digest": subject, "size": 1000}
    return manifest


@dataclass
class Package:
    """Versions and manifests of one package, built image by image."""

    versions: list[PackageVersion] = field(default_factory=list)
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    _next_id: int = 1

    def add(self, manifest: dict[str, Any], tags: tuple[str, ...], age_days: float) -> str:
        digest = digest_of(manifest)
        self.manifests[digest] = manifest
        created = NOW - datetime.timedelta(days=age_days)
        self.versions.append(PackageVersion(self._next_id, digest, tags, created))
        self._next_id += 1
        return digest

    def multi_arch_image(self, name: str, tags: tuple[str, ...], age_days: float, *, signed: bool = True) -> Image:
        """One buildx push of two platforms with SBOM and provenance, and (signed) a GitHub attestation."""
        amd64 = _image_manifest(f"{name}a")
        arm64 = _image_manifest(f"{name}b")
        attestations = [_image_manifest(f"{name}c"), _image_manifest(f"{name}d")]
        index = {
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [
                _descriptor(amd64, platform={"architecture": "amd64", "os": "linux"}),
                _descriptor(arm64, platform={"architecture": "arm64", "os": "linux"}),
                *[
                    _descriptor(
                        attestation,
                        platform={"architecture": "unknown", "os": "unknown"},
                        annotations={
                            "vnd.docker.reference.type": "attestation-manifest",
                            "vnd.docker.reference.digest": digest_of(platform),
                        },
                    )
                    for attestation, platform in zip(attestations, (amd64, arm64), strict=True)
                ],
            ],
        }
        # Platform manifests are pushed a moment before their index.
        children = [self.add(manifest, (), age_days + 0.01) for manifest in (amd64, arm64, *attestations)]
        index_digest = self.add(index, tags, age_days)
        image = Image(index_digest, children)
        if signed:
            bundle = _image_manifest(f"{name}e", artifact_type=BUNDLE, subject=index_digest)
            image.bundle = self.add(bundle, (), age_days)
            referrers = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [_descriptor(bundle)]}
            image.referrers_index = self.add(referrers, (f"sha256-{index_digest.removeprefix('sha256:')}",), age_days)
        return image


@dataclass
class Image:
    """The digests of one pushed image."""

    index: str
    children: list[str]
    bundle: str = ""
    referrers_index: str = ""

    @property
    def all(self) -> list[str]:
        """Every version the push created."""
        return [self.index, *self.children, *[d for d in (self.bundle, self.referrers_index) if d]]


def gateway_package() -> tuple[Package, dict[str, Image]]:
    """A service's package after a year: releases, dev builds, a moved tag's leftovers, a push in progress."""
    package = Package()
    images = {
        # An old release: kept for its semver tag, with everything it references.
        "release-1.0.0": package.multi_arch_image("r100", ("1.0.0", "sha-aaaaaaaaaaaa"), 200),
        # An old dev build, neither newest nor released: deleted whole, attestations included.
        "old-dev": package.multi_arch_image("olddev", ("sha-bbbbbbbbbbbb",), 120),
        # Was `main`/`latest` until the next push moved both tags: untagged now, deleted whole.
        "moved-away": package.multi_arch_image("moved", (), 90),
        # The two newest dev builds: kept (keep_newest=2), the newest also has `main` and `latest`.
        "dev-2": package.multi_arch_image("dev2", ("sha-cccccccccccc",), 40),
        "dev-3": package.multi_arch_image("dev3", ("sha-dddddddddddd", "main", "latest"), 30),
        # A release candidate, older than the newest two but semver: kept.
        "release-2.0.0-rc.1": package.multi_arch_image("rc1", ("2.0.0-rc.1", "sha-eeeeeeeeeeee"), 100),
        # A push in progress: platform manifests uploaded, index not yet (untagged, an hour old): kept.
        "in-progress": package.multi_arch_image("wip", (), 1 / 24, signed=False),
    }
    return package, images
