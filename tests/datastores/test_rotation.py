"""The rotation path of store logins: server and secret change together, in this order.

1. the login's secret and its first version (ServiceSecrets; later versions belong to rotation);
2. PostgreSQL: the provisioning Job creates database, role and clone inside the cluster;
3. the rotation function (AWS's template, pinned) exists;
4. the SecretRotation, after 1-3: every rotation sets the server before it promotes the secret.
The live rotation is a runbook step (README); here the resources, their inputs and their order.
"""

from __future__ import annotations

import json

from components.config.stack_file import environment_configs
from components.datastores.connections import KEYS
from components.datastores.rotation import (
    NAMESPACE,
    POSTGRES_ROTATION_APPLICATION,
    REDIS_ROTATION_APPLICATION,
    SERVERLESS_REPOSITORY,
    function_name,
    provisioning_sql,
)
from components.datastores.stores import database_role
from components.secrets.operator import read_policy
from components.shared.catalog import SecretStore, load_catalog
from tools.plan import Plan

ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
STACK = "aws:serverlessrepository/cloudFormationStack:CloudFormationStack"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
JOB = "kubernetes:batch/v1:Job"


def _logins() -> list[tuple[str, SecretStore, str]]:
    catalog = load_catalog()
    return [
        (service.name, store, secret.name) for store in SecretStore for service, secret in catalog.store_users(store)
    ]


