"""Traffic: the zone and its delegation output, the certificate, WAF, the controllers (pinned, least
privilege, values against their charts), the gateway's Ingress and NetworkPolicy, and destroy order."""

from __future__ import annotations

import copy
import ipaddress
import json
from typing import Any

import pytest

from components.config.stack_file import environment_configs, parse_stack_config, stack_file_config
from components.shared.catalog import load_catalog, parse_catalog
from components.shared.errors import ConfigError
from components.shared.naming import cluster_name
from components.traffic.ingress import (
    EXTERNAL_DNS,
    HEALTH_CHECK_PATH,
    LOAD_BALANCER_CONTROLLER,
    SERVICE_NAME_LABEL,
)
from components.traffic.settings import ACM_FIRST_NAME_MAX
from tests.conftest import stack_plan
from tests.upstream import release_inputs, unknown_chart_values, upstream_json, upstream_yaml
from tools.plan import Plan

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ZONE = "aws:route53/zone:Zone"
CONTROLLER_RELEASE = "traffic-load-balancer-controller-release"
EXTERNAL_DNS_RELEASE = "traffic-external-dns-release"


def _config(plan: Plan) -> Any:
    return environment_configs()[plan.stack]


def _policy_document(plan: Plan, name: str) -> dict[str, Any]:
    return json.loads(plan.one(ROLE_POLICY, name)["inputs"]["policy"])


# --- zone, certificate, WAF ------------------------------------------------------------------------


def test_zone_is_the_delegated_subdomain_and_its_name_servers_are_an_output(env_plan: Plan) -> None:
    traffic = _config(env_plan).traffic
    zone = env_plan.one(ZONE)
    assert zone["inputs"]["name"] == f"{env_plan.stack}.{traffic.parent_domain}"
    assert env_plan.outputs["dnsZone"]["name"] == zone["inputs"]["name"]
    assert len(env_plan.outputs["dnsZone"]["nameServers"]) == 4
    # Only prod's zone is protected; dev's and staging's may be destroyed with leftover records.
    assert zone["options"]["protect"] is (env_plan.stack == "prod")
    assert zone["inputs"]["forceDestroy"] is (env_plan.stack != "prod")


def test_certificate_is_dns_validated_for_the_zone_and_its_wildcard(env_plan: Plan) -> None:
    zone = env_plan.one(ZONE)
    certificate = env_plan.one("aws:acm/certificate:Certificate")["inputs"]
    assert certificate["validationMethod"] == "DNS"
    assert certificate["domainName"] == zone["inputs"]["name"]
    assert certificate["subjectAlternativeNames"] == [f"*.{zone['inputs']['name']}"]
    record = env_plan.one("aws:route53/record:Record", "traffic-certificate-validation")
    assert record["inputs"]["zoneId"] == f"Z-{zone['name']}"
    assert record["inputs"]["type"] == "CNAME"
    validation = env_plan.one("aws:acm/certificateValidation:CertificateValidation")["inputs"]
    assert validation["validationRecordFqdns"] == [record["inputs"]["name"]]


def test_certificate_expiry_alarm_fires_before_the_certificate_lapses(env_plan: Plan) -> None:
    alarm = env_plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", "traffic-certificate-expiry")["inputs"]
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/CertificateManager", "DaysToExpiry")
    assert alarm["comparisonOperator"] == "LessThanThreshold"
    # ACM renews 60 days before expiry: the threshold sits between that and the expiry.
    assert 0 < alarm["threshold"] < 60
    topic = env_plan.one("aws:sns/topic:Topic", "traffic-certificate-alerts")["inputs"]["name"]
    assert alarm["alarmActions"] == [f"arn:aws:mock:::topic/{topic}"]


def test_waf_with_the_managed_common_rule_set_guards_the_alb_where_configured(env_plan: Plan) -> None:
    acls = env_plan.of_type("aws:wafv2/webAcl:WebAcl")
    [ingress] = env_plan.of_type(INGRESS)
    annotation = ingress["inputs"]["metadata"]["annotations"].get("alb.ingress.kubernetes.io/wafv2-acl-arn")
    if not _config(env_plan).traffic.web_application_firewall:
        assert acls == [] and annotation is None
        return
    [acl] = acls
    assert acl["inputs"]["scope"] == "REGIONAL"
    [rule] = acl["inputs"]["rules"]
    managed = rule["statement"]["managedRuleGroupStatement"]
    assert (managed["vendorName"], managed["name"]) == ("AWS", "AWSManagedRulesCommonRuleSet")
    assert rule["overrideAction"] == {"none": {}}
    assert annotation == f"arn:aws:mock:::webacl/{acl['inputs']['name']}"
    assert release_inputs(env_plan, CONTROLLER_RELEASE)["values"]["enableWafv2"] is True


