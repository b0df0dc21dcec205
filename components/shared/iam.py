"""IAM policy documents shared by the components: the JSON boilerplate and the two trust shapes.

An AWS service assuming a role (EKS, EC2 nodes, VPC flow logs) and a web identity assuming one
through an OIDC provider (IRSA service accounts, GitHub Actions) are written once here, so every
role's trust is built the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

POLICY_VERSION = "2012-10-17"
WEB_IDENTITY_AUDIENCE = "sts.amazonaws.com"
"""The `aud` claim AWS STS expects (also the OIDC providers' client id)."""


def policy_document(*statements: Mapping[str, Any]) -> dict[str, Any]:
    """An IAM policy document of these statements (values may be Outputs: use `Output.json_dumps`)."""
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def service_trust_policy(
    service: str, actions: str | Sequence[str] = "sts:AssumeRole", source_account: str | None = None
) -> str:
    """Trust policy letting one AWS service principal (e.g. `ec2.amazonaws.com`) assume a role.

    With `source_account`, only on behalf of that account (the confused-deputy guard AWS recommends
    for services that act for any account, such as VPC flow logs).
    """
    action = actions if isinstance(actions, str) else list(actions)
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": action}
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps(policy_document(statement))


def service_account_subject(namespace: str, service_account: str) -> str:
    """The OIDC `sub` claim of a Kubernetes service account's token (IRSA)."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def web_identity_trust_policy(
    provider_arn: pulumi.Input[str], issuer: pulumi.Input[str], subjects: str | Sequence[str]
) -> pulumi.Output[str]:
    """Trust policy letting the given OIDC subjects (and only them) assume a role, with audience STS.

    `issuer` is the provider's host and path without "https://", as IAM condition keys spell it.
    One subject may be given as a string, several as a list (IAM matches any of them).
    """
    subject = subjects if isinstance(subjects, str) else list(subjects)

    def render(values: list[str]) -> str:
        arn, host = values
        return json.dumps(
            policy_document(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{host}:aud": WEB_IDENTITY_AUDIENCE, f"{host}:sub": subject}},
                }
            )
        )

    return pulumi.Output.all(provider_arn, issuer).apply(render)
