"""Vetoed trades: every entry a veto refused, followed on paper at fixed horizons (issue 7's
veto analytics).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('vetoed_trades',
    sa.Column('signal_id', sa.String(), nullable=False),
    sa.Column('vetoed_at', sa.DateTime(), nullable=False),
    sa.Column('bot', sa.String(), nullable=False),
    sa.Column('instrument_key', sa.String(), nullable=False),
    sa.Column('side', sa.String(), nullable=False),
    sa.Column('stage', sa.String(), nullable=False),
    sa.Column('cause', sa.String(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('entry_price', sa.Double(), nullable=True),
    sa.Column('stop', sa.Double(), nullable=True),
    sa.Column('horizons', sa.Text(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('marks', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('signal_id', name=op.f('pk_vetoed_trades'))
    )
    with op.batch_alter_table('vetoed_trades', schema=None) as batch_op:
        batch_op.create_index('ix_vetoed_trades_status_vetoed_at', ['status', 'vetoed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_vetoed_trades_vetoed_at'), ['vetoed_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('vetoed_trades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vetoed_trades_vetoed_at'))
        batch_op.drop_index('ix_vetoed_trades_status_vetoed_at')

    op.drop_table('vetoed_trades')
