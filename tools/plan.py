"""The offline plan: run the real `__main__.py` of a stack under Pulumi's mocks and record what it declares.

Every resource registration is captured with its inputs (the camelCase property names the engine
receives) and its options (protect, retainOnDelete, ignoreChanges, import, dependsOn), and the stack
outputs are captured as the engine would store them. Secret values become the string "[secret]".

    python -m tools.plan                  # readable tree of every stack
    python -m tools.plan dev --json p.json  # one stack, plus the machine-readable plan

Nothing here talks to a cloud: the mocks answer every registration, and an invoke (data-source
call) that the program was not expected to make fails the plan.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import runpy
import sys
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

import components.shared.catalog as catalog_module
from components.cluster.settings import TODAY_VARIABLE
from components.config.common import PROJECT, STACKS
from components.config.stack_file import stack_file_config
from components.shared.catalog import Catalog
from components.shared.errors import ConfigError
from components.shared.paths import PROJECT_ROOT
from tools.entry import run_main

ROOT = PROJECT_ROOT
SECRET = "[secret]"
PLAN_DATE = "2026-12-01"
"""The date the offline plan runs on (the EKS support check reads it through `PYAIRTABLE_TODAY`), so
plans and snapshots do not change with the calendar; move it forward with the version table."""


# Resource types whose id is a number on the real provider (stable per logical name in the mocks).
NUMERIC_ID_TYPES = frozenset({"github:index/team:Team"})


class UnexpectedInvokeError(Exception):
    """The program called a data source the offline plan does not answer."""


def _render(value: Any) -> Any:
    """Plain JSON data of a deserialized property value, with every secret replaced by "[secret]"."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {key: _render(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_render(item) for item in value]
    if isinstance(value, pulumi.Resource):
        return f"[resource {type(value).__name__}]"
    return value


def _strip_reference(reference: str) -> str | None:
    """A provider reference is `<urn>::<id>`; the plan names the provider by its URN."""
    return reference.rsplit("::", 1)[0] if reference else None


