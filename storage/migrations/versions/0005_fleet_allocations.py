"""Fleet allocations: each sub-bot's Thompson-sampling weight per round (issue 10's fleet).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 00:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('fleet_allocations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('time', sa.DateTime(), nullable=False),
    sa.Column('bot', sa.String(), nullable=False),
    sa.Column('weight', sa.Double(), nullable=False),
    sa.Column('size_multiplier', sa.Double(), nullable=False),
    sa.Column('trades', sa.Integer(), nullable=False),
    sa.Column('posterior_mean', sa.Double(), nullable=False),
    sa.Column('posterior_sd', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_allocations'))
    )
    with op.batch_alter_table('fleet_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_fleet_allocations_bot_time', ['bot', 'time'], unique=False)
        batch_op.create_index(batch_op.f('ix_fleet_allocations_time'), ['time'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('fleet_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fleet_allocations_time'))
        batch_op.drop_index('ix_fleet_allocations_bot_time')

    op.drop_table('fleet_allocations')
