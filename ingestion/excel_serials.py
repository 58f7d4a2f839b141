"""Excel date and time cells that fastexcel reads as a date they do not show.

Excel stores a date or time as a serial number of days (1 is 1900-01-01) and shows it through the
cell's number format; fastexcel turns a cell with a date or time format into a timestamp. Two
serials come out wrong, both read by fastexcel into a text starting with a day no one typed:
- below 1, a time without a date (08:30 is 0.354...): read as '1899-12-31 08:30:00' (as '1904-01-01
  08:30:00' in a workbook counting from 1904, Excel for Mac's old default);
- 60, the 29 February 1900 Excel counts though it never was (Lotus 1-2-3 took 1900 for a leap
  year): read as '1900-02-28', the day before, which serial 59 also gives.
(Serials 1 to 59 read as Excel shows them, and 61 onwards the calendars agree.)

`suspects` finds the values that may be such a cell from fastexcel's text alone (three prefix tests per
value); only when there are some does the reader fetch their serials (a text typed '1899-12-31 08:30:00'
has none), and `correction` says what the cell shows and why it is no date.
"""

from __future__ import annotations

from functools import reduce
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

_DAY_ZERO = ("1899-12-31 ", "1904-01-01 ")  # serial 0, counting from 1900 and from 1904
_DAY_BEFORE = "1900-02-28"  # serial 59, and what serial 60 reads as
_NO_SUCH_DAY = 60  # 1900-02-29


class Correction(NamedTuple):
    text: str  # what the cell shows, as the text a text column loads
    why_no_date: str  # the flag line's reason in a date or timestamp column


def suspects(values: pa.Array) -> list[int]:
    """Indices of the values fastexcel may have read from a time-only or a 29 February 1900 cell."""
    found = reduce(pc.or_, [pc.starts_with(values, day) for day in (*_DAY_ZERO, _DAY_BEFORE + " ")])
    if not pc.any(found).as_py():
        return []
    return pc.indices_nonzero(found).to_pylist()  # nulls are not "nonzero"


def correction(days: float, read: str) -> Correction | None:
    """What a date or time cell holding the serial `days`, read by fastexcel as `read`, shows; None when `read` is right."""
    if 0 <= days < 1:
        # Seconds are shown when the cell has any, whatever its format shows: nothing typed is lost.
        seconds = round(days * 86400) % 86400
        hours, minutes, rest = seconds // 3600, seconds // 60 % 60, seconds % 60
        text = f"{hours:02}:{minutes:02}" + (f":{rest:02}" if rest else "")
        return Correction(text, f"a time without a date: {text} (the cell holds only a time of day; type the date)")
    if _NO_SUCH_DAY <= days < _NO_SUCH_DAY + 1 and read.startswith(_DAY_BEFORE):
        text = "1900-02-29" + read[len(_DAY_BEFORE):]
        shown = text.removesuffix(" 00:00:00")
        return Correction(text, f"'{shown}' is a day that never was (Excel's 1900 leap-year error); type the date again")
    return None
