"""`exchange audit`: query the access log, prove and verify it, export and archive it.

The commands live in three modules by what they need: `audit_online` asks a running hub (a
profile's identity), `audit_database` reads the hub's database directly (export, verify, archive),
and `audit_offline` needs only files and the hub's public key (`check-proof`, `verify-export`).
"""

from __future__ import annotations

import click

from exchange.cli import audit_database, audit_offline, audit_online


@click.group("audit")
def audit() -> None:
    """The access log: query, citizen reports, checkpoints, proofs, export, verify, archive."""


for _command in (*audit_online.COMMANDS, *audit_offline.COMMANDS, *audit_database.COMMANDS):
    audit.add_command(_command)
