"""FakeNewsApi: NewsAPI.org `/v2/everything` plus an RSS and an Atom feed on a local FakeVenueServer.

`GET /v2/everything` answers the way NewsAPI does: `{"status": "ok", "totalResults",
"articles": [{"source": {"id", "name"}, "author", "title", "description", "url",
"urlToImage", "publishedAt", "content"}]}`, newest first, at most `pageSize`, only those
at or after `from`. Errors are `{"status": "error", "code", "message"}`: a missing or wrong
`X-Api-Key` is a 401 `apiKeyInvalid`, a missing `q` a 400 `parametersMissing`, and an
injected `Fault(status=429)` a 429 `rateLimited`.

`GET /feeds/markets.rss` (RSS 2.0) and `GET /feeds/crypto.atom` (Atom) serve the documents
below with an ETag and `Cache-Control: no-cache`, and answer 304 to a matching
`If-None-Match`, so a caching client revalidates for real; `feed_hits` counts the 200s.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

API_KEY = "newsapi-fake-key-3f9c0d1e2b7a4c5d"

ERROR_CODES = {400: "parametersMissing", 401: "apiKeyInvalid", 429: "rateLimited", 500: "unexpectedError"}
ERROR_MESSAGES = {
    429: "You have made too many requests recently. Developer accounts are limited to 100 requests"
    " over a 24 hour period (50 requests available every 12 hours). Please upgrade to a paid plan"
    " if you need more requests.",
    401: "Your API key is invalid or incorrect. Check your key, or go to https://newsapi.org to create"
    " a free API key.",
}

RSS_DOCUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Markets Wire: Top News</title>
    <link>https://markets.example.com/</link>
    <description>Market-moving headlines</description>
    <language>en-us</language>
    <lastBuildDate>Sat, 28 Nov 2026 14:10:00 GMT</lastBuildDate>
    <item>
      <title>S&amp;P 500 climbs to record as tech earnings beat forecasts</title>
      <link>https://markets.example.com/2026/11/28/sp500-record</link>
      <guid isPermaLink="false">mw-1001</guid>
      <description><![CDATA[<p>The <b>S&amp;P 500</b> rose 1.2% after strong profit growth at
        large technology companies.</p><img src="https://markets.example.com/chart.png"/>]]></description>
      <pubDate>Sat, 28 Nov 2026 14:03:11 GMT</pubDate>
      <dc:creator>Staff</dc:creator>
    </item>
    <item>
      <title>Euro slides as ECB signals further rate cuts</title>
      <link>https://markets.example.com/2026/11/28/euro-ecb</link>
      <guid isPermaLink="false">mw-1002</guid>
      <description>The euro fell against the dollar after weak eurozone data.</description>
      <pubDate>Sat, 28 Nov 2026 13:40:00 +0100</pubDate>
    </item>
    <item>
      <title>Undated market commentary</title>
      <link>https://markets.example.com/commentary</link>
      <description>No date on this one.</description>
    </item>
  </channel>
</rss>
"""

ATOM_DOCUMENT = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Crypto Desk</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-11-28T14:05:00Z</updated>
  <link href="https://crypto.example.com/"/>
  <entry>
    <title type="html">Bitcoin jumps 5% as ETF inflows surge</title>
    <link href="https://crypto.example.com/btc-etf-inflows"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <published>2026-11-28T13:55:00Z</published>
    <updated>2026-11-28T14:01:00Z</updated>
    <summary type="html">&lt;p&gt;Record &lt;em&gt;inflows&lt;/em&gt; into bitcoin funds.&lt;/p&gt;</summary>
  </entry>
  <entry>
    <title>Solana network outage halts block production</title>
    <link href="https://crypto.example.com/sol-outage"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6b</id>
    <updated>2026-11-28T12:30:00+00:00</updated>
    <summary>SOL fell after validators stopped producing blocks.</summary>
  </entry>
</feed>
"""


def newsapi_error_body(status: int, reason: str) -> dict[str, Any]:
    code = ERROR_CODES.get(status, "unexpectedError")
    return {"status": "error", "code": code, "message": ERROR_MESSAGES.get(status, reason)}


def article(
    title: str,
    published_at: datetime,
    description: str = "",
    outlet: str = "Reuters",
    url: str | None = None,
) -> dict[str, Any]:
    """One article in NewsAPI's shape."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return {
        "source": {"id": outlet.lower().replace(" ", "-"), "name": outlet},
        "author": "Staff",
        "title": title,
        "description": description,
        "url": url or f"https://{outlet.lower().replace(' ', '')}.example.com/{slug}",
        "urlToImage": None,
        "publishedAt": published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "content": f"{description} [+1234 chars]",
    }


class FakeNewsApi(ServedFake):
    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.server = FakeVenueServer("newsapi", error_body=newsapi_error_body)
        self.server.route("GET", "/v2/everything")(self._everything)
        self.server.route("GET", "/feeds/markets.rss")(self._feed(RSS_DOCUMENT, '"rss-v1"'))
        self.server.route("GET", "/feeds/crypto.atom")(self._feed(ATOM_DOCUMENT, '"atom-v1"'))
        self.articles: list[dict[str, Any]] = []
        self.feed_hits: dict[str, int] = {}

    @property
    def everything_requests(self) -> list[Request]:
        return self.server.requests_to("GET", "/v2/everything")

    def add(self, title: str, published_at: datetime, description: str = "", outlet: str = "Reuters") -> None:
        self.articles.append(article(title, published_at, description, outlet))

    # ------------------------------------------------------------------ the API
    def _everything(self, request: Request, match: re.Match[str]) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("x-api-key") != self.api_key:
            raise HttpError(401, "apiKeyInvalid")
        if not request.query.get("q"):
            raise HttpError(400, "Required parameters are missing: q")
        page_size = int(request.query.get("pageSize", "100"))
        since = request.query.get("from")
        chosen = sorted(self.articles, key=lambda a: a["publishedAt"], reverse=True)
        if since:
            start = datetime.fromisoformat(since)
            chosen = [a for a in chosen if datetime.fromisoformat(a["publishedAt"]) >= start]
        body = {"status": "ok", "totalResults": len(chosen), "articles": chosen[:page_size]}
        return Response(200, body)

    def _feed(self, document: str, etag: str) -> Any:
        def serve(request: Request, match: re.Match[str]) -> Response:
            headers = {k.lower(): v for k, v in request.headers.items()}
            cache_headers = {"ETag": etag, "Cache-Control": "no-cache"}
            if headers.get("if-none-match") == etag:
                return Response(304, "", cache_headers)
            self.feed_hits[request.path] = self.feed_hits.get(request.path, 0) + 1
            return Response(200, document, {**cache_headers, "Content-Type": "application/rss+xml"})

        return serve
