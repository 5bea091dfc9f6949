"""Initial schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "access_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("consumer", sa.String(length=32), nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("requested_at_us", sa.BigInteger(), nullable=False),
        sa.Column("answer_due_us", sa.BigInteger(), nullable=False),
        sa.Column("decided_at_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    op.create_index(op.f("ix_access_requests_consumer"), "access_requests", ["consumer"], unique=False)
    op.create_index(op.f("ix_access_requests_owner"), "access_requests", ["owner"], unique=False)
    op.create_table(
        "case_departments",
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "department", name=op.f("pk_case_departments")),
    )
    op.create_index(op.f("ix_case_departments_department"), "case_departments", ["department"], unique=False)
    op.create_table(
        "case_materials",
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("material_json", sa.Text(), nullable=False),
        sa.Column("fetched_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "dataset", "version", name=op.f("pk_case_materials")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("service_item", sa.String(length=64), nullable=False),
        sa.Column("applicant_id", sa.String(length=64), nullable=False),
        sa.Column("lead_department", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deadline_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("submitted_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("case_json", sa.Text(), nullable=False),
        sa.Column("materials_fetched", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reads_from_case", sa.Integer(), server_default="0", nullable=False),
        sa.Column("submissions_avoided", sa.Integer(), server_default="0", nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("request_id", name=op.f("uq_cases_request_id")),
    )
    op.create_index(op.f("ix_cases_applicant_id"), "cases", ["applicant_id"], unique=False)
    op.create_index(op.f("ix_cases_service_item"), "cases", ["service_item"], unique=False)
    op.create_index(op.f("ix_cases_state"), "cases", ["state"], unique=False)
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_checkpoints")),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_username"), "console_sessions", ["username"], unique=False)
    op.create_table(
        "console_signin_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_signin_failures")),
    )
    op.create_index(
        op.f("ix_console_signin_failures_username_address_time_us"),
        "console_signin_failures",
        ["username", "address", "time_us"],
        unique=False,
    )
    op.create_table(
        "console_users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.Text(), server_default="", nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_console_users")),
    )
    op.create_table(
        "datasets",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sharing_type", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("registered_at_us", sa.BigInteger(), nullable=False),
        sa.Column("registered_by", sa.String(length=128), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("code", "version", name=op.f("pk_datasets")),
    )
    op.create_index(op.f("ix_datasets_owner"), "datasets", ["owner"], unique=False)
    op.create_table(
        "department_keys",
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("use", sa.String(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("added_at_us", sa.BigInteger(), nullable=False),
        sa.Column("retired_at_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("department", "kid", name=op.f("pk_department_keys")),
    )
    op.create_table(
        "departments",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("adapter_endpoint", sa.Text(), server_default="", nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("registered_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_departments")),
    )
    op.create_table(
        "documents",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("document_json", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_documents")),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("consumer", sa.String(length=32), nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("service_items_json", sa.Text(), nullable=False),
        sa.Column("valid_from_us", sa.BigInteger(), nullable=False),
        sa.Column("valid_until_us", sa.BigInteger(), nullable=False),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("granted_by", sa.String(length=128), nullable=False),
        sa.Column("access_request_id", sa.String(length=40), server_default="", nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("revoke_reason", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    op.create_index(op.f("ix_grants_consumer_dataset"), "grants", ["consumer", "dataset"], unique=False)
    op.create_table(
        "log_entries",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("caller_department", sa.String(length=32), nullable=False),
        sa.Column("officer_id", sa.String(length=128), nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=256), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("hidden_from_subject", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_entries")),
    )
    op.create_index(
        op.f("ix_log_entries_caller_department_time_us"), "log_entries", ["caller_department", "time_us"], unique=False
    )
    op.create_index(op.f("ix_log_entries_case_id_idx"), "log_entries", ["case_id", "idx"], unique=False)
    op.create_index(op.f("ix_log_entries_dataset_time_us"), "log_entries", ["dataset", "time_us"], unique=False)
    op.create_index(op.f("ix_log_entries_subject_id_idx"), "log_entries", ["subject_id", "idx"], unique=False)
    op.create_index(op.f("ix_log_entries_time_us"), "log_entries", ["time_us"], unique=False)
    op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_head")),
    )
    op.create_table(
        "log_hidden_departments",
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("department", name=op.f("pk_log_hidden_departments")),
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_log_nodes")),
    )
    op.create_table(
        "service_items",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("lead_department", sa.String(length=32), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("registered_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_service_items")),
    )
    op.create_index(op.f("ix_service_items_lead_department"), "service_items", ["lead_department"], unique=False)


def downgrade() -> None:

    op.drop_index(op.f("ix_service_items_lead_department"), table_name="service_items")
    op.drop_table("service_items")
    op.drop_table("log_nodes")
    op.drop_table("log_hidden_departments")
    op.drop_table("log_head")
    op.drop_index(op.f("ix_log_entries_time_us"), table_name="log_entries")
    op.drop_index(op.f("ix_log_entries_subject_id_idx"), table_name="log_entries")
    op.drop_index(op.f("ix_log_entries_dataset_time_us"), table_name="log_entries")
    op.drop_index(op.f("ix_log_entries_case_id_idx"), table_name="log_entries")
    op.drop_index(op.f("ix_log_entries_caller_department_time_us"), table_name="log_entries")
    op.drop_table("log_entries")
    op.drop_index(op.f("ix_grants_consumer_dataset"), table_name="grants")
    op.drop_table("grants")
    op.drop_table("documents")
    op.drop_table("departments")
    op.drop_table("department_keys")
    op.drop_index(op.f("ix_datasets_owner"), table_name="datasets")
    op.drop_table("datasets")
    op.drop_table("console_users")
    op.drop_index(op.f("ix_console_signin_failures_username_address_time_us"), table_name="console_signin_failures")
    op.drop_table("console_signin_failures")
    op.drop_index(op.f("ix_console_sessions_username"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("checkpoints")
    op.drop_index(op.f("ix_cases_state"), table_name="cases")
    op.drop_index(op.f("ix_cases_service_item"), table_name="cases")
    op.drop_index(op.f("ix_cases_applicant_id"), table_name="cases")
    op.drop_table("cases")
    op.drop_table("case_materials")
    op.drop_index(op.f("ix_case_departments_department"), table_name="case_departments")
    op.drop_table("case_departments")
    op.drop_index(op.f("ix_access_requests_owner"), table_name="access_requests")
    op.drop_index(op.f("ix_access_requests_consumer"), table_name="access_requests")
    op.drop_table("access_requests")
