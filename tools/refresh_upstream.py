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
from tools.entry import run_main

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


# --- replacement rules: what forces a resource to be replaced -------------------------------------

TERRAFORM_SOURCES = {
    "terraform-provider-github": Source(
        "https://github.com/integrations/terraform-provider-github",
        "b6ce8c0687af3b301d6dc022db1aca45f3ad2b26",
        "MIT",
        "v6.13.0+27 (2026-08-07); pulumi-github bridges this provider",
    ),
    "terraform-provider-random": Source(
        "https://github.com/hashicorp/terraform-provider-random",
        "ad788e233bb42be5ecad3ba8f43de0d9d9dc7185",
        "MPL-2.0",
        "v3.9.0+4 (2026-06-11); pulumi-random bridges this provider",
    ),
    "terraform-provider-time": Source(
        "https://github.com/hashicorp/terraform-provider-time",
        "16bc819eb938f78171198ba2efb37bfe27f6b700",
        "MPL-2.0",
        "v0.14.0+10 (2026-07-20); pulumiverse-time bridges this provider",
    ),
    "terraform-provider-aws": Source(
        "https://github.com/hashicorp/terraform-provider-aws",
        "e33a89d079930e92c79a986c9c041c5ed5191639",
        "MPL-2.0",
        "pulumi-aws bridges this provider; each file is read at the commit its entry names",
    ),
}

