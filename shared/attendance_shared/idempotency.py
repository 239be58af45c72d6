"""`Idempotency-Key` on writes: a retried request with the same key gets the first answer
again and changes nothing.

The key row is inserted at the start of the write's own transaction. A concurrent retry
blocks on the key's unique index until the first commits (then it replays the stored
answer) or rolls back (then it runs as if first). A write that fails with a 4xx rolls the
key back with it, so a corrected retry may reuse the key only with the same body: the key
is bound to a digest of the method, path and body, and a different request under a used
key is refused.
"""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, delete, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.auth import CurrentActor
from attendance_shared.db import SessionDep
from attendance_shared.errors import Unprocessable

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID, say). A retry with the same key and body changes nothing "
        "and gets the first answer again.",
    ),
]
REPLAYED_HEADER = "Idempotent-Replayed"


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("subject", Text, primary_key=True),  # keys are per caller: one cannot replay another's
        Column("key", Text, primary_key=True),
        Column("fingerprint", Text, nullable=False),
        Column("status_code", Integer),
        Column("body", JSONB),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), request.url.query.encode(), await request.body()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def run_idempotently(
    session: AsyncSession,
    table: Table,
    *,
    key: str | None,
    subject: str,
    request: Request,
    status_code: int,
    produce: Callable[[], Awaitable[Any]],
) -> Any:
    """Run `produce` once per key; its answer is stored with the write and replayed after."""
    if key is None:
        return await produce()
    request_digest = await fingerprint(request)
    claimed = await session.scalar(
        insert(table)
        .values(subject=subject, key=key, fingerprint=request_digest)
        .on_conflict_do_nothing(index_elements=["subject", "key"])
        .returning(table.c.key)
    )
    if claimed is None:
        stored = (
            await session.execute(
                select(table.c.fingerprint, table.c.status_code, table.c.body).where(
                    table.c.subject == subject, table.c.key == key
                )
            )
        ).one()
        if stored.fingerprint != request_digest:
            raise Unprocessable(
                "this Idempotency-Key was used for a different request",
                errors=[{"location": ["header", "Idempotency-Key"], "message": "reused for a different request"}],
            )
        return JSONResponse(stored.body, status_code=stored.status_code, headers={REPLAYED_HEADER: "true"})
    result = await produce()
    body = jsonable_encoder(result)
    await session.execute(
        update(table).where(table.c.subject == subject, table.c.key == key).values(status_code=status_code, body=body)
    )
    return JSONResponse(body, status_code=status_code)


class Once:
    """A write route's handle on its Idempotency-Key: `await once(produce, status_code)`."""

    def __init__(self, session: AsyncSession, table: Table, key: str | None, subject: str, request: Request) -> None:
        self._session, self._table, self._key, self._subject, self._request = session, table, key, subject, request

    async def __call__(self, produce: Callable[[], Awaitable[Any]], status_code: int = 200) -> Any:
        return await run_idempotently(
            self._session,
            self._table,
            key=self._key,
            subject=self._subject,
            request=self._request,
            status_code=status_code,
            produce=produce,
        )


def once_per_key(table: Table) -> Any:
    """The dependency a write route takes to honour `Idempotency-Key` against `table`."""

    async def once(request: Request, session: SessionDep, actor: CurrentActor, key: IdempotencyKey = None) -> Once:
        return Once(session, table, key, actor.subject, request)

    return Depends(once)


async def forget_keys_before(session: AsyncSession, table: Table, cutoff: datetime) -> int:
    """Keys are kept long enough for any client's retries; older ones are dropped."""
    result = await session.execute(delete(table).where(table.c.created_at < cutoff))
    return result.rowcount or 0
