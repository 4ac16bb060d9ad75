"""Scaleway error bodies, as the Instance and Block APIs send them.

Shapes come from ../shared/scaleway-recordings (not_found, invalid_arguments,
permissions_denied, the empty-bodied 429). Bodies the recordings do not show
(transient_state, precondition_failed, out_of_stock, denied_authentication)
follow the error types of Scaleway's SDKs; docs/lab-scaleway-simulator.md lists them.
"""

from __future__ import annotations

from typing import Any, Literal

Api = Literal["instance", "block"]


class ApiError(Exception):
    """An HTTP error answer: status code and JSON body (None = empty body)."""

    def __init__(
        self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found(api: Api, resource: str, resource_id: str) -> ApiError:
    """404 in the recorded shape; Instance names resources ``instance_*``."""
    if api == "instance":
        body = {
            "type": "not_found",
            "message": "resource is not found",
            "resource": resource,
            "resource_id": resource_id,
        }
    else:
        body = {
            "message": "resource is not found",
            "resource": resource,
            "resource_id": resource_id,
            "type": "not_found",
        }
    return ApiError(404, body)


def invalid_argument(argument: str, help_message: str, reason: str = "constraint") -> ApiError:
    """400 invalid_arguments with one detail (recorded Instance shape)."""
    return ApiError(
        400,
        {
            "type": "invalid_arguments",
            "message": "invalid argument(s)",
            "details": [
                {"argument_name": argument, "reason": reason, "help_message": help_message}
            ],
        },
    )


def permissions_denied(action: str, resource: str) -> ApiError:
    """403 as recorded for a snapshot of another organisation."""
    return ApiError(
        403,
        {
            "details": [{"action": action, "resource": resource}],
            "message": "insufficient permissions",
            "type": "permissions_denied",
        },
    )


def transient_state(resource: str, resource_id: str, state: str) -> ApiError:
    """409: the resource is changing state; retry later."""
    return ApiError(
        409,
        {
            "type": "transient_state",
            "message": f"resource is in a transient state: {state}",
            "resource": resource,
            "resource_id": resource_id,
            "current_state": state,
        },
    )


def precondition_failed(precondition: str, help_message: str) -> ApiError:
    """412, e.g. deleting a snapshot or volume that is still referenced."""
    return ApiError(
        412,
        {
            "type": "precondition_failed",
            "message": "precondition failed",
            "precondition": precondition,
            "help_message": help_message,
        },
    )


def quotas_exceeded(resource: str, quota: int, current: int) -> ApiError:
    """403 quotas_exceeded (shape of Scaleway's SDK error type)."""
    return ApiError(
        403,
        {
            "type": "quotas_exceeded",
            "message": "quota(s) exceeded for this resource",
            "details": [{"resource": resource, "quota": quota, "current": current}],
        },
    )


def invalid_request(message: str) -> ApiError:
    """400 of the Instance API for an action not allowed in the server's state."""
    return ApiError(400, {"type": "invalid_request_error", "message": message})


def out_of_stock(resource: str) -> ApiError:
    """412 out_of_stock for a commercial type in shortage."""
    return ApiError(412, {"type": "out_of_stock", "message": "out of stock", "resource": resource})


def denied_authentication(reason: str) -> ApiError:
    """401 for a missing or unknown X-Auth-Token."""
    return ApiError(
        401,
        {
            "message": "authentication is denied",
            "method": "api_key",
            "reason": reason,
            "type": "denied_authentication",
        },
    )


def rate_limited() -> ApiError:
    """429 exactly as the real gateway sends it: empty body, X-Envoy-Ratelimited."""
    return ApiError(429, None, {"X-Envoy-Ratelimited": "true"})
