"""Estimated against actual: month-to-date spend from Cost Explorer beside the stack's bill.

    python -m tools.cost_actuals --stack dev      # make cost-actuals STACK=dev (needs AWS credentials)

Cost Explorer is asked for this month's unblended cost in the stack's account (`awsAccountId`) and
its `CostCenter` tag (which must be an active cost-allocation tag: `make preflight` checks it),
grouped by AWS service. Each bill item belongs to one Cost Explorer service (`SERVICE_OF_ITEM`), so
the report sets the estimate, pro rata for the days gone, beside the actual, service by service; what
Cost Explorer bills that the estimate does not price is listed as such. Needs credentials that may
call `ce:GetCostAndUsage` (Cost Explorer answers only in us-east-1, whatever the stack's region).
"""

from __future__ import annotations

import argparse
import calendar
import datetime
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import boto3

from components.config.environment import EnvironmentConfig
from components.config.stack_file import environment_configs
from components.shared.catalog import ENVIRONMENTS
from components.shared.errors import ConfigError
from tools.plan import build_plan
from tools.preflight.checks_cost import COST_ALLOCATION_TAG

Bill = Mapping[str, Any]

SERVICE_OF_ITEM: tuple[tuple[str, str], ...] = (
    ("EKS control plane", "Amazon Elastic Container Service for Kubernetes"),
    ("node group", "Amazon Elastic Compute Cloud - Compute"),
    ("reserved instances", "Amazon Elastic Compute Cloud - Compute"),
    ("NAT instance root volume", "EC2 - Other"),
    ("NAT instance", "Amazon Elastic Compute Cloud - Compute"),
    ("node root volumes", "EC2 - Other"),
    ("Prometheus volumes", "EC2 - Other"),
    ("NAT gateway", "EC2 - Other"),
    ("NAT data", "EC2 - Other"),
    ("public IPv4", "Amazon Virtual Private Cloud"),
    ("VPC endpoint", "Amazon Virtual Private Cloud"),
    ("Secrets Manager", "AWS Secrets Manager"),
    ("KMS", "AWS Key Management Service"),
    ("CloudWatch", "AmazonCloudWatch"),
    ("load balancer", "Elastic Load Balancing"),
    ("Route 53", "Amazon Route 53"),
    ("WAF", "AWS WAF"),
    ("AWS Budgets", "AWS Budgets"),
    ("ECR", "Amazon EC2 Container Registry (ECR)"),
    ("PostgreSQL", "Amazon Relational Database Service"),
    ("Database Insights", "Amazon Relational Database Service"),
    ("Redis", "Amazon ElastiCache"),
    ("Valkey", "Amazon ElastiCache"),
    ("volume backups", "AWS Backup"),
)
"""Bill item name prefix -> the Cost Explorer SERVICE dimension value that bills it (first match wins)."""

UNMATCHED = "(not in Cost Explorer's services)"


def service_of(item: str) -> str:
    """The Cost Explorer service of a bill item, by its name (see `SERVICE_OF_ITEM`)."""
    for prefix, service in SERVICE_OF_ITEM:
        if item.lower().startswith(prefix.lower()):
            return service
    return UNMATCHED


def month_to_date(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Cost Explorer's period for this month so far: start inclusive, end exclusive (today counts)."""
    return today.replace(day=1), today + datetime.timedelta(days=1)


def cost_explorer_query(config: EnvironmentConfig, today: datetime.date) -> dict[str, Any]:
    """The GetCostAndUsage request: this month, the stack's account and CostCenter tag, by service."""
    start, end = month_to_date(today)
    return {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost"],
        "Filter": {
            "And": [
                {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [config.aws_account_id]}},
                {"Tags": {"Key": COST_ALLOCATION_TAG, "Values": [config.cost_center], "MatchOptions": ["EQUALS"]}},
            ]
        },
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}],
    }


