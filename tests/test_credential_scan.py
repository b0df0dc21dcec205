"""No credential in code, config or chart values: every input and output of every plan is scanned.

Two findings fail a plan: a well-known default credential as a whole value anywhere (`changeme`,
`admin`, `prom-operator`, ...), and a credential-named property (password, token, apiKey, ...) whose
value is not the masked "[secret]". JSON documents inside string values (IAM policies, encoded
config) are scanned too. The scanner is proven on doctored copies of a plan.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from components.catalog import ENVIRONMENTS
from components.service_secrets import GRAFANA_ADMIN_USER
from tools.plan import SECRET, Plan

from .secrets_program import secrets_plan

DEFAULT_CREDENTIALS = frozenset(
    {
        "changeme", "change-me", "change_me", "changeit", "admin", "administrator", "password", "passw0rd",
        "p@ssw0rd", "password1", "password123", "prom-operator", "secret", "default", "root", "toor",
        "letmein", "welcome", "guest", "qwerty", "123456", "12345678", "admin123", "pass", "test123",
    }
)  # fmt: skip
"""Values that ship as defaults in charts, images and tutorials (Grafana: admin/prom-operator)."""

# Property names that hold a credential: the name ends with one of these (case and separators ignored).
CREDENTIAL_SUFFIXES = (
    "password", "passwd", "passphrase", "secret", "secretstring", "secretbinary", "token", "apikey",
    "privatekey", "accesskey", "secretkey", "secretaccesskey", "credential", "credentials", "connectionstring",
)  # fmt: skip
# Credential-shaped names that hold a reference to a credential, never the credential itself, each
# with the exact path where it may appear (`[]` stands for any list item) and why.
REFERENCES = {
    # ESO: the key inside the target Kubernetes Secret, e.g. "database-password".
    "spec.data[].secretKey",
    # Grafana: the name of the Kubernetes Secret (synced by ESO) that holds the admin login.
    "values.grafana.admin.existingSecret",
}
# Properties whose values come from a fixed enumeration in which "admin" is a level, not a login:
# GitHub's team repository permission (pull, triage, push, maintain, admin).
ENUM_PROPERTIES = {"permission"}


def _normalized(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every leaf; JSON documents inside strings are walked as well."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(item, (dict, list)):
                yield from _walk(item, child)
            else:
                yield child, str(key), item
                yield from _walk_json_string(item, child)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                yield from _walk(item, f"{path}[]")
            else:
                yield f"{path}[]", path.rsplit(".", 1)[-1], item
                yield from _walk_json_string(item, f"{path}[]")


def _walk_json_string(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            document = json.loads(value)
        except json.JSONDecodeError:
            return
        yield from _walk(document, f"{path}<json>")


def scan_plan(plan: dict[str, Any]) -> list[str]:
    """Every credential finding in a JSON plan (`{"stack", "resources", "outputs"}`); empty when clean."""
    findings = []
    documents = [(resource["urn"], resource["inputs"]) for resource in plan["resources"]]
    documents.append((f"stack {plan['stack']} outputs", plan["outputs"]))
    for where, document in documents:
        for path, key, value in _walk(document, ""):
            default_value = isinstance(value, str) and value.strip().lower() in DEFAULT_CREDENTIALS
            if default_value and key not in ENUM_PROPERTIES:
                findings.append(f"{where}: {path} = {value!r} is a well-known default credential")
            credential_named = _normalized(key).endswith(CREDENTIAL_SUFFIXES)
            is_value = isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != ""
            if credential_named and is_value and value != SECRET and path not in REFERENCES:
                findings.append(f"{where}: {path} is named like a credential but is not a secret")
    return findings


def test_no_stack_plan_holds_a_credential(any_plan: Plan) -> None:
    assert scan_plan(any_plan.as_json()) == []


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_no_secrets_component_plan_holds_a_credential(stack: str) -> None:
    """The secrets components, planned on their own until they are wired into the stacks."""
    plan = secrets_plan(stack).as_json()
    assert scan_plan(plan) == []
    assert any(r["type"] == "aws:secretsmanager/secretVersion:SecretVersion" for r in plan["resources"])


def test_the_grafana_admin_user_is_not_a_default() -> None:
    assert GRAFANA_ADMIN_USER.lower() not in DEFAULT_CREDENTIALS


def _doctored(change: Any) -> list[str]:
    plan = copy.deepcopy(secrets_plan("dev").as_json())
    change(plan)
    return scan_plan(plan)


def _resource(plan: dict[str, Any], type_token: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["type"] == type_token)


@pytest.mark.parametrize("value", ["changeme", "ChangeMe", " admin ", "prom-operator", "letmein"])
def test_scan_fails_on_a_planted_default_credential(value: str) -> None:
    def plant(plan: dict[str, Any]) -> None:
        values = _resource(plan, "kubernetes:helm.sh/v3:Release")["inputs"]["values"]
        values["serviceAccount"]["name"] = value

    findings = _doctored(plant)
    assert len(findings) == 1
    assert "serviceAccount.name" in findings[0] and "well-known default credential" in findings[0]


def test_scan_fails_on_a_plain_credential_in_a_property() -> None:
    def plant(plan: dict[str, Any]) -> None:
        _resource(plan, "aws:secretsmanager/secretVersion:SecretVersion")["inputs"]["secretString"] = "x7Kq2mN9pL"
        _resource(plan, "kubernetes:helm.sh/v3:Release")["inputs"]["values"]["grafana"] = {"adminPassword": "hunter2!"}
        plan["outputs"]["api_key"] = "sk-live-123"

    findings = _doctored(plant)
    assert [f.split(": ", 1)[1] for f in findings] == [
        "values.grafana.adminPassword is named like a credential but is not a secret",
        "secretString is named like a credential but is not a secret",
        "api_key is named like a credential but is not a secret",
    ]


def test_scan_reads_json_documents_inside_strings() -> None:
    def plant(plan: dict[str, Any]) -> None:
        _resource(plan, "aws:iam/role:Role")["inputs"]["assumeRolePolicy"] = json.dumps(
            {"Token": "abc", "x": ["changeme"]}
        )

    findings = _doctored(plant)
    assert len(findings) == 2
    assert "assumeRolePolicy<json>.Token is named like a credential" in findings[0]
    assert "assumeRolePolicy<json>.x[] = 'changeme'" in findings[1]


def test_references_to_credentials_are_not_findings() -> None:
    """Names, ids and ARNs of secrets (secretName, secretId, kmsKeyId, secretsmanager ARNs) are fine."""
    document = {
        "stack": "dev",
        "resources": [
            {
                "urn": "urn:x",
                "inputs": {
                    "secretName": "grafana-admin",
                    "secretId": "arn:aws:secretsmanager:us-east-1:1:secret:pyairtable/dev/x",
                    "kmsKeyId": "arn:aws:kms:us-east-1:1:key/1",
                    "automountServiceAccountToken": True,
                    "password": SECRET,
                    "spec": {"data": [{"secretKey": "database-password"}]},
                },
            }
        ],
        "outputs": {},
    }
    assert scan_plan(document) == []
    document["resources"][0]["inputs"]["secretKey"] = "AKIA-not-a-reference-here"
    assert len(scan_plan(document)) == 1


def test_an_admin_permission_level_is_not_a_credential_but_an_admin_login_is() -> None:
    plan = {"stack": "org", "outputs": {}, "resources": [
        {"urn": "team-repository", "inputs": {"permission": "admin"}},
        {"urn": "membership", "inputs": {"username": "admin"}},
    ]}  # fmt: skip
    assert scan_plan(plan) == ["membership: username = 'admin' is a well-known default credential"]
