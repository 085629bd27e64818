"""Settings for every test of the repository (core and plugins): nothing is written to the real
user data dir (the command line's log database goes to a temporary folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

__all__ = ["private_data_dir"]


@pytest.fixture(autouse=True, scope="session")
def private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``MODELPLUG_DATA_DIR`` points at a session temporary folder (subprocesses inherit it)."""
    old = os.environ.get("MODELPLUG_DATA_DIR")
    os.environ["MODELPLUG_DATA_DIR"] = str(tmp_path_factory.mktemp("modelplug-data"))
    yield
    if old is None:
        os.environ.pop("MODELPLUG_DATA_DIR", None)
    else:
        os.environ["MODELPLUG_DATA_DIR"] = old
