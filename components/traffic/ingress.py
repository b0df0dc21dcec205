"""Traffic in: the environment's DNS zone, its TLS certificate, the load balancer controller, external-dns,
WAF, and one internet-facing ALB for the catalog's public services (the gateway).

Order of a first `pulumi up` (README "Traffic"): the zone is created and its name servers are a
stack output (`dnsZone.nameServers`); someone delegates `<environment>.<parentDomain>` to them in the
parent zone (outside these stacks; `make preflight` checks it); ACM's DNS validation then succeeds,
and the Ingress (which waits for the validated certificate) makes the controller create the ALB.

Destroy order: the load balancer controller creates the ALB, its security groups and target groups,
external-dns the DNS records, all outside Pulumi. Each Ingress depends on both controllers, so
Pulumi deletes the Ingress first, waits while the controller's finalizer removes the ALB, and only
then removes the controllers. Records external-dns leaves behind do not block the zone's deletion in
dev and staging (`forceDestroy`); prod's zone is protected.

Only the public services are exposed: every other Service stays ClusterIP, the controllers' own
Services are ClusterIP, and the gateway's NetworkPolicy admits the ALB's subnets on its port alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components.config.environment import EnvironmentConfig
from components.network.vpc import subnet_layout
from components.observability.rules import SELECTION_LABELS, SERVICE_NAME_LABEL
from components.shared.catalog import Catalog, Service
from components.shared.controllers import (
    ROLE_ARN_ANNOTATION,
    AlertRulesArgs,
    HelmChart,
    IrsaControllerArgs,
    alert_rules,
    irsa_controller,
    zone_spread,
)
from components.shared.data_files import load_json
from components.shared.iam import policy_document
from components.shared.naming import MONITORING_NAMESPACE, cluster_name
from components.shared.paths import DATA_DIR

LOAD_BALANCER_CONTROLLER = HelmChart("aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts")
EXTERNAL_DNS = HelmChart("external-dns", "1.21.1", "https://kubernetes-sigs.github.io/external-dns/")
LOAD_BALANCER_CONTROLLER_POLICY = DATA_DIR / "upstream" / "aws-load-balancer-controller" / "iam_policy.json"
"""The controller's IAM policy as published for the pinned app version (data/upstream/README.md)."""
LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller"
EXTERNAL_DNS_SERVICE_ACCOUNT = "external-dns"
INGRESS_CLASS = "alb"
HEALTH_CHECK_PATH = "/healthz"
"""The path the ALB's health checks (and the chart's probes) ask; every public service answers it."""
CERTIFICATE_EXPIRY_DAYS = 30
"""ACM renews DNS-validated certificates 60 days before expiry; 30 days left means renewal failed."""

CONTROLLER_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
EXTERNAL_DNS_RESOURCES = {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}


def load_balancer_controller_policy() -> str:
    """The upstream IAM policy, unchanged (a test holds it to the vendored file)."""
    return json.dumps(load_json(LOAD_BALANCER_CONTROLLER_POLICY))


def external_dns_policy(zone_arn: str) -> str:
    """external-dns may change and read records of this environment's zone only; listing zones has no resource."""
    return json.dumps(
        policy_document(
            {
                "Sid": "ChangeRecordsOfTheZone",
                "Effect": "Allow",
                "Action": [
                    "route53:ChangeResourceRecordSets",
                    "route53:ListResourceRecordSets",
                    "route53:ListTagsForResources",
                ],
                "Resource": zone_arn,
            },
            {"Sid": "FindTheZone", "Effect": "Allow", "Action": "route53:ListHostedZones", "Resource": "*"},
        )
    )


def load_balancer_controller_values(
    config: EnvironmentConfig, *, vpc_id: pulumi.Input[str], role_arn: pulumi.Input[str]
) -> dict[str, Any]:
    """Values of the aws-load-balancer-controller chart (tests check every key path against its values.yaml).

    Region and VPC id come from config and the network, never from the instance metadata service:
    nodes allow one IMDS hop, so a pod cannot reach it.
    """
    selector = {"app.kubernetes.io/name": LOAD_BALANCER_CONTROLLER.name}
    return {
        "clusterName": cluster_name(config.environment),
        "region": config.aws_region,
        "vpcId": vpc_id,
        "replicaCount": config.scaling.platform_replicas,
        "serviceAccount": {
            "create": True,
            "name": LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
            "annotations": {ROLE_ARN_ANNOTATION: role_arn},
        },
        "resources": CONTROLLER_RESOURCES,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "topologySpreadConstraints": zone_spread(selector),
        # The WAF association is made through the Ingress annotation; Shield Advanced is not subscribed.
        "enableWafv2": config.traffic.web_application_firewall,
        "enableWaf": False,
        "enableShield": False,
        "defaultSSLPolicy": config.traffic.tls_policy,
        "serviceMonitor": {"enabled": True, "additionalLabels": dict(SELECTION_LABELS)},
    }


