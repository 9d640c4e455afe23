"""Pure text helpers: cleaning (width folding from `expertpool.chars`), multi-value cells, dates,
identity numbers."""
from __future__ import annotations

import datetime as dt
import hmac
import operator
import re

from expertpool.chars import HALFWIDTH as _HALFWIDTH
from expertpool.chars import NEEDS_HALFWIDTH as _NEEDS_HALFWIDTH
from expertpool.chars import to_halfwidth

_SPACES = re.compile(r"\s+")
# Multi-value cells split on ；;、,， (after folding, full-width ；，become ; ,).
_MULTI_SPLIT = re.compile(r"[;、,]+")


def clean(value: object) -> str:
    """Half-width, without control characters, trimmed, inner runs of whitespace collapsed to one space."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # chars.needs_translation, inlined (hot)
    if (not text.isprintable()) if text.isascii() else _NEEDS_HALFWIDTH.search(text) is not None:
        text = text.translate(_HALFWIDTH)
    if "  " in text or "\t" in text or "\n" in text or "\r" in text:
        text = _SPACES.sub(" ", text)
    return text.strip()


def fold(value: str) -> str:
    """Key for alias lookup: half-width, no whitespace, ASCII lower-cased."""
    return _SPACES.sub("", to_halfwidth(value)).lower()


def split_multi(value: object) -> list[str]:
    """Split a multi-value cell on ；;、,， and drop empties, keeping order and first occurrences."""
    text = clean(value)
    if not text:
        return []
    seen: dict[str, None] = {}
    for part in _MULTI_SPLIT.split(text):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)


#: Every date ExpertPool reads (review dates, sanction periods, decisions, review history, `--since`)
#: must lie in this range: a year such as 0001 or 9999 is a typing error, and date arithmetic near
#: the ends of Python's calendar (a year back from the review date, local midnight) would overflow.
DATE_RANGE: tuple[dt.date, dt.date] = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))


def in_date_range(day: dt.date) -> dt.date:
    """`day`, if it lies in `DATE_RANGE`; else ValueError saying the range."""
    low, high = DATE_RANGE
    if not low <= day <= high:
        raise ValueError(f"日期 {day.isoformat()} 超出可用范围（{low.isoformat()} 至 {high.isoformat()}）")
    return day


def parse_date(value: object) -> dt.date:
    """Accept 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, or a date/datetime object, within
    `DATE_RANGE` (ValueError otherwise)."""
    if isinstance(value, dt.datetime):
        return in_date_range(value.date())
    if isinstance(value, dt.date):
        return in_date_range(value)
    # A time part (ISO "T" or a space, as Excel and JSON exports write) is dropped.
    text = re.split(r"[T ]", clean(value), maxsplit=1)[0]
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            try:
                parsed = dt.date(year, month, day)
            except ValueError:
                break
            return in_date_range(parsed)
    raise ValueError(f"无法识别的日期「{clean(value)}」（应为 2024-03-05、2024/3/5 或 2024年3月5日）")


def parse_year(value: object, *, lo: int = 1900, hi: int = 2100) -> int:
    text = clean(value).removesuffix("年")
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not re.fullmatch(r"\d{4}", text):
        raise ValueError(f"年份「{clean(value)}」应为四位数字")
    year = int(text)
    if not lo <= year <= hi:
        raise ValueError(f"年份 {year} 超出范围 {lo}–{hi}")
    return year


# ---- identity numbers (居民身份证号码, GB 11643-1999) ----
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")


def id_check_char(first17: str) -> str:
    total = sum(map(operator.mul, _ID_WEIGHTS, map(int, first17)))  # weights first: stops after 17, like zip
    return _ID_CHECK[total % 11]


def normalise_id_number(value: object) -> str:
    """Validate an 18-character identity number (ISO 7064 MOD 11-2 checksum) and return it upper-cased."""
    text = clean(value).replace(" ", "").upper()
    if not _ID_PATTERN.match(text):
        raise ValueError("证件号码应为18位（前17位数字，末位数字或X）")
    if id_check_char(text[:17]) != text[17]:
        raise ValueError("证件号码校验位错误")
    try:
        dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise ValueError("证件号码中的出生日期无效") from None
    return text


#: prefix of identity hashes of the current scheme; an unprefixed hash is the old salted SHA-256,
#: whose salt sat in the store beside it (recoverable), and is never compared with these
ID_HASH_SCHEME = "hmac1:"


def id_hash(id_number: str, key: bytes) -> str:
    """HMAC-SHA256 of a normalised identity number under a key kept outside the store, so a copy
    of the store alone cannot test guesses of the number; the number itself is never stored."""
    return ID_HASH_SCHEME + hmac.digest(key, id_number.encode(), "sha256").hex()


def is_current_id_hash(value: str | None) -> bool:
    return bool(value) and value.startswith(ID_HASH_SCHEME)


_PHONE = re.compile(r"^(?:\+?86)?1\d{10}$|^0\d{2,3}-?\d{7,8}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def normalise_phone(value: object) -> str:
    text = clean(value).replace(" ", "")
    if not _PHONE.match(text):
        raise ValueError(f"手机号码「{text}」格式不正确")
    return text


def normalise_email(value: object) -> str:
    text = clean(value).replace(" ", "")
    if not _EMAIL.match(text):
        raise ValueError(f"邮箱「{text}」格式不正确")
    return text.lower()


# Anything shaped like an identity number (18 characters: 17 digits and a digit or X, optionally
# grouped 6-8-4 by a space or hyphen; or the old 15 digits) or a phone number (mainland mobile,
# with or without +86; landline with area code), standing alone rather than inside a longer run.
_ID_SHAPE = re.compile(r"(?<![0-9A-Za-z])(?:\d{6}[ -]?\d{8}[ -]?\d{3}[0-9Xx]|\d{15})(?![0-9A-Za-z])")
_PHONE_SHAPE = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}|0\d{2,3}-\d{7,8})(?![0-9A-Za-z])")
ID_MASK = "[证件号码已隐去]"


def mask_personal(text: str, *, phones: bool = True) -> str:
    """`text` with every identity number (and, unless `phones` is False, every phone number) in
    it masked: for messages, reject reasons and report files, which quote cells that may hold
    another column's value when a row is misaligned. Phones keep the shape `mask_phone` shows."""
    if not text or not any(c.isdigit() for c in text):
        return text
    text = _ID_SHAPE.sub(ID_MASK, text)
    if phones:
        text = _PHONE_SHAPE.sub(lambda m: mask_phone(re.sub(r"[ -]", "", m.group(0))), text)
    return text


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    user, domain = email.split("@", 1)
    return (user[:1] + "***@" + domain) if user else "***@" + domain
