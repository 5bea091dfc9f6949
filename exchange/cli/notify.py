"""`exchange notify`: the department's webhook, its dead letters, its event stream and case flags."""

from __future__ import annotations

import json
from typing import Any

import click

from exchange import i18n, localtime
from exchange.cli.common import Profile, emit_rows, output_option, profile_options, run
from exchange.client_notify import CaseFlag, DeadLetter

SCHEMES = ("hmac-sha256", "ed25519")
KINDS = ("reminder", "warning", "escalation", "ticket", "licence_status")


def _split(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _letter_row(letter: DeadLetter) -> dict[str, Any]:
    e = letter.event
    return {
        "event": e.id,
        "kind": e.kind,
        "reference": e.reference,
        "attempts": letter.attempts,
        "error": letter.last_error,
        "time": localtime.show(letter.failed_at_us, empty=""),
    }


def _flag_row(flag: CaseFlag) -> dict[str, Any]:
    return {
        "case": flag.case_id,
        "dataset": flag.dataset,
        "key": flag.key,
        "status": flag.status_code,
        "previous": flag.previous_code or "-",
        "source": flag.source,
        "time": localtime.show(flag.raised_at_us, empty=""),
    }


@click.group("notify")
def notify() -> None:
    """Notifications: the department's signed webhook, dead letters, the event stream, case flags."""


@notify.group("webhook")
def webhook() -> None:
    """The department's webhook (its department admin sets it)."""


@webhook.command("set")
@click.argument("url")
@click.option("--scheme", type=click.Choice(SCHEMES), default="hmac-sha256", help="How deliveries are signed.")
@click.option("--secret", default="", help="HMAC secret, hex, 32 bytes or more (default: the hub makes one).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="Event kind wanted (default: all).")
@click.option("--of", "of", default="", help="Department (default: yours).")
@profile_options
def webhook_set(url: str, scheme: str, secret: str, kinds: tuple[str, ...], of: str, profile: Profile) -> None:
    """Send the department's events to URL (https), signed."""

    async def go() -> None:
        async with profile.client() as hub:
            made = await hub.set_webhook(url, scheme=scheme, secret=secret, kinds=_split(kinds), department=of)
        click.echo(
            i18n.tr(
                "cli.notify.webhook_set",
                "webhook set: {url} ({scheme})",
                url=made.webhook.url,
                scheme=made.webhook.scheme,
            )
        )
        if made.secret:
            click.echo(
                i18n.tr(
                    "cli.notify.secret",
                    "shared secret (shown once, keep it in the receiver): {secret}",
                    secret=made.secret,
                )
            )
        if made.webhook.public_key_pem:
            click.echo(i18n.tr("cli.notify.public_key", "the hub's public key, which verifies deliveries:"))
            click.echo(made.webhook.public_key_pem.rstrip())

    run(go())


@webhook.command("show")
@click.option("--of", "of", default="", help="Department (default: yours).")
@profile_options
def webhook_show(of: str, profile: Profile) -> None:
    """Show the department's webhook (never its secret)."""

    async def go() -> None:
        async with profile.client() as hub:
            w = await hub.get_webhook(of)
        if w is None:
            click.echo(i18n.tr("cli.notify.no_webhook", "no webhook is set"))
            return
        kinds = ",".join(w.kinds) or i18n.translate("cli.notify.all_kinds", "all")
        click.echo(
            i18n.tr(
                "cli.notify.webhook_show",
                "{url} ({scheme}; kinds: {kinds}; set by {who} at {when})",
                url=w.url,
                scheme=w.scheme,
                kinds=kinds,
                who=w.updated_by,
                when=localtime.show(w.updated_at_us, empty=""),
            )
        )

    run(go())


@webhook.command("delete")
@click.option("--of", "of", default="", help="Department (default: yours).")
@profile_options
def webhook_delete(of: str, profile: Profile) -> None:
    """Stop sending events; pending deliveries become dead letters."""

    async def go() -> None:
        async with profile.client() as hub:
            deleted = await hub.delete_webhook(of)
        if deleted:
            click.echo(i18n.tr("cli.notify.webhook_deleted", "webhook deleted"))
        else:
            click.echo(i18n.tr("cli.notify.no_webhook", "no webhook is set"))

    run(go())


@notify.group("dead-letters")
def dead_letters() -> None:
    """Events the webhook did not take after every retry."""


@dead_letters.command("list")
@click.option("--of", "of", default="", help="Department (default: yours).")
@output_option
@profile_options
def dead_letters_list(of: str, output: str, profile: Profile) -> None:
    """List the dead letters."""

    async def go() -> None:
        async with profile.client() as hub:
            letters = await hub.list_dead_letters(of)
        columns = ["event", "kind", "reference", "attempts", "error", "time"]
        emit_rows([_letter_row(letter) for letter in letters], columns, output)

    run(go())


@dead_letters.command("redrive")
@click.argument("event_ids", nargs=-1, type=int)
@click.option("--of", "of", default="", help="Department (default: yours).")
@profile_options
def dead_letters_redrive(event_ids: tuple[int, ...], of: str, profile: Profile) -> None:
    """Send dead letters again (all of them when no EVENT_IDS are given)."""

    async def go() -> None:
        async with profile.client() as hub:
            ids = await hub.redrive_dead_letters(list(event_ids), of)
        click.echo(
            i18n.tr(
                "cli.notify.redriven",
                "back in line: {count} ({ids})",
                count=len(ids),
                ids=", ".join(map(str, ids)) or "-",
            )
        )

    run(go())


@notify.command("subscribe")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="Event kind wanted (default: all).")
@click.option("--after", type=int, default=0, help="Resume after this event id.")
@click.option("--limit", type=int, default=0, help="Stop after this many events (default: run until stopped).")
@profile_options
def subscribe(kinds: tuple[str, ...], after: int, limit: int, profile: Profile) -> None:
    """Print the department's events as JSON lines, then new ones as they happen."""

    async def go() -> None:
        count = 0
        async with profile.client() as hub:
            async for event in hub.subscribe(kinds=_split(kinds), after_event_id=after):
                record = {
                    "id": event.id,
                    "kind": event.kind,
                    "department": event.department,
                    "reference": event.reference,
                    "time": localtime.show(event.time_us, empty=""),
                    "data": event.data,
                }
                click.echo(json.dumps(record, ensure_ascii=False), nl=True)
                count += 1
                if limit and count >= limit:
                    return

    run(go())


@notify.command("flags")
@click.option("--case", "case_id", default="", help="One case (default: every case of your department).")
@output_option
@profile_options
def flags(case_id: str, output: str, profile: Profile) -> None:
    """Cases holding a licence whose status changed (revoked, suspended, renewed)."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.list_case_flags(case_id)
        columns = ["case", "dataset", "key", "status", "previous", "source", "time"]
        emit_rows([_flag_row(f) for f in found], columns, output)

    run(go())
