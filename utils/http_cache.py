"""The HTTP session every news source shares: requests-cache, honouring the server's cache headers.

Feeds and NewsAPI answers are cached so that a refresh within `expire_seconds`
costs no request, and a server that sends ETag / Last-Modified is revalidated
with a conditional GET (a 304 is served from the cache). Callers pass a
`timeout=` on each request; a session has no default timeout.

`from_cache(response)` tells whether an answer came from the cache (no network
request, so it does not spend a NewsAPI budget). A revalidated 304 did go to
the network, so it counts.
"""

from __future__ import annotations

from pathlib import Path

import requests
import requests_cache

# requests-cache redacts auth headers from cache keys and stored requests, but matches their names
# case-sensitively (1.3.3): its "X-API-Key" misses NewsAPI's documented "X-Api-Key", which would
# then be written to the SQLite file in clear
# (the Odds API sends its key as the query parameter `apiKey`, which the defaults miss too)
REDACTED_PARAMETERS = (*requests_cache.DEFAULT_IGNORED_PARAMS, "X-Api-Key", "x-api-key", "apiKey")


def cached_session(cache_path: Path | None, expire_seconds: float) -> requests.Session:
    """A session caching GET answers in SQLite at `cache_path` (in memory when None).

    `cache_control=True` lets the server's Cache-Control / ETag / Last-Modified
    decide freshness where it sends them; `expire_seconds` applies otherwise.
    """
    if cache_path is None:
        backend = "memory"
        name = "news_feeds"
    else:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        backend = "sqlite"
        name = str(cache_path)
    return requests_cache.CachedSession(
        name,
        backend=backend,
        expire_after=expire_seconds,
        cache_control=True,
        allowable_methods=("GET",),
        allowable_codes=(200,),
        ignored_parameters=REDACTED_PARAMETERS,
        stale_if_error=False,
    )


def from_cache(response: requests.Response) -> bool:
    """True when the answer was served from the cache without a network request."""
    return bool(getattr(response, "from_cache", False)) and not bool(getattr(response, "revalidated", False))
