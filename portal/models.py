"""Every table, imported in one place so Alembic and create_app see the whole schema."""

from portal.auth.models import ApiToken, User
from portal.servers.models import Server, ServerEvent, ServerLabel, ServerStatus
from portal.settings.models import Setting

__all__ = ["ApiToken", "Server", "ServerEvent", "ServerLabel", "ServerStatus", "Setting", "User"]
