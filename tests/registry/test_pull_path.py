"""Every environment's pull path: the cache rule, its credential, the creation template, the node's import rights."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import botocore.loaders
import pytest

from components.config.stack_file import environment_configs
from components.registry.pull_path import NODE_ACTIONS, UPSTREAM_REGISTRY, credential_secret_name
from components.shared.catalog import ENVIRONMENTS, load_catalog
from components.shared.naming import PULL_THROUGH_CACHE_PREFIX, REGISTRY_HOST, cached_image_repository
from tests.conftest import stack_plan

RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
SECRET = "aws:secretsmanager/secret:Secret"
CATALOG = load_catalog()


@cache
def ecr_shapes() -> dict[str, Any]:
    """ECR's API shapes from botocore's service model (the limits the service enforces)."""
    return botocore.loaders.Loader().load_service_model("ecr", "service-2")["shapes"]


def _shape_pattern(shape: str) -> str:
    # botocore writes the patterns for Java-style regexes; Python's re reads these ones as they are.
    return str(ecr_shapes()[shape]["pattern"])


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_cache_rule_serves_ghcr_with_the_supplied_credential(environment: str) -> None:
    plan = stack_plan(environment)
    rule = plan.one(RULE, "registry-cache-rule")
    secret = plan.one(SECRET, "registry-cache-credential")
    assert rule["inputs"]["upstreamRegistryUrl"] == REGISTRY_HOST
    assert rule["inputs"]["ecrRepositoryPrefix"] == PULL_THROUGH_CACHE_PREFIX
    assert secret["urn"] in rule["options"]["dependsOn"]
    assert secret["inputs"]["name"] == credential_secret_name(CATALOG.organization)
    # Created empty: no version of it is ever declared, so the token never enters Pulumi's state.
    versions = plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert not [v for v in versions if "registry" in v["name"]]
    assert secret["options"]["protect"] is (environment == "prod")


def test_names_fit_ecr_patterns() -> None:
    shapes = ecr_shapes()
    prefix_shape = shapes["PullThroughCacheRuleRepositoryPrefix"]
    assert re.fullmatch(_shape_pattern("PullThroughCacheRuleRepositoryPrefix"), PULL_THROUGH_CACHE_PREFIX)
    assert prefix_shape["min"] <= len(PULL_THROUGH_CACHE_PREFIX) <= prefix_shape["max"]
    assert re.fullmatch(_shape_pattern("Prefix"), PULL_THROUGH_CACHE_PREFIX)
    assert UPSTREAM_REGISTRY in shapes["UpstreamRegistry"]["enum"]
    config = environment_configs()["prod"]
    arn = f"arn:aws:secretsmanager:{config.aws_region}:{config.aws_account_id}:secret:"
    arn += credential_secret_name(CATALOG.organization) + "-AbCdEf"
    assert re.fullmatch(_shape_pattern("CredentialArn"), arn)
    # A planted name outside the prefix ECR demands would be refused.
    assert not re.fullmatch(_shape_pattern("CredentialArn"), arn.replace("ecr-pullthroughcache/", "pyairtable/"))


def test_every_cached_image_path_is_a_valid_ecr_repository_name() -> None:
    pattern = _shape_pattern("RepositoryName")
    config = environment_configs()["dev"]
    for service in CATALOG.deployable:
        path = cached_image_repository(config.aws_account_id, config.aws_region, CATALOG.organization, service.name)
        repository = path.split("/", 1)[1]
        assert re.fullmatch(pattern, repository), repository
        assert len(repository) <= ecr_shapes()["RepositoryName"]["max"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_creation_template_keeps_the_configured_number_of_images(environment: str) -> None:
    plan = stack_plan(environment)
    template = plan.one(TEMPLATE, "registry-cache-template")["inputs"]
    assert template["prefix"] == PULL_THROUGH_CACHE_PREFIX
    assert template["appliedFors"] == ["PULL_THROUGH_CACHE"]
    assert template["imageTagMutability"] in ecr_shapes()["ImageTagMutability"]["enum"]
    (rule,) = json.loads(template["lifecyclePolicy"])["rules"]
    keep = environment_configs()[environment].registry.cache.keep_images_per_repository
    assert rule["selection"]["countNumber"] == keep
    assert (
        plan.one(TEMPLATE, "registry-cache-template")["urn"]
        in plan.one(RULE, "registry-cache-rule")["options"]["dependsOn"]
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_nodes_may_import_only_the_organizations_images(environment: str) -> None:
    plan = stack_plan(environment)
    config = environment_configs()[environment]
    policy = json.loads(plan.one("aws:iam/policy:Policy", "registry-cache-node-import")["inputs"]["policy"])
    (statement,) = policy["Statement"]
    assert sorted(statement["Action"]) == sorted(NODE_ACTIONS)
    assert statement["Resource"] == (
        f"arn:aws:ecr:{config.aws_region}:{config.aws_account_id}:repository/"
        f"{PULL_THROUGH_CACHE_PREFIX}/{CATALOG.organization}/*"
    )
    attachment = plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "registry-cache-node-import")
    node_role = plan.one("aws:iam/role:Role", "eks-nodes-role")
    assert node_role["urn"] in attachment["options"]["dependsOn"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_image_repositories_output_is_derived_from_the_catalog(environment: str) -> None:
    config = environment_configs()[environment]
    account, region = config.aws_account_id, config.aws_region
    assert stack_plan(environment).outputs["imageRepositories"] == {
        service.name: cached_image_repository(account, region, CATALOG.organization, service.name)
        for service in CATALOG.deployable
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_deploys_are_told_the_path_the_environment_serves(environment: str) -> None:
    # The org stack writes IMAGE_REGISTRY into each repository's GitHub environment from the stack files;
    # the environment stack serves the same path: neither reads the other's state.
    registries = {
        v["inputs"]["value"]
        for v in stack_plan("org").of_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
        if v["inputs"]["variableName"] == "IMAGE_REGISTRY" and v["inputs"]["environment"] == environment
    }
    (registry,) = registries
    served = stack_plan(environment).outputs["imageRepositories"]
    assert served == {service.name: f"{registry}/{service.name}" for service in CATALOG.deployable}
