"""NotificationService: the department's event stream, its webhook and dead letters, and case flags."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from grpc import aio

from exchange.notifications import NotificationDesk
from exchange.services import caller
from exchange.storage.notification_store import StoredEvent, Webhook
from exchange.v1 import notifications_pb2, notifications_pb2_grpc
from exchange.webhook_signature import ED25519
from exchange.wire import to_message

Ctx = aio.ServicerContext[Any, Any]


def event_to_proto(stored: StoredEvent) -> notifications_pb2.Event:
    e = stored.event
    return notifications_pb2.Event(
        id=stored.id,
        kind=e.kind.value,
        department=e.department,
        reference=e.reference,
        time_us=e.time_us,
        data={k: str(v) for k, v in e.data.items()},
    )


def webhook_to_proto(hook: Webhook, public_key_pem: str) -> notifications_pb2.Webhook:
    return to_message(notifications_pb2.Webhook, hook, public_key_pem=public_key_pem if hook.scheme == ED25519 else "")


class NotificationServicer(notifications_pb2_grpc.NotificationServiceServicer):
    def __init__(self, desk: NotificationDesk) -> None:
        self.desk = desk

    async def Subscribe(
        self, request: notifications_pb2.SubscribeRequest, context: Ctx
    ) -> AsyncIterator[notifications_pb2.SubscribeResponse]:
        async for stored in self.desk.subscribe(caller(), list(request.kinds), request.after_event_id):
            yield notifications_pb2.SubscribeResponse(event=event_to_proto(stored))

    async def SetWebhook(
        self, request: notifications_pb2.SetWebhookRequest, context: Ctx
    ) -> notifications_pb2.SetWebhookResponse:
        hook, made = await self.desk.set_webhook(
            caller(), request.department, request.url, request.scheme, request.secret, list(request.kinds)
        )
        return notifications_pb2.SetWebhookResponse(
            webhook=webhook_to_proto(hook, self.desk.public_key_pem()), secret=made
        )

    async def GetWebhook(
        self, request: notifications_pb2.GetWebhookRequest, context: Ctx
    ) -> notifications_pb2.GetWebhookResponse:
        hook = await self.desk.get_webhook(caller(), request.department)
        if hook is None:
            return notifications_pb2.GetWebhookResponse(found=False)
        return notifications_pb2.GetWebhookResponse(
            found=True, webhook=webhook_to_proto(hook, self.desk.public_key_pem())
        )

    async def DeleteWebhook(
        self, request: notifications_pb2.DeleteWebhookRequest, context: Ctx
    ) -> notifications_pb2.DeleteWebhookResponse:
        return notifications_pb2.DeleteWebhookResponse(
            deleted=await self.desk.delete_webhook(caller(), request.department)
        )

    async def ListDeadLetters(
        self, request: notifications_pb2.ListDeadLettersRequest, context: Ctx
    ) -> notifications_pb2.ListDeadLettersResponse:
        found = await self.desk.dead_letters(caller(), request.department)
        return notifications_pb2.ListDeadLettersResponse(
            dead_letters=[
                notifications_pb2.DeadLetter(
                    event=event_to_proto(stored),
                    attempts=delivery.attempts,
                    last_error=delivery.last_error,
                    failed_at_us=delivery.updated_at_us,
                )
                for delivery, stored in found
            ]
        )

    async def RedriveDeadLetters(
        self, request: notifications_pb2.RedriveDeadLettersRequest, context: Ctx
    ) -> notifications_pb2.RedriveDeadLettersResponse:
        ids = await self.desk.redrive(caller(), request.department, list(request.event_ids))
        return notifications_pb2.RedriveDeadLettersResponse(event_ids=ids)

    async def ListCaseFlags(
        self, request: notifications_pb2.ListCaseFlagsRequest, context: Ctx
    ) -> notifications_pb2.ListCaseFlagsResponse:
        flags = await self.desk.case_flags(caller(), request.case_id)
        return notifications_pb2.ListCaseFlagsResponse(flags=[to_message(notifications_pb2.CaseFlag, f) for f in flags])
