"""How an environment's nodes pull the organization's private GHCR images: an ECR pull-through cache.

Nodes authenticate to ECR only (their role's `AmazonEC2ContainerRegistryReadOnly`). The cache rule
maps `<account>.dkr.ecr.<region>.amazonaws.com/ghcr/<path>` to `ghcr.io/<path>`, signing in to
GHCR with the machine user's classic token, which a person puts into the `ecr-pullthroughcache/`
secret (created empty: the value is never in Pulumi's state). The first pull of an image creates its
cache repository from the creation template (encryption, lifecycle) and imports the image; later
pulls are served from the region. README "Registry" says why this and not a pull secret per namespace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.shared.iam import policy_document
from components.shared.naming import PULL_THROUGH_CACHE_PREFIX, REGISTRY_HOST

CREDENTIAL_SECRET_PREFIX = "ecr-pullthroughcache/"
"""ECR refuses a cache rule whose credential secret is named otherwise (botocore's CredentialArn pattern)."""
UPSTREAM_REGISTRY = "github-container-registry"
"""ECR's name for `ghcr.io` among the upstreams it supports (botocore's UpstreamRegistry enum)."""
NODE_ACTIONS = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
"""What a node needs beyond pulling: import an image from upstream, and create its cache repository on first pull."""


def credential_secret_name(organization: str) -> str:
    """Secrets Manager name of the GHCR credential (`{"username": ..., "accessToken": ...}`)."""
    return f"{CREDENTIAL_SECRET_PREFIX}{REGISTRY_HOST.replace('.', '-')}-{organization}"


def cache_repository_arn_pattern(account_id: str, region: str, organization: str) -> str:
    """The cache repositories of the organization's images: the only ones a node may create or import into."""
    return f"arn:aws:ecr:{region}:{account_id}:repository/{PULL_THROUGH_CACHE_PREFIX}/{organization}/*"


def lifecycle_policy(keep_images: int) -> str:
    """ECR lifecycle policy of each cache repository: keep the newest `keep_images` images (manifests)."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Keep the newest {keep_images} cached images; an expired one is fetched again",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
                    "action": {"type": "expire"},
                }
            ]
        }
    )


@dataclass(frozen=True)
class PullThroughCacheArgs:
    """Inputs of `PullThroughCache`."""

    organization: str
    """The GitHub organization whose images are cached (`ghcr.io/<organization>/*`)."""
    account_id: str
    """The environment's AWS account (the cache lives in its private registry)."""
    region: str
    """The environment's region (images are cached there)."""
    node_role_name: pulumi.Input[str]
    """The nodes' IAM role, which gets the import permissions."""
    keep_images_per_repository: int
    """Cached images kept per repository (the creation template's lifecycle policy)."""
    recovery_window_days: int
    """Recovery window of the credential secret (never immediate deletion)."""
    protect: bool
    """Protect the credential secret (prod): a diff can never delete what a person set."""


class PullThroughCache(pulumi.ComponentResource):
    """The credential secret, the cache rule, the creation template and the node role's import policy."""

    credential_secret_name: str
    """Where a person stores the machine user's token (`aws secretsmanager put-secret-value`)."""
    repository_prefix: str
    """The ECR path prefix of cached images (`ghcr`)."""

    def __init__(self, name: str, args: PullThroughCacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:registry:PullThroughCache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.credential_secret_name = credential_secret_name(args.organization)
        self.repository_prefix = PULL_THROUGH_CACHE_PREFIX

        # No SecretVersion: the token is supplied by a person and never enters Pulumi's state. The
        # default aws/secretsmanager key, because ECR's service-linked role reads the secret and is
        # granted no customer-managed key.
        credential = aws.secretsmanager.Secret(
            f"{name}-credential",
            name=self.credential_secret_name,
            description=(
                f"Machine user GHCR login of the pull-through cache of {REGISTRY_HOST}/{args.organization}: "
                '{"username": "<login>", "accessToken": "<classic token, read:packages only>"} (set by a person)'
            ),
            recovery_window_in_days=args.recovery_window_days,
            tags={"SecretSource": "supplied"},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        template = aws.ecr.RepositoryCreationTemplate(
            f"{name}-template",
            prefix=PULL_THROUGH_CACHE_PREFIX,
            description=f"Cache repositories of {REGISTRY_HOST}/{args.organization} images",
            applied_fors=["PULL_THROUGH_CACHE"],
            # The cache moves a tag when upstream moves it, so cache repositories stay mutable.
            image_tag_mutability="MUTABLE",
            encryption_configurations=[
                aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            lifecycle_policy=lifecycle_policy(args.keep_images_per_repository),
            opts=child,
        )
        self.rule = aws.ecr.PullThroughCacheRule(
            f"{name}-rule",
            ecr_repository_prefix=PULL_THROUGH_CACHE_PREFIX,
            upstream_registry_url=REGISTRY_HOST,
            credential_arn=credential.arn,
            # Repositories the first pulls create must already find their template.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[template])),
        )
        node_policy = aws.iam.Policy(
            f"{name}-node-import",
            description=f"Nodes import {REGISTRY_HOST}/{args.organization} images into the pull-through cache",
            policy=json.dumps(
                policy_document(
                    {
                        "Effect": "Allow",
                        "Action": list(NODE_ACTIONS),
                        "Resource": cache_repository_arn_pattern(args.account_id, args.region, args.organization),
                    }
                )
            ),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-node-import", role=args.node_role_name, policy_arn=node_policy.arn, opts=child
        )
        self.register_outputs(
            {"credentialSecretName": self.credential_secret_name, "repositoryPrefix": self.repository_prefix}
        )
