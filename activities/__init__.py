"""The vocabulary: parse, validate and build ActivityStreams 2.0 objects and activities. No I/O."""

from activities.errors import ActivityError
from activities.parse import Activity, load_json, parse_activity

__all__ = ["Activity", "ActivityError", "load_json", "parse_activity"]
