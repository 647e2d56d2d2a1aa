"""Kafka topics and signing keys."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from infra.cli.app import fail, keys_cli, load_settings, topics_cli
from infra.cli.roles import check_topics


@topics_cli.command("create")
def topics_create() -> None:
    """Create the topics (domain, analytics, system notifications) with
    ITINERA_TOPIC_PARTITIONS partitions and their retention from settings."""
    from infra.kafka import create_topics
    from streams.topics import ALL_TOPICS, SYSTEM_NOTIFICATIONS

    settings = load_settings()
    retention = {topic: settings.topic_retention_ms for topic in ALL_TOPICS}
    retention[SYSTEM_NOTIFICATIONS] = settings.system_topic_retention_ms
    created = create_topics(
        settings.kafka_bootstrap_servers,
        settings.topic_partitions,
        settings.topic_replication_factor,
        retention,
    )
    typer.echo(f"created: {', '.join(created) or 'nothing (all exist)'}")
    check_topics(settings)


@keys_cli.command("rotate")
def keys_rotate(
    now: Annotated[
        bool, typer.Option("--now", help="Sign with it at once (a compromised key).")
    ] = False,
) -> None:
    """Add a new signing key: published at once, signing after
    ITINERA_KEY_ACTIVATION_DELAY_SECONDS; older keys keep verifying until retired."""
    from infra.identity.keys import activation_of, rotate_key

    settings = load_settings()
    delay = 0.0 if now else settings.key_activation_delay_seconds
    kid = rotate_key(settings.keys_folder, activate_after=delay)
    active_from = activation_of(settings.keys_folder, kid)
    when = (
        "signs now"
        if active_from <= time.time()
        else f"signs from {_instant(active_from)} (in {delay:g} s: every instance reloads"
        " the folder within 5 s)"
    )
    typer.echo(f"new signing key {kid} in {settings.keys_folder}: published now, {when}")
    if settings.kafka_configured:
        from infra.system_notices import SystemNotices

        notices = SystemNotices(settings.kafka_bootstrap_servers)
        try:
            notices.key_rotated(kid, datetime.fromtimestamp(active_from, UTC))
        finally:
            notices.close()


def _instant(epoch: float) -> str:
    return f"{datetime.fromtimestamp(epoch, UTC):%Y-%m-%dT%H:%M:%SZ}"


@keys_cli.command("list")
def keys_list() -> None:
    """The keys that verify tokens, which one signs, and which are scheduled to."""
    from infra.identity.keys import load_key_ring, read_schedule

    folder = load_settings().keys_folder
    ring, pending = load_key_ring(folder), dict(read_schedule(folder))
    for kid in sorted(ring.public_keys):
        if kid == ring.signing_kid:
            typer.echo(f"{kid}  (signing)")
        elif pending.get(kid, 0.0) > time.time():
            typer.echo(f"{kid}  (signs from {_instant(pending[kid])})")
        else:
            typer.echo(kid)


@keys_cli.command("retire")
def keys_retire(kid: str) -> None:
    """Remove a key: tokens it signed stop verifying (wait until they expired)."""
    from infra.identity.keys import KeyFolderError, retire_key

    try:
        retire_key(load_settings().keys_folder, kid)
    except (KeyFolderError, FileNotFoundError) as error:
        raise fail(str(error)) from None
    typer.echo(f"retired {kid}")
