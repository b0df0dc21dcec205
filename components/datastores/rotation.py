"""Store logins that the servers honour: roles and databases created inside the VPC, rotation that
changes the server and the secret together, and the network paths both need.

The rotation path (README "Data stores: rotation"), in the order `pulumi up` creates it:
1. `ServiceSecrets` writes each login's FIRST secret version (host, port, database, user; a
   PostgreSQL login also its first password) and never touches it again (`ignoreChanges`).
2. PostgreSQL: the provisioning Job runs in the cluster (inside the VPC: no provider needs a network
   path to the database from CI). With the RDS-managed master login, read by its own IRSA role
   straight from Secrets Manager (ESO cannot read it), it creates for each service the database
   `<svc>`, the role `<svc>` with the first password and the role `<svc>_clone` (no password yet),
   a member of `<svc>` that acts as `<svc>` in every session, so objects always belong to `<svc>`.
3. The rotation functions: AWS's own Secrets Manager rotation templates from the Serverless
   Application Repository, pinned: `SecretsManagerRDSPostgreSQLRotationMultiUser` (in the private
   subnets; it logs in to PostgreSQL) and one `SecretsManagerElasticacheUserRotation` per Redis user
   (it only calls the ElastiCache API, so it runs outside the VPC).
4. `aws.secretsmanager.SecretRotation` per login, after 1-3, rotating at once and then every
   `rotationDays`. Each rotation is createSecret (new value as AWSPENDING) -> setSecret (the server:
   ALTER the other PostgreSQL user's password, or set the Redis user's passwords to [new, current])
   -> testSecret (log in with the new value) -> finishSecret (AWSPENDING becomes AWSCURRENT). The
   server changes before the secret, and the previous login keeps working for a whole period.
5. Pods see the new version within ESO's refresh interval; Reloader restarts the workloads whose
   Secret changed (`reloader.py`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components.datastores.network import tcp_rule
from components.datastores.postgres import MASTER_USERNAME
from components.datastores.postgres import PORT as POSTGRES_PORT
from components.datastores.redis import PORT as REDIS_PORT
from components.datastores.stores import Datastores, database_role
from components.shared.catalog import Catalog, SecretStore
from components.shared.iam import policy_document, service_account_subject, web_identity_trust_policy
from components.shared.naming import cluster_name

SERVERLESS_REPOSITORY = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/"
"""Where AWS publishes the Secrets Manager rotation templates (the `aws` partition)."""
POSTGRES_ROTATION_APPLICATION = ("SecretsManagerRDSPostgreSQLRotationMultiUser", "1.1.671")
"""Template and pinned version (the version aws-cdk-lib pins for the `aws` partition)."""
REDIS_ROTATION_APPLICATION = ("SecretsManagerElasticacheUserRotation", "1.1.671")
"""Template and pinned version; the version and its parameters are checked by `make preflight` (unverified here)."""
ROTATION_CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY")
"""The templates create the function's role and the permission that lets Secrets Manager invoke it."""

NAMESPACE = "datastores"
"""The namespace of the provisioning Job (created here, with its own network policies)."""
SERVICE_ACCOUNT = "postgres-provisioner"
AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.31.3"
PYTHON_IMAGE = "public.ecr.aws/docker/library/python:3.13.9-alpine3.22"
POSTGRES_CLIENT_IMAGE = "public.ecr.aws/docker/library/postgres:17.6-alpine3.22"
SECRETS_MOUNT = "/run/provisioner"
NON_ROOT_USER = 65534
"""nobody: every container of the Job runs as it (restricted Pod Security)."""

# Turns the master secret's JSON into a libpq password file; the standard library only, no package install.
PGPASS_SCRIPT = """
import json, os, sys
master = json.load(open(sys.argv[1]))
escape = lambda value: value.replace("\\\\", "\\\\\\\\").replace(":", "\\\\:")
line = ":".join(["*", "*", "*", escape(master["username"]), escape(master["password"])])
path = sys.argv[2]
with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
    handle.write(line + "\\n")
"""


