"""What every part of the registry shares: the hub, the log entry of a change, refusals logged."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from catalog.model import Dataset
from exchange.audit.recorder import entry_of
from exchange.auth.identity import Caller
from exchange.errors import ExchangeError
from exchange.hub import Hub
from exchange.policy import Facts, Thing


@dataclass(frozen=True)
class Registered:
    """What a registration did: the stored object, an outcome word and the schema changes."""

    outcome: str
    changes: tuple[str, ...] = ()


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def logs_refusal(operation: str) -> Callable[[F], F]:
    """A refused change is written to the access log too (by the one recorder) before the error goes back."""

    def decorate(method: F) -> F:
        signature = inspect.signature(method)

        @functools.wraps(method)
        async def logged(self: RegistryBase, *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, *args, **kwargs)
            except ExchangeError as error:
                arguments = signature.bind(self, *args, **kwargs).arguments
                dataset = arguments.get("dataset")
                target = arguments.get("request_id")
                await self.hub.record(
                    entry_of(
                        arguments["caller"],
                        operation,
                        error=error,
                        dataset=dataset[:64] if isinstance(dataset, str) else "",
                        # What the refused change was about (an access request's id), as allowed changes log it.
                        details={"target": target[:64]} if isinstance(target, str) and target else {},
                    )
                )
                raise

        return logged  # type: ignore[return-value]

    return decorate


class RegistryBase:
    """The hub every part of the registry works through, and the log entry of each change."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def _log_change(self, caller: Caller, operation: str, target: str, summary: str, **extra: str) -> None:
        await self.hub.record(
            entry_of(
                caller,
                operation,
                dataset=extra.pop("dataset", ""),
                details={"target": target, "summary": summary, **extra},
            )
        )


def dataset_facts(ds: Dataset) -> Facts:
    """What grants and access requests look at: the owner and whether the law lets the dataset be shared."""
    return Facts(
        department=ds.owner,
        what=Thing("dataset", ds.code),
        sharing_type=ds.sharing_type.value,
        legal_basis=ds.legal_basis,
    )


def who_of(caller: Caller) -> str:
    return f"{caller.department}/{caller.officer_id}"[:200]
