"""The policy pack's rules as plain functions: importable, testable, and the same offline and in preview.

Each validator takes the stack name and every resource of the stack, each in the offline plan's
shape (`{"urn", "type", "name", "inputs", "options": {"protect", ...}}`; tools/plan.py), and returns
its violations. The pack's entry point (`__main__.py`) turns Pulumi's `PolicyResource`s into that
shape and wraps each validator in a `StackValidationPolicy`; tests run the same functions on every
stack's offline plan and on crafted violations. Nothing here imports `pulumi_policy`: constructing a
`PolicyPack` starts a server that never returns.

A policy cannot see whether a value is secret, so "credential-named properties must be secrets"
stays in the offline scan (tests/secrets/test_credential_scan.py); the policy refuses what it can
see: well-known default credentials and literal key shapes.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Resource = Mapping[str, Any]

DEFAULT_CREDENTIALS = frozenset(
    {
        "changeme", "change-me", "change_me", "changeit", "admin", "administrator", "password", "passw0rd",
        "p@ssw0rd", "password1", "password123", "prom-operator", "secret", "default", "root", "toor",
        "letmein", "welcome", "guest", "qwerty", "123456", "12345678", "admin123", "pass", "test123",
    }
)  # fmt: skip
"""Values that ship as defaults in charts, images and tutorials (Grafana: admin/prom-operator)."""

CREDENTIAL_SUFFIXES = (
    "password", "passwd", "passphrase", "secret", "secretstring", "secretbinary", "token", "apikey",
    "privatekey", "accesskey", "secretkey", "secretaccesskey", "credential", "credentials", "connectionstring",
)  # fmt: skip
"""A property holds a credential when its name ends with one of these (case and separators ignored)."""

LITERAL_KEY_PATTERNS = (
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),  # Slack tokens
)
"""Shapes of real credentials that must never be a literal anywhere."""

ENUM_PROPERTIES = frozenset({"permission", "role"})
"""Properties where "admin" is a level of an enumeration (GitHub permissions and roles), not a login."""
NAMESPACE_PROPERTIES = frozenset({"matchNames", "namespace"})
"""Properties holding Kubernetes namespace names, where `default` is a namespace, not a password."""
REFERENCE_PROPERTIES = frozenset({"property", "secretKey", "existingSecret"})
"""Properties that name where a credential is kept (ESO's JSON property and Secret key, Grafana's
existing Secret), never the credential itself: "password" there is a key name."""
DISABLED_DEFAULT_USER = ("aws:elasticache/user:User", "userName", "default", "accessString", "off -@all")
"""ElastiCache requires a user named `default` in every user group; switched off, it is no login."""

REQUIRED_TAGS = ("Environment", "Project", "ManagedBy", "CostCenter")
REQUIRED_EKS_LOG_TYPES = frozenset({"api", "audit", "authenticator"})
EKS_MAX_PUBLIC_CIDRS = 40
NARROWEST_PUBLIC_PREFIX = 16
NOT_PUBLIC = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"
    )
)  # fmt: skip
"""RFC 1918, shared, loopback and link-local space: EKS's public endpoint never sees such a source."""
SECRET_RECOVERY_DAYS = range(7, 31)
CONTROLLER_GROUP_LABEL = ("pyairtable.io/node-role", "controllers")
"""The small node group that hosts cluster controllers may run on-demand in dev (label and value)."""
CAPACITY_LABEL = "karpenter.sh/capacity-type"
EXACT_VERSION = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$")
NO_LATEST_STACKS = frozenset({"staging", "prod"})


@dataclass(frozen=True)
class Violation:
    """One resource (or the stack, `urn` None) breaking one policy, with the reason."""

    policy: str
    urn: str | None
    message: str


Validator = Callable[[str, Sequence[Resource]], list[Violation]]


def stack_of(urn: str) -> str:
    """The stack name in a URN (`urn:pulumi:<stack>::<project>::...`)."""
    return urn.split("::", maxsplit=1)[0].removeprefix("urn:pulumi:")


