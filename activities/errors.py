class ActivityError(Exception):
    """Input that is not a valid activity or object. `reason` is safe to show to the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RuleRefused(ActivityError):
    """Well-formed input that a rule of ours refuses (no such calendar, capacity below what is sold)."""
