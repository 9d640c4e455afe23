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
# Control characters are never data: a NUL, a terminal escape (ESC [ …) or a bidirectional override
# in a name would be stored, printed to terminals and written into exports. They go, like the
# zero-width space; tab, CR and LF stay for whitespace collapsing (NEL becomes a space).
_CONTROLS = [*(c for c in range(0x20) if chr(c) not in "\t\n\r"), *range(0x7F, 0xA0),
             0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
HALFWIDTH.update({code: None for code in _CONTROLS})
HALFWIDTH[0x85] = 0x20


# translate() looks every character up in the table (µs per cell); most cells need nothing,
# and a regex search over the same characters says so far sooner (for ASCII text, `isprintable`:
# only tab, CR, LF and the control characters make it false).
NEEDS_HALFWIDTH = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(HALFWIDTH)) + "]")


def needs_translation(text: str) -> bool:
    """Whether `to_halfwidth` would change `text` (a fast test, for the common case of no change)."""
    if text.isascii():
        return not text.isprintable()
    return NEEDS_HALFWIDTH.search(text) is not None


def to_halfwidth(value: str) -> str:
    """Full-width ASCII and the ideographic space become their half-width forms; control
    characters are dropped."""
    if not needs_translation(value):
        return value
    return value.translate(HALFWIDTH)
