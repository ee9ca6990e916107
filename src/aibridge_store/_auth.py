"""Who is asking, and which rows that lets them read (docs/decisions.md, "Authorisation")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from ._gocompat import as_uuid
from ._query.ast import Equals

Role = Literal["owner", "auditor", "member"]


def _as_uuid(value: uuid.UUID | str | None, role: str) -> uuid.UUID | None:
    try:
        return as_uuid(value)
    except ValueError:
        raise ValueError(f"Actor.{role}: user_id must be a UUID, got {value!r}") from None


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller of a read. Owners and auditors read everything; a member reads only the rows
    they initiated. Reads made without an actor run as the local administrator (an owner with no
    user id), for whom ``initiator:me`` has no meaning."""

    role: Role
    user_id: uuid.UUID | None = None

    @classmethod
    def owner(cls, user_id: uuid.UUID | str | None = None) -> Actor:
        return cls("owner", _as_uuid(user_id, "owner"))

    @classmethod
    def auditor(cls, user_id: uuid.UUID | str) -> Actor:
        return cls("auditor", _as_uuid(user_id, "auditor"))

    @classmethod
    def member(cls, user_id: uuid.UUID | str) -> Actor:
        member_id = _as_uuid(user_id, "member")
        if member_id is None:
            raise ValueError("Actor.member needs the member's user id")
        return cls("member", member_id)

    def scope(self) -> Equals | None:
        """The filter that limits rows to what this actor may read; None for everything."""
        if self.role == "member":
            return Equals("initiator", self.user_id)
        return None


LOCAL_ADMIN = Actor("owner", None)
