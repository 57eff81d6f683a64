"""PII detection and masking: e-mail addresses, phone numbers, public IP addresses, payment-card numbers and IBANs.

Regular expressions find candidates; each type then has a validator, so ordinary numbers stay: payment cards must
pass the Luhn check and start with a card network's prefix, IBANs must pass the ISO 13616 mod-97 check with their
country's length, IP addresses must be public (``ipaddress``: no private, loopback, link-local, reserved or
documentation ranges). Phone numbers need a phone's shape (an international ``+`` prefix, a North American
``(555) 123-4567`` layout, or a trunk ``0`` and separators) and are never a date, an ISBN or an order/reference
number (the words just before a number are checked). Overlapping matches are resolved by the order of ``PII_TYPES``.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Iterable

import pyarrow as pa

PII_TYPES = ("email", "iban", "card", "ip", "phone")
DEFAULT_TOKENS = {"email": "<EMAIL>", "iban": "<IBAN>", "card": "<CARD>", "ip": "<IP>", "phone": "<PHONE>"}
COUNTS_TYPE = pa.struct([(t, pa.int32()) for t in PII_TYPES])

_EMAIL = re.compile(r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"\.)+[A-Za-z]{2,24}(?![\w@-])")
# "logo@2x.png" and the like are file names, not addresses
_FILE_TLDS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ico", "bmp", "tif", "tiff", "pdf"}
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_CARD = re.compile(r"(?<![\w./=:-])\d(?:[ -]?\d){12,18}(?![\w/-]|\.\d)")
_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w])")
_S = r"[ \xa0.-]"  # separators inside a phone number
_PHONE = re.compile(
    r"(?<![\w+./:-])(?<!\d )(?:"
    rf"\+\d{{1,3}}(?:{_S}?\(?\d{{1,4}}\)?){{2,5}}"  # international: +44 20 7946 0958, +1-212-555-0199
    rf"|(?:1{_S})?(?:\(\d{{3}}\) ?|\d{{3}}{_S})\d{{3}}{_S}\d{{4}}"  # North American: (212) 555-0199
    rf"|\(?0\d{{1,4}}\)?(?:{_S}|/){{1,3}}\d{{2,8}}(?:{_S}{{1,3}}\d{{2,5}}){{0,3}}"  # trunk 0: 030 1234567
    r")(?![\w-]|[.:/]\d| \d)")
# any group of digits, taken as a phone number only right after a word such as "tel." or "phone:"
_PHONE_LOOSE = re.compile(rf"(?<![\w+./:-])(?<!\d )\d{{2,4}}(?:{_S}{{1,3}}\d{{2,4}}){{1,4}}(?![\w-]|[.:/]\d| \d)")
_ISSN = re.compile(r"^\d{4}-\d{3}[\dX]$")
_DATE = re.compile(r"^(?:\d{4}[-/. ]\d{1,2}[-/. ]\d{1,2}|\d{1,2}[-/. ]\d{1,2}[-/. ]\d{2,4})$")
# words before a number that make it something other than a phone number
_NOT_PHONE_CONTEXT = re.compile(r"(?:\b|^)(?:isbn(?:-1[03])?|issn|order|invoice|tracking|serial|ref(?:erence)?|ticket|"
                                r"account|item|sku|part|case|no\.?|nr\.?|#)\W{0,4}$", re.IGNORECASE)
_PHONE_CONTEXT = re.compile(r"\b(?:tel|phone|call|fax|mob|cell|contact|whatsapp|conmutador)\w*\W{0,6}$", re.IGNORECASE)
_VERSION_CONTEXT = re.compile(r"\b(?:version|ver\.?|release|build|v)\s?$", re.IGNORECASE)

# ISO 13616 lengths of the countries that issue IBANs (SWIFT IBAN registry)
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_network(digits: str) -> bool:
    """Whether the number has a card network's prefix and a length that network issues."""
    n, p2, p4 = len(digits), int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (34, 37):
        return n == 15  # American Express
    if digits.startswith("6011") or p2 == 65 or 644 <= int(digits[:3]) <= 649:
        return 16 <= n <= 19  # Discover
    if 3528 <= p4 <= 3589:
        return 16 <= n <= 19  # JCB
    if p2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19  # Diners Club
    if p2 == 62:
        return 16 <= n <= 19  # UnionPay
    return False


def card_ok(candidate: str) -> bool:
    digits = re.sub(r"[ -]", "", candidate)
    return len(set(digits)) > 1 and _card_network(digits) and luhn_ok(digits)