def decoded(value: Any) -> Any:
    """Provider inputs arrive JSON-encoded (`"defaultTags": "{...}"`); other values as they are."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def of_type(resources: Sequence[Resource], *type_tokens: str) -> list[Resource]:
    """The resources of these types."""
    return [resource for resource in resources if resource["type"] in type_tokens]


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(nearest property name, value) of every scalar, JSON documents inside strings included."""
    value = decoded(value)
    if isinstance(value, Mapping):
        for name, item in value.items():
            yield from _leaves(item, str(name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item, key)
    else:
        yield key, value


def _normalized(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _path(document: Mapping[str, Any], *keys: str) -> Any:
    """`document[k1][k2]...`, None where a level is missing."""
    value: Any = document
    for key in keys:
        value = decoded(value)
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return decoded(value)


# --- no literal or default credential ---------------------------------------------------------


def no_literal_credentials(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """No well-known default credential as a value (outside enumerations), and no literal key shape anywhere."""
    found = []
    type_token, name_key, name, access_key, access = DISABLED_DEFAULT_USER
    for resource in resources:
        inputs = resource.get("inputs", {})
        disabled_default = (
            resource["type"] == type_token and inputs.get(name_key) == name and inputs.get(access_key) == access
        )
        for key, value in _leaves(inputs):
            if not isinstance(value, str) or (disabled_default and key == name_key):
                continue
            ignored = ENUM_PROPERTIES | REFERENCE_PROPERTIES | NAMESPACE_PROPERTIES
            if key not in ignored and value.strip().lower() in DEFAULT_CREDENTIALS:
                found.append(Violation("no-literal-credentials", resource["urn"], f"{key} is a default credential"))
            if any(pattern.search(value) for pattern in LITERAL_KEY_PATTERNS):
                found.append(Violation("no-literal-credentials", resource["urn"], f"{key} holds a literal credential"))
    return found


# --- GitHub -------------------------------------------------------------------------------------

REPOSITORY = "github:index/repository:Repository"
RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
BRANCH_PROTECTION = "github:index/branchProtection:BranchProtection"
ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"


def repositories_protected(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """A diff can never delete a repository: `protect` and `archiveOnDestroy` on every one."""
    return [
        Violation("repositories-protected", repository["urn"], "repository needs protect=True and archiveOnDestroy")
        for repository in of_type(resources, REPOSITORY)
        if not (repository["options"].get("protect") and repository["inputs"].get("archiveOnDestroy") is True)
    ]


def _protects_default_branch(rule: Resource) -> bool:
    inputs = rule["inputs"]
    if rule["type"] == BRANCH_PROTECTION:
        return bool(inputs.get("requiredPullRequestReviews")) and inputs.get("allowsDeletions") is not True
    includes = _path(inputs, "conditions", "refName", "includes") or []
    rules = decoded(inputs.get("rules")) or {}
    return (
        inputs.get("enforcement") == "active"
        and ("~DEFAULT_BRANCH" in includes or "~ALL" in includes)
        and rules.get("deletion") is True
        and rules.get("nonFastForward") is True
        and bool(rules.get("pullRequest"))
    )


def default_branches_protected(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """Every repository's default branch: an active ruleset (or classic protection) with reviews, no
    deletion and no force push."""
    guarded = {
        rule["inputs"].get("repository") or rule["inputs"].get("repositoryId")
        for rule in of_type(resources, RULESET, BRANCH_PROTECTION)
        if _protects_default_branch(rule)
    }
    return [
        Violation("default-branches-protected", repository["urn"], "default branch has no active protection")
        for repository in of_type(resources, REPOSITORY)
        if repository["inputs"].get("name") not in guarded
    ]


def prod_gated(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """Every `prod` GitHub environment deploys only from chosen branches, and never lets admins bypass it
    explicitly (on plans where the setting cannot be enforced it is left unset, and the gate is the
    devops-only release step of components/github/prod_gate.py)."""
    found = []
    for environment in of_type(resources, ENVIRONMENT):
        inputs = environment["inputs"]
        if inputs.get("environment") != "prod":
            continue
        policy = decoded(inputs.get("deploymentBranchPolicy")) or {}
        if not (policy.get("customBranchPolicies") or policy.get("protectedBranches")):
            found.append(Violation("prod-gated", environment["urn"], "prod deploys from any branch"))
        if inputs.get("canAdminsBypass") is True:
            found.append(Violation("prod-gated", environment["urn"], "admins can bypass the prod gate"))
    return found


# --- EKS, nodes, keys, secrets -------------------------------------------------------------------

CLUSTER = "aws:eks/cluster:Cluster"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
KMS_KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"


def eks_encryption(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """Kubernetes Secrets are envelope-encrypted with a customer key."""
    found = []
    for cluster in of_type(resources, CLUSTER):
        config = decoded(cluster["inputs"].get("encryptionConfig")) or {}
        if "secrets" not in (config.get("resources") or []) or not _path(config, "provider", "keyArn"):
            found.append(Violation("eks-encryption", cluster["urn"], "no secrets encryption with a KMS key"))
    return found


def eks_logs(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """The control plane logs api, audit and authenticator at least."""
    return [
        Violation("eks-logs", cluster["urn"], f"missing log types {sorted(missing)}")
        for cluster in of_type(resources, CLUSTER)
        if (missing := REQUIRED_EKS_LOG_TYPES - set(cluster["inputs"].get("enabledClusterLogTypes") or []))
    ]


def eks_endpoint(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """The private endpoint is on; a public endpoint admits only narrow public CIDRs, at most 40."""
    found = []
    for cluster in of_type(resources, CLUSTER):
        vpc = decoded(cluster["inputs"].get("vpcConfig")) or {}
        if vpc.get("endpointPrivateAccess") is not True:
            found.append(Violation("eks-endpoint", cluster["urn"], "the private endpoint is off"))
        if vpc.get("endpointPublicAccess") is False:
            continue
        cidrs = vpc.get("publicAccessCidrs") or []
        if not cidrs or len(cidrs) > EKS_MAX_PUBLIC_CIDRS:
            found.append(Violation("eks-endpoint", cluster["urn"], f"public endpoint with {len(cidrs)} CIDRs"))
        for cidr in cidrs:
            network = ipaddress.ip_network(cidr, strict=False)
            if network.prefixlen < NARROWEST_PUBLIC_PREFIX or any(network.overlaps(n) for n in NOT_PUBLIC):
                found.append(Violation("eks-endpoint", cluster["urn"], f"public endpoint open to {cidr}"))
    return found


def _imds_problem(options: Mapping[str, Any] | None, hop_limit_key: str, tokens_key: str) -> str | None:
    options = options or {}
    if options.get(tokens_key) != "required":
        return "IMDSv2 is not required"
    if options.get(hop_limit_key) != 1:
        return f"IMDS hop limit is {options.get(hop_limit_key)}, not 1 (pods could take the node's credentials)"
    return None


def imdsv2_hop_limit_one(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """Launch templates and Karpenter node classes require IMDSv2 with hop limit 1."""
    found = []
    for template in of_type(resources, LAUNCH_TEMPLATE):
        options = decoded(template["inputs"].get("metadataOptions"))
        if problem := _imds_problem(options, "httpPutResponseHopLimit", "httpTokens"):
            found.append(Violation("imdsv2-hop-limit-1", template["urn"], problem))
    for node_class in of_type(resources, NODE_CLASS):
        options = _path(node_class["inputs"], "spec", "metadataOptions")
        if problem := _imds_problem(options, "httpPutResponseHopLimit", "httpTokens"):
            found.append(Violation("imdsv2-hop-limit-1", node_class["urn"], problem))
    return found


def kms_rotation(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """Every customer key rotates."""
    return [
        Violation("kms-rotation", key["urn"], "key rotation is off")
        for key in of_type(resources, KMS_KEY)
        if key["inputs"].get("enableKeyRotation") is not True
    ]


AWS_MANAGED_KEY_SECRET_PREFIXES = ("ecr-pullthroughcache/",)
"""Secrets that must use the AWS-managed key: ECR reads a pull-through cache's credential (whose name
AWS requires to start with this prefix) through its service-linked role, which no customer key grants
(components/registry/pull_path.py). Their recovery window is still required."""


def secrets_manager_cmk(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """Secrets Manager secrets use a customer key and keep a 7-30 day recovery window."""
    found = []
    for secret in of_type(resources, SECRET):
        exempt = str(secret["inputs"].get("name", "")).startswith(AWS_MANAGED_KEY_SECRET_PREFIXES)
        if not secret["inputs"].get("kmsKeyId") and not exempt:
            found.append(Violation("secrets-manager-cmk", secret["urn"], "encrypted with the AWS-managed key"))
        window = secret["inputs"].get("recoveryWindowInDays")
        if window is None or int(window) not in SECRET_RECOVERY_DAYS:
            found.append(Violation("secrets-manager-cmk", secret["urn"], f"recovery window {window}, not 7-30 days"))
    return found


def capacity_by_environment(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """dev runs on spot only (except the small controller group); prod on on-demand only."""
    wanted = {"dev": "SPOT", "prod": "ON_DEMAND"}.get(stack)
    if wanted is None:
        return []
    found = []
    for group in of_type(resources, NODE_GROUP):
        labels = decoded(group["inputs"].get("labels")) or {}
        controllers = labels.get(CONTROLLER_GROUP_LABEL[0]) == CONTROLLER_GROUP_LABEL[1]
        capacity = group["inputs"].get("capacityType", "ON_DEMAND")
        if capacity != wanted and not (stack == "dev" and controllers):
            found.append(Violation("capacity-by-environment", group["urn"], f"{capacity} nodes in {stack}"))
    for pool in of_type(resources, NODE_POOL):
        requirements = _path(pool["inputs"], "spec", "template", "spec", "requirements") or []
        values = next((set(r.get("values", [])) for r in requirements if r.get("key") == CAPACITY_LABEL), None)
        allowed = {"spot"} if wanted == "SPOT" else {"on-demand"}
        if values is None or not values <= allowed:
            found.append(Violation("capacity-by-environment", pool["urn"], f"NodePool may launch {values} in {stack}"))
    return found


# --- tags, charts, images -----------------------------------------------------------------------


def required_tags(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """Every AWS provider tags what it creates with Environment, Project, ManagedBy and CostCenter, and
    every launch template repeats them for what node groups launch."""
    found = []
    for provider in of_type(resources, "pulumi:providers:aws"):
        tags = _path(provider["inputs"], "defaultTags", "tags") or {}
        if missing := [tag for tag in REQUIRED_TAGS if not tags.get(tag)]:
            found.append(Violation("required-tags", provider["urn"], f"default tags lack {missing}"))
    for template in of_type(resources, LAUNCH_TEMPLATE):
        for specification in decoded(template["inputs"].get("tagSpecifications")) or []:
            tags = specification.get("tags") or {}
            if missing := [tag for tag in REQUIRED_TAGS if not tags.get(tag)]:
                found.append(
                    Violation("required-tags", template["urn"], f"{specification.get('resourceType')} lacks {missing}")
                )
    return found


def pinned_charts(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """Every Helm chart is pinned to an exact version."""
    return [
        Violation("pinned-charts", release["urn"], f"chart version {release['inputs'].get('version')!r} is not exact")
        for release in of_type(resources, "kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
        if not EXACT_VERSION.match(str(release["inputs"].get("version") or ""))
    ]


IMAGE_KEYS = frozenset({"image", "imagetag", "tag"})


def _latest(key: str, value: str) -> bool:
    normalized = _normalized(key)
    if normalized in {"tag", "imagetag"}:
        return value.strip().lower() == "latest"
    if normalized == "image":
        last = value.rsplit("/", 1)[-1]
        return "@" not in last and (":" not in last or last.endswith(":latest"))
    return False


def no_latest_images(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """staging and prod never run an image by `latest` (or by no tag, which means latest)."""
    if stack not in NO_LATEST_STACKS:
        return []
    return [
        Violation("no-latest-images", resource["urn"], f"{key} = {value!r} runs whatever `latest` is today")
        for resource in resources
        for key, value in _leaves(resource.get("inputs", {}))
        if isinstance(value, str) and _normalized(key) in IMAGE_KEYS and _latest(key, value)
    ]


POLICIES: Mapping[str, tuple[str, Validator]] = {
    "no-literal-credentials": ("No default credential or literal key in any resource.", no_literal_credentials),
    "repositories-protected": ("Repositories are protected and archived on destroy.", repositories_protected),
    "default-branches-protected": ("Every default branch is protected.", default_branches_protected),
    "prod-gated": ("Prod environments deploy from chosen branches, without admin bypass.", prod_gated),
    "eks-encryption": ("EKS encrypts Secrets with a customer key.", eks_encryption),
    "eks-logs": ("EKS logs api, audit and authenticator.", eks_logs),
    "eks-endpoint": ("EKS endpoint: private on, public narrow and public-only.", eks_endpoint),
    "imdsv2-hop-limit-1": ("Nodes require IMDSv2 with hop limit 1.", imdsv2_hop_limit_one),
    "kms-rotation": ("Customer keys rotate.", kms_rotation),
    "secrets-manager-cmk": ("Secrets use a customer key and a recovery window.", secrets_manager_cmk),
    "capacity-by-environment": ("dev is spot-only, prod on-demand only.", capacity_by_environment),
    "required-tags": ("AWS resources carry the required tags.", required_tags),
    "pinned-charts": ("Helm charts are pinned to exact versions.", pinned_charts),
    "no-latest-images": ("No `latest` image in staging or prod.", no_latest_images),
}
"""Every mandatory policy: name -> (description, validator). The pack enforces them all as mandatory."""


def validate(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """Every violation of every policy in one stack."""
    return [violation for _, validator in POLICIES.values() for violation in validator(stack, resources)]
