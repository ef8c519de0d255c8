"""Tests for the news_feeds package."""
