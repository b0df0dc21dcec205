"""GitHub Actions deploy access: the OIDC provider and a role only the catalog's repositories can assume."""

from __future__ import annotations

import json

from components.shared.catalog import load_catalog
from components.shared.naming import deploy_role_name
from tools.plan import Plan


def test_github_oidc_provider(env_plan: Plan) -> None:
    provider = env_plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "deploy-github")["inputs"]
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]


def test_deploy_role_trusts_only_the_catalog_repositories_in_this_environment(env_plan: Plan) -> None:
    role = env_plan.one("aws:iam/role:Role", "deploy-role")["inputs"]
    assert role["name"] == deploy_role_name(env_plan.stack)
    [statement] = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": "arn:aws:mock:::openidconnectprovider/deploy-github"}
    conditions = statement["Condition"]
    assert list(conditions) == ["StringEquals"], "no wildcard (StringLike) subjects"
    catalog = load_catalog()
    expected = [f"repo:pyairtable/{s.repository}:environment:{env_plan.stack}" for s in catalog.deployable]
    assert conditions["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": expected,
    }
    assert "repo:pyairtable/pyairtable-docs:environment" not in role["assumeRolePolicy"]


def test_deploy_role_may_only_describe_its_cluster(env_plan: Plan) -> None:
    [policy] = [p for p in env_plan.of_type("aws:iam/rolePolicy:RolePolicy") if p["name"] == "deploy-describe-cluster"]
    document = json.loads(policy["inputs"]["policy"])
    account = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}[env_plan.stack]
    assert document["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": f"arn:aws:eks:us-east-1:{account}:cluster/pyairtable-{env_plan.stack}",
        }
    ]
    attachments = env_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not [a for a in attachments if a["inputs"]["role"].startswith("deploy-role")]


def test_deploy_role_edits_only_the_service_namespaces(env_plan: Plan) -> None:
    deploy_arn = env_plan.outputs["deployRoleArn"]
    assert deploy_arn == f"arn:aws:mock:::role/{deploy_role_name(env_plan.stack)}"
    [association] = [
        a["inputs"]
        for a in env_plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if a["inputs"]["principalArn"] == deploy_arn
    ]
    assert association["accessScope"] == {
        "type": "namespace",
        "namespaces": [s.namespace for s in load_catalog().deployable],
    }
    assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
