"""Retention on a package of multi-arch images with attestations: nothing a kept image needs is deleted."""

from __future__ import annotations

import datetime

import pytest

from components.registry.retention import (
    PackageVersion,
    RetentionPlan,
    main,
    plan_retention,
    token_expiry_notice,
)
from tests.registry.ghcr_fixture import INDEX, NOW, Package, gateway_package

KEEP_NEWEST = 2
MIN_AGE = datetime.timedelta(days=14)


def _plan(package: Package) -> RetentionPlan:
    return plan_retention(package.versions, package.manifests, keep_newest=KEEP_NEWEST, min_age=MIN_AGE, now=NOW)


def _deleted(plan: RetentionPlan) -> set[str]:
    return {version.digest for version in plan.deletions}


def test_deletes_exactly_the_unreferenced_old_images_with_all_their_parts() -> None:
    package, images = gateway_package()
    deleted = _deleted(_plan(package))
    assert deleted == {*images["old-dev"].all, *images["moved-away"].all}


@pytest.mark.parametrize("name", ["release-1.0.0", "release-2.0.0-rc.1", "dev-2", "dev-3", "in-progress"])
def test_a_kept_image_keeps_its_platforms_attestations_and_signature(name: str) -> None:
    package, images = gateway_package()
    deleted = _deleted(_plan(package))
    assert not set(images[name].all) & deleted


def test_nothing_a_kept_version_references_is_ever_deleted() -> None:
    package, _ = gateway_package()
    plan = _plan(package)
    kept = {decision.version.digest for decision in plan.decisions if decision.keep}
    for digest in kept:
        for entry in package.manifests[digest].get("manifests", ()):
            assert entry["digest"] in kept
        subject = package.manifests[digest].get("subject")
        if subject is not None and subject["digest"] not in kept:
            pytest.fail(f"{digest} is kept although its subject is not: it should have gone with it")


def test_a_platform_manifest_shared_with_a_deleted_index_stays() -> None:
    package, images = gateway_package()
    shared_child = images["release-1.0.0"].children[0]
    package.add({"schemaVersion": 2, "mediaType": INDEX, "manifests": [{"digest": shared_child}]}, (), 300)
    plan = _plan(package)
    assert shared_child not in _deleted(plan)
    assert package.versions[-1].digest in _deleted(plan)  # the orphaned index itself goes


def test_semver_tags_survive_whatever_their_age_and_rank() -> None:
    package, images = gateway_package()
    plan = plan_retention(package.versions, package.manifests, keep_newest=1, min_age=MIN_AGE, now=NOW)
    deleted = _deleted(plan)
    assert not set(images["release-1.0.0"].all) & deleted
    assert set(images["dev-2"].all) <= deleted  # the second-newest dev build goes when only one is kept


def test_young_versions_are_kept_whatever_references_them() -> None:
    package, images = gateway_package()
    plan = plan_retention(
        package.versions, package.manifests, keep_newest=KEEP_NEWEST, min_age=datetime.timedelta(days=365), now=NOW
    )
    assert plan.deletions == ()
    assert {d.reason for d in plan.decisions if d.version.digest == images["old-dev"].index} == {
        "younger than 365 days"
    }


def test_an_unreadable_manifest_blocks_every_deletion() -> None:
    package, images = gateway_package()
    del package.manifests[images["release-1.0.0"].index]  # its children would look orphaned
    plan = _plan(package)
    assert plan.blocked and plan.deletions == ()


def test_referrers_tags_do_not_count_as_newest_images() -> None:
    package = Package()
    image = package.multi_arch_image("only", ("sha-ffffffffffff",), 60)
    plan = plan_retention(package.versions, package.manifests, keep_newest=1, min_age=MIN_AGE, now=NOW)
    reasons = {d.version.digest: d.reason for d in plan.decisions}
    assert reasons[image.index] == "newest image #1"
    assert reasons[image.referrers_index].startswith("referenced by kept")


def test_the_cli_is_a_dry_run_unless_told_to_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    package, _ = gateway_package()
    deleted: list[PackageVersion] = []
    monkeypatch.setenv("REGISTRY_ADMIN_TOKEN", "token")
    monkeypatch.setenv("REGISTRY_ADMIN_USER", "admin")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setattr("components.registry.retention.list_versions", lambda *_: package.versions)
    monkeypatch.setattr("components.registry.retention.read_manifests", lambda *_: package.manifests)
    monkeypatch.setattr("components.registry.retention.delete_version", lambda *a: deleted.append(a[2]))
    arguments = ["--organization", "pyairtable", "--packages", '["gateway"]', "--keep-newest", "2"]
    arguments += ["--min-age-days", "14"]
    assert main(arguments) == 0
    assert deleted == []
    assert main([*arguments, "--apply"]) == 0
    assert len(deleted) == 2 * 7  # two images of index, 4 platform/attestation manifests, bundle, referrers


def test_the_cli_refuses_to_run_without_the_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_ADMIN_TOKEN", raising=False)
    arguments = ["--organization", "o", "--packages", "[]", "--keep-newest", "1", "--min-age-days", "1"]
    assert main(arguments) == 1


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(90, ""), (31, ""), (30, "expires on"), (0, "expires on"), (-1, "expired on")],
)
def test_token_expiry_notice(days_left: int, expected: str) -> None:
    today = datetime.date(2027, 1, 1)
    notice = token_expiry_notice(today + datetime.timedelta(days=days_left), today, 30)
    assert (expected in notice) if expected else notice == ""
