"""Secret semantics of the catalog: shared secrets, key pairs, key rings, fixed secrets, store logins.

The catalog refuses what would break a running service (rotating a key ring, sharing a store login,
a fixed secret without its reason), and the plan shows what each kind becomes: the JWT key pair's
private half stays with auth while the gateway reads only the public half, and the TOTP key ring
keeps its keys when one is added.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from components.secrets.service_secrets import KEY_PAIR_ALGORITHM
from components.shared.catalog import (
    MAXMEMORY_POLICY,
    PUBLIC_KEY_SUFFIX,
    RedisUse,
    SecretKind,
    SecretSource,
    SecretStore,
    load_catalog,
    parse_catalog,
)
from components.shared.errors import ConfigError
from tests.conftest import stack_plan
from tools.plan import ROOT, Plan, build_plan

EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
PASSWORD = "random:index/randomPassword:RandomPassword"


def _catalog_data() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "data" / "services.yaml").read_text())


def _secret_of(data: dict[str, Any], service: str, secret: str) -> dict[str, Any]:
    entry = next(s for s in data["services"] if s["name"] == service)
    return next(x for x in entry["secrets"] if x["name"] == secret)


def test_the_catalog_declares_the_two_former_mistakes_correctly() -> None:
    catalog = load_catalog()
    auth, gateway = catalog.service("auth"), catalog.service("gateway")
    signing = next(s for s in auth.secrets if s.name == "jwt-signing-key")
    totp = next(s for s in auth.secrets if s.name == "totp-encryption-key")
    assert signing.kind is SecretKind.KEY_PAIR and not signing.rotates and signing.reason
    assert totp.kind is SecretKind.KEY_RING and not totp.rotates and totp.reason
    [verification] = [s for s in gateway.secrets if s.source is SecretSource.SHARED]
    assert catalog.shared_source(verification) == (auth, signing)
    # Nobody else holds a generated JWT key of their own any more.
    assert [s.name for s in gateway.secrets if "jwt" in s.name] == ["jwt-verification-key"]


def test_redis_uses_that_cannot_share_an_eviction_policy_get_separate_groups() -> None:
    catalog = load_catalog()
    assert catalog.redis_uses() == (RedisUse.CACHE, RedisUse.DURABLE)
    assert MAXMEMORY_POLICY[RedisUse.CACHE] != MAXMEMORY_POLICY[RedisUse.DURABLE] == "noeviction"
    # A job queue (workflow) and sessions (auth) must not be evicted like a cache.
    uses = {service.name: secret.use for service, secret in catalog.store_users(SecretStore.REDIS)}
    assert uses["workflow"] is uses["auth"] is RedisUse.DURABLE


@pytest.mark.parametrize(
    ("service", "secret", "changes", "message"),
    [
        ("auth", "totp-encryption-key", {"rotation": "rotating"}, "is a key ring: rotation by replacement"),
        ("auth", "totp-encryption-key", {"reason": None}, "needs a `reason`"),
        ("auth", "jwt-signing-key", {"rotation": None, "reason": None}, "keyPair: it needs rotation: fixed"),
        ("auth", "database-password", {"rotation": "fixed", "reason": "x"}, "a store password always rotates"),
        ("auth", "database-password", {"kind": "keyRing", "rotation": "fixed", "reason": "x"}, "a store login is a"),
        ("auth", "redis-password", {"use": None}, "`use` (cache or durable) is required"),
        ("auth", "oauth-google-client-secret", {"store": "postgres"}, "apply to generated secrets only"),
        ("auth", "database-password", {"keyVersions": 2}, "keyVersions applies to key rings only"),
        ("gateway", "jwt-verification-key", {"from": "auth/no-such-key"}, "not a generated secret of another service"),
        ("gateway", "jwt-verification-key", {"from": "gateway/redis-password"}, "not a generated secret of another"),
        ("gateway", "jwt-verification-key", {"from": "auth/database-password"}, "is a store login"),
        ("gateway", "jwt-verification-key", {"from": None}, "needs `from: <service>/<secret>`"),
    ],
)
def test_the_catalog_refuses_broken_semantics(service: str, secret: str, changes: dict[str, Any], message: str) -> None:
    data = _catalog_data()
    entry = _secret_of(data, service, secret)
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    with pytest.raises(ConfigError) as error:
        parse_catalog(data)
    assert message in str(error.value)


def test_one_login_per_store_and_service() -> None:
    data = _catalog_data()
    auth = next(s for s in data["services"] if s["name"] == "auth")
    auth["secrets"].append({**_secret_of(data, "auth", "database-password"), "name": "reporting-password"})
    with pytest.raises(ConfigError, match="has one postgres login"):
        parse_catalog(data)


def _external_data(plan: Plan, service: str) -> list[dict[str, Any]]:
    [found] = [r for r in plan.of_type(EXTERNAL_SECRET) if r["inputs"]["metadata"]["name"] == f"{service}-secrets"]
    return found["inputs"]["spec"]["data"]


def test_the_private_key_stays_with_auth_and_the_gateway_reads_the_public_key(env_plan: Plan) -> None:
    private_path = f"pyairtable/{env_plan.stack}/auth/jwt-signing-key"
    public_path = f"{private_path}{PUBLIC_KEY_SUFFIX}"
    readers = {
        r["inputs"]["metadata"]["namespace"]: {entry["remoteRef"]["key"] for entry in r["inputs"]["spec"]["data"]}
        for r in env_plan.of_type(EXTERNAL_SECRET)
    }
    assert [namespace for namespace, keys in readers.items() if private_path in keys] == ["auth"]
    assert sorted(namespace for namespace, keys in readers.items() if public_path in keys) == ["auth", "gateway"]
    assert {"secretKey": "jwt-verification-key", "remoteRef": {"key": public_path}} in _external_data(
        env_plan, "gateway"
    )
    key = env_plan.one("tls:index/privateKey:PrivateKey")
    assert (key["inputs"]["algorithm"], key["inputs"]["ecdsaCurve"]) == KEY_PAIR_ALGORITHM
    assert key["options"]["protect"] is (env_plan.stack == "prod")
    # Both halves are written from the one key: a verifier can never hold a key auth does not sign with.
    versions = {
        r["name"]: r
        for r in env_plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
        if "jwt-signing-key" in r["name"]
    }
    assert set(versions) == {
        "service-secrets-auth-jwt-signing-key-version",
        "service-secrets-auth-jwt-signing-key-public-version",
    }
    assert all(key["urn"] in version["options"]["dependsOn"] for version in versions.values())


def test_the_key_ring_is_never_replaced_blindly(env_plan: Plan) -> None:
    keys = [r for r in env_plan.of_type(PASSWORD) if "totp-encryption-key" in r["name"]]
    totp = next(s for s in load_catalog().service("auth").secrets if s.name == "totp-encryption-key")
    assert [r["name"] for r in keys] == [
        f"service-secrets-auth-totp-encryption-key-v{n}-value" for n in range(1, totp.key_versions + 1)
    ]
    for key in keys:
        # No keeper: nothing makes the provider generate a new value for an existing key.
        assert not key["inputs"].get("keepers")
        assert key["options"]["protect"] is (env_plan.stack == "prod")
    assert not [r for r in env_plan.of_type("time:index/rotating:Rotating") if "totp" in r["name"]]


def test_adding_a_key_keeps_the_old_ones() -> None:
    """keyVersions 1 -> 2: key v1 is the same resource with the same inputs; v2 is added and current."""
    catalog = load_catalog()
    auth = catalog.service("auth")
    secrets = tuple(
        s.model_copy(update={"key_versions": s.key_versions + 1}) if s.kind is SecretKind.KEY_RING else s
        for s in auth.secrets
    )
    doctored = catalog.model_copy(
        update={
            "services": tuple(
                auth.model_copy(update={"secrets": secrets}) if s is auth else s for s in catalog.services
            )
        }
    )
    before = {r["name"]: r for r in stack_plan("dev").of_type(PASSWORD) if "totp" in r["name"]}
    after = {r["name"]: r for r in build_plan("dev", catalog=doctored).of_type(PASSWORD) if "totp" in r["name"]}
    assert set(after) - set(before) == {"service-secrets-auth-totp-encryption-key-v2-value"}
    for name, resource in before.items():
        assert copy.deepcopy(after[name]["inputs"]) == resource["inputs"]
