"""The EKS cluster of every environment: encryption, logs, endpoint, support, access, add-ons, provider."""

from __future__ import annotations

import json
import re

import pytest

from components.cluster.eks import kubeconfig_document
from components.config.environment import EKS_ADDONS
from components.config.stack_file import environment_configs
from components.delivery.names import drift_role_name, preview_role_name
from components.shared.catalog import load_catalog
from components.shared.errors import ConfigError
from components.shared.naming import role_arn
from tools.plan import Plan, build_plan

CLUSTER = "aws:eks/cluster:Cluster"


def test_secrets_are_encrypted_with_a_rotating_key(env_plan: Plan) -> None:
    cluster = env_plan.one(CLUSTER)["inputs"]
    key = env_plan.one("aws:kms/key:Key", "eks-secrets")
    assert key["inputs"]["enableKeyRotation"] is True
    assert cluster["encryptionConfig"] == {
        "resources": ["secrets"],
        "provider": {"keyArn": "arn:aws:mock:::key/eks-secrets"},
    }
    assert key["urn"] in env_plan.one(CLUSTER)["options"]["dependsOn"]


def test_control_plane_logs_and_their_retention(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    cluster = env_plan.one(CLUSTER)
    log_types = cluster["inputs"]["enabledClusterLogTypes"]
    assert set(log_types) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert log_types == list(config.cluster_log_types)
    group = env_plan.one("aws:cloudwatch/logGroup:LogGroup", "eks-control-plane")
    assert group["inputs"]["name"] == f"/aws/eks/pyairtable-{env_plan.stack}/cluster"
    assert group["inputs"]["retentionInDays"] == config.cluster_log_retention_days
    assert group["inputs"]["kmsKeyId"] == "arn:aws:mock:::key/logs-key-key"
    if env_plan.stack == "prod":
        assert group["inputs"]["retentionInDays"] >= 365
    assert group["urn"] in cluster["options"]["dependsOn"], "the log group must exist before the cluster"


def test_endpoint_is_private_and_public_only_from_configured_cidrs(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    vpc_config = env_plan.one(CLUSTER)["inputs"]["vpcConfig"]
    assert vpc_config["endpointPrivateAccess"] is True
    assert vpc_config["endpointPublicAccess"] is config.cluster.endpoint_public_access
    assert vpc_config["publicAccessCidrs"] == [str(cidr) for cidr in config.public_access_cidrs]
    assert "0.0.0.0/0" not in vpc_config["publicAccessCidrs"]
    assert all("private" in subnet for subnet in vpc_config["subnetIds"])


def test_version_pinned_on_standard_support(env_plan: Plan) -> None:
    cluster = env_plan.one(CLUSTER)["inputs"]
    assert cluster["name"] == f"pyairtable-{env_plan.stack}"
    assert cluster["version"] == environment_configs()[env_plan.stack].kubernetes_version
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}


def test_access_entries_only(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    assert env_plan.one(CLUSTER)["inputs"]["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    entries = {e["inputs"]["principalArn"]: e["inputs"] for e in env_plan.of_type("aws:eks/accessEntry:AccessEntry")}
    deploy_arns = set(env_plan.outputs["deployRoleArns"].values())
    readers = {role_arn(config.aws_account_id, name(env_plan.stack)) for name in (preview_role_name, drift_role_name)}
    assert set(entries) == {*config.admin_role_arns, config.aws_role_arn, *deploy_arns, *readers}  # readers: delivery
    assert {entry["type"] for entry in entries.values()} == {"STANDARD"}
    policies = {
        a["inputs"]["principalArn"]: a["inputs"]
        for a in env_plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    assert set(policies) == {*config.admin_role_arns, config.aws_role_arn, *readers}, "deploy roles: a group, no policy"
    for arn in [*config.admin_role_arns, config.aws_role_arn]:
        assert policies[arn]["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
        assert policies[arn]["accessScope"] == {"type": "cluster"}
    config_maps = [c["inputs"]["metadata"]["name"] for c in env_plan.of_type("kubernetes:core/v1:ConfigMap")]
    assert "aws-auth" not in config_maps, "access entries only, no aws-auth ConfigMap"


def test_oidc_provider_for_irsa(env_plan: Plan) -> None:
    provider = env_plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "eks-oidc")["inputs"]
    assert provider["url"] == f"https://oidc.eks.mock/id/pyairtable-{env_plan.stack}"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]
    assert env_plan.outputs["oidcProviderArn"] == "arn:aws:mock:::openidconnectprovider/eks-oidc"


def test_addons_pinned_and_ebs_csi_with_its_irsa_role(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    addons = {a["inputs"]["addonName"]: a for a in env_plan.of_type("aws:eks/addon:Addon")}
    assert set(addons) == set(EKS_ADDONS)
    for name, addon in addons.items():
        assert addon["inputs"]["addonVersion"] == config.addon_versions[name]
    assert json.loads(addons["vpc-cni"]["inputs"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert addons["aws-ebs-csi-driver"]["inputs"]["serviceAccountRoleArn"] == "arn:aws:mock:::role/eks-ebs-csi"
    trust = json.loads(env_plan.one("aws:iam/role:Role", "eks-ebs-csi")["inputs"]["assumeRolePolicy"])
    issuer = f"oidc.eks.mock/id/pyairtable-{env_plan.stack}"
    assert trust["Statement"][0]["Condition"]["StringEquals"] == {
        f"{issuer}:aud": "sts.amazonaws.com",
        f"{issuer}:sub": ["system:serviceaccount:kube-system:ebs-csi-controller-sa"],
    }
    node_group_urns = {g["urn"] for g in env_plan.of_type("aws:eks/nodeGroup:NodeGroup")}
    for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert addons[name]["urn"] in env_plan.of_type("aws:eks/nodeGroup:NodeGroup")[0]["options"]["dependsOn"]
    for name in ("coredns", "aws-ebs-csi-driver"):
        assert node_group_urns <= set(addons[name]["options"]["dependsOn"])


def test_default_storage_class_is_encrypted_gp3(env_plan: Plan) -> None:
    storage_class = env_plan.one("kubernetes:storage.k8s.io/v1:StorageClass")["inputs"]
    assert storage_class["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storage_class["reclaimPolicy"] == ("Retain" if env_plan.stack == "prod" else "Delete")


def test_every_kubernetes_resource_uses_the_cluster_provider(env_plan: Plan) -> None:
    provider = env_plan.one("pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    kubernetes_resources = [r for r in env_plan.resources if r["type"].startswith("kubernetes:")]
    assert kubernetes_resources
    assert {r["provider"] for r in kubernetes_resources} == {provider["urn"]}


def test_aws_provider_default_tags(env_plan: Plan) -> None:
    provider = env_plan.one("pulumi:providers:aws")["inputs"]
    assert json.loads(provider["defaultTags"]) == {
        "tags": {
            "Environment": env_plan.stack,
            "Project": "pyairtable",
            "ManagedBy": "pulumi",
            "CostCenter": "pyairtable-platform",
        }
    }
    aws_urn = env_plan.one("pulumi:providers:aws")["urn"]
    aws_resources = [r for r in env_plan.resources if r["type"].startswith("aws:")]
    assert {r["provider"] for r in aws_resources} == {aws_urn}


def prod_data_store_resources(plan: Plan) -> set[tuple[str, str]]:
    """What holds data in the data stores (components/datastores) and the keys that no value may lose."""
    key_ring = {
        (r["type"], r["name"])
        for r in plan.of_type("random:index/randomPassword:RandomPassword")
        if "totp-encryption-key-v" in r["name"]
    }
    return {
        ("aws:kms/key:Key", "datastores-key"),
        ("aws:rds/instance:Instance", "datastores-postgres-instance"),
        *(
            ("aws:elasticache/replicationGroup:ReplicationGroup", f"datastores-redis-{use.value}")
            for use in load_catalog().redis_uses()
        ),
        ("aws:backup/vault:Vault", "volume-backups-vault"),
        ("tls:index/privateKey:PrivateKey", "service-secrets-auth-jwt-signing-key-key"),
        *key_ring,
    }


def test_protection_only_on_prod_cluster_vpc_keys_and_secrets(env_plan: Plan) -> None:
    protected = {(r["type"], r["name"]) for r in env_plan.resources if r["options"]["protect"]}
    secrets = {(r["type"], r["name"]) for r in env_plan.of_type("aws:secretsmanager/secret:Secret")}
    if env_plan.stack == "prod":
        # The Secrets Manager key and secrets too: deleting them would lose values people set. The
        # service namespaces (their Secrets and workloads), ESO's namespace and both Helm releases.
        assert secrets
        service_namespaces = {
            ("kubernetes:core/v1:Namespace", f"namespaces-{s.name}") for s in load_catalog().deployable
        }
        assert protected == {
            (CLUSTER, "eks-cluster"),
            ("aws:ec2/vpc:Vpc", "network-vpc"),
            ("aws:kms/key:Key", "eks-secrets"),
            ("aws:kms/key:Key", "secrets-key-key"),
            # The public DNS zone: its name servers are delegated from the parent zone.
            ("aws:route53/zone:Zone", "traffic-zone"),
            ("aws:kms/key:Key", "logs-key-key"),
            ("kubernetes:core/v1:Namespace", "external-secrets-namespace"),
            ("kubernetes:helm.sh/v3:Release", "external-secrets-release"),
            ("kubernetes:helm.sh/v3:Release", "monitoring-release"),
            *service_namespaces,
            *secrets,
            *prod_data_store_resources(env_plan),
        }
        assert env_plan.one(CLUSTER)["inputs"]["deletionProtection"] is True
    else:
        # dev and staging must be destroyable with `pulumi destroy`.
        assert protected == set()
        assert env_plan.one(CLUSTER)["inputs"]["deletionProtection"] is False


def test_outputs(env_plan: Plan) -> None:
    assert env_plan.outputs["clusterName"] == f"pyairtable-{env_plan.stack}"
    assert env_plan.outputs["clusterEndpoint"] == f"https://pyairtable-{env_plan.stack}.eks.mock"
    assert env_plan.outputs["kubeconfig"] == "[secret]"


@pytest.mark.parametrize("role_arn", ["", "arn:aws:iam::111111111111:role/pyairtable-pulumi"])
def test_kubeconfig_uses_aws_eks_get_token(role_arn: str) -> None:
    document = json.loads(kubeconfig_document("pyairtable-dev", "https://x", "Y2E=", "us-east-1", role_arn))
    assert document["current-context"] == "pyairtable-dev"
    assert document["clusters"][0]["cluster"] == {"server": "https://x", "certificate-authority-data": "Y2E="}
    command = document["users"][0]["user"]["exec"]
    expected = ["eks", "get-token", "--cluster-name", "pyairtable-dev", "--region", "us-east-1"]
    assert command["command"] == "aws"
    assert command["args"] == expected + (["--role-arn", role_arn] if role_arn else [])


def test_kube_proxy_of_another_minor_is_refused() -> None:
    pin = re.escape(environment_configs()["dev"].addon_versions["kube-proxy"])
    with pytest.raises(ConfigError, match=rf"addonVersions.*kube-proxy {pin} does not match kubernetesVersion 1.33"):
        build_plan("dev", {"kubernetesVersion": "1.33"})


def test_a_version_missing_from_the_table_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"kubernetesVersion.*'1.30'.*not in the EKS version table"):
        build_plan("dev", {"kubernetesVersion": "1.30"})


def test_the_cluster_waits_for_its_role_policies_and_key_and_the_ebs_driver_for_its_policy(env_plan: Plan) -> None:
    """A destroy deletes the cluster (and the EBS driver) before the permissions they clean up with."""
    depends_on = set(env_plan.one(CLUSTER)["options"]["dependsOn"])
    attachment = env_plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "eks-cluster")
    assert attachment["inputs"]["policyArn"] == "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
    assert attachment["urn"] in depends_on
    assert env_plan.one("aws:iam/rolePolicy:RolePolicy", "eks-cluster-secrets-key")["urn"] in depends_on
    [ebs] = [a for a in env_plan.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "aws-ebs-csi-driver"]
    ebs_policy = env_plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "eks-ebs-csi")
    assert ebs_policy["urn"] in ebs["options"]["dependsOn"]


def test_unknown_addon_is_refused() -> None:
    versions = {**environment_configs()["dev"].addon_versions, "metrics-server": "v0.8.0-eksbuild.1"}
    with pytest.raises(ConfigError, match=r"unknown add-ons \['metrics-server'\]"):
        build_plan("dev", {"addonVersions": versions})
