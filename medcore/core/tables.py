"""CSV tables in, in memory: the size, binary and parse checks every capability's table upload shares,
and finding a training file under the shared data folder."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from medcore.core.errors import InvalidInputError
from medcore.core.validate import check_file_bytes

__all__ = ["read_csv_bytes", "find_data_file"]


def read_csv_bytes(name: str, data: bytes, max_rows: int, hint: str) -> pd.DataFrame:
    """A CSV upload as a DataFrame (nothing written to disk).

    Args:
        name: the file's name, for messages.
        data: its bytes.
        max_rows: more data rows are refused.
        hint: what the file should hold (ends the messages).

    Raises:
        InvalidInputError: empty, too large, binary, not a CSV table, no rows or too many rows.
    """
    check_file_bytes(name, data, hint)
    if b"\x00" in data[:4096]:
        raise InvalidInputError(f"'{name}' is not a text CSV file (it holds binary data). Export the table as CSV.")
    try:
        frame = pd.read_csv(io.BytesIO(data), nrows=max_rows + 1)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise InvalidInputError(
            f"'{name}' could not be read as a CSV table ({str(err).splitlines()[0][:200]}). "
            "Save it as comma-separated text with a header row."
        ) from None
    if len(frame) > max_rows:
        raise InvalidInputError(f"'{name}' holds more than {max_rows:,} rows; split it into smaller files.")
    return frame


def find_data_file(relative: str, data_path: Path | str) -> Path:
    """A training file (``relative`` to the shared data folder) from the data folder, its sub-folder or the file.

    Raises:
        InvalidInputError: no such file there.
    """
    data_path = Path(data_path)
    file_name = Path(relative).name
    for candidate in (data_path, data_path / file_name, data_path / relative):
        if candidate.is_file() and candidate.name == file_name:
            return candidate
    raise InvalidInputError(f"No '{file_name}' at '{data_path}'. Pass the shared data folder (holding {relative}).")
