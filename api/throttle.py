"""Rate limits as the routers state them: which counters a request counts against."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from infra.wiring import metrics
from write_side.errors import RateLimitedError
from write_side.identity.ports import RateLimiter


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    window_seconds: int

    @property
    def name(self) -> str:
        """The limit without whom it counts (`login_account`, `writes`): a metric label."""
        kind, _, rest = self.key.partition(":")
        scope = rest.partition(":")[0]
        return f"{kind}_{scope}" if scope in ("address", "account") else kind


def client_address(request: Request) -> str:
    """The caller's address (behind a proxy, uvicorn's --forwarded-allow-ips decides whether
    X-Forwarded-For is believed)."""
    return request.client.host if request.client else "unknown"


def count(limiter: RateLimiter, *limits: Limit) -> None:
    """One hit on every counter; RateLimitedError with the longest wait if any is over."""
    waits = [limiter.hit(limit.key, limit.limit, limit.window_seconds) for limit in limits]
    longest = max((wait for wait in waits if wait is not None), default=None)
    if longest is not None:
        for limit, wait in zip(limits, waits, strict=True):
            if wait is not None:
                metrics.RATE_LIMIT_REFUSALS.labels(limit.name).inc()
        raise RateLimitedError(longest)


def forgive(limiter: RateLimiter, *limits: Limit) -> None:
    """Take the hits back: the attempt was legitimate."""
    for limit in limits:
        limiter.forgive(limit.key)
