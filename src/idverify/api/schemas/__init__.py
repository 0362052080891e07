"""Request and response models at the HTTP edge. Requests forbid unknown fields."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(ResponseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int
