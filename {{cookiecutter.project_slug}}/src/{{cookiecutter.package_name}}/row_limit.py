"""MAX_ROWS: a /predict request of more rows is refused with 413, counted as early as it can be.

Rows of numbers carry the most rows a byte (2.6 million ``[0],`` in 10 MB), so a body of them is
counted in its bytes, before it is parsed: outside its few strings (its key and ``method``), each
``[`` opens a row or the list of rows. Counting 10 MB takes about 10 ms; parsing and checking it
took 1.2 s and a quarter of a GB. Any other body is counted as soon as it is parsed, before any row
is read (``payload.read_body``: its longest list), and once more before the model runs (the length
of the array or the DataFrame: no copy).
"""

from __future__ import annotations

from .payload import check_rows

# "instances" or "data", "method" and its value: the strings of a body of rows of numbers.
MAX_STRINGS = 3


def lists_in(body: bytes) -> int | None:
    """How many JSON arrays ``body`` opens, when it holds at most MAX_STRINGS strings and no
    escape (each ``"`` then starts or ends a string); else None. None too for lists nested three
    deep, which no body of rows holds: the parser says what is wrong with them."""
    if body.count(b'"') > 2 * MAX_STRINGS or b"\\" in body or b"[[[" in body:
        return None
    lists, start = body.count(b"["), body.find(b'"')
    while start != -1:
        end = body.find(b'"', start + 1)
        if end == -1:  # a string never closed: malformed, for the parser to say
            return None
        lists -= body.count(b"[", start, end)
        start = body.find(b'"', end + 1)
    return lists


def check_body(body: bytes, limit: int) -> None:
    """PayloadError (413) for a body of rows of numbers of more than ``limit`` rows, before it is parsed."""
    if (lists := lists_in(body)) is not None:
        check_rows(lists - 1, limit)  # the list of rows, then one a row
