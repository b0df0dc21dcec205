"""Render the service defaults chart (github/deploy/service) offline, without a Helm binary.

Supports exactly the subset of Helm's template language the chart uses (values, string literals,
parenthesized sub-expressions, pipes; `quote`, `required`, `index`, `toYaml`, `nindent`), and refuses
everything else (`if`, `range`, `include`, unknown functions, undefined values) with an error: a template construct
this renderer does not know fails the test instead of rendering silently wrong. `{{-` and `-}}` trim
whitespace as Helm does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.DOTALL)


class TemplateError(Exception):
    """A construct or value the chart uses that this renderer (and so the test) does not accept."""


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n")


def _nindent(width: str, text: str) -> str:
    return "\n" + "\n".join(" " * int(width) + line if line else line for line in str(text).split("\n"))


def _required(message: str, value: Any) -> Any:
    if value in (None, ""):
        raise TemplateError(f"required value missing: {message}")
    return value


def _index(mapping: Any, key: Any) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise TemplateError(f"index: no key {key!r}")
    return mapping[key]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "quote": lambda value: json.dumps(str(value)),
    "toYaml": _to_yaml,
    "nindent": _nindent,
    "required": _required,
    "index": _index,
}


def _lookup(reference: str, context: Mapping[str, Any]) -> Any:
    value: Any = context
    for key in reference.lstrip(".").split("."):
        if not isinstance(value, Mapping) or key not in value:
            raise TemplateError(f"undefined value {reference}")
        value = value[key]
    return value


TOKEN = re.compile(r'"[^"]*"|\(|\)|[^\s()]+')


def _parse(tokens: list[str]) -> list[Any]:
    """Tokens into nested lists, one per parenthesized sub-expression."""
    stack: list[list[Any]] = [[]]
    for token in tokens:
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                raise TemplateError("unbalanced ')'")
            inner = stack.pop()
            stack[-1].append(inner)
        else:
            stack[-1].append(token)
    if len(stack) != 1:
        raise TemplateError("unbalanced '('")
    return stack[0]


def _value(term: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(term, list):
        return _call(term, context, piped=())
    if term.startswith('"') or term.isdigit():
        return json.loads(term)
    if term.startswith("."):
        return _lookup(term, context)
    raise TemplateError(f"unsupported template construct {term!r}")


def _call(terms: list[Any], context: Mapping[str, Any], piped: tuple[Any, ...]) -> Any:
    """A function applied to its arguments (and the piped value last), or a lone value."""
    head, *arguments = terms
    if isinstance(head, str) and head in FUNCTIONS:
        return FUNCTIONS[head](*(_value(argument, context) for argument in arguments), *piped)
    if isinstance(head, str) and not head.startswith((".", '"')) and not head.isdigit():
        raise TemplateError(f"unsupported template construct {head!r}")
    if arguments or piped:
        raise TemplateError(f"a value cannot take arguments: {terms}")
    return _value(head, context)


def _evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    value: Any = None
    for index, stage in enumerate(part.strip() for part in expression.split("|")):
        terms = _parse(TOKEN.findall(stage))
        value = _call(terms, context, piped=() if index == 0 else (value,))
    return value


def render_template(template: str, context: Mapping[str, Any]) -> str:
    """One template file rendered with `context` (`Values`, `Release`)."""
    output: list[str] = []
    position = 0
    for match in ACTION.finditer(template):
        text = template[position : match.start()]
        output.append(text.rstrip(" \t\r\n") if match.group(1) else text)
        output.append(str(_evaluate(match.group(2), context)))
        position = match.end()
        if match.group(3):
            position += len(template[position:]) - len(template[position:].lstrip(" \t\r\n"))
    output.append(template[position:])
    return "".join(output)


def render_chart(chart: Path, release: str, namespace: str, overrides: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every manifest of the chart, as `helm template <release> <chart> --namespace <namespace>` gives them."""
    values = {**yaml.safe_load((chart / "values.yaml").read_text()), **overrides}
    context = {"Values": values, "Release": {"Name": release, "Namespace": namespace, "Service": "Helm"}}
    manifests = []
    for template in sorted((chart / "templates").glob("*.yaml")):
        manifests += [doc for doc in yaml.safe_load_all(render_template(template.read_text(), context)) if doc]
    return manifests
