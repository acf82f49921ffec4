"""The HTTP service's /metrics (docs/interface.md, issue 16): open without a key, and its
request metrics move as backends call the API, labelled by route template, never an id."""

from __future__ import annotations

import httpx

from tests.api.conftest import Api
from tests.launched import new_id
from tests.observability.scrape import parse, total

ROUTE = "/v1/withdrawals/{withdrawal_id}"


def _requests(api: Api) -> float:
    scraped = httpx.get(f"{api.stack.urls.http}/metrics", timeout=10)  # no Authorization
    assert scraped.status_code == 200, scraped.text
    return total(parse(scraped.text), "withdrawal_http_requests_total", route=ROUTE, status="404")


def test_api_metrics_need_no_key_and_count_requests_by_route_template(api: Api) -> None:
    before = _requests(api)
    unknown = new_id("w-metrics")
    for _ in range(3):
        assert api.get(f"/v1/withdrawals/{unknown}").status_code == 404
    assert _requests(api) == before + 3
    scraped = httpx.get(f"{api.stack.urls.http}/metrics", timeout=10).text
    assert unknown not in scraped  # bounded labels: the template, never the id
    assert "temporal_" in scraped  # the process's own Temporal SDK metrics join in
