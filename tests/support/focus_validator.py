"""The official FOCUS validator (../shared/focus-validator/validate), run on an exported file by the e2e tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import SHARED

VALIDATOR = SHARED / "focus-validator" / "validate"


def assert_focus_valid(data: Path, reports: Path, criteria: str | None = None) -> str:
    """Validate ``data`` (Parquet or CSV) with the applicability ``criteria`` (comma-separated, ``ALL``, or none).

    Asserts exit 0 — no failed rule apart from the validator's known rule-model bugs (its README) — and a summary
    line with a ``Fail:`` count; the reports go to ``reports``. Returns the validator's output.
    """
    run = subprocess.run(
        [str(VALIDATOR), str(data), *([criteria] if criteria else [])],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "FOCUS_VALIDATOR_OUT": str(reports)},
    )
    summary = [line for line in run.stdout.splitlines() if line.startswith("Total:")]
    assert run.returncode == 0, (
        f"{data.name} {criteria or 'default criteria'}:\n" + run.stdout[-4000:] + run.stderr[-2000:]
    )
    assert summary and "| Fail: " in summary[0]
    return run.stdout
