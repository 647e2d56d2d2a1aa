"""`itinera contracts export`: the published contracts as committed documents (JSON Schemas
and one AsyncAPI document), written or checked against what the code generates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_OUT = Path("docs/contracts")
SCHEMAS_GLOB = "schemas/**/*.json"

contracts_cli = typer.Typer(
    help="The published Kafka contracts as documents (JSON Schema, AsyncAPI).",
    no_args_is_help=True,
)


@contracts_cli.command("export")
def export(
    out: Annotated[
        Path, typer.Option("--out", help="The contracts folder.", file_okay=False)
    ] = DEFAULT_OUT,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 listing the files that differ."),
    ] = False,
    allow_breaking: Annotated[
        bool,
        typer.Option(
            "--allow-breaking",
            help="Overwrite a schema with a breaking change (only for a contract never "
            "released: otherwise add a new schema_version and an upgrader).",
        ),
    ] = False,
) -> None:
    """Write asyncapi.json and schemas/<topic>/<EventType>.v<N>.json, and remove the schema
    files no contract generates any more. Refuses to overwrite a published schema with a
    breaking change."""
    from streams.contract_documents import document_files

    files = document_files()
    broken = breaking(out, files)
    if check:
        differing = differences(out, files)
        if differing:
            typer.echo(f"{out} differs from the contracts in the code:", err=True)
            for line in differing + broken:
                typer.echo(f"  {line}", err=True)
            typer.echo("Run `itinera contracts export` and commit the result.", err=True)
            raise typer.Exit(code=1)
        typer.echo(f"{out}: up to date ({len(files)} files)")
        return
    if broken and not allow_breaking:
        typer.echo("Breaking changes to published schemas (nothing written):", err=True)
        for line in broken:
            typer.echo(f"  {line}", err=True)
        typer.echo(
            "Publish the change as a new schema_version with an upgrader from the old one "
            "(see docs/contracts/README.md), or pass --allow-breaking for a contract no "
            "consumer has seen.",
            err=True,
        )
        raise typer.Exit(code=1)
    written, removed = write(out, files)
    typer.echo(f"{out}: {len(files)} files, {len(written)} written, {len(removed)} stale removed")


def differences(out: Path, files: dict[str, str]) -> list[str]:
    """`path: missing|differs|stale` for each file under `out` that is not as generated."""
    found = []
    for path, text in sorted(files.items()):
        target = out / path
        if not target.is_file():
            found.append(f"{path}: missing")
        elif target.read_text(encoding="utf-8") != text:
            found.append(f"{path}: differs")
    found += [f"{path}: stale" for path in stale(out, files)]
    return found


def breaking(out: Path, files: dict[str, str]) -> list[str]:
    """`path: reason` for each breaking change from a schema file under `out` to the one
    generated for the same event type and version."""
    from streams.contract_compat import breaking_changes

    found = []
    for path, text in sorted(files.items()):
        target = out / path
        if path.startswith("schemas/") and target.is_file():
            old = json.loads(target.read_text(encoding="utf-8"))
            found += [f"{path}: {reason}" for reason in breaking_changes(old, json.loads(text))]
    return found


def stale(out: Path, files: dict[str, str]) -> list[str]:
    """Schema files under `out` that no contract generates any more."""
    present = (path.relative_to(out).as_posix() for path in out.glob(SCHEMAS_GLOB))
    return sorted(path for path in present if path not in files)


def write(out: Path, files: dict[str, str]) -> tuple[list[str], list[str]]:
    """Write the files that changed and remove stale ones; returns (written, removed)."""
    written = []
    for path, text in sorted(files.items()):
        target = out / path
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(path)
    removed = stale(out, files)
    for path in removed:
        (out / path).unlink()
    for folder in sorted((out / "schemas").glob("**/"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return written, removed