def test_prod_has_the_waf() -> None:
    assert stack_plan("prod").of_type("aws:wafv2/webAcl:WebAcl")


# --- controllers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chart", "release"), [(LOAD_BALANCER_CONTROLLER, CONTROLLER_RELEASE), (EXTERNAL_DNS, EXTERNAL_DNS_RELEASE)]
)
def test_controllers_are_the_vendored_chart_versions_and_their_values_exist_upstream(
    env_plan: Plan, chart: Any, release: str
) -> None:
    inputs = release_inputs(env_plan, release)
    assert (inputs["chart"], inputs["version"]) == (chart.name, upstream_yaml(f"{chart.name}/Chart.yaml")["version"])
    assert inputs["atomic"] is True
    assert unknown_chart_values(chart, inputs["values"]) == []


def test_the_values_check_catches_a_misspelled_key() -> None:
    values = copy.deepcopy(release_inputs(stack_plan("dev"), CONTROLLER_RELEASE)["values"])
    values["serviceMonitor"]["enable"] = True
    values["vpcID"] = "vpc-1"
    assert unknown_chart_values(LOAD_BALANCER_CONTROLLER, values) == ["serviceMonitor.enable", "vpcID"]


def test_load_balancer_controller_policy_is_the_upstream_policy_of_its_app_version(env_plan: Plan) -> None:
    assert (
        upstream_yaml("aws-load-balancer-controller/Chart.yaml")["appVersion"] == f"v{LOAD_BALANCER_CONTROLLER.version}"
    )
    policy = _policy_document(env_plan, "traffic-load-balancer-controller-policy")
    assert policy == upstream_json("aws-load-balancer-controller/iam_policy.json")


def test_load_balancer_controller_reads_region_and_vpc_from_config_not_imds(env_plan: Plan) -> None:
    values = release_inputs(env_plan, CONTROLLER_RELEASE)["values"]
    config = _config(env_plan)
    assert values["region"] == config.aws_region
    assert values["vpcId"] == env_plan.one("aws:ec2/vpc:Vpc")["name"] + "-id"
    assert values["clusterName"] == cluster_name(env_plan.stack)


@pytest.mark.parametrize(
    ("role", "service_account"),
    [
        ("traffic-load-balancer-controller-role", "aws-load-balancer-controller"),
        ("traffic-external-dns-role", "external-dns"),
    ],
)
def test_each_controller_role_trusts_only_its_service_account(env_plan: Plan, role: str, service_account: str) -> None:
    trust = json.loads(env_plan.one(ROLE, role)["inputs"]["assumeRolePolicy"])
    [statement] = trust["Statement"]
    conditions = statement["Condition"]["StringEquals"]
    subjects = [value for key, value in conditions.items() if key.endswith(":sub")]
    assert subjects == [f"system:serviceaccount:kube-system:{service_account}"]


def test_external_dns_writes_only_the_environments_zone(env_plan: Plan) -> None:
    zone = env_plan.one(ZONE)
    zone_arn = f"arn:aws:mock:::zone/{zone['inputs']['name']}"
    statements = _policy_document(env_plan, "traffic-external-dns-policy")["Statement"]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Resource"] == "*":
            assert actions == ["route53:ListHostedZones"]
        else:
            assert statement["Resource"] == zone_arn
    values = release_inputs(env_plan, EXTERNAL_DNS_RELEASE)["values"]
    assert values["domainFilters"] == [zone["inputs"]["name"]]
    assert f"--zone-id-filter=Z-{zone['name']}" in values["extraArgs"]
    assert values["policy"] == "sync" and values["txtOwnerId"] == cluster_name(env_plan.stack)


