"""The service catalog: the seed's ten repositories, and every name derived from one entry."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from components.shared.catalog import (
    CATALOG_PATH,
    ConfigError,
    SecretSource,
    load_catalog,
    parse_catalog,
    secret_prefix,
)

SEED_REPOSITORIES = {
    "pyairtable-docs", "pyairtable-infra", "pyairtable-shared", "pyairtable-gateway", "pyairtable-auth",
    "pyairtable-airtable", "pyairtable-ai", "pyairtable-platform", "pyairtable-analytics", "pyairtable-workflow",
}  # fmt: skip
DEPLOYABLE = {"gateway", "auth", "airtable", "ai", "platform", "analytics", "workflow"}


def raw_catalog() -> dict[str, Any]:
    return yaml.safe_load(CATALOG_PATH.read_text())


def test_the_ten_repositories_of_the_seed_are_in_the_catalog() -> None:
    # The seed's repositories stay; a new service is one more entry, not a failing test.
    catalog = load_catalog()
    assert {service.repository for service in catalog.services} >= SEED_REPOSITORIES
    assert {service.name for service in catalog.deployable} >= DEPLOYABLE


def test_code_sources_of_the_seed() -> None:
    catalog = load_catalog()
    assert catalog.service("gateway").code_from == ("pyairtable-infrastructure/pyairtable-api-gateway-go",)
    assert catalog.service("auth").code_from == ("pyairtable-infrastructure/pyairtable-auth-service-go",)
    assert catalog.service("shared").code_from == ("pyairtable-infrastructure/pyairtable-go-shared",)
    assert catalog.service("airtable").code_from == ("python-services/airtable-gateway",)
    assert len(catalog.service("ai").code_from) == 2
    assert {"go"} == {catalog.service(name).language.value for name in ("gateway", "auth", "shared")}


def test_derived_names() -> None:
    catalog = load_catalog()
    auth = catalog.service("auth")
    jwt = next(secret for secret in auth.secrets if secret.name == "jwt-signing-key")
    assert auth.repository == "pyairtable-auth"
    assert auth.namespace == "auth"
    assert auth.image(catalog.organization) == "ghcr.io/pyairtable/auth"
    assert catalog.registry_url == "ghcr.io/pyairtable"
    assert auth.secret_path("prod", jwt) == "pyairtable/prod/auth/jwt-signing-key"
    assert auth.secret_path("prod", jwt).startswith(secret_prefix("prod"))


def test_every_deployable_service_has_port_metrics_and_sourced_secrets() -> None:
    for service in load_catalog().deployable:
        assert service.port and service.metrics_path == "/metrics"
        assert service.secrets, f"{service.name} needs at least one run-time secret"
        assert all(isinstance(secret.source, SecretSource) for secret in service.secrets)


def _with(mutate: Any) -> dict[str, Any]:
    data = copy.deepcopy(raw_catalog())
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["services"][3].update(language="rust"), "services.3.language"),
        (lambda d: d["services"][3].update(name="Gate Way"), "services.3.name"),
        (lambda d: d["services"][3]["secrets"][0].update(source="vault"), "source"),
        (lambda d: d["services"][3]["secrets"][0].pop("source"), "source"),
        (lambda d: d["services"].append(copy.deepcopy(d["services"][3])), "services listed twice: ['gateway']"),
        (lambda d: d["services"][3].pop("port"), "needs `port` and `metricsPath`"),
        (lambda d: d["services"][0].update(secrets=[{"name": "x", "source": "generated", "description": "x"}]),
         "does not deploy"),
    ],
)  # fmt: skip
def test_bad_catalog_entries_are_named(mutate: Any, fragment: str) -> None:
    with pytest.raises(ConfigError, match=r"services\.yaml") as caught:
        parse_catalog(_with(mutate))
    assert fragment in str(caught.value)