def _mock_outputs(args: pulumi_mocks.MockResourceArgs) -> dict[str, Any]:
    """Known output values for the properties the program reads back from its resources."""
    name = args.inputs.get("name") or args.name
    outputs: dict[str, Any] = {"arn": f"arn:aws:mock:::{args.typ.split(':')[-1].lower()}/{name}", "name": name}
    type_token = args.typ
    if type_token == "aws:eks/cluster:Cluster":
        outputs |= {
            "endpoint": f"https://{name}.eks.mock",
            "certificateAuthority": {"data": "bW9jay1jYQ=="},
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.mock/id/{name}"}]}],
            "vpcConfig": {**args.inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{name}-cluster"},
        }
    elif type_token == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        outputs["url"] = args.inputs.get("url", "")
    elif type_token == "aws:eks/nodeGroup:NodeGroup":
        outputs["nodeGroupName"] = f"{args.inputs.get('nodeGroupNamePrefix', '')}mock"
        outputs["resources"] = [{"autoscalingGroups": [{"name": f"eks-{args.name}-asg"}]}]
    elif type_token == "aws:route53/zone:Zone":
        outputs |= {"zoneId": f"Z-{args.name}", "nameServers": [f"ns-{i}.awsdns.mock" for i in range(4)]}
    elif type_token == "aws:route53/record:Record":
        outputs["fqdn"] = args.inputs.get("name", "")
    elif type_token == "aws:acm/certificate:Certificate":
        # The zone and its wildcard share one validation record, as ACM answers.
        record = {
            "resourceRecordName": f"_mock.{name}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": "_mock.acm-validations.aws.",
        }
        outputs["domainValidationOptions"] = [{"domainName": name, **record}, {"domainName": f"*.{name}", **record}]
    elif type_token == "aws:ec2/launchTemplate:LaunchTemplate":
        outputs["latestVersion"] = 1
    elif type_token == "aws:rds/instance:Instance":
        outputs |= {
            "address": f"{args.inputs.get('identifier', name)}.mock.rds.amazonaws.com",
            "masterUserSecrets": [{"secretArn": f"arn:aws:secretsmanager:mock:secret:rds!db-{name}"}],
        }
    elif type_token == "aws:elasticache/replicationGroup:ReplicationGroup":
        outputs["primaryEndpointAddress"] = f"master.{name}.mock.cache.amazonaws.com"
    elif type_token == "aws:kms/key:Key":
        outputs["keyId"] = f"{args.name}-key-id"
    elif type_token == "github:index/repository:Repository":
        outputs |= {"htmlUrl": f"https://github.com/pyairtable/{name}", "nodeId": f"R_mock_{name}"}
    elif type_token == "aws:secretsmanager/secretVersion:SecretVersion":
        outputs["versionId"] = f"{args.name}-version-id"
    elif type_token == "time:index/rotating:Rotating":
        # A fixed base timestamp keeps plans deterministic (the real one is the creation time).
        outputs["rfc3339"] = "2026-01-01T00:00:00Z"
    elif type_token.startswith("random:"):
        outputs["result"] = rpc.wrap_rpc_secret(f"mock-random-{args.name}")
    return outputs


class PlanMocks(pulumi.runtime.Mocks):
    """Answers registrations with inputs plus known outputs; refuses unexpected invokes."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ in NUMERIC_ID_TYPES:
            # GitHub gives these numeric ids, and the program converts them (environment reviewers).
            return str(zlib.crc32(args.name.encode()) % 10_000_000), {**args.inputs, **_mock_outputs(args)}
        return f"{args.name}-id", {**args.inputs, **_mock_outputs(args)}

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        # The program makes no invoke: config says what a data source would look up.
        raise UnexpectedInvokeError(f"unexpected invoke {args.token}: take the value from config instead")


@dataclass
class Plan:
    """What one stack declares: the JSON plan (`as_json`) plus the warnings the program logged."""

    stack: str
    resources: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The machine-readable plan: `{"stack", "resources", "outputs"}` exactly."""
        return {"stack": self.stack, "resources": self.resources, "outputs": self.outputs}

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        """Every resource of one type token, e.g. `aws:eks/cluster:Cluster`."""
        return [resource for resource in self.resources if resource["type"] == type_token]

    def one(self, type_token: str, name: str | None = None) -> dict[str, Any]:
        """The single resource of a type (and logical name); fails when there is not exactly one."""
        found = [r for r in self.of_type(type_token) if name is None or r["name"] == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_token} {name or ''}, found {[r['name'] for r in found]}")
        return found[0]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also recording each registration's options and the stack's outputs."""

    def __init__(self, mocks: pulumi.runtime.Mocks, plan: Plan) -> None:
        super().__init__(mocks)
        self.plan = plan

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        self.plan.resources.append(
            {
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "parent": request.parent or None,
                "provider": _strip_reference(request.provider),
                "custom": bool(request.custom),
                "inputs": _render(rpc.deserialize_properties(request.object)),
                "options": {
                    "protect": bool(request.protect),
                    "retainOnDelete": bool(request.retainOnDelete),
                    "ignoreChanges": sorted(request.ignoreChanges),
                    "import": request.importId or None,
                    "dependsOn": sorted(set(request.dependencies)),
                },
            }
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            self.plan.outputs = _render(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


class _WarningCollector(logging.Handler):
    def __init__(self, plan: Plan) -> None:
        super().__init__(logging.WARNING)
        self.plan = plan

    def emit(self, record: logging.LogRecord) -> None:
        self.plan.warnings.append(record.getMessage())


def build_plan(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    root: Path = ROOT,
    program: Callable[[], object] | None = None,
    catalog: Catalog | None = None,
    *,
    project: str = PROJECT,
) -> Plan:
    """Run `__main__.py` for `stack` under the mocks and return what it declared.

    `overrides` replaces stack file values (bare keys of this project, or `ns:key`; YAML values such
    as lists and dicts), as `pulumi config set` would; a value of None removes the key. They pass the
    CLI's rules like the stack file. Raises `ConfigError` on bad config, in the CLI's words where the
    CLI would stop first, and `DuplicateUrnError` when two resources share a URN.
    `program` runs instead of `__main__.py`, with the same config and recording: tests use it to
    plan one component on its own. `catalog` replaces the service catalog for this run (a synthetic
    catalog for `make bench`, a doctored one for a test). `root` and `project` plan another Pulumi
    project of this repository (the state-backend bootstrap in `bootstrap/`) with its own stack files.
    """
    os.environ.setdefault(TODAY_VARIABLE, PLAN_DATE)
    # The CLI's rules and encoding (components/config/cli.py): the program sees what `pulumi preview` hands it.
    values, secret_keys = stack_file_config(stack, root, overrides)

    plan = Plan(stack=stack)
    logger = logging.getLogger(f"pyairtable-plan-{stack}")
    logger.propagate = False
    logger.handlers = [_WarningCollector(plan)]
    mocks = PlanMocks()
    pulumi.runtime.set_mocks(
        mocks, project=project, stack=stack, preview=False, logger=logger, monitor=RecordingMonitor(mocks, plan)
    )
    pulumi.runtime.set_all_config(values, secret_keys)
    # set_mocks registers and finishes a bare root stack; the program runs in a fresh one, as under
    # the real engine, so that its exports are registered as the stack's outputs.
    settings.ROOT.set(None)

    def run() -> None:
        if program is not None:
            program()
        else:
            runpy.run_path(str(root / "__main__.py"), run_name="__main__")

    with _catalog_replaced(catalog):
        _sync_await(run_in_stack(run))
    refuse_duplicate_urns(plan)
    plan.resources.sort(key=lambda resource: resource["urn"])
    return plan


class DuplicateUrnError(ConfigError):
    """Two registrations with one URN: the engine fails the update with "Duplicate resource URN"."""


def refuse_duplicate_urns(plan: Plan) -> None:
    """The engine refuses a second resource of one type and name under one parent type (its URN)."""
    seen: set[str] = set()
    twice = sorted({r["urn"] for r in plan.resources if r["urn"] in seen or seen.add(r["urn"])})  # type: ignore[func-returns-value]
    if twice:
        raise DuplicateUrnError(
            f"stack {plan.stack!r}: duplicate resource URN {twice[0]!r}"
            + (f" (and {len(twice) - 1} more)" if len(twice) > 1 else "")
            + "; the engine refuses two resources of one type and name: give each a unique name"
        )


@contextmanager
def _catalog_replaced(catalog: Catalog | None) -> Iterator[None]:
    """Every module that imported `load_catalog` gets `catalog` instead, until the block ends."""
    if catalog is None:
        yield
        return
    original = catalog_module.load_catalog
    # Only the program's own modules: touching the SDKs' lazy modules would import all of them.
    modules = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("components.") and getattr(module, "load_catalog", None) is original
    ]
    for module in modules:
        module.load_catalog = lambda: catalog  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in modules:
            module.load_catalog = original  # type: ignore[attr-defined]


def _describe(resource: Mapping[str, Any]) -> str:
    flags = [flag for flag in ("protect", "retainOnDelete") if resource["options"][flag]]
    if resource["options"]["import"]:
        flags.append(f"import={resource['options']['import']}")
    if resource["options"]["ignoreChanges"]:
        flags.append(f"ignoreChanges={','.join(resource['options']['ignoreChanges'])}")
    # Sorted: the text plan is the same bytes whatever order the engine's protobuf maps arrive in.
    keys = {key: value for key, value in sorted(resource["inputs"].items()) if not isinstance(value, (dict, list))}
    summary = ", ".join(f"{key}={value}" for key, value in list(keys.items())[:4])
    flag_text = f" [{'; '.join(flags)}]" if flags else ""
    return f"{resource['type']} {resource['name']}{flag_text}" + (f"  ({summary})" if summary else "")


def render_tree(plan: Plan) -> str:
    """A readable tree of the plan: children under their parent component, then the outputs."""
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    urns = {resource["urn"] for resource in plan.resources}
    for resource in plan.resources:
        parent = resource["parent"] if resource["parent"] in urns else None
        children.setdefault(parent, []).append(resource)
    lines = [f"== stack {plan.stack}: {len(plan.resources)} resources"]

    def walk(parent: str | None, depth: int) -> None:
        for resource in children.get(parent, []):
            lines.append("  " * (depth + 1) + _describe(resource))
            walk(resource["urn"], depth + 1)

    walk(None, 0)
    for warning in plan.warnings:
        lines.append(f"  warning: {warning}")
    lines.append(f"  outputs ({len(plan.outputs)}):")
    for key, value in sorted(plan.outputs.items()):
        text = json.dumps(value, sort_keys=True)
        lines.append(f"    {key} = {text if len(text) <= 160 else text[:157] + '...'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: print the tree of one stack or of all, optionally writing the JSON plan."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", nargs="?", choices=STACKS, help="one stack (default: every stack)")
    parser.add_argument("--json", type=Path, help="write the machine-readable plan of STACK here")
    args = parser.parse_args(argv)
    if args.json and not args.stack:
        parser.error("--json needs one STACK")
    for stack in [args.stack] if args.stack else list(STACKS):
        try:
            plan = build_plan(stack)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(render_tree(plan))
        if args.json:
            try:
                args.json.write_text(json.dumps(plan.as_json(), indent=2, sort_keys=True) + "\n")
            except OSError as error:
                print(f"error: cannot write {args.json}: {error.strerror}", file=sys.stderr)
                return 2
            print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    run_main(main)
