"""A numpy array as OCI's ADS library sends it: base64 of ``np.save``, read without unpickling.

``rows`` checks the ``.npy`` header before numpy reads anything: the format's magic, a
dtype of numbers, booleans or text (no objects, which only a pickle could hold), one or
two dimensions, and as many bytes as the header's shape says (so a forged shape can't
make the server allocate more than was sent). The rows are then JSON-like lists, which
go through the checks of every other form (NaN becomes
``null``, a missing value). Each problem is a ``ValueError`` whose
message says what is wrong; ``payload`` answers it with a 400.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from typing import Any

import numpy as np
from numpy.lib import format as npy

KINDS = "biufU"  # booleans, integers, unsigned integers, floats, text
READ_HEADER = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}


def rows(text: Any) -> list[Any]:
    """The rows of a base64 ``.npy`` array: a 2-D array's rows, or a 1-D array as one row."""
    if not isinstance(text, str):
        raise ValueError("a numpy array must be sent as text: base64 of np.save, as ADS sends it")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):  # not the base64 alphabet, wrong padding, not ASCII
        raise ValueError("not base64 text; ADS sends a numpy array as base64 of np.save") from None
    grid = _load(raw)
    if grid.ndim == 1:
        grid = grid.reshape(1, -1)
    if grid.dtype.kind == "U" and (_code_points(grid) > 0x10FFFF).any():
        raise ValueError("the numpy array holds text that is not Unicode (a code point past U+10FFFF)")
    if grid.dtype.kind != "f" or np.isfinite(grid).all():
        return grid.tolist()
    if np.isinf(grid).any():
        row, column = np.argwhere(np.isinf(grid))[0].tolist()
        raise ValueError(f"the numpy array holds infinity (row {row}, column {column}); send finite numbers")
    # NaN is numpy's missing value: null, which a feature that may be missing takes (else a 400).
    return [[None if value != value else value for value in row] for row in grid.tolist()]


def _code_points(text: np.ndarray) -> np.ndarray:
    """The UTF-32 code units of an array of text (numpy stores text so)."""
    return np.frombuffer(text.tobytes(), dtype=text.dtype.byteorder.replace("|", "=") + "u4")


def _load(raw: bytes) -> np.ndarray:
    stream = io.BytesIO(raw)
    try:
        version = npy.read_magic(stream)
        shape, _, dtype = READ_HEADER[version](stream)  # np.load reads the order itself
    except Exception:  # not .npy, an unknown version, a broken header (ValueError, KeyError, TokenError...)
        raise ValueError("not a numpy array written by np.save (its .npy header can't be read)") from None
    # float128 too: its values are no JSON numbers (and a double holds what a model takes).
    if dtype.hasobject or dtype.kind not in KINDS or (dtype.kind == "f" and dtype.itemsize > 8):
        raise ValueError(
            f"a numpy array of dtype {dtype} can't be read; send numbers (at most float64), booleans "
            "or text (an array of objects would have to be unpickled, which this server never does)"
        )
    if len(shape) not in (1, 2):
        raise ValueError(f"the numpy array has {len(shape)} dimensions; send one row (1) or rows (2)")
    # A size 0 needs no data bytes: (10**9, 0) or text of 0 characters would make millions of
    # empty rows or values out of a few bytes.
    if 0 in shape or dtype.itemsize == 0:
        raise ValueError(f"the numpy array holds no values (shape {shape}, dtype {dtype})")
    if len(raw) - stream.tell() != math.prod(shape) * dtype.itemsize:
        raise ValueError(f"the numpy array's data does not match its shape {shape} and dtype {dtype}")
    try:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as error:
        raise ValueError(f"the numpy array can't be read: {error}") from None
