"""Character width folding: the one text primitive that both segmentation (`segment`) and the
domain's text helpers (`domain.text`) build on, so neither has to import the other."""
from __future__ import annotations

import re

# Full-width ASCII (U+FF01–FF5E) and the ideographic space map to half-width; str.translate does
# it in C, which matters at 30,000 rows × 18 cells.
HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
HALFWIDTH[0x3000] = 0x20
HALFWIDTH[0x00A0] = 0x20  # no-break space, common in Excel exports
HALFWIDTH[0x200B] = None  # zero-width space
HALFWIDTH[0xFEFF] = None  # stray BOM inside a cell


# translate() looks every character up in the table (µs per cell); most cells need nothing,
# and a regex search over the same characters says so far sooner.
NEEDS_HALFWIDTH = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(HALFWIDTH)) + "]")


def to_halfwidth(value: str) -> str:
    """Full-width ASCII and the ideographic space become their half-width forms."""
    if value.isascii() or NEEDS_HALFWIDTH.search(value) is None:
        return value
    return value.translate(HALFWIDTH)
