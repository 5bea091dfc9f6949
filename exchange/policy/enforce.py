"""A refusal as the domain error it raises: the one mapping from a decision's status to an error type."""

from __future__ import annotations

from exchange.auth.identity import Caller
from exchange.errors import ExchangeError, NotFound, PermissionDenied
from exchange.policy.decision import NOT_FOUND, Decision
from exchange.policy.rules import Facts, decide, sees_all
from exchange.policy.sentences import MESSAGE_KEY


def error_for(decision: Decision, **metadata: str) -> ExchangeError:
    """The error that answers a refusal: NotFound where the thing is hidden, else PermissionDenied.

    A refusal with a sentence carries its key and values, so each edge says it in its reader's language.
    """
    kind = NotFound if decision.refusal_status == NOT_FOUND else PermissionDenied
    data = {k: v for k, v in decision.values.items() if v and k != "what"}
    if decision.message_key:
        data[MESSAGE_KEY] = decision.message_key
    data |= {k: v for k, v in metadata.items() if v}
    if decision.subject:
        data["subject_id"] = decision.subject
    return kind(decision.message, reason=decision.reason, metadata=data)


def enforce(caller: Caller, operation: str, facts: Facts | None = None, **metadata: str) -> Decision:
    """Decide and raise the refusal; returns the allowing decision (its trail) otherwise."""
    decision = decide(caller, operation, facts)
    if not decision.allowed:
        raise error_for(decision, **metadata)
    return decision


def enforce_list_scope(caller: Caller, operation: str) -> str:
    """The department a list is narrowed to: '' when `caller` oversees every department, else its own.

    Raises the refusal when the caller's roles may not list at all.
    """
    enforce(caller, operation)
    return "" if sees_all(caller, operation) else caller.department
