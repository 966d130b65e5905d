"""Helpers shared by the service tests (imported by name: tests/service is on sys.path)."""

from __future__ import annotations

from typing import Any

import pandas as pd

WRITE_TOKEN = "w" * 12 + "-write-token"
READ_TOKEN = "r" * 12 + "-read-token"

PATIENTS = pd.DataFrame(
    {
        "id": [1, 2, 3, 4],
        "age": [40, 51, 33, 62],
        "site": ["a", "b", "a", "c"],
    }
)


def assert_clean_error(response: Any, status: int) -> dict[str, Any]:
    """The response has ``status`` and a one-line JSON error without any traceback."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert "\n" not in body["error"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body
