"""The EKS support calendar as dated data, today's date as an input, and one AWS account per environment."""

from __future__ import annotations

import datetime

import pytest

from components.cluster.settings import (
    SUPPORT_WARNING_DAYS,
    TODAY_VARIABLE,
    evaluation_date,
    kubernetes_support_warning,
)
from components.config.stack_file import check_accounts_apart, environment_configs
from components.shared.aws_limits import load_kubernetes_versions
from components.shared.errors import ConfigError
from tools.plan import PLAN_DATE, Plan, build_plan


def test_the_version_table_is_dated_and_sourced() -> None:
    table = load_kubernetes_versions()
    assert table.source.startswith("https://docs.aws.amazon.com/eks/")
    versions = [row.version for row in table.versions]
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))))
    for row in table.versions:
        # EKS gives a minor version 14 months of standard support.
        months = (row.end_of_standard_support - row.released).days / 30.4
        assert 13.5 <= months <= 14.5, row


def test_warn_sixty_days_before_the_end_and_refuse_after_it() -> None:
    end = load_kubernetes_versions().find("1.34")
    assert end is not None
    last_day = end.end_of_standard_support
    assert (
        kubernetes_support_warning("dev", "1.34", last_day - datetime.timedelta(days=SUPPORT_WARNING_DAYS + 1)) is None
    )
    warning = kubernetes_support_warning("dev", "1.34", last_day - datetime.timedelta(days=SUPPORT_WARNING_DAYS))
    assert warning is not None and f"({SUPPORT_WARNING_DAYS} days left)" in warning and "'1.35'" in warning
    assert kubernetes_support_warning("dev", "1.34", last_day) is not None
    with pytest.raises(ConfigError, match=r"kubernetesVersion' = '1.34' left EKS standard support on 2026-12-02"):
        kubernetes_support_warning("dev", "1.34", last_day + datetime.timedelta(days=1))
    with pytest.raises(ConfigError, match=r"'1.29' is not in the EKS version table"):
        kubernetes_support_warning("dev", "1.29", last_day)


def test_the_plan_runs_on_a_fixed_date(env_plan: Plan) -> None:
    """Plans and snapshots do not change with the calendar: the harness pins the date the check uses."""
    config = environment_configs()[env_plan.stack]
    expected = kubernetes_support_warning(
        env_plan.stack, config.kubernetes_version, datetime.date.fromisoformat(PLAN_DATE)
    )
    assert [w for w in env_plan.warnings if "standard support" in w] == ([expected] if expected else [])


def test_a_plan_past_the_end_of_support_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    row = load_kubernetes_versions().find(environment_configs()["dev"].kubernetes_version)
    assert row is not None
    day_after = row.end_of_standard_support + datetime.timedelta(days=1)
    monkeypatch.setenv(TODAY_VARIABLE, day_after.isoformat())
    assert evaluation_date() == day_after
    with pytest.raises(ConfigError, match=r"left EKS standard support"):
        build_plan("dev")


def test_a_bad_date_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_VARIABLE, "tomorrow")
    with pytest.raises(ConfigError, match=r"PYAIRTABLE_TODAY='tomorrow' is not a date"):
        evaluation_date()


def test_environments_have_accounts_of_their_own_unless_both_list_the_exception() -> None:
    configs = environment_configs()
    assert len({config.aws_account_id for config in configs.values()}) == len(configs)
    staging_in_dev = configs["staging"].model_copy(update={"aws_account_id": configs["dev"].aws_account_id})
    with pytest.raises(ConfigError, match=r"awsAccountId' = '111111111111' is also stack 'dev'"):
        check_accounts_apart(staging_in_dev, configs)
    one_sided = staging_in_dev.model_copy(update={"account_shared_with": ("dev",)})
    with pytest.raises(ConfigError, match="accountSharedWith"):
        check_accounts_apart(one_sided, configs)
    dev_sharing = configs["dev"].model_copy(update={"account_shared_with": ("staging",)})
    check_accounts_apart(one_sided, {**configs, "dev": dev_sharing})
