"""`make refresh-upstream`: rebuild data/upstream/ from the upstream repositories at their pinned commits.

    python -m tools.refresh_upstream                       # fetch each repository (needs network and git)
    python -m tools.refresh_upstream --from-copy DIR       # derive from byte-for-byte copies of the files

The tests read only data derived from upstream files, never the files themselves: each CRD's
`openAPIV3Schema` (the served storage version), a chart's default values parsed from values.yaml
(comments dropped), the top-level keys values.yaml documents only as a comment, chart metadata, and
a chart's JSON schema. Each source is pinned to a commit (`SOURCES`); to move a chart to a newer
release, change the commit here, run this, and read the diff of data/upstream/. The README written
beside the data lists every file's repository, commit, path and licence.

With network, each repository is fetched shallowly at its commit (`git fetch --depth 1 <commit>`);
`--from-copy DIR` instead reads `DIR/<source key>/<path in repository>` (a folder of files copied
with `git show <commit>:<path>`), which is how the data in this repository was first derived.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.shared.paths import DATA_DIR, PROJECT_ROOT

UPSTREAM_DIR = DATA_DIR / "upstream"


@dataclass(frozen=True)
class Source:
    """An upstream repository at a pinned commit."""

    repository: str
    commit: str
    licence: str
    note: str = ""


SOURCES = {
    "external-secrets": Source(
        "https://github.com/external-secrets/external-secrets",
        "cc5bfbc2234ace9cb0caff4ea89c435cf517b27b",
        "Apache-2.0",
        'chart 2.9.0 ("chore: release helm chart for 2.9.0 (#6808)", 2026-08-08)',
    ),
    "prometheus-community-helm-charts": Source(
        "https://github.com/prometheus-community/helm-charts",
        "cf408a290aec489277a94450bb3511432477a53a",
        "Apache-2.0",
        "kube-prometheus-stack 88.5.3 with the prometheus-operator v0.93.1 CRDs it vendors (2026-08-22)",
    ),
    "grafana-community-helm-charts": Source(
        "https://github.com/grafana-community/helm-charts",
        "3386a1156177c6bcd7fdb1ad4c6b1dda094296e0",
        "Apache-2.0",
        "grafana chart 12.11.1, the version kube-prometheus-stack 88.5.3 depends on (2026-08-20); the chart moved "
        "here from grafana/helm-charts on 2026-01-30",
    ),
}


def chart_metadata(text: str) -> dict[str, Any]:
    """Chart.yaml: name, versions and dependencies (what tests pin against)."""
    chart = yaml.safe_load(text)
    keys = ("name", "version", "appVersion", "kubeVersion")
    dependencies = [
        {key: dependency[key] for key in ("name", "version", "repository") if key in dependency}
        for dependency in chart.get("dependencies", [])
    ]
    return {**{key: chart[key] for key in keys if key in chart}, "dependencies": dependencies}


def chart_values(text: str) -> Any:
    """values.yaml parsed: every default value and key path, comments dropped."""
    return yaml.safe_load(text)


def commented_out_keys(text: str) -> list[str]:
    """Top-level keys that values.yaml documents only as a comment (`# podAnnotations: {}`): the chart reads them."""
    values = yaml.safe_load(text) or {}
    found = re.findall(r"^# ([a-z][A-Za-z0-9_-]*):(?: |$)", text, re.MULTILINE)
    return sorted({key for key in found if key not in values})


def crd_schema(text: str) -> dict[str, Any]:
    """A CRD's served storage version and its `openAPIV3Schema`."""
    crd = yaml.safe_load(text)
    [version] = [item for item in crd["spec"]["versions"] if item.get("storage")]
    return {
        "group": crd["spec"]["group"],
        "kind": crd["spec"]["names"]["kind"],
        "version": version["name"],
        "served": bool(version.get("served")),
        "storage": True,
        "openAPIV3Schema": version["schema"]["openAPIV3Schema"],
    }


def json_document(text: str) -> Any:
    """A JSON file as it is (a chart's values.schema.json is already the derived form)."""
    return json.loads(text)


@dataclass(frozen=True)
class Derived:
    """One file of data/upstream/: which upstream file it comes from, and how."""

    output: str
    source: str
    path: str
    derive: Callable[[str], Any]
    purpose: str


ESO_CRDS = "config/crds/bases/external-secrets.io_{}.yaml"
PROMETHEUS_CRDS = "charts/kube-prometheus-stack/charts/crds/crds/crd-{}.yaml"