def iban_ok(candidate: str) -> bool:
    iban = candidate.replace(" ", "")
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is None or len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def ip_ok(candidate: str, before: str) -> bool:
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    if address.version == 4 and _VERSION_CONTEXT.search(before):
        return False
    return address.is_global and not address.is_multicast


def phone_ok(candidate: str, before: str, loose: bool = False) -> bool:
    """Whether a phone-shaped candidate is a phone number: 9 to 15 digits (7 after a phone word; a ``+`` number 8),
    not a date, an ISSN or a version, not after a word that makes it an ISBN, order or reference number."""
    digits = re.sub(r"\D", "", candidate)
    phone_word = bool(_PHONE_CONTEXT.search(before))
    least = 7 if phone_word else 8 if candidate.startswith("+") else 9
    if not least <= len(digits) <= 15 or len(set(digits)) < 3:
        return False
    if loose and not phone_word:
        return False
    if _DATE.match(candidate) or _ISSN.match(candidate) or _VERSION_CONTEXT.search(before):
        return False
    if _NOT_PHONE_CONTEXT.search(before) and not phone_word:
        return False
    if not candidate.startswith("+") and len(digits) > 12:
        return False
    return True


def find_pii(text: str, types: Iterable[str] = PII_TYPES) -> list[tuple[int, int, str]]:
    """(start, end, type) of every validated PII span, non-overlapping, in text order."""
    wanted = set(types)
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, kind: str):
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        found.append((start, end, kind))

    if "email" in wanted and "@" in text:
        for m in _EMAIL.finditer(text):
            if m.group().rsplit(".", 1)[-1].lower() not in _FILE_TLDS:
                add(m.start(), m.end(), "email")
    if "iban" in wanted:
        for m in _IBAN.finditer(text):
            if iban_ok(m.group()):
                add(m.start(), m.end(), "iban")
    if "card" in wanted:
        for m in _CARD.finditer(text):
            if card_ok(m.group()):
                add(m.start(), m.end(), "card")
    if "ip" in wanted:
        for m in _IPV4.finditer(text):
            if ip_ok(m.group(), text[max(0, m.start() - 12):m.start()]):
                add(m.start(), m.end(), "ip")
        if "::" in text or text.count(":") >= 5:
            for m in _IPV6.finditer(text):
                groups = m.group().split(":")
                if groups[0] and sum(1 for g in groups if g) >= 3 and ip_ok(m.group(), ""):
                    add(m.start(), m.end(), "ip")
    if "phone" in wanted:
        for pattern, loose in ((_PHONE, False), (_PHONE_LOOSE, True)):
            for m in pattern.finditer(text):
                if phone_ok(m.group(), text[max(0, m.start() - 24):m.start()], loose):
                    add(m.start(), m.end(), "phone")
    found.sort()
    return found


def mask_text(text: str, tokens: dict[str, str], types: Iterable[str] = PII_TYPES) -> tuple[str, dict[str, int]]:
    """(text with every PII span replaced by its type's token, count per type)."""
    spans = find_pii(text, types)
    counts = dict.fromkeys(PII_TYPES, 0)
    if not spans:
        return text, counts
    parts, pos = [], 0
    for start, end, kind in spans:
        parts.append(text[pos:start])
        parts.append(tokens.get(kind, DEFAULT_TOKENS[kind]))
        pos = end
        counts[kind] += 1
    parts.append(text[pos:])
    return "".join(parts), counts


def mask_batch(batch: pa.RecordBatch, tokens: dict[str, str], types: tuple[str, ...]) -> pa.RecordBatch:
    """The batch with ``text`` masked and a ``pii_counts`` struct (per type) appended (replacing any earlier one)."""
    texts, counts = [], []
    for text in batch.column("text").to_pylist():
        if text is None:
            texts.append(None)
            counts.append(dict.fromkeys(PII_TYPES, 0))
            continue
        masked, c = mask_text(text, tokens, types)
        texts.append(masked)
        counts.append(c)
    names = [n for n in batch.schema.names if n != "pii_counts"]
    arrays = [pa.array(texts, pa.string()) if n == "text" else batch.column(n) for n in names]
    fields = [batch.schema.field(n) for n in names]
    return pa.RecordBatch.from_arrays([*arrays, pa.array(counts, COUNTS_TYPE)],
                                      schema=pa.schema([*fields, pa.field("pii_counts", COUNTS_TYPE)]))
