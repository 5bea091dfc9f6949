"""The policy's scope refusals as sentences with a key and values, so each edge can say them in its reader's language.

A refusal keeps its English `message` (the log and machines read it); beside it the decision carries the
sentence's key and the values it names. `error_for` puts both in the error's metadata, and
`exchange.error_text` says the sentence in the language asked for (the console's refusal page, the
LocalizedMessage of a gRPC status). The thing refused is a `Thing` (a kind and a name), so it is said
in that language too; a refusal about free text falls back to the text of its reason code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from exchange import i18n
from exchange.i18n import N_

# The metadata keys a refusal's sentence is carried in (ErrorInfo metadata on the wire).
MESSAGE_KEY = "message_key"
WHAT_KIND = "what_kind"
WHAT_NAME = "what_name"

# What a refusal can be about, by kind; `{name}` is the code or id of the thing.
THINGS: dict[str, str] = {
    "dataset": N_("policy.thing.dataset", "dataset {name}"),
    "department": N_("policy.thing.department", "department {name}"),
    "case": N_("policy.thing.case", "case {name}"),
    "cases_of": N_("policy.thing.cases_of", "the cases of {name}"),
    "ticket": N_("policy.thing.ticket", "ticket {name}"),
    "access_request": N_("policy.thing.access_request", "access request {name}"),
    "grant": N_("policy.thing.grant", "grant {name}"),
    "grant_on": N_("policy.thing.grant_on", "the grant on {name}"),
    "access_of": N_("policy.thing.access_of", "the access of {name}"),
    "roles_of": N_("policy.thing.roles_of", "the roles of {name}"),
    "service_item": N_("policy.thing.service_item", "service item {name}"),
    "webhook_of": N_("policy.thing.webhook_of", "the webhook of {name}"),
    "dead_letters_of": N_("policy.thing.dead_letters_of", "the dead letters of {name}"),
    "log_entry": N_("policy.thing.log_entry", "this entry"),
}

# The roles as people read them (the console's role names are these).
ROLE_NAMES: dict[str, str] = {
    "officer": N_("role.officer", "officer"),
    "hub_admin": N_("role.hub_admin", "hub administrator"),
    "dept_admin": N_("role.dept_admin", "department administrator"),
    "auditor": N_("role.auditor", "auditor"),
    "supervisor": N_("role.supervisor", "supervisor"),
}

# The scope refusals, by key. English names the roles by code (as tokens carry them); other languages by name.
REFUSALS: dict[str, str] = {
    "own_department": N_(
        "policy.refusal.own_department",
        "{what} belongs to {belongs_to}; only that department may do this ({operation}); you act for {acting_for}",
    ),
    "own_department_or_roles": N_(
        "policy.refusal.own_department_or_roles",
        "{what} belongs to {belongs_to}; only that department or the roles [{roles}] may do this ({operation}); "
        "you act for {acting_for}",
    ),
    "owner_admin": N_(
        "policy.refusal.owner_admin",
        "only a department admin of {belongs_to}, which owns {what}, may do this ({operation}); "
        "you act for {acting_for}",
    ),
    "not_involved": N_("policy.refusal.not_involved", "{acting_for} is not involved in {what} (involved: {parties})"),
    "no_party": N_(
        "policy.refusal.no_party", "{acting_for} is no party to {what}; only its parties may do this ({operation})"
    ),
    "no_party_or_roles": N_(
        "policy.refusal.no_party_or_roles",
        "{acting_for} is no party to {what}; only its parties or the roles [{roles}] may do this ({operation})",
    ),
}


@dataclass(frozen=True)
class Thing:
    """What a decision is about: a kind of `THINGS` and its name (in English: "dataset business_licence")."""

    kind: str
    name: str = ""

    def __str__(self) -> str:
        return THINGS[self.kind].format(name=self.name)

    def said_in(self, language: str) -> str:
        """The thing as a reader of `language` calls it."""
        return _in(language, f"policy.thing.{self.kind}", THINGS[self.kind]).format(name=self.name)


def _in(language: str, context: str, source: str) -> str:
    """A message of the tables above (each marked where it is defined) in `language`."""
    return i18n.catalogue(language).pgettext(context, source)


def english(key: str, values: Mapping[str, str]) -> str:
    """The refusal `key` in English, as the access log records it."""
    return REFUSALS[key].format_map(values)


def said_in(metadata: Mapping[str, str], language: str) -> str | None:
    """The refusal carried in an error's `metadata`, in `language`; None when it carries no sentence to say."""
    key = metadata.get(MESSAGE_KEY, "")
    kind = metadata.get(WHAT_KIND, "")
    if key not in REFUSALS or kind not in THINGS:
        return None
    values = dict(metadata)
    values["what"] = Thing(kind, metadata.get(WHAT_NAME, "")).said_in(language)
    roles = [r for r in metadata.get("roles", "").split(", ") if r]
    if language != "en":
        values["roles"] = i18n.translate("policy.role_separator", ", ", language).join(
            _in(language, f"role.{r}", ROLE_NAMES[r]) if r in ROLE_NAMES else r for r in roles
        )
    try:
        return _in(language, f"policy.refusal.{key}", REFUSALS[key]).format_map(values)
    except (KeyError, IndexError, ValueError):
        return None
