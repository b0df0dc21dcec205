"""Cloud names derived from an environment's name, shared by the org stack and the environment stacks.

The org stack writes these into GitHub environment variables; the environment stacks create the
resources under the same names. Deriving both from here means neither side types them by hand.
"""

from __future__ import annotations


def cluster_name(environment: str) -> str:
    """EKS cluster name, e.g. `pyairtable-prod`."""
    return f"pyairtable-{environment}"


def deploy_role_name(environment: str) -> str:
    """IAM role that GitHub Actions assumes (OIDC) to deploy to the environment."""
    return f"pyairtable-{environment}-github-deploy"


def deploy_role_arn(account_id: str, environment: str) -> str:
    """ARN of `deploy_role_name` in the environment's account."""
    return f"arn:aws:iam::{account_id}:role/{deploy_role_name(environment)}"


MONITORING_NAMESPACE = "monitoring"
"""The platform namespace of Prometheus, Alertmanager and Grafana on every cluster."""

GRAFANA_ADMIN_SECRET = "grafana-admin"
"""Secrets Manager name segment and Kubernetes Secret of Grafana's admin login."""

ALERTMANAGER_SECRET = "alertmanager-receivers"
"""Kubernetes Secret holding one `<receiver>-url` key per configured Alertmanager receiver."""