def test_every_store_login_has_a_rotation_after_its_server_objects(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    rotations = {r["name"]: r for r in env_plan.of_type(ROTATION)}
    assert len(rotations) == len(_logins()) >= 1
    job = env_plan.one(JOB)
    for service, store, secret_name in _logins():
        rotation = rotations[f"store-logins-{service}-{store.value}"]
        secret = next(
            r for r in env_plan.of_type("aws:secretsmanager/secret:Secret")
            if r["inputs"]["name"] == f"pyairtable/{env_plan.stack}/{service}/{secret_name}"
        )  # fmt: skip
        [version] = [r for r in env_plan.of_type(VERSION) if r["inputs"]["secretId"] == f"{secret['name']}-id"]
        assert rotation["inputs"]["secretId"] == f"{secret['name']}-id"
        assert rotation["inputs"]["rotateImmediately"] is True
        days = config.postgres.rotation_days if store is SecretStore.POSTGRES else config.redis.rotation_days
        assert rotation["inputs"]["rotationRules"]["automaticallyAfterDays"] == days
        purpose = "postgres" if store is SecretStore.POSTGRES else f"redis-{service}"
        function = function_name(env_plan.stack, purpose)
        assert rotation["inputs"]["rotationLambdaArn"] == (
            f"arn:aws:lambda:{config.aws_region}:{config.aws_account_id}:function:{function}"
        )
        [application] = [r for r in env_plan.of_type(STACK) if r["inputs"]["name"] == function]
        depends_on = set(rotation["options"]["dependsOn"])
        # The order: first version -> (Job) -> function -> rotation.
        assert {version["urn"], application["urn"]} <= depends_on
        assert (job["urn"] in depends_on) is (store is SecretStore.POSTGRES)
        if store is SecretStore.POSTGRES:
            assert version["urn"] in job["options"]["dependsOn"]
        # The program writes the first version only; rotation owns every later one.
        assert version["options"]["ignoreChanges"] == ["secretString"]
        assert not [r for r in env_plan.of_type("time:index/rotating:Rotating") if secret["name"] in r["name"]]


def test_redis_logins_wait_for_their_user_and_hold_no_password_from_the_program(env_plan: Plan) -> None:
    """The first rotation gives a Redis user its first real password; the program never writes one."""
    users = {r["inputs"]["userName"]: r for r in env_plan.of_type("aws:elasticache/user:User")}
    passwords = {r["name"] for r in env_plan.of_type("random:index/randomPassword:RandomPassword")}
    for service, store, secret_name in _logins():
        value_name = f"service-secrets-{service}-{secret_name}-value"
        version = env_plan.one(VERSION, f"service-secrets-{service}-{secret_name}-version")
        if store is SecretStore.REDIS:
            assert value_name not in passwords
            assert users[service]["urn"] in version["options"]["dependsOn"]
        else:
            assert value_name in passwords


def test_the_rotation_functions_are_awss_templates_pinned(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    applications = {r["inputs"]["name"]: r["inputs"] for r in env_plan.of_type(STACK)}
    postgres = applications[function_name(env_plan.stack, "postgres")]
    template, version = POSTGRES_ROTATION_APPLICATION
    assert (postgres["applicationId"], postgres["semanticVersion"]) == (f"{SERVERLESS_REPOSITORY}{template}", version)
    parameters = postgres["parameters"]
    assert parameters["endpoint"] == f"https://secretsmanager.{config.aws_region}.amazonaws.com"
    private = [f"{r['name']}-id" for r in env_plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in r["name"]]
    assert parameters["vpcSubnetIds"] == ",".join(private)
    assert (
        parameters["masterSecretArn"].startswith("arn:aws:secretsmanager:") and "rds!" in parameters["masterSecretArn"]
    )
    template, version = REDIS_ROTATION_APPLICATION
    redis = [a for name, a in applications.items() if "-rotate-redis-" in name]
    assert len(redis) == len(load_catalog().store_users(SecretStore.REDIS))
    for application in redis:
        assert application["applicationId"] == f"{SERVERLESS_REPOSITORY}{template}"
        # One function per user: AWS's function refuses any user but its USER_NAME.
        assert application["name"].endswith(f"-{application['parameters']['userName']}")
        assert "vpcSubnetIds" not in application["parameters"]  # it calls the ElastiCache API only


def test_eso_cannot_read_the_rds_master_secret(env_plan: Plan) -> None:
    """RDS names its managed secret `rds!...`, outside `pyairtable/<env>/`, the only prefix ESO may read."""
    config = environment_configs()[env_plan.stack]
    policy = json.loads(read_policy(config.aws_region, config.aws_account_id, config.environment, "key"))
    [readable] = [s["Resource"] for s in policy["Statement"] if s["Sid"] == "ReadEnvironmentSecrets"]
    assert readable.endswith(f":secret:pyairtable/{env_plan.stack}/*")
    master = env_plan.one(STACK, "store-logins-postgres-rotation")["inputs"]["parameters"]["masterSecretArn"]
    assert not master.split(":secret:")[-1].startswith(f"pyairtable/{env_plan.stack}/")
    # ESO decrypts with the secrets key only; the master secret is encrypted with the data stores' key.
    instance = env_plan.one("aws:rds/instance:Instance")["inputs"]
    assert instance["masterUserSecretKmsKeyId"].endswith("/datastores-key")
    # No ExternalSecret anywhere refers to it.
    for external_secret in env_plan.of_type("kubernetes:external-secrets.io/v1:ExternalSecret"):
        assert "rds!" not in json.dumps(external_secret["inputs"])


def test_connection_details_come_from_the_same_secret_as_the_password(env_plan: Plan) -> None:
    by_namespace = {
        r["inputs"]["metadata"]["namespace"]: r["inputs"]["spec"]["data"]
        for r in env_plan.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    }
    for service, store, secret_name in _logins():
        path = f"pyairtable/{env_plan.stack}/{service}/{secret_name}"
        entries = [e for e in by_namespace[service] if e["remoteRef"]["key"] == path]
        prefix = secret_name.removesuffix("-password")
        assert {e["secretKey"]: e["remoteRef"]["property"] for e in entries} == {
            f"{prefix}-{key}": prop for key, prop in KEYS[store].items()
        }


def test_the_provisioning_job_runs_in_the_cluster_with_its_own_role(env_plan: Plan) -> None:
    job = env_plan.one(JOB)["inputs"]
    assert job["metadata"]["namespace"] == NAMESPACE
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "postgres-provisioner"
    assert next(v for v in pod["volumes"] if v["name"] == "work")["emptyDir"] == {"medium": "Memory"}
    for container in [*pod["initContainers"], *pod["containers"]]:
        assert container["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    script = env_plan.one("kubernetes:core/v1:ConfigMap", "store-logins-provisioner-script")["inputs"]["data"]
    roles = [database_role(service.name) for service, _ in load_catalog().store_users(SecretStore.POSTGRES)]
    assert script["provision.sql"] == provisioning_sql(roles)
    namespace = env_plan.one("kubernetes:core/v1:Namespace", "store-logins-namespace")["inputs"]["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policy = env_plan.one("aws:iam/rolePolicy:RolePolicy", "store-logins-provisioner")["inputs"]["policy"]
    statements = json.loads(policy)["Statement"]
    [read] = [s for s in statements if s["Sid"] == "ReadLogins"]
    assert read["Action"] == "secretsmanager:GetSecretValue"  # reads only; never writes a secret
    assert len(read["Resource"]) == 1 + len(roles)


def test_the_provisioning_script_never_changes_an_existing_password() -> None:
    sql = provisioning_sql(["auth", "ai"])
    assert sql.count("CREATE ROLE auth LOGIN PASSWORD") == 1
    assert "ALTER ROLE auth WITH PASSWORD" not in sql and "ALTER USER" not in sql
    # Created only when missing, and the clone acts as the owner role (objects belong to `auth`).
    create = sql.index("CREATE ROLE auth LOGIN PASSWORD")
    assert sql.rindex("\\if :missing", 0, create) < create < sql.index("\\endif", create)
    assert "GRANT auth TO auth_clone;" in sql and "ALTER ROLE auth_clone SET role = 'auth';" in sql
    assert "CREATE DATABASE auth OWNER auth;" in sql and "REVOKE ALL ON DATABASE auth FROM PUBLIC;" in sql
    assert sql.startswith("\\set ON_ERROR_STOP on\n")
    # The clone name fits PostgreSQL's 63-byte identifiers for every catalog role (AWS's function checks it).
    assert all(len(f"{database_role(s.name)}_clone") <= 63 for s in load_catalog().deployable)
