import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from attendance_shared.api_types import IsoDate

ReturnKind = Literal["attendance"]


class ReturnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Annotated[ReturnKind, Field(description="Kinds compiled so far: attendance")]
    start: IsoDate = Field(alias="from")
    end: IsoDate = Field(alias="to")


class ReturnSummary(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    la_code: str
    kind: str
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    generated_at: datetime
    row_count: int
    checksum: str
    columns: list[str]


class ReturnPage(BaseModel):
    items: list[ReturnSummary]
    next_cursor: str | None


class ReturnDocument(ReturnSummary):
    rows: list[dict]
