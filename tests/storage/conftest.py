from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.database import open_storage
from storage.repository import Repository


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "journal.sqlite"


@pytest.fixture
def repo(journal_path: Path) -> Iterator[Repository]:
    repository = open_storage(journal_path)
    yield repository
    repository.close()
