"""The admission policy on images: only the organization's images, by release version or digest.

A `ValidatingAdmissionPolicy` (admissionregistration.k8s.io/v1, GA in Kubernetes 1.30) checks every
container, init container and ephemeral container image of Pods and of the workloads that create
them (so a bad Deployment is refused at `kubectl apply`, not later in its ReplicaSet's events).
An image is admitted when it comes from the organization's GHCR path or the environment's
pull-through cache of it, and names a semver tag (`1.2.3`, `1.2.3-rc.1`) or a digest (`@sha256:...`).
`latest`, branch and `sha-<short>` tags are dev builds: staging and prod deny them, dev warns.

The expressions use core CEL only (`matches`, `all`, `map`, `has`, the conditional): no Kubernetes
extension library, so tests evaluate them with cel-python against sample pods. The regular
expression avoids backslashes (`[.]` for a dot) so it reads the same in CEL, YAML and Python.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.observability.rules import SELECTION_LABELS
from components.shared.naming import (
    MONITORING_NAMESPACE,
    PULL_THROUGH_CACHE_PREFIX,
    REGISTRY_HOST,
    pull_through_cache_registry,
)

POLICY_NAME = "pyairtable-image-source"
"""Cluster-scoped name of the policy and of its binding."""
ENFORCED_ACTIONS = ("Deny", "Audit")
"""Staging and prod: refuse the request and record it in the audit log."""
WARNED_ACTIONS = ("Warn", "Audit")
"""Dev: admit, but show the client a warning and record it."""
WARN_ONLY_ENVIRONMENTS = frozenset({"dev"})

_NAME = "[a-z0-9]+([._-][a-z0-9]+)*"
_SEMVER = "(0|[1-9][0-9]*)[.](0|[1-9][0-9]*)[.](0|[1-9][0-9]*)(-[0-9A-Za-z-]+([.][0-9A-Za-z-]+)*)?"
_DIGEST = "@sha256:[0-9a-f]{64}"
_TAG = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"

# Resources whose pod template (or the pod itself) the policy checks, with where the pod spec lives.
RESOURCE_RULES = (
    ("", ("pods", "pods/ephemeralcontainers")),
    ("apps", ("deployments", "statefulsets", "daemonsets", "replicasets")),
    ("batch", ("jobs", "cronjobs")),
)
POD_SPEC_EXPRESSION = (
    "object.kind == 'Pod' ? object.spec : "
    "(object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)"
)
IMAGES_EXPRESSION = (
    "variables.podSpec.containers.map(c, c.image)"
    " + (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers.map(c, c.image) : [])"
    " + (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers.map(c, c.image) : [])"
)


def _literal(text: str) -> str:
    """`text` as a regular-expression literal without backslashes (each dot as `[.]`)."""
    if re.search(r"[^a-z0-9./-]", text):
        raise ValueError(f"{text!r} holds characters the image pattern does not escape")
    return text.replace(".", "[.]")


def allowed_image_pattern(organization: str, account_id: str, region: str) -> str:
    """RE2 pattern of an admitted image: an allowed path, then a semver tag or a digest.

    With a digest, any tag may stand before it: the runtime pulls the digest, the tag is a comment.
    """
    paths = (
        f"{REGISTRY_HOST}/{organization.lower()}",
        f"{pull_through_cache_registry(account_id, region)}/{PULL_THROUGH_CACHE_PREFIX}/{organization.lower()}",
    )
    prefix = "(" + "|".join(_literal(path) for path in paths) + ")"
    return f"^{prefix}/{_NAME}((:{_TAG})?{_DIGEST}|:{_SEMVER})$"


def validation_expression(pattern: str) -> str:
    """The CEL expression every image must pass."""
    if "'" in pattern or "\\" in pattern:
        raise ValueError("the image pattern must hold no quote or backslash (it is a CEL string literal)")
    return f"variables.images.all(image, image.matches('{pattern}'))"


def policy_spec(organization: str, account_id: str, region: str) -> dict[str, Any]:
    """The `spec` of the ValidatingAdmissionPolicy."""
    pattern = allowed_image_pattern(organization, account_id, region)
    return {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [group],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": list(resources),
                }
                for group, resources in RESOURCE_RULES
            ]
        },
        "variables": [
            {"name": "podSpec", "expression": POD_SPEC_EXPRESSION},
            {"name": "images", "expression": IMAGES_EXPRESSION},
        ],
        "validations": [
            {
                "expression": validation_expression(pattern),
                "message": (
                    f"every image must come from {REGISTRY_HOST}/{organization.lower()} or this environment's "
                    "pull-through cache of it, with a release tag (X.Y.Z) or a digest (@sha256:...)"
                ),
                "reason": "Forbidden",
            }
        ],
    }


def validation_actions(environment: str) -> list[str]:
    """`Warn` in dev, `Deny` elsewhere (both also `Audit`)."""
    return list(WARNED_ACTIONS if environment in WARN_ONLY_ENVIRONMENTS else ENFORCED_ACTIONS)


def binding_spec(environment: str, namespaces: Sequence[str]) -> dict[str, Any]:
    """The `spec` of the binding: the policy, in the service namespaces only, with the environment's actions."""
    return {
        "policyName": POLICY_NAME,
        "validationActions": validation_actions(environment),
        "matchResources": {
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(namespaces)}
                ]
            }
        },
    }


