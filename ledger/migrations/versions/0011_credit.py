"""credit: quality credit grades, their history, grading applications and their steps
(projections of the credit_* entries), and the grading's own state (cursor, facts, deadlines,
scores)

A ledger written before this revision has no credit entries; the grading's cursor starts at
the beginning and reads the whole ledger on its first run.

Revision ID: 0011_credit
Revises: 0010_sign_in_failures
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_credit"
down_revision = "0010_sign_in_failures"


def upgrade() -> None:
    op.create_table(
        "credit_grades",
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("since", sa.String(length=40), nullable=False),
        sa.Column("exempt_until", sa.String(length=40), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("enterprise"),
    )
    op.create_index(op.f("ix_credit_grades_grade"), "credit_grades", ["grade"])
    op.create_table(
        "credit_changes",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("previous", sa.String(length=1), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("score", sa.String(length=12), nullable=False),
        sa.Column("as_of_seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("exempt_until", sa.String(length=40), nullable=True),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("reason_zh", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(op.f("ix_credit_changes_enterprise"), "credit_changes", ["enterprise"])
    op.create_table(
        "credit_applications",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("applied_at", sa.String(length=40), nullable=False),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.Column("district_reviewer", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(op.f("ix_credit_applications_enterprise"), "credit_applications",
                    ["enterprise"])
    op.create_index(op.f("ix_credit_applications_state"), "credit_applications", ["state"])
    op.create_table(
        "credit_steps",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("application", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("by", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(op.f("ix_credit_steps_application"), "credit_steps", ["application"])
    op.create_table(
        "credit_cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("clock", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "credit_facts",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("factor", sa.String(length=30), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("expires_at", sa.String(length=40), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("seq", "enterprise", "factor"),
    )
    op.create_index(op.f("ix_credit_facts_enterprise"), "credit_facts", ["enterprise"])
    op.create_index(op.f("ix_credit_facts_expires_at"), "credit_facts", ["expires_at"])
    op.create_table(
        "credit_deadlines",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("party", sa.String(length=40), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("lot", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_credit_deadlines_lot", "credit_deadlines", ["gtin", "lot"])
    op.create_index(op.f("ix_credit_deadlines_due_at"), "credit_deadlines", ["due_at"])
    op.create_table(
        "credit_scores",
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("exempt_until", sa.String(length=40), nullable=True),
        sa.Column("grade_seq", sa.BigInteger(), nullable=True),
        sa.Column("licences", sa.String(length=400), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("enterprise"),
    )
    op.create_index(op.f("ix_credit_scores_exempt_until"), "credit_scores", ["exempt_until"])


def downgrade() -> None:
    for table in ("credit_scores", "credit_deadlines", "credit_facts", "credit_cursor",
                  "credit_steps", "credit_applications", "credit_changes", "credit_grades"):
        op.drop_table(table)