def provisioning_sql(roles: Sequence[str], directory: str = SECRETS_MOUNT) -> str:
    """The psql script: per service a database, its role with the first password, and the rotation clone.

    Idempotent: it creates what is missing and never changes an existing role's password (rotation
    owns passwords after the first). Each service's login JSON is read from `<directory>/<role>.json`.
    """
    lines = [
        "\\set ON_ERROR_STOP on",
        # PostgreSQL 16+: roles this session creates are granted to it with SET and INHERIT, so it may
        # make them database owners; RDS's master is not a superuser.
        "SET createrole_self_grant = 'set, inherit';",
    ]
    for role in roles:
        clone = f"{role}_clone"
        lines += [
            f"-- {role}",
            f"SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') AS missing \\gset",
            "\\if :missing",
            f"  \\set login `cat {directory}/{role}.json`",
            "  SELECT :'login'::json->>'password' AS password \\gset",
            f"  CREATE ROLE {role} LOGIN PASSWORD :'password';",
            "\\endif",
            f"SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{clone}') AS missing \\gset",
            "\\if :missing",
            f"  CREATE ROLE {clone} LOGIN;",
            "\\endif",
            f"GRANT {role} TO {clone};",
            f"ALTER ROLE {clone} SET role = '{role}';",
            f"SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{role}') AS missing \\gset",
            "\\if :missing",
            f"  CREATE DATABASE {role} OWNER {role};",
            "\\endif",
            f"REVOKE ALL ON DATABASE {role} FROM PUBLIC;",
            f"GRANT CONNECT, TEMPORARY ON DATABASE {role} TO {role};",
        ]
    return "\n".join(lines) + "\n"


def function_name(environment: str, purpose: str) -> str:
    """A rotation function's name (at most 64 characters), e.g. `pyairtable-prod-rotate-postgres`."""
    return f"{cluster_name(environment)}-rotate-{purpose}"[:64]


@dataclass(frozen=True)
class StoreLoginsArgs:
    """Inputs of `StoreLogins`."""

    environment: str
    """Environment name."""
    region: str
    """The environment's region (function ARNs, the Secrets Manager endpoint)."""
    account_id: str
    """The environment's account (function ARNs)."""
    catalog: Catalog
    """Which services log in to which store."""
    datastores: Datastores
    """The servers."""
    login_secrets: Mapping[tuple[str, SecretStore], tuple[aws.secretsmanager.Secret, pulumi.Resource]]
    """Each login's secret and its first version, by (service, store) (`ServiceSecrets.store_secrets`)."""
    secrets_kms_key_arn: pulumi.Input[str]
    """The key the service secrets are encrypted with (rotation decrypts and encrypts with it)."""
    postgres_rotation_days: int
    """`postgres.rotationDays`."""
    redis_rotation_days: int
    """`redis.rotationDays`."""
    vpc_id: pulumi.Input[str]
    """The environment's VPC."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """Where the PostgreSQL rotation function runs."""
    private_subnet_cidrs: Sequence[str]
    """The private subnets' ranges: where the stores have addresses (network policies)."""
    namespaces: Mapping[str, kubernetes.core.v1.Namespace]
    """Service namespaces by service name (each store user gets an egress policy there)."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider (the Job's IRSA role)."""
    oidc_issuer: pulumi.Input[str]
    """The cluster's issuer without `https://`."""
    aws_provider: aws.Provider
    """The environment's AWS provider."""
    kubernetes_provider: kubernetes.Provider
    """The cluster's provider."""


