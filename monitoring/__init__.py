"""Operator channels beside the dashboard: Telegram control and alerts."""
