"""Config of the cost capability: `pyairtable-infra:budgetAlerts` (environment stacks).

Limits come from the AWS Budgets API (botocore's `budgets` service model, checked by a test): at most
10 notifications per budget, and per notification 1 to 11 subscribers, of which at most 10 email
addresses and 1 SNS topic (AWS Budgets quotas).
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from components.config.common import FrozenModel

MAX_NOTIFICATIONS = 10
"""Notifications per budget (botocore: CreateBudget NotificationsWithSubscribers max)."""
MAX_SUBSCRIBERS = 11
"""Subscribers per notification (botocore: Subscribers max): up to 10 email addresses and 1 SNS topic."""
MAX_EMAIL_SUBSCRIBERS = 10
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SNS_TOPIC_ARN_PATTERN = re.compile(r"^arn:aws:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")


class BudgetAlerts(FrozenModel):
    """Who hears about the environment's spend, and when (`budgetAlerts`)."""

    emails: tuple[str, ...] = ()
    """Addresses that get every alert."""
    sns_topic_arn: str | None = Field(alias="snsTopicArn", default=None)
    """An SNS topic that gets every alert (its policy must let budgets.amazonaws.com publish)."""
    forecast_percent: tuple[float, ...] = Field(alias="forecastPercent", default=(100.0,))
    """Alert when the month's forecast exceeds these shares of budgetUsd."""
    actual_percent: tuple[float, ...] = Field(alias="actualPercent", default=(80.0, 100.0))
    """Alert when the spend so far exceeds these shares of budgetUsd."""

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [address for address in value if not EMAIL_PATTERN.match(address)]
        if bad:
            raise ValueError(f"not email addresses: {bad}")
        if len(value) > MAX_EMAIL_SUBSCRIBERS:
            raise ValueError(f"{len(value)} addresses; AWS Budgets allows {MAX_EMAIL_SUBSCRIBERS} per alert")
        return value

    @field_validator("sns_topic_arn")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is not None and not SNS_TOPIC_ARN_PATTERN.match(value):
            raise ValueError(f"{value!r} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")
        return value

    @field_validator("forecast_percent", "actual_percent")
    @classmethod
    def _percents(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        bad = [percent for percent in value if not 0 < percent <= 1000]
        if bad:
            raise ValueError(f"shares of the budget must be above 0 and at most 1000 percent, got {bad}")
        if len(set(value)) != len(value):
            raise ValueError(f"a share is listed twice: {list(value)}")
        return value

    @model_validator(mode="after")
    def _someone_listens(self) -> BudgetAlerts:
        if not self.emails and self.sns_topic_arn is None:
            raise ValueError("an alert needs at least one email address or an snsTopicArn")
        count = len(self.forecast_percent) + len(self.actual_percent)
        if not 1 <= count <= MAX_NOTIFICATIONS:
            raise ValueError(f"{count} alerts; AWS Budgets allows 1 to {MAX_NOTIFICATIONS} per budget")
        return self
