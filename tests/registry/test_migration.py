"""The migration's plan and verification: every tag copied with its digest, conflicts never overwritten."""

from __future__ import annotations

from components.registry.migration import LINK_TAG, link_command, plan_moves, report, verify

A, B, C = ("sha256:" + letter * 64 for letter in "abc")


def test_every_source_tag_is_planned_and_existing_ones_are_respected() -> None:
    moves = plan_moves("gateway", {"1.0.0": A, "latest": B, "sha256-" + "a" * 64: C}, {"1.0.0": A, "latest": C})
    assert [(move.tag, move.action) for move in moves] == [
        ("1.0.0", "present"),
        ("latest", "conflict"),
        ("sha256-" + "a" * 64, "copy"),
    ]


def test_verification_demands_every_digest_match() -> None:
    moves = plan_moves("gateway", {"1.0.0": A, "2.0.0": B}, {})
    assert verify(moves, {"gateway": {"1.0.0": A, "2.0.0": B}}) == []
    problems = verify(moves, {"gateway": {"1.0.0": A, "2.0.0": C}})
    assert problems == [f"gateway:2.0.0: expected {B}, found {C}"]
    assert verify(moves, {"gateway": {"1.0.0": A}}) == [f"gateway:2.0.0: expected {B}, found nothing"]


def test_a_conflict_is_a_problem_even_when_nothing_was_copied() -> None:
    moves = plan_moves("auth", {"1.0.0": A}, {"1.0.0": B})
    assert verify(moves, {"auth": {"1.0.0": B}}) == [f"auth:1.0.0: the organization already has {B}"]


def test_the_report_lists_every_tag() -> None:
    moves = plan_moves("gateway", {"1.0.0": A, "2.0.0": B}, {})
    text = report(moves, [], dry_run=True)
    assert "dry run" in text and "| gateway | 1.0.0 |" in text and "| gateway | 2.0.0 |" in text


def test_packages_are_linked_to_their_repository_by_the_source_annotation() -> None:
    command = link_command("pyairtable", "gateway", "pyairtable-gateway", A)
    assert "index:org.opencontainers.image.source=https://github.com/pyairtable/pyairtable-gateway" in command
    assert command[-3:] == ["--tag", f"ghcr.io/pyairtable/gateway:{LINK_TAG}", f"ghcr.io/pyairtable/gateway@{A}"]
