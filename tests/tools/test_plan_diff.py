"""`make plan-diff` marks what a reviewer must see: forced replacements, protected deletions, policy changes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi
import pytest

from components.shared.errors import ConfigError
from tests.conftest import stack_plan
from tools.plan import DuplicateUrnError, build_plan, render_tree
from tools.plan_diff import KUBERNETES_EVERY_KIND, diff_plans, render, replacement_rules

CLUSTER = "aws:eks/cluster:Cluster"
ROLE = "aws:iam/role:Role"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"


def plan_json(stack: str) -> dict[str, Any]:
    return copy.deepcopy(stack_plan(stack).as_json())


def one(plan: dict[str, Any], type_token: str) -> dict[str, Any]:
    return next(resource for resource in plan["resources"] if resource["type"] == type_token)


def key_of(resource: dict[str, Any]) -> str:
    return resource["urn"].split("::", 2)[2]


def test_a_property_that_forces_a_new_cluster_is_marked_as_a_replacement() -> None:
    rule = replacement_rules()[CLUSTER]
    assert "vpcConfig.subnetIds" in rule["always"] and rule["source"] == "terraform-provider-aws"
    old, new = plan_json("dev"), plan_json("dev")
    cluster = one(new, CLUSTER)
    cluster["inputs"]["vpcConfig"]["subnetIds"] = [*cluster["inputs"]["vpcConfig"]["subnetIds"][:-1], "subnet-other"]
    cluster["inputs"]["version"] += "-next"  # an in-place upgrade, not a replacement
    diff = diff_plans(old, new)
    assert diff["replaced"] == {key_of(cluster): ["vpcConfig.subnetIds"]}
    text = render(diff, "old", "new")
    assert f"-/+ {key_of(cluster)}  (replace: vpcConfig.subnetIds forces a new resource)" in text
    assert "1 to replace, 0 to change" in text


def test_an_in_place_change_is_not_a_replacement() -> None:
    old, new = plan_json("dev"), plan_json("dev")
    one(new, CLUSTER)["inputs"]["version"] += "-next"
    diff = diff_plans(old, new)
    assert diff["replaced"] == {} and list(diff["changed"]) == [key_of(one(new, CLUSTER))]


def test_a_conditional_rule_says_it_may_replace() -> None:
    assert "encryptionConfig" in replacement_rules()[CLUSTER]["conditional"]
    old, new = plan_json("dev"), plan_json("dev")
    del one(new, CLUSTER)["inputs"]["encryptionConfig"]
    diff = diff_plans(old, new)
    assert diff["maybeReplaced"] == {key_of(one(new, CLUSTER)): ["encryptionConfig"]}
    assert "~? " in render(diff, "old", "new")


def test_kubernetes_immutable_fields_and_names_force_replacement() -> None:
    assert "parameters" in replacement_rules()[STORAGE_CLASS]["always"]
    assert "metadata.name" in replacement_rules()[KUBERNETES_EVERY_KIND]["always"]
    old, new = plan_json("dev"), plan_json("dev")
    storage_class = one(new, STORAGE_CLASS)
    storage_class["inputs"]["parameters"]["type"] = "io2"
    namespace = one(new, "kubernetes:core/v1:Namespace")
    namespace["inputs"]["metadata"]["name"] = "renamed"
    diff = diff_plans(old, new)
    assert diff["replaced"] == {key_of(storage_class): ["parameters.type"], key_of(namespace): ["metadata.name"]}


def test_deleting_or_replacing_a_protected_resource_is_marked() -> None:
    old, new = plan_json("prod"), plan_json("prod")
    cluster = one(new, CLUSTER)
    assert cluster["options"]["protect"] is True  # prod's cluster is protected (README, Protection)
    cluster["inputs"]["name"] = "pyairtable-prod-2"
    protected_secret = next(r for r in new["resources"] if r["type"].startswith("aws:secretsmanager/secret:"))
    assert protected_secret["options"]["protect"] is True
    new["resources"].remove(protected_secret)
    diff = diff_plans(old, new)
    assert diff["protected"] == sorted([key_of(cluster), key_of(protected_secret)])
    text = render(diff, "old", "new")
    assert text.splitlines()[1].startswith("! 2 protected resource(s) would be deleted or replaced")
    assert f"- {key_of(protected_secret)}  ! protected" in text
    assert "forces a new resource)  ! protected" in text


def test_policy_documents_are_compared_as_parsed_json() -> None:
    old, new = plan_json("dev"), plan_json("dev")
    role = next(r for r in new["resources"] if r["type"] == ROLE and r["inputs"].get("assumeRolePolicy"))
    policy = json.loads(role["inputs"]["assumeRolePolicy"])
    role["inputs"]["assumeRolePolicy"] = json.dumps(policy, indent=4, sort_keys=True)  # reformatted only
    assert diff_plans(old, new)["changed"] == {}
    policy["Statement"][0]["Action"] = "sts:AssumeRole"
    role["inputs"]["assumeRolePolicy"] = json.dumps(policy)
    [(path, _, after)] = diff_plans(old, new)["changed"][key_of(role)]
    assert (path, after) == ("inputs.assumeRolePolicy#Statement[0].Action", "sts:AssumeRole")


def test_a_cross_stack_diff_ignores_the_stack_inside_urns() -> None:
    dev = plan_json("dev")
    renamed = json.loads(json.dumps(dev).replace("urn:pulumi:dev::", "urn:pulumi:qa::"))
    assert renamed != dev
    diff = diff_plans(dev, renamed)
    assert (diff["added"], diff["removed"], diff["changed"]) == ([], [], {})


def test_a_type_without_vendored_rules_says_so() -> None:
    old, new = plan_json("dev"), plan_json("dev")
    rules = replacement_rules()
    uncovered = next(r for r in new["resources"] if r["type"].startswith("aws:") and r["type"] not in rules)
    uncovered["inputs"]["plantedProperty"] = "changed"
    text = render(diff_plans(old, new), "old", "new")
    assert f"(replacement rules not vendored for {uncovered['type']})" in text


SOURCES = {
    "terraform-provider-github",
    "terraform-provider-aws",
    "terraform-provider-random",
    "terraform-provider-time",
    "pulumi-kubernetes",
}


def test_every_rule_names_its_source_and_commit() -> None:
    for type_token, rule in replacement_rules().items():
        assert rule["source"] in SOURCES, type_token
        assert len(rule["commit"]) == 40 and rule["path"], type_token


# --- the plan itself ------------------------------------------------------------------------------


def test_two_resources_with_one_urn_fail_the_plan_as_in_the_engine() -> None:
    def program() -> None:
        pulumi.ComponentResource("pyairtable:test:Thing", "twice")
        pulumi.ComponentResource("pyairtable:test:Thing", "twice")

    with pytest.raises(DuplicateUrnError, match=r"duplicate resource URN .*pyairtable:test:Thing::twice"):
        build_plan("dev", program=program)
    assert issubclass(DuplicateUrnError, ConfigError)  # every tool prints it as one line


def test_the_text_plan_is_the_same_bytes_whatever_the_order_of_registration() -> None:
    plan = stack_plan("dev")
    shuffled = copy.deepcopy(plan)
    shuffled.resources = [
        {**resource, "inputs": dict(reversed(list(resource["inputs"].items())))}
        for resource in reversed(plan.resources)
    ]
    shuffled.resources.sort(key=lambda resource: resource["urn"])  # build_plan sorts by URN
    shuffled.outputs = dict(reversed(list(plan.outputs.items())))
    assert render_tree(shuffled) == render_tree(plan)
