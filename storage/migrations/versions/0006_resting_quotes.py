"""Resting quotes: a signal's limit price and the most its entry may be sized to (issue 10's market maker).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 03:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('signals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('limit_price', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('max_quantity', sa.String(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('signals', schema=None) as batch_op:
        batch_op.drop_column('max_quantity')
        batch_op.drop_column('limit_price')