class StoreLogins(pulumi.ComponentResource):
    """The provisioning Job, the rotation functions and schedules, and the pods' paths to the stores."""

    rotations: dict[tuple[str, SecretStore], aws.secretsmanager.SecretRotation]
    """Each login's rotation schedule by (service, store)."""

    def __init__(self, name: str, args: StoreLoginsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:datastores:StoreLogins", name, None, opts)
        self._name, self._args = name, args
        self._aws = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        self._kubernetes = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)
        postgres_users = args.catalog.store_users(SecretStore.POSTGRES)
        redis_users = args.catalog.store_users(SecretStore.REDIS)

        self.rotations = {}
        if postgres_users:
            job = self._provision_postgres([service.name for service, _ in postgres_users])
            function = self._postgres_function()
            for service, _ in postgres_users:
                self._rotate(service.name, SecretStore.POSTGRES, function, args.postgres_rotation_days, [job])
        for service, _ in redis_users:
            function = self._redis_function(service.name)
            self._rotate(service.name, SecretStore.REDIS, function, args.redis_rotation_days, [])
        self._egress_policies()
        self.register_outputs({"rotatedLogins": sorted(f"{s}/{store.value}" for s, store in self.rotations)})

    def _function_arn(self, function: str) -> str:
        return f"arn:aws:lambda:{self._args.region}:{self._args.account_id}:function:{function}"

    def _application(
        self, suffix: str, application: tuple[str, str], parameters: Mapping[str, pulumi.Input[str]]
    ) -> tuple[str, aws.serverlessrepository.CloudFormationStack]:
        template, version = application
        function = str(parameters["functionName"])
        stack = aws.serverlessrepository.CloudFormationStack(
            f"{self._name}-{suffix}",
            name=function,
            application_id=f"{SERVERLESS_REPOSITORY}{template}",
            semantic_version=version,
            capabilities=list(ROTATION_CAPABILITIES),
            parameters={
                "endpoint": f"https://secretsmanager.{self._args.region}.amazonaws.com",
                "kmsKeyArn": self._args.secrets_kms_key_arn,
                **parameters,
            },
            opts=self._aws,
        )
        return function, stack

    def _postgres_function(self) -> tuple[str, aws.serverlessrepository.CloudFormationStack]:
        """AWS's multi-user PostgreSQL rotation function, in the private subnets, admitted by the database."""
        args = self._args
        base = function_name(args.environment, "postgres")
        security_group = aws.ec2.SecurityGroup(
            f"{self._name}-postgres-rotation",
            name=base,
            description="PostgreSQL rotation function: PostgreSQL and the AWS APIs only",
            vpc_id=args.vpc_id,
            opts=self._aws,
        )
        database = args.datastores.postgres.security_group_id
        rules = (
            ("postgres-rotation-to-database", "egress", security_group.id, database, None, POSTGRES_PORT, "PostgreSQL"),
            (
                "postgres-rotation-to-apis",
                "egress",
                security_group.id,
                None,
                "0.0.0.0/0",
                443,
                "Secrets Manager and RDS APIs (through NAT or VPC endpoints)",
            ),
            (
                "database-from-rotation",
                "ingress",
                database,
                security_group.id,
                None,
                POSTGRES_PORT,
                "PostgreSQL from the rotation function",
            ),
        )
        for suffix, direction, group, peer, cidr, port, description in rules:
            tcp_rule(
                f"{self._name}-{suffix}",
                direction=direction,
                security_group_id=group,
                peer_security_group_id=peer,
                cidr=cidr,
                port=port,
                description=description,
                opts=self._aws,
            )
        return self._application(
            "postgres-rotation",
            POSTGRES_ROTATION_APPLICATION,
            {
                "functionName": base,
                "vpcSubnetIds": pulumi.Output.all(*args.private_subnet_ids).apply(",".join),
                "vpcSecurityGroupIds": security_group.id,
                "masterSecretArn": args.datastores.postgres.master_secret_arn,
                "masterSecretKmsKeyArn": args.datastores.kms_key_arn,
            },
        )

    def _redis_function(self, service: str) -> tuple[str, aws.serverlessrepository.CloudFormationStack]:
        """AWS's ElastiCache user rotation function for one user (it refuses any other: USER_NAME)."""
        return self._application(
            f"redis-rotation-{service}",
            REDIS_ROTATION_APPLICATION,
            {"functionName": function_name(self._args.environment, f"redis-{service}"), "userName": service},
        )

    def _rotate(
        self,
        service: str,
        store: SecretStore,
        function: tuple[str, aws.serverlessrepository.CloudFormationStack],
        days: int,
        after: list[pulumi.Resource],
    ) -> None:
        secret, first_version = self._args.login_secrets[(service, store)]
        name, application = function
        self.rotations[(service, store)] = aws.secretsmanager.SecretRotation(
            f"{self._name}-{service}-{store.value}",
            secret_id=secret.id,
            rotation_lambda_arn=self._function_arn(name),
            rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(automatically_after_days=days),
            # The first rotation runs at once: a Redis user gets its first real password, a
            # PostgreSQL login moves to the clone user; the first version's password is then retired.
            rotate_immediately=True,
            opts=pulumi.ResourceOptions.merge(
                self._aws, pulumi.ResourceOptions(depends_on=[first_version, application, *after])
            ),
        )

    def _provision_postgres(self, services: list[str]) -> kubernetes.batch.v1.Job:
        """The Job that creates each service's database and roles, inside the cluster, with its own IRSA role."""
        args = self._args
        roles = [database_role(service) for service in services]
        namespace = kubernetes.core.v1.Namespace(
            f"{self._name}-namespace",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                labels={
                    "app.kubernetes.io/managed-by": "pulumi",
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            ),
            opts=self._kubernetes,
        )
        in_namespace = pulumi.ResourceOptions.merge(self._kubernetes, pulumi.ResourceOptions(depends_on=[namespace]))
        secrets = [args.login_secrets[(service, SecretStore.POSTGRES)] for service in services]
        role = aws.iam.Role(
            f"{self._name}-provisioner",
            name=f"{cluster_name(args.environment)}-postgres-provisioner",
            description="PostgreSQL provisioning Job: reads the master login and the services' first logins (IRSA).",
            assume_role_policy=web_identity_trust_policy(
                args.oidc_provider_arn, args.oidc_issuer, service_account_subject(NAMESPACE, SERVICE_ACCOUNT)
            ),
            opts=self._aws,
        )
        policy = aws.iam.RolePolicy(
            f"{self._name}-provisioner",
            role=role.id,
            policy=pulumi.Output.all(
                args.datastores.postgres.master_secret_arn,
                args.datastores.kms_key_arn,
                args.secrets_kms_key_arn,
                *(secret.arn for secret, _ in secrets),
            ).apply(lambda values: provisioner_policy(args.region, values[0], values[1:3], values[3:])),
            opts=self._aws,
        )
        account = kubernetes.core.v1.ServiceAccount(
            f"{self._name}-provisioner",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=SERVICE_ACCOUNT, namespace=NAMESPACE, annotations={"eks.amazonaws.com/role-arn": role.arn}
            ),
            opts=in_namespace,
        )
        script = kubernetes.core.v1.ConfigMap(
            f"{self._name}-provisioner-script",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name="postgres-provisioner", namespace=NAMESPACE),
            data={"provision.sql": provisioning_sql(roles), "pgpass.py": PGPASS_SCRIPT},
            opts=in_namespace,
        )
        self._provisioner_network_policies(in_namespace)
        paths = []
        for service in services:
            login = args.catalog.service(service).store_secret(SecretStore.POSTGRES)
            assert login is not None  # `services` are the catalog's PostgreSQL users
            paths.append(args.catalog.service(service).secret_path(args.environment, login))
        fetch = " && ".join(
            [
                f'aws secretsmanager get-secret-value --secret-id "$MASTER_SECRET_ARN" --query SecretString '
                f"--output text > {SECRETS_MOUNT}/master.json",
                *(
                    f"aws secretsmanager get-secret-value --secret-id {path} --version-stage AWSCURRENT "
                    f"--query SecretString --output text > {SECRETS_MOUNT}/{role_name}.json"
                    for path, role_name in zip(paths, roles, strict=True)
                ),
            ]
        )
        security = kubernetes.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            run_as_user=NON_ROOT_USER,
            capabilities=kubernetes.core.v1.CapabilitiesArgs(drop=["ALL"]),
        )
        mounts = [
            kubernetes.core.v1.VolumeMountArgs(name="work", mount_path=SECRETS_MOUNT),
            kubernetes.core.v1.VolumeMountArgs(name="script", mount_path="/opt/provisioner", read_only=True),
        ]
        resources = kubernetes.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "50m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "256Mi"}
        )
        return kubernetes.batch.v1.Job(
            f"{self._name}-provisioner",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name="postgres-provisioner",
                namespace=NAMESPACE,
                # A changed script (a new service) replaces the Job, which runs the idempotent script again.
                annotations={"pulumi.com/replaceUnready": "true"},
            ),
            spec=kubernetes.batch.v1.JobSpecArgs(
                backoff_limit=6,
                template=kubernetes.core.v1.PodTemplateSpecArgs(
                    metadata=kubernetes.meta.v1.ObjectMetaArgs(
                        labels={"app.kubernetes.io/name": "postgres-provisioner"}
                    ),
                    spec=kubernetes.core.v1.PodSpecArgs(
                        service_account_name=SERVICE_ACCOUNT,
                        restart_policy="OnFailure",
                        security_context=kubernetes.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True,
                            seccomp_profile=kubernetes.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                        ),
                        volumes=[
                            # Memory-backed: the master login never touches a node's disk.
                            kubernetes.core.v1.VolumeArgs(
                                name="work", empty_dir=kubernetes.core.v1.EmptyDirVolumeSourceArgs(medium="Memory")
                            ),
                            kubernetes.core.v1.VolumeArgs(
                                name="script",
                                config_map=kubernetes.core.v1.ConfigMapVolumeSourceArgs(name="postgres-provisioner"),
                            ),
                        ],
                        init_containers=[
                            kubernetes.core.v1.ContainerArgs(
                                name="fetch-logins",
                                image=AWS_CLI_IMAGE,
                                command=["/bin/sh", "-c", fetch],
                                env=[
                                    kubernetes.core.v1.EnvVarArgs(
                                        name="MASTER_SECRET_ARN", value=args.datastores.postgres.master_secret_arn
                                    ),
                                    kubernetes.core.v1.EnvVarArgs(name="AWS_REGION", value=args.region),
                                    kubernetes.core.v1.EnvVarArgs(name="HOME", value=SECRETS_MOUNT),
                                ],
                                security_context=security,
                                volume_mounts=mounts,
                                resources=resources,
                            ),
                            kubernetes.core.v1.ContainerArgs(
                                name="pgpass",
                                image=PYTHON_IMAGE,
                                command=[
                                    "python3",
                                    "/opt/provisioner/pgpass.py",
                                    f"{SECRETS_MOUNT}/master.json",
                                    f"{SECRETS_MOUNT}/pgpass",
                                ],
                                security_context=security,
                                volume_mounts=mounts,
                                resources=resources,
                            ),
                        ],
                        containers=[
                            kubernetes.core.v1.ContainerArgs(
                                name="provision",
                                image=POSTGRES_CLIENT_IMAGE,
                                command=["psql", "--no-psqlrc", "--file=/opt/provisioner/provision.sql"],
                                env=[
                                    kubernetes.core.v1.EnvVarArgs(
                                        name="PGHOST", value=args.datastores.postgres.address
                                    ),
                                    kubernetes.core.v1.EnvVarArgs(name="PGPORT", value=str(POSTGRES_PORT)),
                                    kubernetes.core.v1.EnvVarArgs(name="PGDATABASE", value="postgres"),
                                    kubernetes.core.v1.EnvVarArgs(name="PGPASSFILE", value=f"{SECRETS_MOUNT}/pgpass"),
                                    kubernetes.core.v1.EnvVarArgs(name="PGSSLMODE", value="require"),
                                    kubernetes.core.v1.EnvVarArgs(name="PGUSER", value=MASTER_USERNAME),
                                ],
                                security_context=security,
                                volume_mounts=mounts,
                                resources=resources,
                            )
                        ],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(
                in_namespace,
                pulumi.ResourceOptions(
                    depends_on=[account, script, policy, *(version for _, version in secrets)],
                    delete_before_replace=True,
                ),
            ),
        )

    def _provisioner_network_policies(self, opts: pulumi.ResourceOptions) -> None:
        """The Job's namespace: no ingress; egress to DNS, PostgreSQL in the private subnets, HTTPS for AWS APIs."""
        args = self._args
        kubernetes.networking.v1.NetworkPolicy(
            f"{self._name}-provisioner",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name="postgres-provisioner", namespace=NAMESPACE),
            spec=kubernetes.networking.v1.NetworkPolicySpecArgs(
                pod_selector=kubernetes.meta.v1.LabelSelectorArgs(),
                policy_types=["Ingress", "Egress"],
                egress=[
                    _dns_egress(),
                    _cidr_egress(args.private_subnet_cidrs, POSTGRES_PORT),
                    kubernetes.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            kubernetes.networking.v1.NetworkPolicyPeerArgs(
                                ip_block=kubernetes.networking.v1.IPBlockArgs(
                                    cidr="0.0.0.0/0", except_=["169.254.169.254/32"]
                                )
                            )
                        ],
                        ports=[kubernetes.networking.v1.NetworkPolicyPortArgs(port=443, protocol="TCP")],
                    ),
                ],
            ),
            opts=opts,
        )

    def _egress_policies(self) -> None:
        """Each store user's namespace may reach its stores' ports in the private subnets (added to the base deny)."""
        args = self._args
        ports = {SecretStore.POSTGRES: POSTGRES_PORT, SecretStore.REDIS: REDIS_PORT}
        for service in args.catalog.deployable:
            stores = [store for store in SecretStore if service.store_secret(store) is not None]
            if not stores:
                continue
            kubernetes.networking.v1.NetworkPolicy(
                f"{self._name}-{service.name}-egress",
                metadata=kubernetes.meta.v1.ObjectMetaArgs(name="allow-datastores", namespace=service.namespace),
                spec=kubernetes.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=kubernetes.meta.v1.LabelSelectorArgs(),
                    policy_types=["Egress"],
                    egress=[_cidr_egress(args.private_subnet_cidrs, ports[store]) for store in stores],
                ),
                opts=pulumi.ResourceOptions.merge(
                    self._kubernetes, pulumi.ResourceOptions(depends_on=[args.namespaces[service.name]])
                ),
            )


