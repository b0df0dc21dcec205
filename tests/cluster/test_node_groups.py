"""Nodes of every environment: launch template hardening, node role, and the rules of each capacity strategy."""

from __future__ import annotations

import json

import pytest

from components.cluster.node_groups import NODE_POLICY_ARNS
from components.config.stack_file import environment_configs
from components.shared.errors import ConfigError
from tools.plan import Plan, build_plan

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def groups(plan: Plan) -> list[dict]:
    return [group["inputs"] for group in plan.of_type(NODE_GROUP)]


def test_every_launch_template_requires_imdsv2_and_encrypts_gp3(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    templates = env_plan.of_type(LAUNCH_TEMPLATE)
    assert len(templates) == len(env_plan.of_type(NODE_GROUP))
    for template in templates:
        metadata = template["inputs"]["metadataOptions"]
        assert metadata["httpTokens"] == "required"
        # One hop: a pod's network namespace is a second hop, so pods never see the node's credentials.
        assert metadata["httpPutResponseHopLimit"] == 1
        [device] = template["inputs"]["blockDeviceMappings"]
        assert device["ebs"]["volumeType"] == "gp3"
        assert device["ebs"]["encrypted"] == "true"
        assert device["ebs"]["volumeSize"] == config.nodes.disk_size_gib
        tags = {spec["resourceType"]: spec["tags"]["Environment"] for spec in template["inputs"]["tagSpecifications"]}
        assert tags == {"instance": env_plan.stack, "volume": env_plan.stack}


def test_every_group_uses_its_template_and_rolls_one_node_at_a_time(env_plan: Plan) -> None:
    template_ids = {f"{t['name']}-id" for t in env_plan.of_type(LAUNCH_TEMPLATE)}
    for group in groups(env_plan):
        assert group["launchTemplate"]["id"] in template_ids
        assert group["updateConfig"] == {"maxUnavailable": 1}
        assert group["clusterName"] == f"pyairtable-{env_plan.stack}"
        assert all("private" in subnet for subnet in group["subnetIds"])
        assert group["version"] == environment_configs()[env_plan.stack].kubernetes_version
        expected_label = "spot" if group["capacityType"] == "SPOT" else "on-demand"
        assert group["labels"] == {"pyairtable.io/capacity-type": expected_label}
    assert len({group["launchTemplate"]["id"] for group in groups(env_plan)}) == len(groups(env_plan))


def test_node_role_has_only_the_node_policies(env_plan: Plan) -> None:
    role = env_plan.one("aws:iam/role:Role", "eks-nodes-role")
    attached = [
        a["inputs"]["policyArn"]
        for a in env_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["parent"] == role["parent"]
    ]
    assert sorted(attached) == sorted(NODE_POLICY_ARNS)
    assert not [p for p in env_plan.of_type("aws:iam/rolePolicy:RolePolicy") if p["parent"] == role["parent"]]
    assert "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy" not in attached, "the VPC CNI has its own role"


def test_the_vpc_cni_assigns_addresses_with_its_own_role(env_plan: Plan) -> None:
    """aws-node's service account alone may assume the role holding AmazonEKS_CNI_Policy (IRSA)."""
    [addon] = [a for a in env_plan.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "vpc-cni"]
    role = env_plan.one("aws:iam/role:Role", "eks-vpc-cni")
    assert addon["inputs"]["serviceAccountRoleArn"] == "arn:aws:mock:::role/eks-vpc-cni"
    [statement] = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    [subject] = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subject == ["system:serviceaccount:kube-system:aws-node"]
    attachment = env_plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "eks-vpc-cni")
    assert attachment["inputs"]["policyArn"] == "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
    assert attachment["urn"] in addon["options"]["dependsOn"], "the add-on keeps its policy until it is gone"