def external_dns_values(
    config: EnvironmentConfig, *, zone_id: pulumi.Input[str], role_arn: pulumi.Input[str]
) -> dict[str, Any]:
    """Values of the external-dns chart: Ingress hosts only, this environment's zone only.

    One replica: external-dns has no leader election, two would race on the same records; a pod
    lost with its node only delays a record change until it is rescheduled.
    """
    zone = config.traffic.zone_name(config.environment)
    return {
        "provider": {"name": "aws"},
        "env": [{"name": "AWS_DEFAULT_REGION", "value": config.aws_region}],
        "sources": ["ingress"],
        "domainFilters": [zone],
        "extraArgs": pulumi.Output.from_input(zone_id).apply(
            lambda zone_id: [f"--zone-id-filter={zone_id}", "--aws-zone-type=public"]
        ),
        # sync deletes the records of a deleted Ingress; the TXT owner id keeps it off records it did not create.
        "policy": "sync",
        "registry": "txt",
        "txtOwnerId": cluster_name(config.environment),
        "serviceAccount": {
            "create": True,
            "name": EXTERNAL_DNS_SERVICE_ACCOUNT,
            "annotations": {ROLE_ARN_ANNOTATION: role_arn},
        },
        "resources": EXTERNAL_DNS_RESOURCES,
        "serviceMonitor": {"enabled": True, "additionalLabels": dict(SELECTION_LABELS)},
    }


def ingress_annotations(
    config: EnvironmentConfig, *, certificate_arn: pulumi.Input[str], web_acl_arn: pulumi.Input[str] | None
) -> dict[str, pulumi.Input[str]]:
    """The ALB the controller builds: internet-facing, HTTPS only (HTTP redirects), pod IPs as targets."""
    annotations: dict[str, pulumi.Input[str]] = {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        # Targets are pod IPs: the ALB reaches the pods directly (the NetworkPolicy admits its subnets).
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]),
        "alb.ingress.kubernetes.io/ssl-redirect": "443",
        "alb.ingress.kubernetes.io/certificate-arn": certificate_arn,
        "alb.ingress.kubernetes.io/ssl-policy": config.traffic.tls_policy,
        "alb.ingress.kubernetes.io/healthcheck-path": HEALTH_CHECK_PATH,
        # One ALB for every public service of the environment (each Ingress joins the group).
        "alb.ingress.kubernetes.io/group.name": cluster_name(config.environment),
        "alb.ingress.kubernetes.io/load-balancer-attributes": "routing.http.drop_invalid_header_fields.enabled=true",
    }
    if web_acl_arn is not None:
        annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"] = web_acl_arn
    return annotations


def load_balancer_cidrs(config: EnvironmentConfig) -> list[str]:
    """The public subnets the internet-facing ALB's nodes (and its health checks) come from."""
    return [
        layout.public_cidr
        for layout in subnet_layout(config.vpc_cidr, config.subnet_indexes, config.network.subnet_slots)
    ]


def traffic_rule_spec() -> dict[str, Any]:
    """Alerts on the traffic controllers: reconcile errors of the load balancer controller, DNS errors."""
    return {
        "groups": [
            {
                "name": "traffic",
                "rules": [
                    {
                        "alert": "LoadBalancerControllerReconcileErrors",
                        "expr": (
                            'sum by (controller) (rate(controller_runtime_reconcile_errors_total{job=~"'
                            f'{LOAD_BALANCER_CONTROLLER.name}.*"}}[10m])) > 0'
                        ),
                        "for": "15m",
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "The AWS Load Balancer Controller fails to reconcile {{ $labels.controller }}",
                            "description": "Ingress changes do not reach the ALB; read the controller's logs.",
                        },
                    },
                    {
                        "alert": "ExternalDnsErrors",
                        "expr": (
                            "sum(rate(external_dns_registry_errors_total[10m]))"
                            " + sum(rate(external_dns_source_errors_total[10m])) > 0"
                        ),
                        "for": "15m",
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "external-dns fails to read Ingresses or to write Route 53 records",
                            "description": "New or changed public hosts do not resolve; read external-dns' logs.",
                        },
                    },
                ],
            }
        ]
    }


def _web_acl(name: str, acl_name: str, opts: pulumi.ResourceOptions) -> aws.wafv2.WebAcl:
    """A regional web ACL allowing by default, blocking what the AWS managed common rule set matches."""

    metrics = {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True}

    return aws.wafv2.WebAcl(
        f"{name}-waf",
        name=acl_name,
        description="The public load balancer: the AWS managed common rule set",
        scope="REGIONAL",
        default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
        rules=[
            aws.wafv2.WebAclRuleArgs(
                name="aws-managed-common",
                priority=0,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                    none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()
                ),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        vendor_name="AWS", name="AWSManagedRulesCommonRuleSet"
                    )
                ),
                visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(metric_name=f"{acl_name}-common", **metrics),
            )
        ],
        visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(metric_name=acl_name, **metrics),
        opts=opts,
    )