DERIVED = (
    Derived("external-secrets/chart.json", "external-secrets", "deploy/charts/external-secrets/Chart.yaml",
            chart_metadata, "the chart version the release pins"),
    Derived("external-secrets/values.json", "external-secrets", "deploy/charts/external-secrets/values.yaml",
            chart_values, "value key paths and defaults the release's values are checked against"),
    Derived("external-secrets/values.schema.json", "external-secrets",
            "deploy/charts/external-secrets/values.schema.json", json_document,
            "the chart's JSON schema (draft 2020-12) for the release's values"),
    *(
        Derived(f"external-secrets/crds/{kind}.json", "external-secrets", ESO_CRDS.format(f"{kind}s"), crd_schema,
                f"openAPIV3Schema of the {kind} CRD")
        # The kinds the program declares; SecretStore and ClusterExternalSecret (300 kB each) are left out.
        for kind in ("externalsecret", "clustersecretstore")
    ),
    Derived("kube-prometheus-stack/chart.json", "prometheus-community-helm-charts",
            "charts/kube-prometheus-stack/Chart.yaml", chart_metadata, "chart version and subchart versions"),
    Derived("kube-prometheus-stack/values.json", "prometheus-community-helm-charts",
            "charts/kube-prometheus-stack/values.yaml", chart_values,
            "value key paths and defaults (the chart has no values.schema.json)"),
    Derived("kube-prometheus-stack/commented-keys.json", "prometheus-community-helm-charts",
            "charts/kube-prometheus-stack/values.yaml", commented_out_keys,
            "top-level keys documented only as comments"),
    *(
        Derived(f"prometheus-operator/crds/{kind}.json", "prometheus-community-helm-charts",
                PROMETHEUS_CRDS.format(f"{kind}s"), crd_schema, f"openAPIV3Schema of the {kind} CRD (v0.93.1)")
        for kind in ("servicemonitor", "podmonitor", "prometheusrule")
    ),
    Derived("grafana/chart.json", "grafana-community-helm-charts", "charts/grafana/Chart.yaml", chart_metadata,
            "chart version"),
    Derived("grafana/values.json", "grafana-community-helm-charts", "charts/grafana/values.yaml", chart_values,
            "value key paths and defaults (the chart has no values.schema.json)"),
    Derived("grafana/commented-keys.json", "grafana-community-helm-charts", "charts/grafana/values.yaml",
            commented_out_keys, "top-level keys documented only as comments (podAnnotations, ...)"),
)  # fmt: skip


def serialize(data: Any) -> str:
    """Stable, reviewable JSON: sorted keys, one level of indentation, a final newline."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


class FetchError(Exception):
    """An upstream file could not be read (no network, no git, a moved path)."""


def git_reader(checkouts: dict[str, Path]) -> Callable[[str, str], str]:
    """Reads `<source>:<path>` from a shallow fetch of the source's pinned commit."""

    def read(source_key: str, path: str) -> str:
        source = SOURCES[source_key]
        if source_key not in checkouts:
            directory = Path(tempfile.mkdtemp(prefix=f"upstream-{source_key}-"))
            for command in (
                ["git", "init", "--quiet", str(directory)],
                ["git", "-C", str(directory), "fetch", "--quiet", "--depth", "1", source.repository, source.commit],
            ):
                completed = subprocess.run(command, capture_output=True, text=True, check=False)
                if completed.returncode != 0:
                    raise FetchError(f"{' '.join(command[:4])}...: {completed.stderr.strip() or 'failed'}")
            checkouts[source_key] = directory
        shown = subprocess.run(
            ["git", "-C", str(checkouts[source_key]), "show", f"{source.commit}:{path}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode != 0:
            raise FetchError(f"{source.repository}@{source.commit[:12]}:{path}: {shown.stderr.strip()}")
        return shown.stdout

    return read


def copy_reader(root: Path) -> Callable[[str, str], str]:
    """Reads `<root>/<source>/<path>`, files copied byte for byte from the pinned commits."""

    def read(source_key: str, path: str) -> str:
        file = root / source_key / path
        try:
            return file.read_text()
        except OSError as error:
            raise FetchError(f"{file}: {error.strerror}") from None

    return read


def refresh(read: Callable[[str, str], str], target: Path = UPSTREAM_DIR) -> list[str]:
    """Write every derived file and the provenance README; returns the README's table rows."""
    rows = []
    for item in DERIVED:
        text = read(item.source, item.path)
        output = target / item.output
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(serialize(item.derive(text)))
        source = SOURCES[item.source]
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        rows.append(
            f"| `{item.output}` | {source.repository.removeprefix('https://')} | `{source.commit[:12]}` | "
            f"`{item.path}` (sha256 {digest}...) | {source.licence} | {item.purpose} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command line: rebuild data/upstream/; one line and exit 1 when an upstream file cannot be read."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from-copy", type=Path, help="read DIR/<source>/<path> instead of fetching")
    args = parser.parse_args(argv)
    read = copy_reader(args.from_copy) if args.from_copy else git_reader({})
    try:
        rows = refresh(read)
    except FetchError as error:
        print(f"error: cannot read upstream data: {error}", file=sys.stderr)
        return 1
    sources = "\n".join(
        f"- `{key}`: {source.repository} at `{source.commit}` ({source.licence}): {source.note}"
        for key, source in SOURCES.items()
    )
    table = "\n".join(rows)
    readme = (UPSTREAM_DIR / "README.md").read_text() if (UPSTREAM_DIR / "README.md").exists() else ""
    generated = f"<!-- generated by make refresh-upstream -->\n## Sources\n\n{sources}\n\n## Files\n\n| file | repository | commit | path | licence | used for |\n|---|---|---|---|---|---|\n{table}\n<!-- end generated -->"  # noqa: E501
    if "<!-- generated by make refresh-upstream -->" in readme:
        readme = re.sub(
            r"<!-- generated by make refresh-upstream -->.*<!-- end generated -->",
            lambda _: generated,
            readme,
            flags=re.S,
        )
    else:
        readme = f"# Upstream data\n\n{generated}\n"
    (UPSTREAM_DIR / "README.md").write_text(readme)
    print(f"wrote {len(rows)} files under {UPSTREAM_DIR.relative_to(PROJECT_ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