def test_controllers_expose_metrics_to_prometheus(env_plan: Plan) -> None:
    for release in (CONTROLLER_RELEASE, EXTERNAL_DNS_RELEASE):
        monitor = release_inputs(env_plan, release)["values"]["serviceMonitor"]
        assert monitor["enabled"] is True and monitor["additionalLabels"] == {"release": "kube-prometheus-stack"}
    rule = env_plan.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "traffic-alerts")["inputs"]
    alerts = {alert["alert"] for group in rule["spec"]["groups"] for alert in group["rules"]}
    assert alerts == {"LoadBalancerControllerReconcileErrors", "ExternalDnsErrors"}


# --- the gateway's ingress ------------------------------------------------------------------------


def test_each_public_service_gets_an_https_ingress_at_its_host(env_plan: Plan) -> None:
    config = _config(env_plan)
    public = load_catalog().public
    ingresses = env_plan.of_type(INGRESS)
    assert len(ingresses) == len(public)
    for service, ingress in zip(public, ingresses, strict=True):
        inputs = ingress["inputs"]
        host = f"{service.name}.{env_plan.stack}.{config.traffic.parent_domain}"
        annotations = inputs["metadata"]["annotations"]
        assert inputs["metadata"]["namespace"] == service.namespace
        assert inputs["spec"]["ingressClassName"] == "alb"
        assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
        assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
        assert (
            annotations["alb.ingress.kubernetes.io/certificate-arn"] == "arn:aws:mock:::certificate/traffic-certificate"
        )
        assert annotations["alb.ingress.kubernetes.io/ssl-policy"] == config.traffic.tls_policy
        assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == HEALTH_CHECK_PATH
        assert inputs["spec"]["tls"] == [{"hosts": [host]}]
        [rule] = inputs["spec"]["rules"]
        assert rule["host"] == host
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": service.name, "port": {"number": service.port}}


def test_ingress_is_deleted_before_the_controllers_that_clean_up_after_it(env_plan: Plan) -> None:
    """Pulumi deletes dependents first: the ALB and the DNS records go while their controllers still run."""
    controller = env_plan.one("kubernetes:helm.sh/v3:Release", CONTROLLER_RELEASE)["urn"]
    dns = env_plan.one("kubernetes:helm.sh/v3:Release", EXTERNAL_DNS_RELEASE)["urn"]
    for ingress in env_plan.of_type(INGRESS):
        assert {controller, dns} <= set(ingress["options"]["dependsOn"])


def test_gateway_policy_admits_only_the_load_balancer_subnets_on_its_port(env_plan: Plan) -> None:
    public_subnets = sorted(
        subnet["inputs"]["cidrBlock"]
        for subnet in env_plan.of_type("aws:ec2/subnet:Subnet")
        if subnet["inputs"].get("tags", {}).get("kubernetes.io/role/elb") == "1"
    )
    assert public_subnets
    for service in load_catalog().public:
        [policy] = [
            p
            for p in env_plan.of_type(POLICY)
            if p["inputs"]["metadata"].get("name") == f"{service.name}-from-load-balancer"
        ]
        spec = policy["inputs"]["spec"]
        assert policy["inputs"]["metadata"]["namespace"] == service.namespace
        assert spec["podSelector"] == {"matchLabels": {SERVICE_NAME_LABEL: service.name}}
        assert spec["policyTypes"] == ["Ingress"]
        [rule] = spec["ingress"]
        assert sorted(peer["ipBlock"]["cidr"] for peer in rule["from"]) == public_subnets
        assert rule["ports"] == [{"port": service.port, "protocol": "TCP"}]


# --- only the gateway is exposed ------------------------------------------------------------------


