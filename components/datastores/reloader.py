"""Stakater Reloader: rotated secrets reach running pods.

Environment variables never change in a running pod, and a service that reads its database
password at start keeps the old one until it restarts. Reloader watches Secrets and ConfigMaps and
rolls the Deployments and StatefulSets that use a changed one. Here it watches only the service
namespaces (the label `pyairtable.io/service-namespace=true` that the namespaces carry) and reloads
every workload there (`autoReloadAll`), so service manifests need no annotation. It writes a pod
template annotation (`reloadStrategy: annotations`) rather than an environment variable.

Timing: Secrets Manager rotates a login every `rotationDays`; the previous login keeps working for
that whole period. ESO re-reads every `secretRefreshInterval` (1 hour by default), Reloader rolls the
pods within seconds, so pods move to the new login within about an hour of a rotation, far inside
the period (the config refuses an interval above half of the shortest rotation period).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from components.cluster.namespaces import SERVICE_NAMESPACE_LABEL
from components.shared.controllers import HelmChart, ReleaseArgs, controller_release

CHART = "reloader"
CHART_VERSION = "2.2.16"
"""Pinned; its default values are vendored in data/upstream/reloader/values.yaml (same version)."""
CHART_REPOSITORY = "https://stakater.github.io/stakater-charts"
NAMESPACE = "reloader"
RESOURCES = {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}


def helm_values() -> dict[str, Any]:
    """Values of the Reloader chart (a test holds every key path to the vendored upstream values)."""
    return {
        "reloader": {
            "autoReloadAll": True,
            "reloadStrategy": "annotations",
            "watchGlobally": True,
            "namespaceSelector": f"{SERVICE_NAMESPACE_LABEL}=true",
            "readOnlyRootFileSystem": True,
            "deployment": {
                "resources": RESOURCES,
                "containerSecurityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
            },
        }
    }


@dataclass(frozen=True)
class ReloaderArgs:
    """Inputs of `Reloader`."""

    kubernetes_provider: kubernetes.Provider
    """The cluster's provider."""


class Reloader(pulumi.ComponentResource):
    """The Reloader Helm release in its own namespace."""

    release: kubernetes.helm.v3.Release
    """The release."""

    def __init__(self, name: str, args: ReloaderArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:datastores:Reloader", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)
        namespace = kubernetes.core.v1.Namespace(
            f"{name}-namespace",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                labels={"app.kubernetes.io/managed-by": "pulumi", "pod-security.kubernetes.io/enforce": "restricted"},
            ),
            opts=child,
        )
        self.release = controller_release(
            name,
            ReleaseArgs(
                HelmChart(CHART, CHART_VERSION, CHART_REPOSITORY), helm_values(), namespace=namespace.metadata.name
            ),
            child,
        )
        self.register_outputs({"releaseStatus": self.release.status})