@dataclass(frozen=True)
class TrafficArgs:
    """Inputs of `Traffic`."""

    config: EnvironmentConfig
    """The environment's config: region, `traffic` (zone, TLS policy, WAF) and `scaling.platformReplicas`."""
    catalog: Catalog
    """The catalog: its public services get an Ingress and a NetworkPolicy admitting the ALB."""
    aws_provider: aws.Provider
    """The environment's AWS provider."""
    kubernetes_provider: kubernetes.Provider
    """The provider of the environment's cluster."""
    vpc_id: pulumi.Input[str]
    """The VPC the ALB and its target groups live in (the controller is told, never asks IMDS)."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider (IRSA trust of the controllers' roles)."""
    oidc_issuer: pulumi.Input[str]
    """The issuer without `https://`."""
    namespaces: Mapping[str, kubernetes.core.v1.Namespace]
    """Namespaces by service name (the public services' Ingresses and policies go there), plus `monitoring`."""
    monitoring_release: pulumi.Resource
    """kube-prometheus-stack: its CRDs must exist before the charts' ServiceMonitors and our rules."""
    protect: bool
    """Protect the zone (prod): its records are the environment's public address."""


class Traffic(pulumi.ComponentResource):
    """Zone, certificate, WAF, the load balancer controller, external-dns, and the public services' Ingresses."""

    zone_name: str
    """The delegated zone, e.g. `dev.pyairtable.io`."""
    name_servers: pulumi.Output[Sequence[str]]
    """The zone's name servers: the NS record to create in the parent zone."""
    ingresses: list[kubernetes.networking.v1.Ingress]
    """One Ingress per public service."""

    def __init__(self, name: str, args: TrafficArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:traffic:Traffic", name, None, opts)
        config = args.config
        environment = config.environment
        aws_options = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        kubernetes_options = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)
        self.zone_name = config.traffic.zone_name(environment)

        zone = aws.route53.Zone(
            f"{name}-zone",
            name=self.zone_name,
            comment=f"Delegated from {config.traffic.parent_domain}; records by external-dns and ACM validation",
            force_destroy=not args.protect,
            opts=pulumi.ResourceOptions.merge(aws_options, pulumi.ResourceOptions(protect=args.protect)),
        )
        self.name_servers = zone.name_servers
        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=self.zone_name,
            subject_alternative_names=[f"*.{self.zone_name}"],
            validation_method="DNS",
            opts=aws_options,
        )
        # The zone name and its wildcard share one validation record, so one record validates both.
        validation_option = certificate.domain_validation_options[0]
        validation_record = aws.route53.Record(
            f"{name}-certificate-validation",
            zone_id=zone.zone_id,
            name=validation_option.resource_record_name,
            type=validation_option.resource_record_type,
            records=[validation_option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=aws_options,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-certificate",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[validation_record.fqdn],
            opts=aws_options,
        )
        web_acl = (
            _web_acl(name, f"{cluster_name(environment)}-public", aws_options)
            if config.traffic.web_application_firewall
            else None
        )
        self._certificate_alarm(name, config, certificate, aws_options)

        controller = irsa_controller(
            f"{name}-load-balancer-controller",
            IrsaControllerArgs(
                chart=LOAD_BALANCER_CONTROLLER,
                role_name=f"{cluster_name(environment)}-load-balancer-controller",
                description="AWS Load Balancer Controller: ALBs, target groups and their security groups (IRSA).",
                service_account=LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
                policy=load_balancer_controller_policy(),
                values=lambda role_arn: load_balancer_controller_values(config, vpc_id=args.vpc_id, role_arn=role_arn),
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                wait_for=[args.monitoring_release],
            ),
            aws_options,
            kubernetes_options,
        )
        external_dns = irsa_controller(
            f"{name}-external-dns",
            IrsaControllerArgs(
                chart=EXTERNAL_DNS,
                role_name=f"{cluster_name(environment)}-external-dns",
                description=f"external-dns: records of {self.zone_name} only (IRSA).",
                service_account=EXTERNAL_DNS_SERVICE_ACCOUNT,
                policy=zone.arn.apply(external_dns_policy),
                values=lambda role_arn: external_dns_values(config, zone_id=zone.zone_id, role_arn=role_arn),
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                wait_for=[args.monitoring_release],
            ),
            aws_options,
            kubernetes_options,
        )

        self.ingresses = [
            self._expose(
                name,
                args,
                service,
                annotations=ingress_annotations(
                    config,
                    certificate_arn=validation.certificate_arn,
                    web_acl_arn=web_acl.arn if web_acl is not None else None,
                ),
                # Deleted before the controllers, so they remove the ALB and the records first.
                controllers=[controller, external_dns],
                options=kubernetes_options,
            )
            for service in args.catalog.public
        ]
        alert_rules(
            name,
            AlertRulesArgs(
                rule_name="traffic-alerts",
                spec=traffic_rule_spec(),
                monitoring_namespace=args.namespaces[MONITORING_NAMESPACE],
                monitoring_release=args.monitoring_release,
                selection_labels=SELECTION_LABELS,
            ),
            kubernetes_options,
        )
        self.register_outputs(
            {
                "zoneName": self.zone_name,
                "nameServers": self.name_servers,
                "certificateArn": validation.certificate_arn,
                "publicHosts": [config.traffic.public_host(environment, s.name) for s in args.catalog.public],
            }
        )

    @staticmethod
    def _certificate_alarm(
        name: str, config: EnvironmentConfig, certificate: aws.acm.Certificate, options: pulumi.ResourceOptions
    ) -> None:
        """ACM publishes DaysToExpiry; fewer than 30 days left means the automatic renewal failed."""
        topic = aws.sns.Topic(
            f"{name}-certificate-alerts",
            name=f"{cluster_name(config.environment)}-certificate-alerts",
            kms_master_key_id="alias/aws/sns",
            opts=options,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-certificate-expiry",
            alarm_description=f"The certificate of {config.traffic.zone_name(config.environment)} expires within "
            f"{CERTIFICATE_EXPIRY_DAYS} days: ACM's renewal failed (is the validation record still in the zone?)",
            namespace="AWS/CertificateManager",
            metric_name="DaysToExpiry",
            dimensions={"CertificateArn": certificate.arn},
            statistic="Minimum",
            period=86400,
            evaluation_periods=1,
            comparison_operator="LessThanThreshold",
            threshold=CERTIFICATE_EXPIRY_DAYS,
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            opts=options,
        )

    @staticmethod
    def _expose(
        name: str,
        args: TrafficArgs,
        service: Service,
        *,
        annotations: Mapping[str, pulumi.Input[str]],
        controllers: Sequence[pulumi.Resource],
        options: pulumi.ResourceOptions,
    ) -> kubernetes.networking.v1.Ingress:
        """The public service's Ingress, and the NetworkPolicy admitting the ALB to its pods' port."""
        config = args.config
        host = config.traffic.public_host(config.environment, service.name)
        namespace = args.namespaces[service.name].metadata.name
        assert service.port is not None  # the catalog requires a port of every deployable service
        kubernetes.networking.v1.NetworkPolicy(
            f"{name}-{service.name}-from-load-balancer",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=f"{service.name}-from-load-balancer", namespace=namespace),
            spec=kubernetes.networking.v1.NetworkPolicySpecArgs(
                pod_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels={SERVICE_NAME_LABEL: service.name}),
                policy_types=["Ingress"],
                ingress=[
                    kubernetes.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[
                            kubernetes.networking.v1.NetworkPolicyPeerArgs(
                                ip_block=kubernetes.networking.v1.IPBlockArgs(cidr=cidr)
                            )
                            for cidr in load_balancer_cidrs(config)
                        ],
                        ports=[kubernetes.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=service.port)],
                    )
                ],
            ),
            opts=options,
        )
        return kubernetes.networking.v1.Ingress(
            f"{name}-{service.name}",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=service.name,
                namespace=namespace,
                annotations=dict(annotations),
            ),
            spec=kubernetes.networking.v1.IngressSpecArgs(
                ingress_class_name=INGRESS_CLASS,
                tls=[kubernetes.networking.v1.IngressTLSArgs(hosts=[host])],
                rules=[
                    kubernetes.networking.v1.IngressRuleArgs(
                        host=host,
                        http=kubernetes.networking.v1.HTTPIngressRuleValueArgs(
                            paths=[
                                kubernetes.networking.v1.HTTPIngressPathArgs(
                                    path="/",
                                    path_type="Prefix",
                                    backend=kubernetes.networking.v1.IngressBackendArgs(
                                        service=kubernetes.networking.v1.IngressServiceBackendArgs(
                                            name=service.name,
                                            port=kubernetes.networking.v1.ServiceBackendPortArgs(number=service.port),
                                        )
                                    ),
                                )
                            ]
                        ),
                    )
                ],
            ),
            # A delete waits while the controller's finalizer removes the ALB and its security groups.
            opts=pulumi.ResourceOptions.merge(
                options,
                pulumi.ResourceOptions(
                    depends_on=list(controllers),
                    custom_timeouts=pulumi.CustomTimeouts(create="20m", delete="20m"),
                ),
            ),
        )
