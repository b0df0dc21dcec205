"""Checks of what the program hands Kubernetes and Helm against the upstream reference data.

Shared by the chart suites (External Secrets Operator, kube-prometheus-stack); each suite keeps its
own allow-lists as data and passes them in.

- `crd_errors`: a custom resource validated against the `openAPIV3Schema` of its upstream CRD.
- `unknown_value_paths`: Helm value key paths that the chart's values.yaml does not have.
- `walk`, `leaves`, `dig`: nested values (Helm values, manifests) by path.
- `reference_yaml`: the old name of a chart's values or metadata, for suites written before the data
  was vendored (prefer `tests.reference.chart_values` / `chart_metadata`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

from tests.reference import chart_metadata, chart_values, upstream_json

ValuePath = tuple[str | int, ...]
"""Where a node sits in nested values: dict keys as `str`, list indices as `int`."""


def reference_yaml(relative_path: str) -> Any:
    """`<chart>/values.yaml` or `<chart>/Chart.yaml` by their upstream names, from the vendored data."""
    chart, _, name = relative_path.partition("/")
    if name == "values.yaml":
        return chart_values(chart)
    if name == "Chart.yaml":
        return chart_metadata(chart)
    raise FileNotFoundError(f"{relative_path}: only derived data is vendored; see data/upstream/README.md")


# --- custom resources against CRDs ---------------------------------------------------------------


def strict_schema(schema: Any) -> Any:
    """A CRD's openAPIV3Schema as JSON Schema that refuses unknown fields.

    The API server silently prunes fields a structural schema does not declare, so a misspelled
    field would vanish instead of failing: refusing them here is what the cluster effectively does.
    `x-kubernetes-*` keys are dropped; an object with `x-kubernetes-preserve-unknown-fields` or its
    own `additionalProperties` stays open.
    """
    if isinstance(schema, list):
        return [strict_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict_schema(value) for key, value in schema.items() if not key.startswith("x-kubernetes-")}
    open_object = schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema
    if "properties" in schema and not open_object:
        result["additionalProperties"] = False
    return result


@cache
def crd_validator(folder: str, kind: str, version: str = "v1") -> jsonschema.Draft7Validator:
    """Validator of the served storage version of the CRD `<folder>/crds/<kind lowercased>.json` (vendored)."""
    crd = upstream_json(f"{folder}/crds/{kind.lower()}.json")
    assert crd["kind"] == kind, f"{folder}/crds/{kind.lower()}.json is not the {kind} CRD"
    assert crd["version"] == version and crd["served"], f"{kind} {version} is not the served storage version"
    return jsonschema.Draft7Validator(strict_schema(crd["openAPIV3Schema"]))


def schema_errors(validator: Validator, document: Any) -> list[str]:
    """Every error of `document`, as `<dotted path>: <message>`."""
    return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def crd_errors(folder: str, manifest: Mapping[str, Any]) -> list[str]:
    """Schema errors of one custom resource (apiVersion, kind, metadata, spec) against its CRD in `folder`."""
    return schema_errors(crd_validator(folder, manifest["kind"]), dict(manifest))


# --- Helm value keys against a chart's values.yaml -----------------------------------------------


@dataclass(frozen=True)
class OpenValues:
    """Where a chart's values are not checked key by key: the allow-lists of one chart suite."""

    keys: frozenset[str] = frozenset()
    """Key names whose children are free-form wherever they appear (resources, annotations, ...)."""
    paths: frozenset[str] = frozenset()
    """Dotted paths whose children are free-form (Kubernetes objects, configuration passed through)."""
    unlisted: frozenset[str] = frozenset()
    """Dotted paths the reference values.yaml does not list although the chart reads them (subcharts,
    commented-out defaults): not checked at all; each suite proves its entries are still unlisted."""
    empty_default_maps: bool = False
    """Whether a key whose default is an empty map is free-form (the chart's convention for user maps)."""


def unknown_value_paths(
    values: Mapping[str, Any], defaults: Sequence[Any], open_values: OpenValues, prefix: str = ""
) -> list[str]:
    """Key paths of `values` that none of the `defaults` (values.yaml documents) has.

    A key is looked up in every default document at the same place (a subchart's values in the parent
    chart and in its own values.yaml); a map given where the chart has a scalar, or the reverse, is
    reported as a wrong type. `prefix` is the dotted path of `values` inside the whole values.
    """
    problems: list[str] = []
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if path in open_values.unlisted:
            continue
        found = [default[key] for default in defaults if isinstance(default, dict) and key in default]
        if not found:
            problems.append(path)
            continue
        if key in open_values.keys or path in open_values.paths:
            continue
        if open_values.empty_default_maps and {} in found:
            continue
        if isinstance(value, dict) != any(isinstance(default, dict) for default in found) and found[0] is not None:
            problems.append(f"{path} (a {type(value).__name__} here, a {type(found[0]).__name__} upstream)")
        elif isinstance(value, dict):
            problems += unknown_value_paths(value, found, open_values, path)
    return problems


# --- nested values --------------------------------------------------------------------------------


def walk(value: Any, path: ValuePath = ()) -> Iterator[tuple[ValuePath, Any]]:
    """`value` itself and every node inside it (depth first), each with its path."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))


def leaves(value: Any) -> dict[ValuePath, Any]:
    """Every scalar inside `value` by its path."""
    return {path: item for path, item in walk(value) if not isinstance(item, (dict, list))}


def dig(value: Any, path: ValuePath | str) -> Any:
    """The node at `path` (a `ValuePath` or dotted keys such as `webhook.resources`); KeyError if absent."""
    for key in path.split(".") if isinstance(path, str) else path:
        value = value[key]
    return value
