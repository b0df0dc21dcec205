"""Download the public price files with a real HTTP client, showing progress on long downloads.

The files are public (no credentials). Each is written to a cache directory beside its final name
as `<name>.part` and renamed when complete, so an interrupted download is never parsed. A file
already downloaded today is reused: `make prices` twice in a day downloads once.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import requests

OFFERS_BASE_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws"
"""AWS Price List bulk API: `<base>/<offerCode>/current/<region>/index.json` (no credentials)."""
SPOT_ADVISOR_URL = "https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json"
"""The data behind the Spot Instance Advisor page (savings over on-demand and interruption ranges)."""
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60


def offer_url(offer_code: str, region: str) -> str:
    """The regional offer file of a service (`global` for services priced once, such as Route 53)."""
    if region == "global":
        return f"{OFFERS_BASE_URL}/{offer_code}/current/index.json"
    return f"{OFFERS_BASE_URL}/{offer_code}/current/{region}/index.json"


Get = Callable[..., Any]
"""`requests.get`, or a fake with its signature in tests (a context manager with `headers`, `iter_content`)."""


class Progress:
    """One status line per file, rewritten in place: bytes so far, of the total when it is known."""

    def __init__(self, label: str, total: int | None, out: TextIO = sys.stderr) -> None:
        self.label, self.total, self.out, self.done = label, total, out, 0

    def advance(self, count: int) -> None:
        self.done += count
        of_total = f" of {self.total / 1e6:,.1f} MB ({100 * self.done / self.total:.0f}%)" if self.total else " MB"
        self.out.write(f"\r  {self.label}: {self.done / 1e6:,.1f}{of_total}")
        self.out.flush()

    def finish(self) -> None:
        self.out.write("\n")
        self.out.flush()


def download(
    url: str,
    destination: Path,
    get: Get = requests.get,
    today: datetime.date | None = None,
    out: TextIO = sys.stderr,
) -> Path:
    """Fetch `url` to `destination` (reused when it was written today); returns the path."""
    today = today or datetime.date.today()
    if destination.exists() and datetime.date.fromtimestamp(destination.stat().st_mtime) == today:
        out.write(f"  {destination.name}: downloaded today, reused\n")
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    try:
        with get(url, stream=True, timeout=TIMEOUT_SECONDS) as response:
            response.raise_for_status()
            length = response.headers.get("Content-Length")
            progress = Progress(url.removeprefix(OFFERS_BASE_URL + "/"), int(length) if length else None, out)
            with partial.open("wb") as sink:
                for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
                    sink.write(chunk)
                    progress.advance(len(chunk))
            progress.finish()
    except requests.RequestException as error:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"cannot download {url}: {error}") from None
    partial.replace(destination)
    return destination


class DownloadError(RuntimeError):
    """A price file could not be fetched (no network, HTTP error): the checked-in table stays as it is."""