def test_capacity_rules_per_strategy(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    nodes = config.nodes
    found = groups(env_plan)
    strategy = config.capacity_strategy.value
    assert strategy == {"dev": "spot", "staging": "mixed", "prod": "reserved"}[env_plan.stack]
    if strategy == "spot":
        assert [g["capacityType"] for g in found] == ["SPOT"]
        assert len(found[0]["instanceTypes"]) >= 3
        assert found[0]["instanceTypes"] == list(nodes.instance_types)
    elif strategy == "mixed":
        by_type = {g["capacityType"]: g for g in found}
        assert sorted(by_type) == ["ON_DEMAND", "SPOT"] and len(found) == 2
        base = by_type["ON_DEMAND"]
        assert base["instanceTypes"] == [nodes.instance_types[0]]
        count = config.on_demand_base_count
        assert base["scalingConfig"] == {"minSize": count, "desiredSize": count, "maxSize": count}
        assert len(by_type["SPOT"]["instanceTypes"]) >= 3
    else:
        reserved = {r.instance_type for r in config.reservations}
        assert {g["capacityType"] for g in found} == {"ON_DEMAND"}
        assert all(set(g["instanceTypes"]) <= reserved for g in found)
        assert not [w for w in env_plan.warnings if "reservation" in w], "the checked-in reservation covers the nodes"
    sized = [g for g in found if not (strategy == "mixed" and g["capacityType"] == "ON_DEMAND")]
    for group in sized:
        assert group["scalingConfig"] == {
            "minSize": nodes.min_size,
            "desiredSize": nodes.desired_size,
            "maxSize": nodes.max_size,
        }


def test_node_groups_output(env_plan: Plan) -> None:
    output = env_plan.outputs["nodeGroups"]
    assert [(g["capacityType"], g["instanceTypes"]) for g in output] == [
        (g["capacityType"], g["instanceTypes"]) for g in groups(env_plan)
    ]
    for entry, group in zip(output, groups(env_plan), strict=True):
        assert entry["name"] == f"{group['nodeGroupNamePrefix']}mock"
        assert (entry["minSize"], entry["desiredSize"], entry["maxSize"]) == tuple(
            group["scalingConfig"][key] for key in ("minSize", "desiredSize", "maxSize")
        )


def test_desired_above_reservation_warns_with_the_uncovered_count() -> None:
    nodes = {"instanceTypes": ["m6i.large"], "minSize": 3, "desiredSize": 5, "maxSize": 6, "diskSizeGib": 80}
    plan = build_plan("prod", {"nodes": nodes})
    [warning] = [w for w in plan.warnings if "reservation" in w]
    assert warning.startswith("2 desired on-demand node(s) are not covered by a reservation")
    assert plan.one(NODE_GROUP)["inputs"]["scalingConfig"]["desiredSize"] == 5


def test_spot_with_two_instance_types_is_refused() -> None:
    nodes = {
        "instanceTypes": ["m6i.large", "m5.large"],
        "minSize": 1,
        "desiredSize": 2,
        "maxSize": 4,
        "diskSizeGib": 50,
    }
    with pytest.raises(ConfigError, match=r"nodes.instanceTypes.*at least 3"):
        build_plan("dev", {"nodes": nodes})


def test_min_above_max_is_refused() -> None:
    nodes = {
        "instanceTypes": ["m6i.large", "m6a.large", "m5.large"],
        "minSize": 5,
        "desiredSize": 5,
        "maxSize": 4,
        "diskSizeGib": 50,
    }
    with pytest.raises(ConfigError, match=r"minSize <= desiredSize <= maxSize.*5 <= 5 <= 4"):
        build_plan("staging", {"nodes": nodes})


def test_reserved_type_without_reservation_is_refused() -> None:
    nodes = {"instanceTypes": ["m6i.xlarge"], "minSize": 3, "desiredSize": 3, "maxSize": 6, "diskSizeGib": 80}
    with pytest.raises(ConfigError, match=r"no reservation"):
        build_plan("prod", {"nodes": nodes})
