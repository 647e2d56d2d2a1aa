"""The distributed mode as real processes: `itinera api` (one or more, sharing Redis),
relay, Faust worker and, when asked for, the planner, over a fresh PostgreSQL database and
the session's Tansu."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

from tests.e2e.processes import Role, run_once, wait_for_http
from tests.services import as_url, free_port, fresh_database


@dataclass
class Stack:
    base_urls: list[str]
    database_url: str
    kafka: str
    apis: list[Role]
    relay: Role
    worker: Role
    planner: Role | None = None
    env: dict[str, str] = field(default_factory=dict)  # what every role was started with
    logs: Path | None = None
    # Where each role without an API serves /metrics and /health (with `metrics_ports`).
    metrics_urls: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.base_urls[0]

    @property
    def api(self) -> Role:
        return self.apis[0]

    def roles(self) -> list[Role]:
        return [*self.apis, self.relay, self.worker, *([self.planner] if self.planner else [])]

    def replace_planner(self, name: str, env: dict[str, str] | None = None) -> Role:
        """Stop the planner (if one runs) and start another, logging to `<name>.log`, with
        `env` over the stack's. It joins a consumer group of its own unless `env` names one:
        Tansu holds a group's next join up for minutes after a member stopped in the middle
        of its first join."""
        assert self.logs is not None
        if self.planner is not None:
            self.planner.stop()
        group = {"ITINERA_PLANNER_GROUP_ID": f"itinera-planner-e2e-{uuid4().hex[:8]}"}
        self.planner = Role(name, ["planner"], {**self.env, **group, **(env or {})}, self.logs)
        return self.planner.start()


@contextmanager
def distributed_stack(
    postgres_admin_url: str,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: Any,
    *,
    partitions: int = 4,
    apis: int = 1,
    planner: bool = False,
    extra_env: dict[str, str] | None = None,
    metrics_ports: bool = False,
) -> Iterator[Stack]:
    logs: Path = tmp_path_factory.mktemp("logs")
    keys: Path = tmp_path_factory.mktemp("keys")
    with fresh_database(postgres_admin_url) as conninfo:
        env = {
            "ITINERA_DATABASE_URL": as_url(conninfo),
            "ITINERA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "ITINERA_TOPIC_PARTITIONS": str(partitions),
            # A group of its own per run: the broker outlives nothing, but be explicit.
            "ITINERA_WORKER_APP_ID": f"itinera-e2e-{uuid4().hex[:8]}",
            "ITINERA_PLANNER_GROUP_ID": f"itinera-planner-e2e-{uuid4().hex[:8]}",
            "ITINERA_KEYS_DIR": str(keys),
            # Not created beforehand: the roles must make what they need, as on a fresh host.
            "ITINERA_DATA_DIR": str(tmp_path_factory.mktemp("data") / "itinera"),
            "ITINERA_REDIS_URL": redis_url,
            "ITINERA_REDIS_NAMESPACE": f"itinera-e2e-{uuid4().hex[:8]}",
            # Every test user logs in from 127.0.0.1.
            "ITINERA_LOGIN_ATTEMPTS_PER_ADDRESS": "10000",
            "ITINERA_REGISTRATIONS_PER_ADDRESS": "10000",  # every test user comes from here
            **(extra_env or {}),
        }
        run_once(["topics", "create"], env)  # first: `keys rotate` tells system-notifications
        run_once(["keys", "rotate"], env)
        ports = [free_port() for _ in range(apis)]
        role_env = {
            name: {**env, "ITINERA_METRICS_PORT": str(free_port())} if metrics_ports else env
            for name in ("relay", "worker", "planner")
        }
        stack = Stack(
            base_urls=[f"http://127.0.0.1:{port}" for port in ports],
            database_url=env["ITINERA_DATABASE_URL"],
            kafka=kafka_bootstrap,
            apis=[
                Role(f"api{n}", ["api", "--port", str(port)], env, logs)
                for n, port in enumerate(ports, 1)
            ],
            relay=Role("relay", ["relay"], role_env["relay"], logs),
            worker=Role("worker", ["worker"], role_env["worker"], logs),
            planner=Role("planner", ["planner"], role_env["planner"], logs) if planner else None,
            env=env,
            logs=logs,
            metrics_urls={
                name: f"http://127.0.0.1:{found['ITINERA_METRICS_PORT']}"
                for name, found in role_env.items()
                if "ITINERA_METRICS_PORT" in found
            },
        )
        try:
            for role in stack.roles():
                role.start()
            for url, api in zip(stack.base_urls, stack.apis, strict=True):
                wait_for_http(f"{url}/health", api)
            yield stack
        finally:
            for role in stack.roles():
                role.stop()
