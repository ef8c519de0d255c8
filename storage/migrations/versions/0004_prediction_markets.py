"""Prediction markets: settlement fills, the edges the bots signalled, the sources' latest
estimates, settlements and the sources' calibration records.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table('prediction_edges',
    sa.Column('bot', sa.String(), nullable=False),
    sa.Column('instrument_key', sa.String(), nullable=False),
    sa.Column('domain', sa.String(), nullable=False),
    sa.Column('side', sa.String(), nullable=False),
    sa.Column('crowd_price', sa.Double(), nullable=False),
    sa.Column('probability', sa.Double(), nullable=False),
    sa.Column('edge', sa.Double(), nullable=False),
    sa.Column('side_price', sa.Double(), nullable=False),
    sa.Column('estimates', sa.Text(), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('signals', sa.Integer(), nullable=False),
    sa.Column('gate', sa.String(), nullable=True),
    sa.Column('gate_reason', sa.String(), nullable=False),
    sa.Column('traded', sa.Boolean(), nullable=False),
    sa.Column('outcome_yes', sa.Boolean(), nullable=True),
    sa.Column('settled_at', sa.DateTime(), nullable=True),
    sa.Column('pnl', sa.String(), nullable=True),
    sa.Column('extra', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('bot', 'instrument_key', name=op.f('pk_prediction_edges'))
    )
    with op.batch_alter_table('prediction_edges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prediction_edges_instrument_key'), ['instrument_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_prediction_edges_last_seen'), ['last_seen'], unique=False)

    op.create_table('prediction_estimates',
    sa.Column('instrument_key', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('domain', sa.String(), nullable=False),
    sa.Column('probability', sa.Double(), nullable=False),
    sa.Column('time', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('instrument_key', 'source', name=op.f('pk_prediction_estimates'))
    )
    op.create_table('prediction_settlements',
    sa.Column('instrument_key', sa.String(), nullable=False),
    sa.Column('outcome_yes', sa.Boolean(), nullable=False),
    sa.Column('settled_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('instrument_key', name=op.f('pk_prediction_settlements'))
    )
    op.create_table('source_calibration',
    sa.Column('domain', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('settled', sa.Integer(), nullable=False),
    sa.Column('squared_error_sum', sa.Double(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('domain', 'source', name=op.f('pk_source_calibration'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('source_calibration')
    op.drop_table('prediction_settlements')
    op.drop_table('prediction_estimates')
    with op.batch_alter_table('prediction_edges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prediction_edges_last_seen'))
        batch_op.drop_index(batch_op.f('ix_prediction_edges_instrument_key'))

    op.drop_table('prediction_edges')
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.drop_column('settlement')
