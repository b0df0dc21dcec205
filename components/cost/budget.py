"""An AWS Budget per environment: the monthly `budgetUsd`, alerting on forecast and actual spend.

The budget covers the whole environment account (one account per environment), so it needs no cost
filter and does not depend on the CostCenter tag's activation. Alerts go to the addresses and SNS
topic of `budgetAlerts`: `forecastPercent` when AWS forecasts the month's spend above that share of
the budget, `actualPercent` when the spend so far is above it. AWS evaluates budgets about three
times a day, so an alert follows the spend by hours, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cost.settings import BudgetAlerts


def budget_name(environment: str) -> str:
    """The budget's name in the account (unique per account; Budgets refuses `:` and `\\`)."""
    return f"pyairtable-{environment}-monthly"


@dataclass(frozen=True)
class EnvironmentBudgetArgs:
    """Inputs of `EnvironmentBudget`."""

    environment: str
    """Environment name (the budget's name)."""
    account_id: str
    """The environment's AWS account (the budget's owner)."""
    budget_usd: int
    """Monthly limit in USD (config `budgetUsd`, the same figure the `cost` output compares with)."""
    alerts: BudgetAlerts
    """Who is told, and at which shares of the budget (config `budgetAlerts`)."""


class EnvironmentBudget(pulumi.ComponentResource):
    """A monthly cost budget with forecast and actual alerts."""

    name: pulumi.Output[str]
    """The budget's name."""

    def __init__(self, name: str, args: EnvironmentBudgetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:cost:EnvironmentBudget", name, None, opts)
        notifications = [
            aws.budgets.BudgetNotificationArgs(
                notification_type=kind,
                comparison_operator="GREATER_THAN",
                threshold=percent,
                threshold_type="PERCENTAGE",
                subscriber_email_addresses=list(args.alerts.emails),
                subscriber_sns_topic_arns=[args.alerts.sns_topic_arn] if args.alerts.sns_topic_arn else [],
            )
            for kind, percents in (
                ("FORECASTED", args.alerts.forecast_percent),
                ("ACTUAL", args.alerts.actual_percent),
            )
            for percent in percents
        ]
        budget = aws.budgets.Budget(
            f"{name}-budget",
            name=budget_name(args.environment),
            account_id=args.account_id,
            budget_type="COST",
            limit_amount=f"{args.budget_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            notifications=notifications,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = budget.name
        self.register_outputs({"name": self.name})
