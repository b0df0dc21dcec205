"""Preflight checks of the data stores: what only a real AWS account can say.

- RDS offers the pinned PostgreSQL version on the configured instance class with gp3 storage in
  the region (`data/datastores.yaml` is transcribed from the docs; the API is the authority).
- The pinned Secrets Manager rotation templates exist in the Serverless Application Repository at
  their versions, and take every parameter the program passes (CloudFormation refuses unknown ones).
"""

from __future__ import annotations

import json

from components.config.environment import EnvironmentConfig
from components.datastores.rotation import (
    POSTGRES_ROTATION_APPLICATION,
    REDIS_ROTATION_APPLICATION,
    SERVERLESS_REPOSITORY,
)
from tools.preflight.core import Check, CheckResult, PreflightContext

POSTGRES_PARAMETERS = frozenset(
    {
        "endpoint",
        "functionName",
        "kmsKeyArn",
        "vpcSubnetIds",
        "vpcSecurityGroupIds",
        "masterSecretArn",
        "masterSecretKmsKeyArn",
    }
)
"""The parameters `StoreLogins` passes to the PostgreSQL multi-user template."""
REDIS_PARAMETERS = frozenset({"endpoint", "functionName", "kmsKeyArn", "userName"})
"""The parameters `StoreLogins` passes to the ElastiCache user template (unverified offline)."""


def _skip(name: str, context: PreflightContext) -> CheckResult | None:
    if not isinstance(context.config, EnvironmentConfig):
        return CheckResult(name, "skip", f"stack {context.stack!r} has no data stores")
    return None


def postgres_version_is_orderable(context: PreflightContext) -> CheckResult:
    """The pinned engine version runs on the configured class with gp3 storage in the region."""
    name = "postgres version and class are orderable"
    skipped = _skip(name, context)
    if skipped:
        return skipped
    config = context.config
    assert isinstance(config, EnvironmentConfig)
    settings = config.postgres
    result = context.run(
        [
            "aws", "rds", "describe-orderable-db-instance-options",
            "--region", config.aws_region,
            "--engine", "postgres",
            "--engine-version", settings.engine_version,
            "--db-instance-class", settings.instance_class,
            "--query", "OrderableDBInstanceOptions[?StorageType=='gp3'].DBInstanceClass",
            "--output", "json",
        ]
    )  # fmt: skip
    if result.returncode == 127:
        return CheckResult(name, "skip", "the AWS CLI is not installed", "install AWS CLI v2 and log in to the account")
    if result.returncode != 0:
        return CheckResult(name, "fail", result.stderr.strip(), "check the credentials of the stack's account")
    if not json.loads(result.stdout or "[]"):
        return CheckResult(
            name,
            "fail",
            f"RDS offers no gp3 {settings.instance_class} for PostgreSQL {settings.engine_version} "
            f"in {config.aws_region}",
            "pick another postgres.instanceClass or postgres.engineVersion (and update data/datastores.yaml)",
        )
    return CheckResult(name, "pass", f"PostgreSQL {settings.engine_version} on {settings.instance_class} (gp3)")


def rotation_templates_exist(context: PreflightContext) -> CheckResult:
    """Each pinned rotation template exists at its version and declares the parameters the program passes."""
    name = "rotation templates exist at their pinned versions"
    skipped = _skip(name, context)
    if skipped:
        return skipped
    problems = []
    for (template, version), passed in (
        (POSTGRES_ROTATION_APPLICATION, POSTGRES_PARAMETERS),
        (REDIS_ROTATION_APPLICATION, REDIS_PARAMETERS),
    ):
        result = context.run(
            [
                "aws", "serverlessrepo", "get-application",
                "--region", "us-east-1",
                "--application-id", f"{SERVERLESS_REPOSITORY}{template}",
                "--semantic-version", version,
                "--query", "Version.ParameterDefinitions[].Name",
                "--output", "json",
            ]
        )  # fmt: skip
        if result.returncode == 127:
            return CheckResult(name, "skip", "the AWS CLI is not installed", "install AWS CLI v2")
        if result.returncode != 0:
            problems.append(f"{template} {version}: {result.stderr.strip() or 'not found'}")
            continue
        unknown = sorted(passed - set(json.loads(result.stdout or "[]")))
        if unknown:
            problems.append(f"{template} {version} has no parameters {unknown}")
    if problems:
        return CheckResult(
            name,
            "fail",
            "; ".join(problems),
            "pin an existing version in components/datastores/rotation.py and pass only its parameters",
        )
    return CheckResult(name, "pass", "both rotation templates exist and take the declared parameters")


CHECKS: tuple[Check, ...] = (postgres_version_is_orderable, rotation_templates_exist)
