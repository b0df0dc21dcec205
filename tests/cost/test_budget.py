"""The AWS Budget of every environment: the bill's budgetUsd, forecast and actual alerts to config's receivers."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from components.config.stack_file import environment_configs, parse_stack_config
from components.cost.budget import budget_name
from components.cost.settings import MAX_EMAIL_SUBSCRIBERS, MAX_NOTIFICATIONS, MAX_SUBSCRIBERS
from components.shared.errors import ConfigError
from tests.config.test_config import raw_config
from tools.plan import Plan

BUDGET = "aws:budgets/budget:Budget"


def test_each_environment_declares_its_budget_with_the_bills_figure(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    (budget,) = env_plan.of_type(BUDGET)
    inputs = budget["inputs"]
    assert float(inputs["limitAmount"]) == config.budget_usd == env_plan.outputs["cost"]["budgetUsd"]
    assert (inputs["budgetType"], inputs["timeUnit"], inputs["limitUnit"]) == ("COST", "MONTHLY", "USD")
    assert inputs["name"] == budget_name(config.environment)
    assert inputs["accountId"] == config.aws_account_id
    assert budget["provider"].endswith("pulumi:providers:aws::aws")  # the environment's own provider
    alerts = config.budget_alerts
    expected = {("FORECASTED", p) for p in alerts.forecast_percent} | {("ACTUAL", p) for p in alerts.actual_percent}
    notifications = inputs["notifications"]
    assert {(n["notificationType"], n["threshold"]) for n in notifications} == expected
    for notification in notifications:
        assert notification["comparisonOperator"] == "GREATER_THAN"
        assert notification["thresholdType"] == "PERCENTAGE"
        assert notification.get("subscriberEmailAddresses", []) == list(alerts.emails)
        topics = [alerts.sns_topic_arn] if alerts.sns_topic_arn else []
        assert notification.get("subscriberSnsTopicArns", []) == topics


def test_prod_alerts_a_topic_too() -> None:
    assert environment_configs()["prod"].budget_alerts.sns_topic_arn


BAD_ALERTS = [
    ({"emails": []}, "at least one email address or an snsTopicArn"),
    ({"emails": ["not-an-address"]}, "not email addresses"),
    ({"emails": [f"a{i}@pyairtable.example" for i in range(MAX_EMAIL_SUBSCRIBERS + 1)]}, "allows 10"),
    ({"snsTopicArn": "arn:aws:sqs:us-east-1:111111111111:q"}, "not an SNS topic ARN"),
    ({"emails": ["a@pyairtable.example"], "actualPercent": list(range(1, 11))}, "1 to 10 per budget"),
    ({"emails": ["a@pyairtable.example"], "forecastPercent": [0]}, "above 0"),
    ({"emails": ["a@pyairtable.example"], "actualPercent": [80, 80]}, "listed twice"),
]


@pytest.mark.parametrize(("alerts", "fragment"), BAD_ALERTS)
def test_bad_alerts_are_refused_before_anything_is_declared(alerts: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config("dev", raw_config("dev", budgetAlerts=json.dumps(alerts)))
    assert "pyairtable-infra:budgetAlerts" in str(caught.value)
    assert fragment in str(caught.value)


def test_the_limits_are_the_budgets_apis() -> None:
    """The constants against botocore's model of CreateBudget (the API's own limits)."""
    model = botocore.session.get_session().get_service_model("budgets")
    shape: Any = model.operation_model("CreateBudget").input_shape
    create = shape.members
    notifications = create["NotificationsWithSubscribers"]
    assert notifications.metadata["max"] == MAX_NOTIFICATIONS
    subscribers = notifications.member.members["Subscribers"]
    assert subscribers.metadata["max"] == MAX_SUBSCRIBERS
    assert MAX_EMAIL_SUBSCRIBERS + 1 == MAX_SUBSCRIBERS  # 10 addresses and 1 topic
    assert set(subscribers.member.members["SubscriptionType"].enum) == {"EMAIL", "SNS"}
    pattern = create["Budget"].members["BudgetName"].metadata
    for environment in environment_configs():
        name = budget_name(environment)
        assert len(name) <= pattern["max"] and ":" not in name and "\\" not in name