AWS_RESOURCES = {
    "aws:eks/cluster:Cluster": (
        "aws_eks_cluster",
        "internal/service/eks/cluster.go",
        "e33a89d079930e92c79a986c9c041c5ed5191639",
    ),
    "aws:eks/nodeGroup:NodeGroup": (
        "aws_eks_node_group",
        "internal/service/eks/node_group.go",
        "b11fc0fdd2efcc87bbff031692818008455bd048",
    ),
    "aws:ec2/vpc:Vpc": ("aws_vpc", "internal/service/ec2/vpc_.go", "00081ce41cc691433ac19bf42227cdabffd0454d"),
    "aws:kms/key:Key": ("aws_kms_key", "internal/service/kms/key.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"),
    "aws:secretsmanager/secret:Secret": (
        "aws_secretsmanager_secret",
        "internal/service/secretsmanager/secret.go",
        "00c21cedec069dd27093b175baf15bac6d4b30fe",
    ),
    "aws:ec2/subnet:Subnet": (
        "aws_subnet",
        "internal/service/ec2/vpc_subnet.go",
        "00cda125a19d31754cb0d073cf551264c57955cb",
    ),
    "aws:iam/role:Role": ("aws_iam_role", "internal/service/iam/role.go", "0040ea6911af00bea2cca6dbb14e86829826ad8e"),
    "aws:cloudwatch/logGroup:LogGroup": (
        "aws_cloudwatch_log_group",
        "internal/service/logs/group.go",
        "0073593e7d6993ba482409f4dc35438daaa79bb3",
    ),
    "aws:eks/addon:Addon": (
        "aws_eks_addon",
        "internal/service/eks/addon.go",
        "af55dfb90500e80afb9d9ba64a76024e500c948a",
    ),
    "aws:eks/accessEntry:AccessEntry": (
        "aws_eks_access_entry",
        "internal/service/eks/access_entry.go",
        "c7c8a3566bb83c2319e09262cfaf4d2d8de2584e",
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (
        "aws_iam_openid_connect_provider",
        "internal/service/iam/openid_connect_provider.go",
        "01606926a0c0ab9174aec440f976a48b0baee722",
    ),
    "aws:iam/rolePolicy:RolePolicy": (
        "aws_iam_role_policy",
        "internal/service/iam/role_policy.go",
        "02f97af85f89a04e8ed89f5e8b64a9a67f3cfe07",
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (
        "aws_iam_role_policy_attachment",
        "internal/service/iam/role_policy_attachment.go",
        "04c79849dbe7fbe76c3054b364357bcdaade9ac5",
    ),
    "aws:ec2/natGateway:NatGateway": (
        "aws_nat_gateway",
        "internal/service/ec2/vpc_nat_gateway.go",
        "04088eaa54948421bf1ef7494ae2b2c01d9243e3",
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": (
        "aws_secretsmanager_secret_version",
        "internal/service/secretsmanager/secret_version.go",
        "0042e8ea0de293c6cd8b003f89f7f4d2fb5fcf31",
    ),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (
        "aws_eks_access_policy_association",
        "internal/service/eks/access_policy_association.go",
        "6450ce3f2313c890bcfaec1a3cb4ad3bce15d454",
    ),
}
"""The AWS resource types whose replacement rules are vendored: the Pulumi type, Terraform's name, the
schema file and the commit it was read at (the whole provider is 900 MB; files are fetched one by one)."""
AWS_NAME_CONSTANTS = "names/attr_consts_gen.go"
"""Newer AWS schemas key attributes by constants (`names.AttrCIDRBlock: {...}`), defined there."""

KUBERNETES_SOURCE = Source(
    "https://github.com/pulumi/pulumi-kubernetes",
    "94977969d64112b04e19945818a7d5d5f38f631d",
    "Apache-2.0",
    "provider/pkg/provider/diff.go (`forceNew`, `metadataForceNewProperties`) and helm_release.go "
    "(`forceNewFields`), v4.32.0+27 (2026-07-01)",
)
KUBERNETES_EVERY_KIND = ("metadata.name", "metadata.namespace")
KUBERNETES_IMMUTABLE = {
    "kubernetes:storage.k8s.io/v1:StorageClass": ("parameters", "provisioner"),
    "kubernetes:core/v1:ResourceQuota": ("spec.scopes",),
    "kubernetes:core/v1:Secret": ("type", "stringData", "data"),
    "kubernetes:core/v1:ConfigMap": ("binaryData", "data"),
    "kubernetes:core/v1:Service": ("spec.clusterIP",),
    "kubernetes:core/v1:PersistentVolumeClaim": (
        "spec.accessModes",
        "spec.selector",
        "spec.storageClassName",
        "spec.volumeName",
    ),
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:apps/v1:DaemonSet": ("spec.selector",),
    "kubernetes:apps/v1:StatefulSet": (
        "spec.podManagementPolicy",
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
    ),
    "kubernetes:batch/v1:Job": ("spec.completions", "spec.parallelism", "spec.selector", "spec.template"),
}
"""pulumi-kubernetes' replacement table (diff.go at KUBERNETES_SOURCE.commit), transcribed for the kinds
a platform like this declares: Secrets and ConfigMaps are replaced on a data change unless the
provider enables mutability (`enableSecretMutable`, `enableConfigMapMutable`, off by default).
Every kind is also replaced when its name or namespace changes; a Helm release (helm_release.go)
on `name` and `namespace`."""
KUBERNETES_HELM_RELEASE = ("kubernetes:helm.sh/v3:Release", ("name", "namespace"))


def camel(snake: str) -> str:
    """Terraform's `subnet_ids` as Pulumi's `subnetIds`."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def go_string_constants(go_sources: list[str]) -> dict[str, str]:
    """`REPOSITORY_ID = "repository_id"` constants of a Go package, for schemas keyed by constants."""
    return {
        name: value
        for source in go_sources
        for name, value in re.findall(r'^\s*([A-Z]\w*)\s*=\s*"([a-z0-9_]+)"', source, re.MULTILINE)
    }


def force_new_attributes(go_source: str, constants: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Attribute paths of a Terraform resource schema that force replacement, as Pulumi property paths.

    `always`: `ForceNew: true` (SDKv2) or `RequiresReplace()` (plugin framework), nested blocks as
    `block.attribute`; `conditional`: `customdiff.ForceNewIfChange("x", ...)` and `RequiresReplaceIf...`,
    replaced only for some changes. Reads the schema literal by brace depth, as gofmt lays it out.
    """
    stack: list[tuple[str, int]] = []
    depth = 0
    always: set[str] = set()
    conditional: set[str] = set()
    for raw_line in go_source.splitlines():
        line = raw_line.split("// ", 1)[0]
        match = re.match(r'\s*(?:"([a-z0-9_]+)"|(?:names\.)?([A-Z]\w*)):\s*(?:&?schema\.\w+)?\s*\{', line)
        if match and (match[1] or (constants or {}).get(match[2])):
            stack.append((match[1] or (constants or {})[match[2]], depth + 1))
        path = ".".join(camel(name) for name, _ in stack)
        if re.search(r"\bForceNew:\s*true\b|\.RequiresReplace\(\)", line) and path:
            always.add(path)
        elif re.search(r"\.RequiresReplaceIf\w*\(", line) and path:
            conditional.add(path)
        conditional.update(camel(name) for name in re.findall(r'ForceNewIf\w*\(\s*"([a-z0-9_.]+)"', line))
        depth += line.count("{") - line.count("}")
        while stack and depth < stack[-1][1]:
            stack.pop()
    return {"always": sorted(always), "conditional": sorted(conditional - always)}


def _pascal(snake: str) -> str:
    name = camel(snake)
    return name[:1].upper() + name[1:]


@dataclass(frozen=True)
class BridgedProvider:
    """A Terraform provider whose whole resource package is parsed, and how Pulumi names its resources."""

    key: str
    directory: str
    file_pattern: str
    """The resource files, with a group for the resource's snake_case name."""
    pulumi_type: Callable[[str], str]


BRIDGED_PROVIDERS = (
    BridgedProvider(
        "terraform-provider-github", "github/", r"resource_github_([a-z_]+)\.go",
        lambda name: f"github:index/{camel(name)}:{_pascal(name)}",
    ),
    BridgedProvider(
        "terraform-provider-random", "internal/provider/", r"resource_([a-z0-9_]+)\.go",
        lambda name: f"random:index/random{_pascal(name)}:Random{_pascal(name)}",
    ),
    BridgedProvider(
        "terraform-provider-time", "internal/provider/", r"resource_time_([a-z_]+)\.go",
        lambda name: f"time:index/{camel(name)}:{_pascal(name)}",
    ),
)  # fmt: skip
"""pulumi-github, pulumi-random and pulumiverse-time bridge these providers; every resource file is parsed."""


def github_type(file_name: str) -> str:
    """`resource_github_repository_file.go` -> `github:index/repositoryFile:RepositoryFile`."""
    return BRIDGED_PROVIDERS[0].pulumi_type(file_name.removeprefix("resource_github_").removesuffix(".go"))


def replacement_rules(
    read_at: Callable[[str, str, str], str], list_files: Callable[[str, str], list[str]]
) -> dict[str, Any]:
    """Every vendored replacement rule by Pulumi type, with the source file and commit of each."""
    rules: dict[str, Any] = {}
    for provider in BRIDGED_PROVIDERS:
        commit = TERRAFORM_SOURCES[provider.key].commit
        files = list_files(provider.key, provider.directory)
        constants = go_string_constants([read_at(provider.key, commit, path) for path in files if "const" in path])
        for path in files:
            match = re.fullmatch(provider.file_pattern, path.rsplit("/", 1)[-1])
            if match is None or path.endswith("_test.go"):
                continue
            found = force_new_attributes(read_at(provider.key, commit, path), constants)
            rules[provider.pulumi_type(match[1])] = {"source": provider.key, "path": path, "commit": commit, **found}
    for pulumi_type, (_, path, commit) in AWS_RESOURCES.items():
        aws_constants = go_string_constants([read_at("terraform-provider-aws", commit, AWS_NAME_CONSTANTS)])
        found = force_new_attributes(read_at("terraform-provider-aws", commit, path), aws_constants)
        rules[pulumi_type] = {"source": "terraform-provider-aws", "path": path, "commit": commit, **found}
    kubernetes = {
        "source": "pulumi-kubernetes",
        "path": "provider/pkg/provider/diff.go",
        "commit": KUBERNETES_SOURCE.commit,
    }
    rules["kubernetes:*"] = {**kubernetes, "always": list(KUBERNETES_EVERY_KIND), "conditional": []}
    for pulumi_type, properties in KUBERNETES_IMMUTABLE.items():
        rules[pulumi_type] = {**kubernetes, "always": sorted(properties), "conditional": []}
    release_type, release_properties = KUBERNETES_HELM_RELEASE
    rules[release_type] = {
        **kubernetes,
        "path": "provider/pkg/provider/helm_release.go",
        "always": list(release_properties),
        "conditional": [],
    }
    return dict(sorted(rules.items()))


def serialize(data: Any) -> str:
    """Stable, reviewable JSON: sorted keys, one level of indentation, a final newline."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


class FetchError(Exception):
    """An upstream file could not be read (no network, no git, a moved path)."""


def git_reader(files: RepositoryFiles) -> Callable[[str, str], str]:
    """Reads `<source>:<path>` at the source's pinned commit (fetched lazily, blobs on demand)."""
    return lambda source_key, path: files.read_at(source_key, SOURCES[source_key].commit, path)


class RepositoryFiles:
    """Files of the upstream repositories at given commits: a local git mirror, or fetched lazily."""

    def __init__(self, git_dirs: dict[str, Path]) -> None:
        self.git_dirs = git_dirs
        self.fetched: dict[tuple[str, str], Path] = {}

    def _git_dir(self, key: str, commit: str) -> Path:
        if key in self.git_dirs:
            return self.git_dirs[key]
        if (key, commit) not in self.fetched:
            directory = Path(tempfile.mkdtemp(prefix=f"upstream-{key}-"))
            repository = {**SOURCES, **TERRAFORM_SOURCES}[key].repository
            for command in (
                ["git", "init", "--quiet", "--bare", str(directory)],
                [
                    "git",
                    "--git-dir",
                    str(directory),
                    "fetch",
                    "--quiet",
                    "--depth",
                    "1",
                    "--filter=blob:none",
                    repository,
                    commit,
                ],
            ):
                completed = subprocess.run(command, capture_output=True, text=True, check=False)
                if completed.returncode != 0:
                    raise FetchError(f"{repository}@{commit[:12]}: {completed.stderr.strip() or 'git failed'}")
            self.fetched[(key, commit)] = directory
        return self.fetched[(key, commit)]

    def read_at(self, key: str, commit: str, path: str) -> str:
        """One file at one commit."""
        shown = subprocess.run(
            ["git", "--git-dir", str(self._git_dir(key, commit)), "show", f"{commit}:{path}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if shown.returncode != 0:
            raise FetchError(f"{key}@{commit[:12]}:{path}: {shown.stderr.strip()}")
        return shown.stdout

    def list_files(self, key: str, directory: str) -> list[str]:
        """The files of one directory of a source at its pinned commit."""
        commit = TERRAFORM_SOURCES[key].commit
        listed = subprocess.run(
            ["git", "--git-dir", str(self._git_dir(key, commit)), "ls-tree", "--name-only", commit, directory],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if listed.returncode != 0:
            raise FetchError(f"{key}@{commit[:12]}: {listed.stderr.strip()}")
        return listed.stdout.split()


REPLACEMENT_FILE = UPSTREAM_DIR / "replacement" / "force-new.json"


def refresh_replacement(files: RepositoryFiles, keep: set[str]) -> int:
    """Rewrite replacement/force-new.json; entries of a source in `keep` stay as they are."""
    kept = {}
    if keep and REPLACEMENT_FILE.exists():
        kept = {k: v for k, v in json.loads(REPLACEMENT_FILE.read_text()).items() if v["source"] in keep}
    skip_aws = "terraform-provider-aws" in keep
    aws_resources = dict(AWS_RESOURCES)
    if skip_aws:
        AWS_RESOURCES.clear()
    try:
        rules = replacement_rules(files.read_at, files.list_files)
    finally:
        AWS_RESOURCES.update(aws_resources)
    rules = dict(sorted({**rules, **kept}.items()))
    REPLACEMENT_FILE.parent.mkdir(parents=True, exist_ok=True)
    REPLACEMENT_FILE.write_text(serialize(rules))
    return len(rules)


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
    parser.add_argument(
        "--git-dir", action="append", default=[], metavar="KEY=DIR",
        help="a local git mirror of a replacement source (terraform-provider-github=...) instead of fetching it",
    )  # fmt: skip
    parser.add_argument(
        "--keep", action="append", default=[], metavar="SOURCE", help="keep that source's rules as they are"
    )
    parser.add_argument("--replacement-only", action="store_true", help="refresh only replacement/force-new.json")
    args = parser.parse_args(argv)
    git_dirs = {key: Path(directory) for key, _, directory in (item.partition("=") for item in args.git_dir)}
    files = RepositoryFiles(git_dirs)
    read = copy_reader(args.from_copy) if args.from_copy else git_reader(files)
    try:
        count = refresh_replacement(files, set(args.keep))
        print(f"wrote {count} replacement rules to {REPLACEMENT_FILE.relative_to(PROJECT_ROOT)}")
        if args.replacement_only:
            return 0
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
    run_main(main)
