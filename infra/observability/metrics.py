"""Every Prometheus series Itinera exports, in one place (`prometheus-client`).

Series are module-level, as the client intends (registering them twice is an error); they
hold counters, not connections. Labels are bounded: route templates, command and event type
names, projection names, outcomes and error codes, never ids.

Each process serves its own: the API on `GET /metrics`, the other roles on
`ITINERA_METRICS_PORT`. `itinera api --workers N` shares one directory between its worker
processes (`PROMETHEUS_MULTIPROC_DIR`), and its `/metrics` sums them.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Request latencies: a few ms for a read, tens for a write, seconds for a slow dependency.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)

HTTP_REQUESTS = Counter(
    "itinera_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "itinera_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "itinera_http_requests_in_flight",
    "HTTP requests being answered now.",
    multiprocess_mode="livesum",
)
COMMANDS = Counter(
    "itinera_commands",
    "Commands (writes) by type and outcome: `ok` or the error code answered.",
    ["command", "outcome"],
)
EVENTS_APPENDED = Counter(
    "itinera_events_appended",
    "Domain events written to the event store by this process, by event type.",
    ["event"],
)
RELAY_PUBLISHED = Counter("itinera_relay_published_events", "Events the relay published to Kafka.")
RELAY_BATCH = Histogram(
    "itinera_relay_batch_size", "Events in each batch the relay published.", buckets=BATCH_BUCKETS
)
RELAY_LAG = Gauge(
    "itinera_relay_lag_events",
    "Events in the notification log the relay has not published yet.",
    multiprocess_mode="max",
)
PROJECTION_APPLIED = Counter(
    "itinera_projection_events_applied",
    "Events a projection applied (skipped duplicates not counted).",
    ["projection"],
)
PROJECTION_LAG_EVENTS = Gauge(
    "itinera_projection_lag_events",
    "Events of a projection's topics it has not applied yet.",
    ["projection"],
    multiprocess_mode="max",
)
PROJECTION_LAG_SECONDS = Gauge(
    "itinera_projection_lag_seconds",
    "Age of the oldest event a projection has not applied yet.",
    ["projection"],
    multiprocess_mode="max",
)
PROJECTION_PARKED = Gauge(
    "itinera_projection_parked_aggregates",
    "Aggregates a projection parked in its dead letters.",
    ["projection"],
    multiprocess_mode="max",
)
WS_CONNECTIONS = Gauge(
    "itinera_websocket_connections",
    "Open WebSocket connections, by socket (chat, notifications).",
    ["socket"],
    multiprocess_mode="livesum",
)
WS_MESSAGES = Counter(
    "itinera_websocket_messages",
    "WebSocket messages, by socket and direction (received, sent).",
    ["socket", "direction"],
)
SYNC_PUSHES = Counter("itinera_sync_pushes", "Sync pushes answered.")
SYNC_CHANGES = Counter(
    "itinera_sync_changes",
    "Changes in sync pushes, by outcome (applied, conflict, error).",
    ["status"],
)
SYNC_PULLS = Counter("itinera_sync_pulls", "Sync pulls answered.")
PLANNER_JOBS = Counter(
    "itinera_planner_jobs",
    "Itinerary draft jobs finished, by outcome (ready, or the failure reason).",
    ["outcome"],
)
PLANNER_TOKENS = Counter(
    "itinera_planner_tokens", "Model tokens spent on drafts, by kind (input, output).", ["kind"]
)
PLANNER_COST = Counter("itinera_planner_cost_usd", "What the model's tokens cost, in USD.")
RATE_LIMIT_REFUSALS = Counter(
    "itinera_rate_limit_refusals",
    "Requests refused with 429, by limit (login_account, login_address, registration, "
    "refresh, writes, ...).",
    ["limit"],
)
DB_POOL = Gauge(
    "itinera_db_pool_connections",
    "Connections of a PostgreSQL pool, by pool and state (size, idle, waiting requests).",
    ["pool", "state"],
    multiprocess_mode="livesum",
)
HOUSEKEEPING_PURGED = Counter(
    "itinera_housekeeping_purged_rows",
    "Expired rows deleted by the periodic purge, by table.",
    ["table"],
)
