"""Actions a plan can take on one resource, and why (closed enums, as Terraform's)."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """What the walker does with one resource."""

    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    DELETE_THEN_CREATE = "delete-then-create"  # replace, old one goes first (default)
    CREATE_THEN_DELETE = "create-then-delete"  # replace, ResourceType.create_before_destroy
    DELETE = "delete"

    @property
    def is_replace(self) -> bool:
        """True for both replace orders."""
        return self in (Action.DELETE_THEN_CREATE, Action.CREATE_THEN_DELETE)

    @property
    def creates(self) -> bool:
        """True when a new object comes into being (create or replace)."""
        return self is Action.CREATE or self.is_replace

    @property
    def deletes(self) -> bool:
        """True when an existing object goes away (delete or replace)."""
        return self is Action.DELETE or self.is_replace

    @property
    def symbol(self) -> str:
        """The one-glance marker used by the text renderer, as Terraform's."""
        return _SYMBOLS[self]


_SYMBOLS = {
    Action.NOOP: " ",
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.DELETE_THEN_CREATE: "-/+",
    Action.CREATE_THEN_DELETE: "+/-",
    Action.DELETE: "-",
}


class Reason(StrEnum):
    """Why a change was planned; rendered next to the action."""

    NONE = "none"  # no-op: prior matches desired
    NEW = "new"  # in config, not in state
    GONE = "gone"  # in state, but refresh found the object deleted outside v2s
    CHANGED = "changed"  # in-place update of changed attributes
    UPSTREAM_CHANGED = "upstream-changed"  # an input references an output that will change
    FORCE_NEW = "force-new"  # a changed attribute cannot be updated in place
    TAINTED = "tainted"  # a previous apply failed part-way: applied again (adopt or create)
    RESUME = "resume"  # a previous create was interrupted; continue from its checkpoint
    REPLACE_REQUESTED = "replace-requested"  # -replace ADDRESS
    NOT_IN_CONFIG = "not-in-config"  # in state, no longer in config
    DESTROY = "destroy"  # destroy mode
    NEEDED_BY = "needed-by"  # transient chain planned again for a dependent
    TOMBSTONE = "tombstone"  # transient already used and cleaned up; outputs kept
    DRIFT = "drift"  # refresh found attributes changed outside v2s
    CLEANUP = "cleanup"  # transient no longer needed: delete it, keep a tombstone
    HANDED_OFF = "handed-off"  # `v2s handoff done`: another tool manages the object now

    @property
    def text(self) -> str:
        """Human wording, completed by the change's notes where useful."""
        return _TEXT[self]


_TEXT = {
    Reason.NONE: "up to date",
    Reason.NEW: "not in state",
    Reason.GONE: "deleted outside v2s",
    Reason.CHANGED: "attributes changed",
    Reason.UPSTREAM_CHANGED: "an input depends on a changing resource",
    Reason.FORCE_NEW: "a changed attribute forces replacement",
    Reason.TAINTED: "a failed apply left it tainted; an object it made is adopted, "
                    "never created twice",
    Reason.RESUME: "an interrupted apply resumes from its checkpoint",
    Reason.REPLACE_REQUESTED: "replacement requested with -replace",
    Reason.NOT_IN_CONFIG: "not in config",
    Reason.DESTROY: "destroy requested",
    Reason.NEEDED_BY: "needed by a dependent that must be created",
    Reason.TOMBSTONE: "transient, already used (tombstone)",
    Reason.DRIFT: "changed outside v2s",
    Reason.CLEANUP: "transient no longer needed; a tombstone keeps its outputs",
    Reason.HANDED_OFF: "handed off: another tool manages it, v2s leaves it alone",
}