def actual_by_service(client: Any, query: Mapping[str, Any]) -> dict[str, Decimal]:
    """Month-to-date USD per Cost Explorer service, over every page of the answer."""
    totals: dict[str, Decimal] = {}
    token = None
    while True:
        page = client.get_cost_and_usage(**query, **({"NextPageToken": token} if token else {}))
        for period in page["ResultsByTime"]:
            for group in period.get("Groups", []):
                cost = group["Metrics"]["UnblendedCost"]
                if cost.get("Unit", "USD") != "USD":
                    raise ConfigError(f"Cost Explorer answered in {cost['Unit']}, not USD")
                service = group["Keys"][0]
                totals[service] = totals.get(service, Decimal(0)) + Decimal(cost["Amount"])
        token = page.get("NextPageToken")
        if not token:
            return totals


@dataclass(frozen=True)
class Row:
    """One service: what the bill estimates for it so far this month, and what AWS billed."""

    service: str
    items: tuple[str, ...]
    estimate_month: Decimal
    estimate_to_date: Decimal
    actual_to_date: Decimal

    @property
    def difference(self) -> Decimal:
        return self.actual_to_date - self.estimate_to_date


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def compare(bill: Bill, actual: Mapping[str, Decimal], today: datetime.date) -> list[Row]:
    """Estimate (pro rata for the days so far, today included) beside actual, per service."""
    fraction = Decimal(today.day) / Decimal(calendar.monthrange(today.year, today.month)[1])
    estimated: dict[str, tuple[list[str], Decimal]] = {}
    for item in bill["items"]:
        items, total = estimated.get(service_of(item["item"]), ([], Decimal(0)))
        items.append(item["item"])
        estimated[service_of(item["item"])] = (items, total + Decimal(str(item["monthlyUsd"])))
    rows = [
        Row(service, tuple(items), _cents(month), _cents(month * fraction), _cents(actual.get(service, Decimal(0))))
        for service, (items, month) in estimated.items()
    ]
    rows += [
        Row(service, (), Decimal(0), Decimal(0), _cents(amount))
        for service, amount in sorted(actual.items())
        if service not in estimated
    ]
    return rows


def render(stack: str, rows: Sequence[Row], today: datetime.date, prices_as_of: str) -> str:
    """The Markdown table: service, bill items, estimate to date, actual to date, difference."""
    start, _ = month_to_date(today)
    estimate = sum((row.estimate_to_date for row in rows), Decimal(0))
    actual = sum((row.actual_to_date for row in rows), Decimal(0))
    lines = [
        f"# {stack}: estimated against actual, {start.isoformat()} to {today.isoformat()}",
        "",
        f"Estimate: the `cost` bill (prices as of {prices_as_of}) pro rata for {today.day} days. Actual: Cost "
        f"Explorer, unblended, tag {COST_ALLOCATION_TAG} (usage is reported with up to a day's delay).",
        "",
        "| service | bill items | estimate to date | actual to date | difference |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        items = ", ".join(row.items) if row.items else "not estimated by the bill"
        lines.append(
            f"| {row.service} | {items} | ${row.estimate_to_date:,.2f} | ${row.actual_to_date:,.2f} | "
            f"{'+' if row.difference >= 0 else '-'}${abs(row.difference):,.2f} |"
        )
    lines.append(f"| **total** | | **${estimate:,.2f}** | **${actual:,.2f}** | ${actual - estimate:+,.2f} |")
    return "\n".join(lines) + "\n"


def _plan_bill(stack: str) -> Bill:
    return build_plan(stack).outputs["cost"]


def main(
    argv: list[str] | None = None,
    client: Any = None,
    today: datetime.date | None = None,
    bill_of: Callable[[str], Bill] = _plan_bill,
) -> int:
    """Command line; the keywords are for tests (a stubbed Cost Explorer client, a fixed day, a cached plan)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, choices=ENVIRONMENTS)
    args = parser.parse_args(argv)
    today = today or datetime.date.today()
    try:
        config = environment_configs()[args.stack]
        bill = bill_of(args.stack)
        if client is None:
            client = _cost_explorer_client()
        actual = actual_by_service(client, cost_explorer_query(config, today))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # botocore's errors: no credentials, access denied, throttling
        if type(error).__module__.startswith("botocore"):
            print(f"error: Cost Explorer: {error}", file=sys.stderr)
            return 2
        raise
    print(render(args.stack, compare(bill, actual, today), today, bill["pricesAsOf"]))
    return 0


def _cost_explorer_client() -> Any:
    return boto3.client("ce", region_name="us-east-1")


if __name__ == "__main__":
    sys.exit(main())
