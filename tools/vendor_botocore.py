"""Extract the service rules the data-store config checks need from botocore's service models.

    python -m tools.vendor_botocore     # rewrites data/upstream/botocore/datastores.json

botocore ships AWS's own API models (patterns, lengths and enums of every request field). The
program does not depend on botocore at run time: this tool copies the few shapes it checks into
the repository, with the botocore version they came from, so the checks are reviewable data.
"""

from __future__ import annotations

import json

import botocore
import botocore.session

from components.shared.paths import DATA_DIR

OUTPUT = DATA_DIR / "upstream" / "botocore" / "datastores.json"
SHAPES = {
    "rds": ("DBInstanceClass", "DatabaseInsightsMode", "DBProxyName"),
    "elasticache": ("UserId", "UserGroupId", "TransitEncryptionMode"),
    "backup": ("BackupVaultName", "BackupRuleName", "BackupSelectionName"),
}


def extract() -> dict[str, object]:
    """The listed shapes' pattern, min, max and enum, per service, with the botocore version."""
    session = botocore.session.get_session()
    services: dict[str, dict[str, dict[str, object]]] = {}
    for service, names in SHAPES.items():
        model = session.get_service_model(service)
        services[service] = {}
        for name in names:
            shape = model.shape_for(name)
            rule: dict[str, object] = {
                key: shape.metadata[key] for key in ("pattern", "min", "max") if key in shape.metadata
            }
            enum = getattr(shape, "enum", None)
            if enum:
                rule["enum"] = list(enum)
            services[service][name] = rule
    return {"botocore": botocore.__version__, "services": services}


def main() -> None:
    OUTPUT.write_text(json.dumps(extract(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
