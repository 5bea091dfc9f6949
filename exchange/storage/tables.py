"""The relational schema, shared by SQLite and PostgreSQL.

Times are integers (microseconds since the Unix epoch, UTC) so both backends
compare and index them the same way. Specs of catalog objects are stored whole as
JSON next to the columns that queries filter on.

Every text column's size is a limit of `catalog.limits`, the one table of limits the hub's edge checks
requests against: PostgreSQL enforces the size, SQLite does not, so nothing may reach a column unchecked.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from catalog import limits


def _bounded(name: str, limit: limits.Limit, *args: Any, **kwargs: Any) -> sa.Column[str]:
    """A VARCHAR column as long as its limit, which it keeps in `info` (a unit test checks they agree)."""
    return sa.Column(name, sa.String(limit.max_length), *args, info={"limit": limit}, **kwargs)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

departments = sa.Table(
    "departments",
    metadata,
    _bounded("code", limits.DEPARTMENT_CODE, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    # The English name English readers see; "" when the department has none (they read `name`).
    sa.Column("name_en", sa.Text, nullable=False, server_default=""),
    _bounded("status", limits.STATUS, nullable=False),
    sa.Column("adapter_endpoint", sa.Text, nullable=False, server_default=""),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("registered_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
)

department_keys = sa.Table(
    "department_keys",
    metadata,
    _bounded("department", limits.DEPARTMENT_CODE, primary_key=True),
    _bounded("kid", limits.KID, primary_key=True),
    _bounded("use", limits.STATUS, nullable=False),
    _bounded("algorithm", limits.ALGORITHM, nullable=False),
    sa.Column("public_key_pem", sa.Text, nullable=False),
    _bounded("status", limits.STATUS, nullable=False),
    sa.Column("added_at_us", sa.BigInteger, nullable=False),
    sa.Column("retired_at_us", sa.BigInteger, nullable=False, server_default="0"),
)

# Roles a hub admin recorded for a department (officer_id "") or for one officer of it; a
# department without a row holds the default set (exchange/auth/held_roles.py).
department_roles = sa.Table(
    "department_roles",
    metadata,
    _bounded("department", limits.DEPARTMENT_CODE, primary_key=True),
    _bounded("officer_id", limits.OFFICER_ID, primary_key=True),
    # Role names, comma-separated and sorted.
    _bounded("roles", limits.ROLE_LIST, nullable=False),
    _bounded("set_by", limits.ACTOR, nullable=False),
    sa.Column("set_at_us", sa.BigInteger, nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    _bounded("code", limits.DATASET_CODE, primary_key=True),
    _bounded("version", limits.DATASET_VERSION, primary_key=True),
    sa.Column("major", sa.Integer, nullable=False),
    sa.Column("minor", sa.Integer, nullable=False),
    sa.Column("is_current", sa.Boolean, nullable=False),
    _bounded("owner", limits.DEPARTMENT_CODE, nullable=False, index=True),
    _bounded("status", limits.STATUS, nullable=False),
    _bounded("sharing_type", limits.STATUS, nullable=False),
    _bounded("kind", limits.STATUS, nullable=False),
    # Lower-cased code, title, description, keywords and field names, for search.
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("registered_at_us", sa.BigInteger, nullable=False),
    _bounded("registered_by", limits.OFFICER_ID, nullable=False, server_default=""),
)

service_items = sa.Table(
    "service_items",
    metadata,
    _bounded("code", limits.SERVICE_ITEM_CODE, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    _bounded("lead_department", limits.DEPARTMENT_CODE, nullable=False, index=True),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("registered_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    # The national catalogue's codes (基本编码, 实施编码), empty when not given; searched by either.
    _bounded("basic_code", limits.NATIONAL_ITEM_CODE, nullable=False, index=True, server_default=""),
    _bounded("implementation_code", limits.NATIONAL_ITEM_CODE, nullable=False, index=True, server_default=""),
)

grants = sa.Table(
    "grants",
    metadata,
    _bounded("id", limits.GRANT_ID, primary_key=True),
    _bounded("consumer", limits.DEPARTMENT_CODE, nullable=False),
    _bounded("dataset", limits.DATASET_CODE, nullable=False),
    sa.Column("fields_json", sa.Text, nullable=False),
    sa.Column("service_items_json", sa.Text, nullable=False),
    sa.Column("valid_from_us", sa.BigInteger, nullable=False),
    sa.Column("valid_until_us", sa.BigInteger, nullable=False),
    sa.Column("rate_per_minute", sa.Integer, nullable=False),
    _bounded("status", limits.STATUS, nullable=False),
    _bounded("granted_by", limits.ACTOR, nullable=False),
    _bounded("access_request_id", limits.ACCESS_REQUEST_ID, nullable=False, server_default=""),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("revoked_at_us", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("revoke_reason", sa.Text, nullable=False, server_default=""),
    sa.Index(None, "consumer", "dataset"),
)

access_requests = sa.Table(
    "access_requests",
    metadata,
    _bounded("id", limits.ACCESS_REQUEST_ID, primary_key=True),
    _bounded("consumer", limits.DEPARTMENT_CODE, nullable=False, index=True),
    _bounded("dataset", limits.DATASET_CODE, nullable=False),
    _bounded("owner", limits.DEPARTMENT_CODE, nullable=False, index=True),
    _bounded("status", limits.STATUS, nullable=False),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("requested_at_us", sa.BigInteger, nullable=False),
    sa.Column("answer_due_us", sa.BigInteger, nullable=False),
    sa.Column("decided_at_us", sa.BigInteger, nullable=False, server_default="0"),
)

cases = sa.Table(
    "cases",
    metadata,
    _bounded("id", limits.CASE_ID, primary_key=True),
    _bounded("service_item", limits.SERVICE_ITEM_CODE, nullable=False, index=True),
    _bounded("applicant_id", limits.APPLICANT_ID, nullable=False, index=True),
    _bounded("lead_department", limits.DEPARTMENT_CODE, nullable=False),
    _bounded("state", limits.CASE_STATE, nullable=False, index=True),
    # Optimistic concurrency: an update names the version it read.
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("deadline_us", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("submitted_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    _bounded("request_id", limits.REQUEST_ID, nullable=True, unique=True),
    # The whole case (opinions, timeline, correction notice) as JSON.
    sa.Column("case_json", sa.Text, nullable=False),
    sa.Column("materials_fetched", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reads_from_case", sa.Integer, nullable=False, server_default="0"),
    sa.Column("submissions_avoided", sa.Integer, nullable=False, server_default="0"),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
)

case_departments = sa.Table(
    "case_departments",
    metadata,
    _bounded("case_id", limits.CASE_ID, primary_key=True),
    _bounded("department", limits.DEPARTMENT_CODE, primary_key=True, index=True),
    _bounded("role", limits.STATUS, nullable=False),
)

# Parties of a case besides its applicant (who is cases.applicant_id): whose data the case may read.
case_parties = sa.Table(
    "case_parties",
    metadata,
    _bounded("case_id", limits.CASE_ID, primary_key=True),
    _bounded("relation", limits.PARTY_RELATION, primary_key=True),
    _bounded("party_id", limits.APPLICANT_ID, primary_key=True, index=True),
    _bounded("kind", limits.STATUS, nullable=False),
    _bounded("name", limits.PARTY_NAME, nullable=False, server_default=""),
    sa.Column("added_at_us", sa.BigInteger, nullable=False),
)

# Documents by content address: the same licence fetched for two cases is stored once.
documents = sa.Table(
    "documents",
    metadata,
    _bounded("digest", limits.DIGEST, primary_key=True),
    sa.Column("document_json", sa.LargeBinary, nullable=False),
    sa.Column("stored_at_us", sa.BigInteger, nullable=False),
)

case_materials = sa.Table(
    "case_materials",
    metadata,
    _bounded("case_id", limits.CASE_ID, primary_key=True),
    _bounded("dataset", limits.DATASET_CODE, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    _bounded("key", limits.KEY, nullable=False),
    _bounded("digest", limits.DIGEST, nullable=False),
    sa.Column("is_current", sa.Boolean, nullable=False),
    sa.Column("material_json", sa.Text, nullable=False),
    sa.Column("fetched_at_us", sa.BigInteger, nullable=False),
)

# The access log. `entry` is the canonical encoding hashed into the Merkle tree; the
# other columns are copies of its fields for the auditors' queries.
log_entries = sa.Table(
    "log_entries",
    metadata,
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("time_us", sa.BigInteger, nullable=False, index=True),
    sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("entry", sa.LargeBinary, nullable=False),
    _bounded("action", limits.ACTION, nullable=False),
    _bounded("caller_department", limits.DEPARTMENT_CODE, nullable=False),
    _bounded("officer_id", limits.OFFICER_ID, nullable=False),
    _bounded("dataset", limits.DATASET_CODE, nullable=False),
    _bounded("subject_id", limits.SUBJECT_ID, nullable=False),
    _bounded("case_id", limits.CASE_ID, nullable=False),
    _bounded("decision", limits.DECISION, nullable=False),
    _bounded("reason", limits.REASON_CODE, nullable=False),
    sa.Column("hidden_from_subject", sa.Boolean, nullable=False),
    sa.Index(None, "subject_id", "idx"),
    sa.Index(None, "case_id", "idx"),
    sa.Index(None, "caller_department", "time_us"),
    sa.Index(None, "dataset", "time_us"),
)

# One row: the log's size and its right edge (compact range), updated in the same
# transaction as the entries it counts, under a row lock on PostgreSQL.
log_head = sa.Table(
    "log_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("frontier", sa.LargeBinary, nullable=False),
)

# Hashes of perfect subtrees above the leaves (level >= 1), so proofs need O(log n) reads.
log_nodes = sa.Table(
    "log_nodes",
    metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
)

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)

# Departments whose accesses the law allows to stay hidden from the citizen report
# (e.g. security bodies); entries they cause are marked hidden_from_subject when appended.
log_hidden_departments = sa.Table(
    "log_hidden_departments",
    metadata,
    _bounded("department", limits.DEPARTMENT_CODE, primary_key=True),
    sa.Column("legal_basis", sa.Text, nullable=False),
    _bounded("set_by", limits.ACTOR, nullable=False),
    sa.Column("set_at_us", sa.BigInteger, nullable=False),
)

# Web console accounts (people, not department systems): argon2id hashes, never passwords.
console_users = sa.Table(
    "console_users",
    metadata,
    _bounded("username", limits.USERNAME, primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    _bounded("role", limits.STATUS, nullable=False),
    _bounded("department", limits.DEPARTMENT_CODE, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False, server_default=""),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
)

# Sessions by the SHA-256 of their cookie, so a copy of the database cannot be replayed as a cookie.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    _bounded("token_hash", limits.DIGEST, primary_key=True),
    _bounded("username", limits.USERNAME, nullable=False, index=True),
    _bounded("csrf_token", limits.DIGEST, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("expires_at_us", sa.BigInteger, nullable=False),
)

# Failed sign-ins per account and address, counted in a sliding window (shared by hub replicas).
console_signin_failures = sa.Table(
    "console_signin_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _bounded("username", limits.USERNAME, nullable=False),
    _bounded("address", limits.ADDRESS, nullable=False),
    sa.Column("time_us", sa.BigInteger, nullable=False),
    sa.Index(None, "username", "address", "time_us"),
)

# Token ids (jti) already accepted, shared by every hub replica: the first replica to insert a token's
# (issuer, jti) wins, any later first use elsewhere is a replay. Rows past their token's expiry are purged.
# Requests counted against a grant's quota, per minute, by every hub replica together.
quota_counts = sa.Table(
    "quota_counts",
    metadata,
    _bounded("grant_id", limits.GRANT_ID, primary_key=True),
    sa.Column("minute", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

# What the supervision task has sent (reminders, warnings, escalations): one row per event, claimed by
# whichever replica inserts it first, so each event goes out once across restarts and replicas. Escalations
# stay here as the record supervisors read, counted against the owner department.
supervision_events = sa.Table(
    "supervision_events",
    metadata,
    _bounded("kind", limits.STATUS, primary_key=True),
    _bounded("reference", limits.CASE_ID, primary_key=True),
    _bounded("stage", limits.SUPERVISION_STAGE, primary_key=True),
    _bounded("department", limits.DEPARTMENT_CODE, nullable=False, index=True),
    _bounded("owner", limits.DEPARTMENT_CODE, nullable=False),
    sa.Column("time_us", sa.BigInteger, nullable=False, index=True),
    sa.Column("data_json", sa.Text, nullable=False),
)

token_uses = sa.Table(
    "token_uses",
    metadata,
    _bounded("issuer", limits.DEPARTMENT_CODE, primary_key=True),
    _bounded("jti", limits.TOKEN_ID, primary_key=True),
    sa.Column("expires_us", sa.BigInteger, nullable=False, index=True),
    sa.Column("first_used_us", sa.BigInteger, nullable=False),
)

# What the hub told department systems (exchange.events), in order: the outbox the webhooks and the
# Subscribe streams read from. `id` is the order and the resume point.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    _bounded("kind", limits.STATUS, nullable=False),
    _bounded("department", limits.DEPARTMENT_CODE, nullable=False, index=True),
    _bounded("reference", limits.KEY, nullable=False),
    sa.Column("time_us", sa.BigInteger, nullable=False),
    sa.Column("data_json", sa.Text, nullable=False),
)

# One webhook per department, set by its admin: where events go and how they are signed.
webhooks = sa.Table(
    "webhooks",
    metadata,
    _bounded("department", limits.DEPARTMENT_CODE, primary_key=True),
    _bounded("url", limits.ENDPOINT, nullable=False),
    _bounded("scheme", limits.STATUS, nullable=False),
    # The HMAC shared secret (hex); empty for Ed25519 (the hub's signing key signs).
    sa.Column("secret", sa.Text, nullable=False),
    # Comma-separated event kinds; empty: every kind.
    sa.Column("kinds", sa.Text, nullable=False),
    _bounded("updated_by", limits.ACTOR, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
)

# One row per event to send to a webhook: pending (with its next attempt), delivered, or dead (the
# dead-letter list). A replica claims a row by moving lease_until_us forward, so each event is sent by one.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("event_id", sa.BigInteger, primary_key=True, autoincrement=False),
    _bounded("department", limits.DEPARTMENT_CODE, nullable=False, index=True),
    _bounded("state", limits.STATUS, nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_us", sa.BigInteger, nullable=False),
    sa.Column("lease_until_us", sa.BigInteger, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
)

# The last status the hub saw of a licence held by an open case (pushed by its adapter or polled).
licence_states = sa.Table(
    "licence_states",
    metadata,
    _bounded("dataset", limits.DATASET_CODE, primary_key=True),
    _bounded("key", limits.KEY, primary_key=True),
    _bounded("status_code", limits.STATUS, nullable=False),
    sa.Column("checked_at_us", sa.BigInteger, nullable=False),
)

# A case holding a licence whose status changed: raised at once, visible on the case.
case_flags = sa.Table(
    "case_flags",
    metadata,
    _bounded("case_id", limits.CASE_ID, primary_key=True),
    _bounded("dataset", limits.DATASET_CODE, primary_key=True),
    _bounded("key", limits.KEY, primary_key=True),
    _bounded("status_code", limits.STATUS, nullable=False),
    _bounded("previous_code", limits.STATUS, nullable=False),
    # "push" (the adapter's stream) or "poll" (the hub's Status check).
    _bounded("source", limits.STATUS, nullable=False),
    sa.Column("raised_at_us", sa.BigInteger, nullable=False),
)

# Correction tickets (校核纠错): a receiving department flags fields of a material it holds; the issuer answers.
correction_tickets = sa.Table(
    "correction_tickets",
    metadata,
    _bounded("id", limits.ACCESS_REQUEST_ID, primary_key=True),
    _bounded("dataset", limits.DATASET_CODE, nullable=False, index=True),
    _bounded("key", limits.KEY, nullable=False),
    _bounded("subject_id", limits.SUBJECT_ID, nullable=False),
    _bounded("case_id", limits.CASE_ID, nullable=False),
    sa.Column("material_version", sa.Integer, nullable=False),
    _bounded("opened_by_department", limits.DEPARTMENT_CODE, nullable=False, index=True),
    _bounded("opened_by", limits.ACTOR, nullable=False),
    _bounded("issuer", limits.DEPARTMENT_CODE, nullable=False, index=True),
    sa.Column("fields_json", sa.Text, nullable=False),
    _bounded("reason", limits.REASON_TEXT, nullable=False),
    _bounded("evidence_text", limits.REASON_TEXT, nullable=False),
    _bounded("evidence_digest", limits.DIGEST, nullable=False),
    _bounded("state", limits.STATUS, nullable=False),
    _bounded("answer", limits.STATUS, nullable=False),
    _bounded("answer_reason", limits.REASON_TEXT, nullable=False),
    _bounded("answered_by", limits.ACTOR, nullable=False),
    sa.Column("opened_at_us", sa.BigInteger, nullable=False, index=True),
    sa.Column("answer_due_us", sa.BigInteger, nullable=False),
    sa.Column("answered_at_us", sa.BigInteger, nullable=False),
    sa.Column("answered_late", sa.Boolean, nullable=False),
    sa.Column("notified_cases_json", sa.Text, nullable=False),
)
