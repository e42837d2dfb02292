"""The base of every model of data that others send us (DataHub's aspects, AWS's events)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TolerantModel(BaseModel):
    """Unknown fields are kept, not refused: newer DataHub and AWS versions add some."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
