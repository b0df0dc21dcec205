"""Names of the delivery machinery, derived once: the state backend, the secrets providers, the OIDC
provider and the roles the infra repository's workflows assume.

The bootstrap (`bootstrap/`) creates them; the environment stacks, the workflows' documentation and
the README's backend table refer to them. Every name is built from an account id, a region or a
stack name, never typed twice.
"""

from __future__ import annotations

from components.shared.naming import INFRA_REPOSITORY

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
"""GitHub Actions' OIDC issuer, as IAM condition keys and provider ARNs spell it (no scheme)."""

PREVIEW_WORKFLOW = ".github/workflows/preview.yml"
UP_WORKFLOW = ".github/workflows/up.yml"
DRIFT_WORKFLOW = ".github/workflows/drift.yml"


def github_oidc_provider_arn(account_id: str) -> str:
    """ARN of the account's GitHub OIDC provider (one per URL per account; the bootstrap owns it)."""
    return f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"


def state_bucket_name(account_id: str) -> str:
    """The account's Pulumi state bucket (S3 names are global: the account id keeps it unique)."""
    return f"pyairtable-pulumi-state-{account_id}"


def backend_url(account_id: str, region: str) -> str:
    """`PULUMI_BACKEND_URL` of every stack whose state lives in this account."""
    return f"s3://{state_bucket_name(account_id)}?region={region}"


def secrets_key_alias(stack: str) -> str:
    """Alias of the KMS key that encrypts one stack's secrets in its state."""
    return f"alias/pyairtable-pulumi-{stack}"


def secrets_provider_url(stack: str, region: str) -> str:
    """The stack file's `secretsprovider`: `awskms://` with the key's alias and region."""
    return f"awskms://{secrets_key_alias(stack)}?region={region}"


def up_role_name(stack: str) -> str:
    """The role `up.yml` assumes for one stack (trusted for the GitHub environment of that name)."""
    return f"pyairtable-infra-up-{stack}"


def preview_role_name(stack: str) -> str:
    """The read-only role `preview.yml` and `drift.yml` assume for one stack."""
    return f"pyairtable-infra-preview-{stack}"


def runner_project_name(environment: str) -> str:
    """The CodeBuild project that hosts the environment's GitHub Actions runners in its VPC."""
    return f"pyairtable-{environment}-runner"


def runner_label(environment: str) -> str:
    """`runs-on` of a job that must run inside the environment's VPC (CodeBuild-hosted runner)."""
    return f"codebuild-{runner_project_name(environment)}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"


def drift_role_name(stack: str) -> str:
    """The read-only role `drift.yml` assumes for one stack (trusted for the GitHub environment `drift`)."""
    return f"pyairtable-infra-drift-{stack}"


DRIFT_ENVIRONMENT = "drift"
"""GitHub environment of the nightly drift jobs (their OIDC subject names it)."""


def workflow_subject(organization: str, context: str, workflow: str, ref: str) -> tuple[str, str]:
    """The two `sub` claims of an infra workflow's job: GitHub's default (`repo:<org>/<repo>:<context>`)
    and the organization's customized one, which appends `job_workflow_ref` (issue 12's template,
    `components.shared.naming.OIDC_SUBJECT_CLAIM_KEYS`). Trusting both lets the org stack switch
    the template without locking CI out; the default is dropped once the switch is done."""
    legacy = f"repo:{organization}/{INFRA_REPOSITORY}:{context}"
    return legacy, f"{legacy}:job_workflow_ref:{organization}/{INFRA_REPOSITORY}/{workflow}@{ref}"


def runner_connection_name(environment: str) -> str:
    """The CodeConnections connection to GitHub of the environment's runners (at most 32 characters)."""
    return f"{runner_project_name(environment)}-github"[:32]
