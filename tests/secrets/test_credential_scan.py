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

from components.secrets.service_secrets import GRAFANA_ADMIN_USER

# One list of default credentials and credential-shaped names, shared with the policy pack.
from policy.validators import CREDENTIAL_SUFFIXES, DEFAULT_CREDENTIALS
from tests.conftest import stack_plan
from tests.schemas import walk
from tools.plan import SECRET, Plan

# Credential-shaped names that hold a reference to a credential, never the credential itself, each
# with the exact path where it may appear (`[]` stands for any list item) and why.
REFERENCES = {
    # ESO: the key inside the target Kubernetes Secret, e.g. "database-password".
    "spec.data[].secretKey",
    # ESO: the JSON property of a store login to extract, e.g. "password" (AWS's rotation layout).
    "spec.data[].remoteRef.property",
    # Grafana: the name of the Kubernetes Secret (synced by ESO) that holds the admin login.
    "values.grafana.admin.existingSecret",
}
# ElastiCache requires a user named `default` in every user group; ours is switched off (`off -@all`).
DISABLED_DEFAULT_USER = ("aws:elasticache/user:User", "userName", "default", "off -@all")
# Properties whose values come from a fixed enumeration in which "admin" is a level, not a login:
# GitHub's team repository permission (pull, triage, push, maintain, admin) and organization
# membership role (member, admin).
ENUM_PROPERTIES = {"permission", "role"}
# Properties that hold Kubernetes namespace names, where `default` is the namespace the API server's
# Service lives in (the control-plane ServiceMonitors select it), not a password.
NAMESPACE_PROPERTIES = {"matchNames"}


def _normalized(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _leaves(document: Any, prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every leaf, a list item's key being its list's; JSON documents inside
    strings are read as well (their paths continue with `<json>`)."""
    for path, value in walk(document):
        if isinstance(value, (dict, list)):
            continue
        text = prefix
        for part in path:
            text = f"{text}[]" if isinstance(part, int) else f"{text}.{part}" if text else part
        key = next((part for part in reversed(path) if isinstance(part, str)), "")
        yield text, key, value
        if isinstance(value, str) and value[:1] in "[{":
            try:
                inner = json.loads(value)
            except json.JSONDecodeError:
                continue
            yield from _leaves(inner, f"{text}<json>")


def scan_plan(plan: dict[str, Any]) -> list[str]:
    """Every credential finding in a JSON plan (`{"stack", "resources", "outputs"}`); empty when clean."""
    findings = []
    documents = [(resource["urn"], resource["inputs"]) for resource in plan["resources"]]
    documents.append((f"stack {plan['stack']} outputs", plan["outputs"]))
    kind, user_key, user_name, disabled = DISABLED_DEFAULT_USER
    for where, document in documents:
        switched_off = f"::{kind}::" in where.replace("$", "::") and document.get("accessString") == disabled
        for path, key, value in _leaves(document):
            if switched_off and (path, value) == (user_key, user_name):
                continue
            default_value = isinstance(value, str) and value.strip().lower() in DEFAULT_CREDENTIALS
            if default_value and key not in ENUM_PROPERTIES | NAMESPACE_PROPERTIES and path not in REFERENCES:
                findings.append(f"{where}: {path} = {value!r} is a well-known default credential")
            credential_named = _normalized(key).endswith(CREDENTIAL_SUFFIXES)
            is_value = isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != ""
            if credential_named and is_value and value != SECRET and path not in REFERENCES:
                findings.append(f"{where}: {path} is named like a credential but is not a secret")
    return findings


def test_no_stack_plan_holds_a_credential(any_plan: Plan) -> None:
    assert scan_plan(any_plan.as_json()) == []


def test_the_scan_covers_the_generated_secrets_and_the_grafana_login(env_plan: Plan) -> None:
    """The environment plans hold what a leak would come from: generated values and Grafana's login."""
    assert env_plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    values = _resource(env_plan.as_json(), "kubernetes:helm.sh/v3:Release", "monitoring-release")["inputs"]["values"]
    assert values["grafana"]["admin"]["existingSecret"]


def test_the_grafana_admin_user_is_not_a_default() -> None:
    assert GRAFANA_ADMIN_USER.lower() not in DEFAULT_CREDENTIALS


def _doctored(change: Any) -> list[str]:
    plan = copy.deepcopy(stack_plan("dev").as_json())
    change(plan)
    return scan_plan(plan)


def _resource(plan: dict[str, Any], type_token: str, name: str) -> dict[str, Any]:
    [found] = [r for r in plan["resources"] if r["type"] == type_token and r["name"] == name]
    return found


@pytest.mark.parametrize("value", ["changeme", "ChangeMe", " admin ", "prom-operator", "letmein"])
def test_scan_fails_on_a_planted_default_credential(value: str) -> None:
    def plant(plan: dict[str, Any]) -> None:
        values = _resource(plan, "kubernetes:helm.sh/v3:Release", "external-secrets-release")["inputs"]["values"]
        values["serviceAccount"]["name"] = value

    findings = _doctored(plant)
    assert len(findings) == 1
    assert "serviceAccount.name" in findings[0] and "well-known default credential" in findings[0]


def test_scan_fails_on_a_plain_credential_in_a_property() -> None:
    def plant(plan: dict[str, Any]) -> None:
        version = _resource(
            plan, "aws:secretsmanager/secretVersion:SecretVersion", "service-secrets-auth-jwt-signing-key-version"
        )
        version["inputs"]["secretString"] = "x7Kq2mN9pL"
        grafana = _resource(plan, "kubernetes:helm.sh/v3:Release", "monitoring-release")["inputs"]["values"]["grafana"]
        grafana["adminPassword"] = "hunter2!"
        plan["outputs"]["api_key"] = "sk-live-123"

    findings = _doctored(plant)
    assert [f.split(": ", 1)[1] for f in findings] == [
        "values.grafana.adminPassword is named like a credential but is not a secret",
        "secretString is named like a credential but is not a secret",
        "api_key is named like a credential but is not a secret",
    ]


def test_scan_reads_json_documents_inside_strings() -> None:
    def plant(plan: dict[str, Any]) -> None:
        _resource(plan, "aws:iam/role:Role", "external-secrets-role")["inputs"]["assumeRolePolicy"] = json.dumps(
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
