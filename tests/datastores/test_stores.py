"""PostgreSQL, Redis, volume backups and Reloader as every environment plan declares them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from components.cluster.namespaces import SERVICE_NAMESPACE_LABEL
from components.config.stack_file import environment_configs
from components.datastores import reloader
from components.datastores.postgres import LOG_EXPORTS, MASTER_USERNAME, PARAMETERS
from components.datastores.redis import DISABLED_DEFAULT_ACCESS, access_string
from components.network.vpc import subnet_layout
from components.shared.catalog import MAXMEMORY_POLICY, SecretStore, load_catalog
from components.shared.paths import DATA_DIR
from tools.plan import Plan

INSTANCE = "aws:rds/instance:Instance"
GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def _key_arn(plan: Plan) -> str:
    return f"arn:aws:mock:::key/{plan.one('aws:kms/key:Key', 'datastores-key')['name']}"


def _private_subnet_ids(plan: Plan) -> list[str]:
    return [f"{r['name']}-id" for r in plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in r["name"]]


def test_postgres_is_private_encrypted_and_admits_only_the_cluster(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    instance = env_plan.one(INSTANCE)
    inputs = instance["inputs"]
    assert inputs["publiclyAccessible"] is False
    assert env_plan.one("aws:rds/subnetGroup:SubnetGroup")["inputs"]["subnetIds"] == _private_subnet_ids(env_plan)
    assert (inputs["storageEncrypted"], inputs["kmsKeyId"]) == (True, _key_arn(env_plan))
    assert inputs["performanceInsightsKmsKeyId"] == inputs["masterUserSecretKmsKeyId"] == _key_arn(env_plan)
    # The master user: RDS keeps its password; the program never holds one.
    assert inputs["manageMasterUserPassword"] is True and "password" not in inputs
    assert inputs["username"] == MASTER_USERNAME
    security_group = env_plan.one("aws:ec2/securityGroup:SecurityGroup", "datastores-postgres-security-group")
    sources = {
        r["inputs"]["referencedSecurityGroupId"]
        for r in env_plan.of_type(INGRESS)
        if r["inputs"]["securityGroupId"] == f"{security_group['name']}-id"
    }
    cluster = env_plan.one("aws:eks/cluster:Cluster")["inputs"]["name"]
    rotation = env_plan.one("aws:ec2/securityGroup:SecurityGroup", "store-logins-postgres-rotation")["name"]
    assert sources == {f"sg-{cluster}-cluster", f"{rotation}-id"}
    assert all("cidrIpv4" not in r["inputs"] for r in env_plan.of_type(INGRESS))
    assert config.postgres.engine_version == inputs["engineVersion"]


def test_postgres_requires_tls_and_logs_what_a_dba_reads(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    group = env_plan.one("aws:rds/parameterGroup:ParameterGroup")["inputs"]
    assert group["family"] == f"postgres{config.postgres.major_version}"
    parameters = {p["name"]: p["value"] for p in group["parameters"]}
    assert parameters == PARAMETERS and parameters["rds.force_ssl"] == "1"
    inputs = env_plan.one(INSTANCE)["inputs"]
    assert (inputs["autoMinorVersionUpgrade"], inputs["allowMajorVersionUpgrade"]) == (False, False)
    assert inputs["enabledCloudwatchLogsExports"] == list(LOG_EXPORTS)
    assert inputs["databaseInsightsMode"] == config.postgres.database_insights
    assert inputs["performanceInsightsEnabled"] is True
    assert inputs["monitoringInterval"] == config.postgres.monitoring_interval_seconds
    assert ("monitoringRoleArn" in inputs) is bool(config.postgres.monitoring_interval_seconds)
    log_groups = [r for r in env_plan.of_type("aws:cloudwatch/logGroup:LogGroup") if "/aws/rds/" in r["inputs"]["name"]]
    assert {r["inputs"]["retentionInDays"] for r in log_groups} == {config.postgres.log_retention_days}
    assert {r["urn"] for r in log_groups} <= set(env_plan.one(INSTANCE)["options"]["dependsOn"])


def test_postgres_durability_per_environment(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack].postgres
    instance = env_plan.one(INSTANCE)
    inputs, prod = instance["inputs"], env_plan.stack == "prod"
    assert inputs["backupRetentionPeriod"] == config.backup_retention_days >= 1
    assert inputs["multiAz"] is config.multi_az is prod
    assert inputs["deletionProtection"] is instance["options"]["protect"] is prod
    assert inputs["skipFinalSnapshot"] is not config.final_snapshot
    assert (inputs.get("finalSnapshotIdentifier") is not None) is config.final_snapshot
    assert inputs["deleteAutomatedBackups"] is not prod
    if env_plan.stack == "dev":
        assert inputs["instanceClass"] == "db.t4g.micro" and inputs["multiAz"] is False


def test_redis_groups_per_use_with_tls_encryption_and_rbac(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack].redis
    catalog = load_catalog()
    groups = {r["name"].removeprefix("datastores-redis-"): r for r in env_plan.of_type(GROUP)}
    assert set(groups) == {use.value for use in catalog.redis_uses()}
    for use in catalog.redis_uses():
        group = groups[use.value]
        inputs = group["inputs"]
        assert (inputs["transitEncryptionEnabled"], inputs["transitEncryptionMode"]) == (True, "required")
        assert (inputs["atRestEncryptionEnabled"], inputs["kmsKeyId"]) == (True, _key_arn(env_plan))
        assert inputs["multiAzEnabled"] is inputs["automaticFailoverEnabled"] is config.multi_az
        assert inputs["numCacheClusters"] == config.nodes_per_group
        assert inputs["snapshotRetentionLimit"] == config.snapshot_retention_days
        assert "authToken" not in inputs
        assert group["options"]["protect"] is (env_plan.stack == "prod")
        parameters = env_plan.one(
            "aws:elasticache/parameterGroup:ParameterGroup", f"datastores-redis-{use.value}-parameters"
        )
        assert parameters["inputs"]["parameters"] == [{"name": "maxmemory-policy", "value": MAXMEMORY_POLICY[use]}]
        users = env_plan.one("aws:elasticache/userGroup:UserGroup", f"datastores-redis-{use.value}-users")
        expected = [f"pyairtable-{env_plan.stack}-{use.value}-default"] + [
            f"pyairtable-{env_plan.stack}-{service.name}"
            for service, secret in catalog.store_users(SecretStore.REDIS)
            if secret.use is use
        ]
        assert users["inputs"]["userIds"] == expected
        assert inputs["userGroupIds"] == [users["inputs"]["userGroupId"]]
    if env_plan.stack == "prod":
        assert config.multi_az and config.snapshot_retention_days >= 7


def test_redis_users_one_per_service_with_two_password_slots(env_plan: Plan) -> None:
    users = {r["inputs"]["userName"]: r for r in env_plan.of_type("aws:elasticache/user:User")}
    expected = {service.name for service, _ in load_catalog().store_users(SecretStore.REDIS)}
    assert set(users) == expected | {"default"}
    for default in (r for r in env_plan.of_type("aws:elasticache/user:User") if r["inputs"]["userName"] == "default"):
        assert default["inputs"]["accessString"] == DISABLED_DEFAULT_ACCESS
    for name in expected:
        user = users[name]
        assert user["inputs"]["accessString"] == access_string(name) == f"on ~{name}:* &{name}:* +@all -@dangerous"
        # Rotation owns the passwords after creation; a `pulumi up` never reverts it.
        assert user["options"]["ignoreChanges"] == ["authenticationMode", "passwords"]


def test_volume_backups_in_prod_only(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    vaults = env_plan.of_type("aws:backup/vault:Vault")
    if not config.backups.enabled:
        assert vaults == [] and env_plan.stack != "prod"
        return
    [vault] = vaults
    assert vault["inputs"]["kmsKeyArn"] == _key_arn(env_plan)
    assert vault["options"]["protect"] is True
    [rule] = env_plan.one("aws:backup/plan:Plan")["inputs"]["rules"]
    assert rule["lifecycle"]["deleteAfter"] == config.backups.retention_days
    assert rule["schedule"] == config.backups.schedule
    selection = env_plan.one("aws:backup/selection:Selection")["inputs"]
    assert selection["selectionTags"] == [
        {"type": "STRINGEQUALS", "key": f"kubernetes.io/cluster/pyairtable-{env_plan.stack}", "value": "owned"}
    ]
    # Prometheus has a volume in prod: that is what this plan protects.
    assert config.prometheus_storage_gib > 0


def _paths(values: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in values.items():
        if isinstance(value, dict) and value:
            yield from _paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _has_path(document: dict[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = document
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_reloader_values_exist_in_the_vendored_chart(env_plan: Plan) -> None:
    upstream = yaml.safe_load((DATA_DIR / "upstream" / "reloader" / "values.yaml").read_text())
    release = env_plan.one("kubernetes:helm.sh/v3:Release", "reloader-release")["inputs"]
    assert release["version"] == reloader.CHART_VERSION
    assert reloader.CHART_VERSION in (DATA_DIR / "upstream" / "reloader" / "README.md").read_text()
    values = release["values"]
    # Leaves whose parent is free-form in the chart (resources, securityContext) need their parent only.
    for path in _paths(values):
        assert _has_path(upstream, path) or _has_path(upstream, path[:-1]) or _has_path(upstream, path[:-2]), path
    assert not _has_path(upstream, ("reloader", "autoReload")), "a misspelled key would not be found"
    assert values["reloader"]["namespaceSelector"] == f"{SERVICE_NAMESPACE_LABEL}=true"
    assert values["reloader"]["autoReloadAll"] is True


def test_services_may_reach_their_stores_and_nothing_else_new(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    cidrs = [
        subnet.private_cidr
        for subnet in subnet_layout(config.vpc_cidr, config.subnet_indexes, config.network.subnet_slots)
    ]
    catalog = load_catalog()
    policies = {
        r["inputs"]["metadata"]["namespace"]: r
        for r in env_plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if r["inputs"]["metadata"].get("name") == "allow-datastores"
    }
    for service in catalog.deployable:
        ports = {
            store: port
            for store, port in ((SecretStore.POSTGRES, 5432), (SecretStore.REDIS, 6379))
            if service.store_secret(store) is not None
        }
        if not ports:
            assert service.namespace not in policies
            continue
        egress = policies[service.namespace]["inputs"]["spec"]["egress"]
        assert egress == [
            {"to": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs], "ports": [{"port": port, "protocol": "TCP"}]}
            for port in ports.values()
        ]
