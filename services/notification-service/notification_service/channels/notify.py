"""SMS through GOV.UK Notify's REST API.

Each request carries a fresh JWT (HS256, `iss` = the service id, `iat` = now; Notify refuses a
token more than 30 seconds old), signed with the secret half of the API key, whose form is
`{key_name}-{service_id}-{secret_key}` (both ids are UUIDs). Notify answers errors as
`{"status_code": ..., "errors": [{"error": ..., "message": ...}]}`: 429 (rate or daily limit)
and 5xx are worth retrying, 400 and 403 are not.
"""

import time

import httpx
import jwt

from notification_service.channels.base import Outgoing, SendResult

UUID_LENGTH = 36
# Notify's statuses once a text has left it, and what they mean for our record.
FINAL_STATUSES = {
    "delivered": ("delivered", None),
    "permanent-failure": ("failed", "the provider says the number does not exist or cannot receive texts"),
    "temporary-failure": ("failed", "the phone was off or unreachable for 72 hours"),
    "technical-failure": ("failed", "the provider had a technical failure and did not send it"),
}


class NotifyApiKeyError(ValueError):
    pass


def parse_api_key(api_key: str) -> tuple[str, str]:
    """(service id, secret key) from a Notify API key."""
    if len(api_key) < 2 * UUID_LENGTH + 2 or api_key[-UUID_LENGTH - 1] != "-":
        raise NotifyApiKeyError("a Notify API key ends with '-{service id}-{secret key}'")
    return api_key[-2 * UUID_LENGTH - 1 : -UUID_LENGTH - 1], api_key[-UUID_LENGTH:]


class NotifySmsChannel:
    provider = "notify"

    def __init__(self, *, base_url: str, api_key: str, template_id: str, timeout_s: float = 10.0) -> None:
        self._service_id, self._secret = parse_api_key(api_key)
        self._template_id = template_id
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def _headers(self) -> dict[str, str]:
        token = jwt.encode({"iss": self._service_id, "iat": int(time.time())}, self._secret, algorithm="HS256")
        return {"Authorization": f"Bearer {token}"}

    async def send(self, message: Outgoing) -> SendResult:
        body: dict[str, object] = {
            "phone_number": message.recipient,
            "template_id": self._template_id,
            "personalisation": {"body": message.body},
            "reference": message.idempotency_key,
        }
        if message.sms_sender_id:
            body["sms_sender_id"] = message.sms_sender_id
        try:
            response = await self._client.post("/v2/notifications/sms", json=body, headers=self._headers())
        except httpx.HTTPError as exc:
            return SendResult("temporary", f"Notify unreachable: {type(exc).__name__}")
        if response.status_code == 201:
            return SendResult("sent", reference=str(response.json().get("id")))
        return _failure(response)

    async def status(self, reference: str) -> tuple[str, str | None] | None:
        """(our status, reason) once Notify knows the outcome; None while it is still on its way
        or Notify cannot be asked right now."""
        try:
            response = await self._client.get(f"/v2/notifications/{reference}", headers=self._headers())
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        return FINAL_STATUSES.get(response.json().get("status"))

    async def close(self) -> None:
        await self._client.aclose()


def _failure(response: httpx.Response) -> SendResult:
    try:
        errors = response.json().get("errors") or []
        detail = "; ".join(f"{e.get('error')}: {e.get('message')}" for e in errors)
    except ValueError:
        detail = ""
    detail = f"Notify {response.status_code}: {detail or response.reason_phrase}"
    temporary = response.status_code == 429 or response.status_code >= 500
    return SendResult("temporary" if temporary else "permanent", detail)
