"""`make refresh-upstream` derives data/upstream/ from upstream files; its derivations, on crafted inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import refresh_upstream
from tools.refresh_upstream import (
    camel,
    commented_out_keys,
    crd_schema,
    force_new_attributes,
    github_type,
    go_string_constants,
)

SDK_V2_SCHEMA = """
func resourceThing() *schema.Resource {
	return &schema.Resource{
		CustomizeDiff: customdiff.ForceNewIfChange("source_repo", changed),
		Schema: map[string]*schema.Schema{
			"name": {
				Type:     schema.TypeString,
				Required: true,
				ForceNew: true, // renaming recreates it
			},
			"description": {Type: schema.TypeString, Optional: true},
			REPOSITORY_ID: {
				Type:     schema.TypeString,
				ForceNew: true,
			},
			"vpc_config": {
				Type:     schema.TypeList,
				MaxItems: 1,
				Elem: &schema.Resource{
					Schema: map[string]*schema.Schema{
						"subnet_ids": {Type: schema.TypeSet, ForceNew: true},
						"public_access": {Type: schema.TypeBool},
					},
				},
			},
			"size": {Type: schema.TypeInt, Optional: true},
			names.AttrKMSKeyID: {
				Type:     schema.TypeString,
				ForceNew: true,
			},
		},
	}
}
"""

FRAMEWORK_SCHEMA = """
	resp.Schema = schema.Schema{
		Attributes: map[string]schema.Attribute{
			"cluster_name": schema.StringAttribute{
				Required: true,
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.RequiresReplace(),
				},
			},
			"kubernetes_groups": schema.SetAttribute{
				PlanModifiers: []planmodifier.Set{
					setplanmodifier.RequiresReplaceIfConfigured(),
				},
			},
			"tags": tftags.TagsAttribute(),
		},
	}
"""


def test_force_new_attributes_of_an_sdk_v2_schema() -> None:
    constants = go_string_constants(['const (\n\tREPOSITORY_ID = "repository_id"\n\tAttrKMSKeyID = "kms_key_id"\n)\n'])
    assert force_new_attributes(SDK_V2_SCHEMA, constants) == {
        "always": ["kmsKeyId", "name", "repositoryId", "vpcConfig.subnetIds"],
        "conditional": ["sourceRepo"],
    }


def test_force_new_attributes_of_a_framework_schema() -> None:
    assert force_new_attributes(FRAMEWORK_SCHEMA) == {"always": ["clusterName"], "conditional": ["kubernetesGroups"]}


def test_names_follow_pulumi() -> None:
    assert camel("service_ipv4_cidr") == "serviceIpv4Cidr"
    assert github_type("resource_github_repository_file.go") == "github:index/repositoryFile:RepositoryFile"


def test_chart_derivations() -> None:
    values = "# podAnnotations: {}\n# Examples:\n# https://example.com\nreplicas: 1\n# replicas: 2\n"
    assert commented_out_keys(values) == ["podAnnotations"]
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: example.io\n"
        "  names: {kind: Widget}\n  versions:\n"
        "  - {name: v1beta1, served: false, storage: false, schema: {openAPIV3Schema: {type: object}}}\n"
        "  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {}}}}\n"
    )
    assert crd_schema(crd) == {
        "group": "example.io",
        "kind": "Widget",
        "version": "v1",
        "served": True,
        "storage": True,
        "openAPIV3Schema": {"type": "object", "properties": {}},
    }


def test_an_unreachable_upstream_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(refresh_upstream, "REPLACEMENT_FILE", tmp_path / "force-new.json")
    missing = tmp_path / "no-mirror"
    assert refresh_upstream.main(["--replacement-only", "--git-dir", f"terraform-provider-github={missing}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read upstream data: ") and err.count("\n") == 1


def test_the_vendored_rules_cover_the_github_types_the_org_stack_declares() -> None:
    rules = json.loads(refresh_upstream.REPLACEMENT_FILE.read_text())
    from tests.conftest import stack_plan  # noqa: PLC0415 (the cached org plan)

    declared = {
        resource["type"] for resource in stack_plan("org").resources if resource["type"].startswith("github:index/")
    }
    assert declared <= set(rules)
    assert rules["github:index/repositoryFile:RepositoryFile"]["always"] == ["branch", "file", "ref"]
