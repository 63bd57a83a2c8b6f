"""The running platform for the security probes: the e2e suite's ``platform`` fixture.

Loaded from tests/e2e/conftest.py by path (the test tree is not a package under
``--import-mode=importlib``), so both suites start the platform the same way.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "ring_e2e_conftest", Path(__file__).resolve().parents[1] / "e2e" / "conftest.py"
)
assert _spec is not None
assert _spec.loader is not None
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)

platform = _e2e.platform
