"""A signed webhook to a mobile push gateway: the gateway knows the parent's devices, we know
what to say. The signature is HMAC-SHA256 over `{timestamp}.{body}` with a shared secret, so
the gateway can refuse a forged or replayed call."""

import hashlib
import hmac
import time

import httpx
import orjson

from notification_service.channels.base import Outgoing, SendResult

SIGNATURE_HEADER = "X-Attendance-Signature"
TIMESTAMP_HEADER = "X-Attendance-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class PushWebhookChannel:
    provider = "push-webhook"

    def __init__(self, *, url: str, secret: str, timeout_s: float = 10.0) -> None:
        self._url, self._secret = url, secret
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def send(self, message: Outgoing) -> SendResult:
        body = orjson.dumps(
            {
                "message_id": message.idempotency_key,
                "recipient": message.recipient,
                "school_urn": message.school_urn,
                "upn": message.upn,
                "title": message.subject,
                "body": message.body,
                "sender": message.sender_name,
            }
        )
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return SendResult("temporary", f"push gateway unreachable: {type(exc).__name__}")
        if response.is_success:
            return SendResult("sent")
        detail = f"push gateway {response.status_code}: {response.text[:200]}"
        temporary = response.status_code in (408, 429) or response.status_code >= 500
        return SendResult("temporary" if temporary else "permanent", detail)

    async def close(self) -> None:
        await self._client.aclose()