def exposed(plan: Plan) -> set[str]:
    """Namespaces with anything reachable from outside the VPC or the cluster, from what the plan declares:
    internet-facing Ingresses, LoadBalancer or NodePort Services (declared, or as chart values),
    security groups open to the internet, and NetworkPolicies admitting addresses outside the VPC or
    from the load balancer's public subnets."""
    config = environment_configs()[plan.stack]
    vpc = config.vpc_cidr
    assert isinstance(vpc, ipaddress.IPv4Network)
    public_subnets = {
        ipaddress.ip_network(s["inputs"]["cidrBlock"])
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if s["inputs"].get("tags", {}).get("kubernetes.io/role/elb") == "1"
    }
    found: set[str] = set()
    for ingress in plan.of_type(INGRESS):
        annotations = ingress["inputs"]["metadata"].get("annotations", {})
        if annotations.get("alb.ingress.kubernetes.io/scheme", "internal") != "internal":
            found.add(ingress["inputs"]["metadata"]["namespace"])
    for service in plan.of_type("kubernetes:core/v1:Service"):
        if service["inputs"].get("spec", {}).get("type") in ("LoadBalancer", "NodePort"):
            found.add(service["inputs"]["metadata"]["namespace"])
    for release in plan.of_type("kubernetes:helm.sh/v3:Release"):
        text = json.dumps(release["inputs"].get("values", {}))
        if '"LoadBalancer"' in text or '"NodePort"' in text:
            found.add(release["inputs"].get("namespace") or release["name"])
    for group in plan.of_type("aws:ec2/securityGroup:SecurityGroup") + plan.of_type(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    ):
        rules = group["inputs"].get("ingress", []) or [group["inputs"]]
        if any(rule.get("cidrIpv4") == "0.0.0.0/0" or "0.0.0.0/0" in rule.get("cidrBlocks", []) for rule in rules):
            found.add(group["name"])
    for policy in plan.of_type(POLICY):
        for rule in policy["inputs"]["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if "ipBlock" not in peer:
                    continue
                cidr = ipaddress.IPv4Network(peer["ipBlock"]["cidr"])
                if not cidr.subnet_of(vpc) or any(cidr.overlaps(subnet) for subnet in public_subnets):
                    found.add(policy["inputs"]["metadata"]["namespace"])
    return found


def test_only_the_catalogs_public_services_are_exposed_and_that_is_the_gateway(env_plan: Plan) -> None:
    public = {service.namespace for service in load_catalog().public}
    assert public == {"gateway"}
    assert exposed(env_plan) == public


def test_the_exposure_check_finds_a_second_exposed_service() -> None:
    plan = stack_plan("dev")
    doctored = Plan(plan.stack, copy.deepcopy(plan.resources), plan.outputs)
    [ingress] = copy.deepcopy(doctored.of_type(INGRESS))
    ingress["inputs"]["metadata"]["namespace"] = "auth"
    service = {
        "type": "kubernetes:core/v1:Service",
        "name": "x",
        "inputs": {"metadata": {"namespace": "ai"}, "spec": {"type": "NodePort"}},
    }
    policy = copy.deepcopy(
        next(p for p in doctored.of_type(POLICY) if p["inputs"]["metadata"].get("name") == "gateway-from-load-balancer")
    )
    policy["inputs"]["metadata"]["namespace"] = "workflow"
    policy["inputs"]["spec"]["ingress"][0]["from"] = [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    doctored.resources += [ingress, service, policy]
    assert exposed(doctored) == {"gateway", "auth", "ai", "workflow"}


# --- config --------------------------------------------------------------------------------------


def _parse(stack: str, **traffic: Any) -> Any:
    raw, _ = stack_file_config(stack)
    current = json.loads(raw["pyairtable-infra:traffic"])
    raw["pyairtable-infra:traffic"] = json.dumps({**current, **traffic})
    return parse_stack_config(stack, raw)


@pytest.mark.parametrize(
    ("stack", "change", "message"),
    [
        (
            "prod",
            {"webApplicationFirewall": False},
            "traffic.webApplicationFirewall' = false: prod's load balancer needs the WAF",
        ),
        (
            "dev",
            {"parentDomain": "Not A Domain"},
            "traffic.parentDomain' = 'Not A Domain': String should match pattern",
        ),
        ("dev", {"parentDomain": "a" * 60 + ".io"}, f"ACM allows at most {ACM_FIRST_NAME_MAX}"),
        ("dev", {"tlsPolicy": "ELBSecurityPolicy-2016-08"}, "is not an allowed ALB TLS policy"),
        ("dev", {"zone": "x"}, "traffic.zone' = 'x': Extra inputs are not permitted"),
    ],
)
def test_traffic_config_errors_name_the_key_and_what_is_allowed(
    stack: str, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        _parse(stack, **change)
    assert f"stack '{stack}'" in str(error.value)
    assert message in str(error.value)


def test_catalog_public_defaults_to_false_and_needs_a_deployed_service() -> None:
    catalog = load_catalog()
    assert [service.name for service in catalog.services if service.public] == ["gateway"]
    data = catalog.model_dump(by_alias=True)
    docs = next(service for service in data["services"] if not service["deploys"])
    docs["public"] = True
    with pytest.raises(ConfigError, match=f"service '{docs['name']}' does not deploy, so it cannot be public"):
        parse_catalog(data)
