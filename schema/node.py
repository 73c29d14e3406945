"""`node(id:)`: any object by its global id, through the same row scoping as lists."""

from __future__ import annotations

import strawberry
from tortoise.models import Model

from permissions.rules import ANYONE
from resolvers.loaders import by_id
from schema.base import AppInfo, Node, decode_id, field

__all__ = ["NODE_MODELS", "NodeQuery", "register_node"]

NODE_MODELS: dict[str, type[Model]] = {}


def register_node(type_name: str, model: type[Model]) -> None:
    NODE_MODELS[type_name] = model


@strawberry.type
class NodeQuery:
    @field(ANYONE, "Any object by its global id; null if hidden from the caller.")
    async def node(self, info: AppInfo, id: strawberry.ID) -> Node | None:
        type_name, pk = decode_id(id)
        model = NODE_MODELS.get(type_name)
        if model is None:
            return None
        row = await by_id(info.context, model).load(pk)
        if row is None:
            return None
        return {**row, "__typename": type_name}  # type: ignore[return-value]
