"""The `pyairtable-infra:delivery` config key of an environment stack: how CI reaches the cluster.

GitHub-hosted runners reach private networks only in Azure, so an EKS cluster whose public endpoint
is off needs a way into its VPC for `pulumi up`, the drift check and service deploys. The choice here
is CodeBuild-hosted GitHub Actions runners in the environment's private subnets: no idle cost (billed
per build minute), no instance to patch, reached through an AWS CodeConnections connection to GitHub.
Self-hosted runners on EC2 cost an always-on instance per environment; SSM port forwarding needs a
bastion instance and a tunnel in every job. README "Delivery" explains the bootstrap order.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from components.config.common import FrozenModel

RunnerComputeType = Literal[
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
]
"""CodeBuild compute types that run a Linux container in a VPC (botocore's codebuild `ComputeType` enum,
less the Lambda types, which cannot attach to a VPC, and the attribute-based and custom fleet types)."""


class DeliverySettings(FrozenModel):
    """`pyairtable-infra:delivery`: the path CI takes into the environment."""

    path: Literal["public", "codebuild"] = "public"
    """`public`: CI reaches the public endpoint, restricted to `publicAccessCidrs` (the runners' egress);
    `codebuild`: CodeBuild-hosted runners in the private subnets reach the private endpoint."""
    runner_compute_type: RunnerComputeType = Field(alias="runnerComputeType", default="BUILD_GENERAL1_SMALL")
    """Size of a runner (SMALL: 2 vCPU, 3 GiB; a `pulumi up` of this program fits)."""
    runner_image: str = Field(
        alias="runnerImage",
        default="aws/codebuild/amazonlinux-x86_64-standard:5.0",
        pattern=r"^aws/codebuild/[\w.:-]+$",
    )
    """A CodeBuild-curated image (patched by AWS); a custom image would need its own pipeline."""
    runner_timeout_minutes: int = Field(alias="runnerTimeoutMinutes", default=60, ge=5, le=480)
    """Longest job a runner takes (CodeBuild allows 5 to 2160 minutes; an hour covers `pulumi up`)."""
    runner_log_retention_days: int = Field(alias="runnerLogRetentionDays", default=30)
    """CloudWatch Logs retention of the runners' build logs."""
    build_minutes_per_month: int = Field(alias="buildMinutesPerMonth", default=600, ge=0)
    """Estimated runner minutes a month (previews, ups, nightly drift, deploys), for the cost output."""
    runner_ready: bool = Field(alias="runnerReady", default=False)
    """Whether the workflows may send jobs to the runners: set it once the first `up` (from a machine
    inside `publicAccessCidrs`) created them and their GitHub connection was completed by hand
    (`make preflight` checks both). Until then jobs run GitHub-hosted against the public endpoint."""
    deploy_repositories: bool = Field(alias="deployRepositories", default=True)
    """Whether the catalog's deployable repositories may also run jobs on the runner (service deploys);
    otherwise only pyairtable-infra may."""

    @property
    def runner_project_count(self) -> int:
        """CodeBuild runner projects the stack declares (and the bill prices): one on `codebuild`."""
        return int(self.path == "codebuild")

    @field_validator("runner_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        from components.config.environment import check_log_retention  # noqa: PLC0415 (it imports this module)

        return check_log_retention(value)
