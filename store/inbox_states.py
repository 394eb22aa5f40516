"""The state an inbox_activities row is written with: it never moves afterwards."""

from __future__ import annotations

from enum import StrEnum


class RecordState(StrEnum):
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"  # a listener raised a bug: kept whole for the admin
