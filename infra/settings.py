"""The one settings object. Read from the environment (prefix ITINERA_) or a `.env` file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ITINERA_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL for the event store and read models. Unset: `itinera serve` "
        "starts an embedded PostgreSQL in data_dir.",
    )
    data_dir: Path = Field(default=Path(".itinera"), description="Embedded mode's data.")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_partitions: int = Field(default=8, ge=1)
    worker_app_id: str = "itinera-projections"
    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll_interval: float = Field(
        default=0.05,
        gt=0,
        description="Longest wait of the relay (and the embedded projector) between looks at "
        "an idle log; right after finding events they look again at once.",
    )
    event_store_lock_timeout: int = Field(
        default=5,
        ge=0,
        description="Seconds a save waits for the event store's insert lock before failing "
        "(0: no limit).",
    )
    projection_batch_size: int = Field(default=500, ge=1, description="Events per batch.")
    projection_batch_wait: float = Field(
        default=0.01, gt=0, description="Seconds a worker batch waits to fill up."
    )
    projection_attempts: int = Field(
        default=3, ge=1, description="Tries of a failing event before it is parked."
    )
    projection_retry_backoff: float = Field(
        default=0.1, gt=0, description="Seconds before the second try, doubling each time."
    )
    projection_stall_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A projection behind and making no progress this long is reported stalled.",
    )
    rebuild_jobs: int = Field(
        default=0,
        ge=0,
        description="Processes that scan the event store during a rebuild (0: one per core; "
        "small histories use one).",
    )
    worker_fetch_max_wait_ms: int = Field(
        default=50,
        ge=0,
        description="How long the broker may hold the worker's fetch when no data is there.",
    )
    consistency_timeout: float = Field(
        default=2.0, gt=0, le=10, description="Longest wait of `GET ...?min_version=N`."
    )
    write_pacing_limit: int = Field(
        default=16,
        ge=0,
        description="A command waits (at most ITINERA_CONSISTENCY_TIMEOUT seconds) while this "
        "many of this process's trip writes are not yet in the trip views, so that reads, "
        "which wait for them, stay quick under a heavy write load (0: no pacing).",
    )
    project_in_process: bool = Field(
        default=False,
        description="Run the projections inside the API process from the notification log "
        "(embedded mode; `itinera serve` sets it). Off: a Faust worker projects from Kafka.",
    )
    topic_replication_factor: int = Field(default=1, ge=1)
    analytics_rates: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Exchange rates for analytics, as JSON: the value of one unit of each "
        'currency in a common unit (`{"EUR": 1, "USD": "0.92"}`). Set: activity facts also '
        "carry their cost converted into the trip's currency. Unset: costs stay as they are.",
    )
    topic_retention_ms: int = Field(
        default=-1,
        ge=-1,
        description="Retention of the domain and analytics topics (-1: kept for good, so a "
        "consumer can read them from the beginning).",
    )
    system_topic_retention_ms: int = Field(
        default=7 * 24 * 3600 * 1000,
        ge=-1,
        description="Retention of `system-notifications` (operational events; a week).",
    )
    keys_dir: Path | None = Field(
        default=None,
        description="Folder of the RS256 signing keys (default: data_dir/keys). `itinera keys "
        "rotate` adds one; embedded mode generates the first on start.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for rate limits and live delivery (chat), shared by every API "
        "instance (required for `itinera api --workers N` with N > 1). Unset: both stay "
        "in the process.",
    )
    redis_namespace: str = Field(default="itinera", description="Prefix of every Redis key.")
    redis_timeout: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="Longest a Redis call may take; past it the request is refused with 503 "
        "dependency_unavailable (fail closed).",
    )
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=30)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    refresh_grace_seconds: float = Field(
        default=10.0,
        ge=0,
        le=120,
        description="How long the refresh token just replaced may be presented again and get "
        "the same new pair (the reply was lost); past it, reuse revokes the whole family.",
    )
    default_currency: str = Field(
        default="EUR",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217: the currency of a cost given without one, in a trip that has "
        "no currency of its own.",
    )
    key_activation_delay_seconds: float = Field(
        default=30.0,
        ge=10.0,
        description="How long after `itinera keys rotate` the new key starts signing: longer "
        "than the 5 s in which every API instance reloads the keys folder and publishes it.",
    )
    login_attempts_per_account: int = Field(
        default=5, ge=1, description="Failed logins per account (by username or email)."
    )
    login_attempts_per_address: int = Field(
        default=20, ge=1, description="Failed logins per client address."
    )
    login_window_seconds: int = Field(default=300, ge=1)
    registrations_per_address: int = Field(default=10, ge=1)
    registration_window_seconds: int = Field(default=3600, ge=1)
    refreshes_per_address: int = Field(default=120, ge=1)
    refresh_window_seconds: int = Field(default=60, ge=1)
    writes_per_user: int = Field(default=120, ge=1)
    writes_window_seconds: int = Field(default=60, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
    command_threads: int = Field(
        default=8,
        ge=1,
        description="Threads per API process running blocking work (commands against the "
        "event store, and its reads): they share one interpreter lock with the event loop, so "
        "more only slow the loop down; the requests beyond wait in the loop.",
    )
    projection_pool_size: int = Field(
        default=4,
        ge=1,
        description="Embedded mode: connections of the in-process projections, apart from "
        "the requests' pool (a busy projector never makes a request wait for a connection).",
    )
    ws_ticket_ttl_seconds: int = Field(
        default=30, ge=5, le=300, description="How long a WebSocket ticket may wait for use."
    )
    ws_recheck_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="How often an open socket checks its token (revoked, expired) and its "
        "user's membership: a revoked token or a removed member is disconnected within this "
        "time (a removal usually sooner: its system message triggers the check).",
    )
    ws_send_queue: int = Field(
        default=256,
        ge=8,
        description="Messages a socket may have waiting to be sent; a client slower than "
        "that is disconnected (4008) rather than held in memory.",
    )
    reminder_lead_minutes: float = Field(
        default=60, gt=0, description="How long before an activity starts its members are reminded."
    )
    reminder_check_seconds: float = Field(
        default=30, gt=0, le=3600, description="How often upcoming activities are looked for."
    )
    embedding_model: str = Field(
        default="auto",
        pattern=r"^(auto|minilm|hashed)$",
        description="What embeds trips for recommendations: `minilm` (all-MiniLM-L6-v2, needs "
        "the `embeddings` extra), `hashed` (feature hashing, no dependency), `auto` (minilm "
        "when installed). After a change, `itinera rebuild recommendation_catalogue`.",
    )
    recommendation_radius_km: float = Field(
        default=50.0,
        gt=0,
        le=1000,
        description="How far from a trip's destination activities are suggested (destinations: "
        "three times as far).",
    )
    avatar_max_bytes: int = Field(
        default=5 * 1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest avatar upload; a larger file is refused with 413 payload_too_large.",
    )
    avatar_sizes: list[int] = Field(
        default=[64, 256, 512],
        min_length=1,
        description="Square sizes (pixels) every avatar is stored in, as JSON (`[64, 256, 512]`); "
        "the profile's avatar URL is the largest.",
    )
    storage: str = Field(
        default="auto",
        pattern=r"^(auto|folder|s3)$",
        description="Where avatars are stored: `folder` (data_dir/media, served by the API at "
        "/media/), `s3` (S3-compatible object storage), `auto` (s3 when s3_bucket is set).",
    )
    s3_bucket: str | None = Field(default=None, description="Bucket of the stored avatars.")
    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3-compatible endpoint (MinIO, Ceph, R2, ...: e.g. http://minio:9000). "
        "Unset: AWS S3.",
    )
    s3_region: str | None = Field(default=None, description="Region of the bucket.")
    s3_access_key_id: str | None = Field(
        default=None, description="Unset: boto3's usual credentials (environment, role)."
    )
    s3_secret_access_key: str | None = Field(default=None, repr=False, description="Never logged.")
    media_base_url: str | None = Field(
        default=None,
        description="Public URL under which stored avatars are read (a CDN, or the bucket's "
        "public URL). Unset: `/media` on the API (folder), the endpoint's path-style URL of "
        "the bucket (s3).",
    )
    ws_ping_seconds: float = Field(
        default=20.0, gt=0, description="WebSocket ping interval (and pong timeout)."
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest request body.")
    sync_max_changes: int = Field(
        default=500,
        ge=1,
        le=5000,
        description="Most changes one sync push may carry; more is refused with 413 "
        "(send them in batches: each change is answered on its own).",
    )
    sync_max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest sync push body (a batch of changes is larger than a command).",
    )
    sync_page_limit: int = Field(
        default=500, ge=1, le=5000, description="Most entities one sync pull returns."
    )
    sync_cursor_ttl_days: float = Field(
        default=30,
        gt=0,
        description="How long a sync cursor may be used; an older one gets 410 "
        "sync_reset_required. Tombstones are kept at least this long.",
    )
    sync_timestamp_margin_seconds: float = Field(
        default=60,
        ge=0,
        description="How far before a seed client's last_sync_timestamp a pull starts (longer "
        "than a projection batch may take to commit): duplicates are harmless, misses are not.",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible API of the itinerary planner (vLLM, llama.cpp server, "
        "Ollama: e.g. http://127.0.0.1:11434/v1). Unset: OpenAI's own API.",
    )
    llm_api_key: str | None = Field(
        default=None,
        repr=False,
        description="API key of the planner's provider (any text for a server that ignores "
        "it). Unset: drafts are made by the offline scheduler only. Never logged.",
    )
    llm_model: str = Field(
        default="gpt-4o-mini",
        description="Model that drafts itineraries; it must support structured outputs "
        "(strict JSON schema).",
    )
    llm_timeout_seconds: float = Field(
        default=60, gt=0, description="Longest wait for one answer of the model."
    )
    llm_max_retries: int = Field(
        default=2,
        ge=0,
        description="Retries of a rate-limited, failed or timed-out call (with backoff "
        "honouring Retry-After) before the draft fails.",
    )
    llm_max_output_tokens: int = Field(
        default=8000, ge=256, description="Most tokens one answer may hold."
    )
    llm_price_input_per_mtok: Decimal = Field(
        default=Decimal("0.15"),
        ge=0,
        description="Price of a million input tokens in USD, for the drafts' recorded cost.",
    )
    llm_price_output_per_mtok: Decimal = Field(
        default=Decimal("0.60"),
        ge=0,
        description="Price of a million output tokens in USD, for the drafts' recorded cost.",
    )
    planner_daily_quota: int = Field(
        default=20,
        ge=0,
        description="Itinerary drafts each user may have made per UTC day (charged when a job "
        "starts, refunded when it fails through no fault of the user; cached drafts are free).",
    )
    planner_cache_seconds: int = Field(
        default=3600,
        ge=0,
        description="How long a draft answers an identical request (same trip content, "
        "preferences and model) without asking the model again (0: never).",
    )
    planner_reasks: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Times an LLM draft that breaks a rule is sent back with the precise "
        "errors before it is repaired deterministically.",
    )
    planner_max_attempts: int = Field(
        default=3,
        ge=1,
        description="Starts of one draft's job (crashed ones included) before it is failed.",
    )
    planner_concurrency: int = Field(
        default=4, ge=1, description="Draft jobs one planner process runs at once."
    )
    planner_sweep_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Embedded mode: how often unfinished drafts (asked for before a restart) "
        "are looked for and taken up again.",
    )
    planner_group_id: str = Field(
        default="itinera-planner", description="The planner role's Kafka consumer group."
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server that account mails (password reset, email verification) "
        "are handed to. Unset: each mail is written as an .eml file to mailbox_dir instead.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "tls"] = Field(
        default="starttls",
        description="`starttls`: upgrade the connection (port 587); `tls`: TLS from the "
        "start (port 465); `none`: plain text (a relay on the same host only).",
    )
    smtp_username: str | None = Field(default=None, description="Unset: no SMTP login.")
    smtp_password: str | None = Field(default=None, repr=False, description="Never logged.")
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, description="Per SMTP exchange.")
    mail_from: str = Field(
        default="Itinera <no-reply@itinera.localhost>", description="Sender of account mails."
    )
    mailbox_dir: Path | None = Field(
        default=None,
        description="Where mails go when no SMTP server is set: one .eml file per message "
        "(default: data_dir/mailbox).",
    )
    mail_attempts: int = Field(
        default=4, ge=1, description="Tries to hand one mail over before the event is retried."
    )
    mail_retry_backoff_seconds: float = Field(
        default=0.5, gt=0, description="Wait before the second try, doubling each time."
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base of the links in account mails (the web app's address): "
        "`/reset-password#token=...`, `/verify-email#token=...`.",
    )
    password_reset_ttl_seconds: int = Field(
        default=900, ge=1, le=86400, description="How long a password-reset link works."
    )
    email_verification_ttl_seconds: int = Field(
        default=48 * 3600, ge=1, description="How long an email verification link works."
    )
    password_resets_per_address: int = Field(
        default=10, ge=1, description="Password-reset requests per client address per window."
    )
    password_resets_per_account: int = Field(
        default=3, ge=1, description="Password-reset requests per email address per window."
    )
    password_reset_window_seconds: int = Field(default=3600, ge=1)
    account_token_attempts_per_address: int = Field(
        default=20,
        ge=1,
        description="Uses of reset and verification tokens (and verification resends) per "
        "client address per account_token_window_seconds.",
    )
    account_token_window_seconds: int = Field(default=300, ge=1)
    password_reset_answer_seconds: float = Field(
        default=0.25,
        ge=0,
        le=5,
        description="A password-reset request is answered no sooner than this after it "
        "arrived, whether the address has an account or not (no timing oracle).",
    )
    unverified_found_by_email: bool = Field(
        default=False,
        description="Whether an account whose address is not verified can be found by that "
        "address in user search. An unverified account may do everything else.",
    )
    log_level: str = "INFO"
    log_format: str = Field(
        default="auto",
        pattern=r"^(auto|json|console)$",
        description="`json`: one JSON object per line; `console`: lines for a person; `auto`: "
        "console when standard error is a terminal, else JSON.",
    )
    access_log: bool = Field(
        default=True,
        description="Whether the API logs a line per HTTP request (uvicorn's access log). "
        "Off where a proxy in front keeps one, or to spare its cost per request.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port on which the relay, worker and planner roles serve `/metrics` "
        "(Prometheus) and `/health/` (unset: not served). The API serves both on its own port.",
    )
    health_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        le=30,
        description="Longest a health check waits for one dependency before calling it down.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP endpoint of an OpenTelemetry collector (e.g. "
        "http://otel-collector:4318): traces are exported there. Unset: tracing is off unless "
        "the standard `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_TRACES_EXPORTER` is set.",
    )
    shutdown_grace_seconds: float = Field(
        default=20.0,
        ge=0,
        description="On SIGTERM, how long a role may take to finish what it holds (requests, "
        "WebSocket connections, the relay's and the projector's batch) before it stops.",
    )
    housekeeping_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How often expired rows (revoked tokens past their expiry, old draft cache "
        "entries, ...) are purged, by the worker and in embedded mode.",
    )
    projection_wrapper: str | None = Field(
        default=None,
        description="`module:function` applied to every projection before it runs: a hook "
        "for fault injection in tests. Never set it in production.",
    )

    @field_validator("analytics_rates")
    @classmethod
    def _real_rates(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        from infra.exchange_rates import ExchangeRates

        ExchangeRates(rates)  # raises ValueError naming the bad currency or rate
        return rates

    @property
    def kafka_configured(self) -> bool:
        """Kafka named explicitly (ITINERA_KAFKA_BOOTSTRAP_SERVERS): the operator's commands
        then publish what they do (analytics facts of retried events, system notices)."""
        return "kafka_bootstrap_servers" in self.model_fields_set

    @property
    def mailbox_folder(self) -> Path:
        return self.mailbox_dir or self.data_dir / "mailbox"

    @property
    def keys_folder(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"
