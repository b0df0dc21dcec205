"""The download: streamed to a partial file with progress, renamed when complete, reused the same day."""

from __future__ import annotations

import datetime
import io
import os
from pathlib import Path

import pytest
import requests

from tools.prices.download import DownloadError, download, offer_url


class FakeResponse:
    def __init__(self, chunks: list[bytes], fail: Exception | None = None) -> None:
        self.chunks, self.fail = chunks, fail
        self.headers = {"Content-Length": str(sum(len(chunk) for chunk in chunks))}

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def raise_for_status(self) -> None:
        if self.fail:
            raise self.fail

    def iter_content(self, chunk_size: int):
        yield from self.chunks


def test_streams_to_the_file_with_progress(tmp_path: Path) -> None:
    calls: list[tuple[str, dict[str, object]]] = []
    response = FakeResponse([b"a" * 700_000, b"b" * 300_000])
    get = lambda url, **kwargs: calls.append((url, kwargs)) or response  # noqa: E731
    out = io.StringIO()
    url = offer_url("AmazonEC2", "us-east-1")
    path = download(url, tmp_path / "ec2.json", get=get, out=out)
    assert path.read_bytes() == b"a" * 700_000 + b"b" * 300_000
    assert calls == [(url, {"stream": True, "timeout": 60})]
    assert "AmazonEC2/current/us-east-1/index.json: 1.0 of 1.0 MB (100%)" in out.getvalue()
    assert not (tmp_path / "ec2.json.part").exists()


def test_reuses_a_file_downloaded_today_and_refreshes_an_older_one(tmp_path: Path) -> None:
    path = tmp_path / "spot.json"
    path.write_text("old")
    today = datetime.date.fromtimestamp(path.stat().st_mtime)
    never = lambda url, **kwargs: pytest.fail("downloaded again")  # noqa: E731
    assert download("https://example.com/x", path, get=never, today=today, out=io.StringIO()).read_text() == "old"
    yesterday = datetime.datetime.combine(today - datetime.timedelta(days=1), datetime.time()).timestamp()
    os.utime(path, (yesterday, yesterday))
    download(
        "https://example.com/x", path, get=lambda url, **kw: FakeResponse([b"new"]), today=today, out=io.StringIO()
    )
    assert path.read_text() == "new"


def test_a_failed_download_leaves_nothing_behind(tmp_path: Path) -> None:
    refused = FakeResponse([], fail=requests.HTTPError("403 Forbidden"))
    get = lambda url, **kwargs: refused  # noqa: E731
    with pytest.raises(DownloadError, match="403"):
        download("https://example.com/x", tmp_path / "x.json", get=get, out=io.StringIO())
    assert list(tmp_path.iterdir()) == []


def test_global_offers_have_no_region_in_their_url() -> None:
    assert offer_url("AmazonRoute53", "global").endswith("/AmazonRoute53/current/index.json")
