"""Request and reply values passed between the HTTP server and the API handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from .errors import Api, ApiError, invalid_argument

if TYPE_CHECKING:
    from .store import Store


STRING_FIELDS = frozenset({
    "name", "bucket", "key", "project", "project_id", "organization", "image",
    "commercial_type", "root_volume", "volume_id", "private_network_id", "action",
})  # fmt: skip
OBJECT_FIELDS = frozenset({"volumes", "extra_volumes", "from_empty", "from_snapshot"})


@dataclass
class Request:
    """One parsed API call: path parameters, query (every value a list) and JSON body."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    body: Any

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def field(self, name: str, default: Any = None) -> Any:
        """A body field; ``tags`` must be a list of strings, names and ids strings."""
        if self.body is None:
            return default
        if not isinstance(self.body, dict):
            raise invalid_argument(name, "the request body must be a JSON object")
        value = self.body.get(name, default)
        if value is None:
            return value
        if name == "tags" and not (
            isinstance(value, list) and all(isinstance(t, str) for t in value)
        ):
            raise invalid_argument(name, "must be a list of strings")
        if name in STRING_FIELDS and not isinstance(value, str):
            raise invalid_argument(name, "must be a string")
        if name in OBJECT_FIELDS and not isinstance(value, dict):
            raise invalid_argument(name, "must be an object")
        return value


def instance_filter(
    req: Request, items: list[dict[str, Any]], exact: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Instance list filters: ``zone``, equal ``exact`` fields, ``name`` substring, and
    ``tags=a,b`` (every tag must be present)."""
    items = [i for i in items if i["zone"] == req.params["zone"]]
    for field_name in exact:
        value = req.q(field_name)
        if value:
            items = [i for i in items if i[field_name] == value]
    name = req.q("name")
    if name:
        items = [i for i in items if name in i["name"]]
    tags = [t for t in (req.q("tags") or "").split(",") if t]
    if tags:
        items = [i for i in items if set(tags) <= set(i["tags"])]
    return items


@dataclass
class Reply:
    """One answer: status, JSON body (None = empty) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    api: Api = "instance"

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if self.api == "instance":  # Instance: ", " and ": " separators, proto key order
            return json.dumps(self.body).encode()
        return json.dumps(self.body, separators=(", ", ":")).encode()


Handler = Callable[["Store", Request], Reply]


class Router:
    """Maps (method, path) to a handler with werkzeug's URL rules."""

    def __init__(self) -> None:
        self._map = Map(strict_slashes=False, merge_slashes=False)
        self._handlers: dict[str, Handler] = {}
        self._apis: dict[str, Api] = {}
        self._unlocked: set[str] = set()

    def add(self, method: str, rule: str, handler: Handler, api: Api, locked: bool = True) -> None:
        """``locked=False``: the handler takes the store lock itself (slow I/O outside it)."""
        endpoint = f"{method} {rule}"
        self._map.add(Rule(rule, endpoint=endpoint, methods=[method]))
        self._handlers[endpoint] = handler
        self._apis[endpoint] = api
        if not locked:
            self._unlocked.add(endpoint)

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str], Api, bool]:
        adapter = self._map.bind("simulator", "/")
        try:
            endpoint, params = adapter.match(path, method=method)
        except MethodNotAllowed:
            raise ApiError(
                405, {"type": "method_not_allowed", "message": "method not allowed"}
            ) from None
        except NotFound:
            raise ApiError(404, {"type": "not_found", "message": "path not found"}) from None
        ep = str(endpoint)
        return self._handlers[ep], dict(params), self._apis[ep], ep not in self._unlocked
