"""Kafka topics and signing keys."""

from __future__ import annotations

import typer

from infra.cli.app import fail, keys_cli, load_settings, topics_cli
from infra.cli.roles import check_topics


@topics_cli.command("create")
def topics_create() -> None:
    """Create the domain topics with ITINERA_TOPIC_PARTITIONS partitions."""
    from infra.kafka import create_topics

    settings = load_settings()
    created = create_topics(
        settings.kafka_bootstrap_servers,
        settings.topic_partitions,
        settings.topic_replication_factor,
    )
    typer.echo(f"created: {', '.join(created) or 'nothing (all exist)'}")
    check_topics(settings)


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; older keys keep verifying until retired."""
    from infra.identity.keys import rotate_key

    settings = load_settings()
    kid = rotate_key(settings.keys_folder)
    typer.echo(f"new signing key {kid} in {settings.keys_folder}")


@keys_cli.command("list")
def keys_list() -> None:
    """The keys that verify tokens, and which one signs."""
    from infra.identity.keys import load_key_ring

    ring = load_key_ring(load_settings().keys_folder)
    for kid in sorted(ring.public_keys):
        typer.echo(f"{kid}{'  (signing)' if kid == ring.signing_kid else ''}")


@keys_cli.command("retire")
def keys_retire(kid: str) -> None:
    """Remove a key: tokens it signed stop verifying (wait until they expired)."""
    from infra.identity.keys import KeyFolderError, retire_key

    try:
        retire_key(load_settings().keys_folder, kid)
    except (KeyFolderError, FileNotFoundError) as error:
        raise fail(str(error)) from None
    typer.echo(f"retired {kid}")
