"""Every table, imported once so Alembic and create_all see one metadata."""

from sqlmodel import SQLModel

import app.base_model  # noqa: F401  (naming convention before any table)
from app.accounts.models import Account, Cursor
from app.auth.models import Agent, AgentTeam, ApiToken, Role, Team, WebSession
from app.inbox.models import (
    AuditEvent,
    CannedResponse,
    Contact,
    Conversation,
    ConversationTag,
    DeliveryState,
    Direction,
    Escalation,
    Message,
    Note,
    Person,
    Priority,
    Status,
    Tag,
)
from app.outbox.models import Outbox
from app.reports.models import SlaPolicy

metadata = SQLModel.metadata

__all__ = [
    "Account", "Agent", "AgentTeam", "ApiToken", "AuditEvent", "CannedResponse", "Contact",
    "Conversation", "ConversationTag", "Cursor", "DeliveryState", "Direction", "Escalation",
    "Message", "Note", "Outbox", "Person", "Priority", "Role", "SlaPolicy", "Status", "Tag",
    "Team", "WebSession", "metadata",
]
