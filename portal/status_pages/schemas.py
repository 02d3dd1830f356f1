"""What the status page endpoints and form accept."""

from __future__ import annotations

from pydantic import Field, model_validator

from portal.schemas import DbId, Line, Strict
from portal.servers.schemas import check_scope

SLUG = r"^[a-z0-9-]{2,60}$"
MAX_COMPONENTS = 200


class ComponentIn(Strict):
    """A server by id, or a label selector (``key=value``, as maintenance windows take)."""

    server_id: DbId | None = None
    label: Line | None = Field(None, max_length=300, description="key=value")
    display_name: Line = Field(min_length=1, max_length=100)
    display_group: Line | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _scope(self) -> ComponentIn:
        check_scope(self.server_id, self.label)
        if self.display_group == "":
            self.display_group = None
        return self


class StatusPageIn(Strict):
    name: Line = Field(min_length=1, max_length=100)
    slug: str = Field(pattern=SLUG, description="lowercase letters, digits and hyphens, 2-60")
    public: bool = False
    show_internal: bool = False
    note: str | None = Field(None, max_length=1000)
    components: list[ComponentIn] = Field(default_factory=list, max_length=MAX_COMPONENTS)