TOKEN_EXPIRY_ALERT = "RegistryPullTokenExpiring"
"""The alert that fires before the pull-through cache's GHCR token expires."""


def token_expiry_rule_spec(expires_on: datetime.date, warning_days: int) -> dict[str, Any]:
    """A PrometheusRule whose alert fires from `warning_days` before the token's expiry until it is rotated.

    The expiry is config (`registry.tokenExpiresOn`, updated when a person rotates the token), so the
    expression compares the clock to a constant: the alert stops once the new date is deployed.
    """
    expires = datetime.datetime.combine(expires_on, datetime.time(), tzinfo=datetime.UTC)
    warn_from = int(expires.timestamp()) - warning_days * 86400
    return {
        "groups": [
            {
                "name": "registry",
                "rules": [
                    {
                        "alert": TOKEN_EXPIRY_ALERT,
                        "expr": f"vector(time()) > {warn_from}",
                        "labels": {"severity": "critical"},
                        "annotations": {
                            "summary": f"The GHCR pull token of the pull-through cache expires on {expires_on}",
                            "description": (
                                "Create a new classic token (read:packages) for the machine user, put it into the "
                                "ecr-pullthroughcache/ secret, and set registry.tokenExpiresOn (README, Registry). "
                                "After the expiry, nodes cannot pull images that are not cached yet."
                            ),
                        },
                    }
                ],
            }
        ]
    }


@dataclass(frozen=True)
class ImageAdmissionArgs:
    """Inputs of `ImageAdmission`."""

    environment: str
    """The environment: dev warns, staging and prod deny."""
    organization: str
    """The GitHub organization whose images are admitted."""
    account_id: str
    """The environment's account (its pull-through cache path is admitted too)."""
    region: str
    """The environment's region."""
    namespaces: Sequence[str]
    """The service namespaces the binding applies to."""
    token_expires_on: datetime.date
    """When the cache's GHCR token expires."""
    expiry_warning_days: int
    """How long before that the alert fires."""
    kubernetes_provider: k8s.Provider
    """The cluster's provider."""
    monitoring_release: pulumi.Resource
    """kube-prometheus-stack's release: the PrometheusRule needs its CRDs and its rule selector."""
    monitoring_namespace: pulumi.Resource
    """The `monitoring` namespace the PrometheusRule lives in."""


class ImageAdmission(pulumi.ComponentResource):
    """The image admission policy and its binding, and the alert before the pull token expires."""

    def __init__(self, name: str, args: ImageAdmissionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:registry:ImageAdmission", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-policy",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=POLICY_NAME),
            spec=policy_spec(args.organization, args.account_id, args.region),  # type: ignore[arg-type]
            opts=child,
        )
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=POLICY_NAME),
            spec=binding_spec(args.environment, args.namespaces),  # type: ignore[arg-type]
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[policy])),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-token-expiry",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="registry-token-expiry", namespace=MONITORING_NAMESPACE, labels=dict(SELECTION_LABELS)
            ),
            spec=token_expiry_rule_spec(args.token_expires_on, args.expiry_warning_days),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[args.monitoring_namespace, args.monitoring_release])
            ),
        )
        self.register_outputs({"policyName": POLICY_NAME, "validationActions": validation_actions(args.environment)})
