"""`make cost-actuals`: Cost Explorer's month-to-date spend beside the bill, on recorded answers.

The answers are played by botocore's Stubber, which validates every request and response against
Cost Explorer's service model: a request the real API would refuse fails here too.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import boto3
import pytest
from botocore.stub import Stubber

from components.config.stack_file import environment_configs
from tests.conftest import stack_plan
from tools import cost_actuals
from tools.cost_actuals import UNMATCHED, actual_by_service, compare, cost_explorer_query, service_of

TODAY = datetime.date(2026, 11, 15)
DEV = environment_configs()["dev"]


def _group(service: str, amount: str) -> dict:
    return {"Keys": [service], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}


PERIOD = {"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-16"}, "Estimated": True}
PAGES = [
    {
        "ResultsByTime": [
            {
                **PERIOD,
                "Groups": [
                    _group("Amazon Elastic Container Service for Kubernetes", "36.0"),
                    _group("Amazon Elastic Compute Cloud - Compute", "27.1234"),
                ],
            }
        ],
        "NextPageToken": "page-2",
        "DimensionValueAttributes": [],
    },
    {
        "ResultsByTime": [{**PERIOD, "Groups": [_group("EC2 - Other", "20.5"), _group("AWS Config", "1.25")]}],
        "DimensionValueAttributes": [],
    },
]


def stubbed_client(query: dict) -> tuple[object, Stubber]:
    client = boto3.client("ce", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(client)
    stubber.add_response("get_cost_and_usage", PAGES[0], query)
    stubber.add_response("get_cost_and_usage", PAGES[1], {**query, "NextPageToken": "page-2"})
    stubber.activate()
    return client, stubber


def _bill(stack: str) -> dict:
    return stack_plan(stack).outputs["cost"]


def test_the_query_is_this_month_in_the_stacks_account_and_cost_center() -> None:
    query = cost_explorer_query(DEV, TODAY)
    assert query["TimePeriod"] == {"Start": "2026-11-01", "End": "2026-11-16"}
    filters = query["Filter"]["And"]
    assert {"Key": "LINKED_ACCOUNT", "Values": [DEV.aws_account_id]} in [f.get("Dimensions") for f in filters]
    assert [f["Tags"]["Values"] for f in filters if "Tags" in f] == [[DEV.cost_center]]


def test_every_page_is_read_and_summed_per_service() -> None:
    query = cost_explorer_query(DEV, TODAY)
    client, stubber = stubbed_client(query)
    totals = actual_by_service(client, query)
    stubber.assert_no_pending_responses()
    assert totals["Amazon Elastic Compute Cloud - Compute"] == Decimal("27.1234")
    assert totals["AWS Config"] == Decimal("1.25")


def test_estimate_to_date_beside_actual_line_by_line() -> None:
    bill = stack_plan("dev").outputs["cost"]
    actual = {"Amazon Elastic Container Service for Kubernetes": Decimal("36.0"), "AWS Config": Decimal("1.25")}
    rows = {row.service: row for row in compare(bill, actual, TODAY)}
    eks = next(item for item in bill["items"] if item["item"] == "EKS control plane")
    row = rows["Amazon Elastic Container Service for Kubernetes"]
    assert row.estimate_month == Decimal(str(eks["monthlyUsd"]))
    assert row.estimate_to_date == (Decimal(str(eks["monthlyUsd"])) * 15 / 30).quantize(Decimal("0.01"))
    assert row.actual_to_date == Decimal("36.00")
    assert rows["AWS Config"].items == ()  # billed, not estimated: shown, not hidden
    # Every item of the bill lands on a service Cost Explorer reports.
    assert UNMATCHED not in rows, [item["item"] for item in bill["items"] if service_of(item["item"]) == UNMATCHED]


def test_the_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    client, _ = stubbed_client(cost_explorer_query(DEV, TODAY))
    assert cost_actuals.main(["--stack", "dev"], client=client, today=TODAY, bill_of=_bill) == 0
    out = capsys.readouterr().out
    assert "| Amazon Elastic Container Service for Kubernetes | EKS control plane |" in out
    assert "| AWS Config | not estimated by the bill |" in out


def test_cost_explorer_refusal_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    client = boto3.client("ce", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(client)
    stubber.add_client_error("get_cost_and_usage", "AccessDeniedException", "not authorized to ce:GetCostAndUsage")
    stubber.activate()
    assert cost_actuals.main(["--stack", "dev"], client=client, today=TODAY, bill_of=_bill) == 2
    assert capsys.readouterr().err.startswith("error: Cost Explorer: An error occurred (AccessDeniedException)")


@pytest.mark.parametrize(
    ("item", "service"),
    [
        ("NAT instance (t4g.nano)", "Amazon Elastic Compute Cloud - Compute"),
        ("NAT instance root volume (gp3)", "EC2 - Other"),  # EBS bills as EC2 - Other
        ("node root volumes (gp3)", "EC2 - Other"),
        ("AWS Budgets budget", "AWS Budgets"),
    ],
)
def test_items_of_other_configs_land_on_their_service(item: str, service: str) -> None:
    assert service_of(item) == service
