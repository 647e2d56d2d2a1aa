"""Which copy of a projection's tables a statement names: the live tables, or a rebuild's
shadow (`<table>__shadow`), swapped in by renaming when the rebuild is complete."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql


@dataclass(frozen=True)
class Generation:
    suffix: str

    def table(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.name_of(name))

    def name_of(self, name: str) -> str:
        return f"{name}{self.suffix}"


LIVE = Generation("")
SHADOW = Generation("__shadow")
RETIRED = Generation("__retired")


def tracking_table(projection: str) -> str:
    return f"{projection}_tracking"


def dead_letters_table(projection: str) -> str:
    return f"{projection}_dead_letters"
