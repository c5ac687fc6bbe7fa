"""Read the hints back out of an assertion's failure message."""

import re

import pytest

from tinynet.testing import KINDS

_LINE = re.compile(r"^  (?P<label>[^:]+): (?P<kind>[^:]+): ")


def failure(check, *args, **kwargs) -> str:
    """The message of the AssertionError that ``check(*args, **kwargs)`` must raise."""
    with pytest.raises(AssertionError) as info:
        check(*args, **kwargs)
    return str(info.value)


def hints_of(message: str) -> dict[str, set[str]]:
    """``{array: {hint kinds}}`` from a failure message (seeds merged: ``"W (seeds 0, 1)"`` -> ``"W"``)."""
    if "\nHints:\n" not in message:
        return {}
    found: dict[str, set[str]] = {}
    for line in message.split("\nHints:\n", 1)[1].splitlines():
        match = _LINE.match(line)
        assert match, f"unexpected hint line {line!r}"
        kind = match["kind"]
        assert kind in KINDS, f"unknown hint kind {kind!r}"
        label = match["label"].split(" (seed")[0]
        found.setdefault(label, set()).add(kind)
    return found


def failing_arrays(message: str) -> set[str]:
    """The arrays whose table row says FAIL."""
    header, *rows = message.split("\n\n")[1].splitlines()
    column = header.split().index("array")
    return {row.split()[column] for row in rows if " FAIL " in row}