def _dns_egress() -> kubernetes.networking.v1.NetworkPolicyEgressRuleArgs:
    return kubernetes.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[
            kubernetes.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=kubernetes.meta.v1.LabelSelectorArgs(
                    match_labels={"kubernetes.io/metadata.name": "kube-system"}
                ),
                pod_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
            )
        ],
        ports=[
            kubernetes.networking.v1.NetworkPolicyPortArgs(port=53, protocol="UDP"),
            kubernetes.networking.v1.NetworkPolicyPortArgs(port=53, protocol="TCP"),
        ],
    )


def _cidr_egress(cidrs: Sequence[str], port: int) -> kubernetes.networking.v1.NetworkPolicyEgressRuleArgs:
    return kubernetes.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[
            kubernetes.networking.v1.NetworkPolicyPeerArgs(ip_block=kubernetes.networking.v1.IPBlockArgs(cidr=cidr))
            for cidr in cidrs
        ],
        ports=[kubernetes.networking.v1.NetworkPolicyPortArgs(port=port, protocol="TCP")],
    )


def provisioner_policy(region: str, master_secret_arn: str, key_arns: Sequence[str], login_arns: Sequence[str]) -> str:
    """The Job's IAM policy: read the master login and the PostgreSQL logins, decrypt through Secrets Manager only."""
    return json.dumps(
        policy_document(
            {
                "Sid": "ReadLogins",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": [master_secret_arn, *login_arns],
            },
            {
                "Sid": "DecryptThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": list(key_arns),
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        )
    )
