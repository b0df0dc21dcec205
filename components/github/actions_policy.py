"""The organization's Actions policy, derived from the workflows it runs (pure functions).

Allowed actions are GitHub's own plus one `owner/repo@*` pattern per third-party action the
workflows use: the pattern names no ref, so a Dependabot bump of a pinned SHA keeps working, while a
workflow in any repository that reaches for another action fails at job setup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

GITHUB_OWNED = frozenset({"actions", "github"})
"""Owners whose actions GitHub counts as GitHub-owned (`github_owned_allowed`)."""

_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)", re.MULTILINE)


def third_party_action_patterns(workflow_texts: Iterable[str], organization: str) -> tuple[str, ...]:
    """`owner/repo@*` for every action the workflows use that is neither GitHub's nor the organization's."""
    patterns = set()
    for text in workflow_texts:
        for reference in _USES.findall(text):
            if reference.startswith(("./", "docker://")):
                continue
            path, _, _ = reference.partition("@")
            owner, _, rest = path.partition("/")
            repository = rest.split("/", 1)[0]
            if owner.casefold() in GITHUB_OWNED or owner.casefold() == organization.casefold():
                continue
            patterns.add(f"{owner}/{repository}@*")
    return tuple(sorted(patterns))
