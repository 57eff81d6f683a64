"""PII kernel: every type is masked, validated numbers only; dates, versions, ISBNs, order numbers, Luhn and IBAN
checksum failures and private IPs stay."""
import pyarrow as pa
import pytest

from curation.clean.pii import PII_TYPES, card_ok, find_pii, iban_ok, luhn_ok, mask_batch, mask_text

FOUND = [
    ("Write to jane.doe@example.org today.", "email", "jane.doe@example.org"),
    ("first+tag@mail.example.co.uk wrote", "email", "first+tag@mail.example.co.uk"),
    ("Call (212) 555-0199 now", "phone", "(212) 555-0199"),
    ("Phone: +44 20 7946 0958", "phone", "+44 20 7946 0958"),
    ("Tel. 030 12345678 (Berlin)", "phone", "030 12345678"),
    ("Toll free 1-800-555-0123.", "phone", "1-800-555-0123"),
    ("tel. 89 523-43-01, e-mail", "phone", "89 523-43-01"),
    ("Server 8.8.4.4 answered.", "ip", "8.8.4.4"),
    ("Host 2001:4860:4860::8888 is up", "ip", "2001:4860:4860::8888"),
    ("Paid with 4111 1111 1111 1111 yesterday", "card", "4111 1111 1111 1111"),
    ("Amex 3782 822463 10005 on file", "card", "3782 822463 10005"),
    ("Card: 5555-5555-5555-4444", "card", "5555-5555-5555-4444"),
    ("IBAN DE89 3704 0044 0532 0130 00 please", "iban", "DE89 3704 0044 0532 0130 00"),
    ("Account GB82WEST12345698765432.", "iban", "GB82WEST12345698765432"),
]

LEFT_ALONE = [
    "Released on 2019-07-17 at 10:32.",
    "Deadline 17/07/2019, then 07.08.2020.",
    "Time 22/04/2019 02:22:05 posted.",
    "Upgrade to version 1.2.3.4 now; build v10.0.0.1 fixes it.",
    "ISBN 978-3-16-148410-0 (hardcover) and ISBN 0-306-40615-2",
    "ISSN 0071-0822, 311 p.",
    "Order #123456789012 shipped; invoice no. 2019-0042-7781 is due.",
    "Reference 555-123-4567-89 in the letter.",
    "Card number 4111 1111 1111 1112 fails Luhn; 1234 5678 9012 3456 is random.",
    "Private 192.168.1.20, 10.0.0.1, 127.0.0.1 and 169.254.0.7.",
    "IBAN DE89 3704 0044 0532 0130 01 has a bad checksum.",
    "Population 1,234,567 in 2020; pi is 3.14159265.",
    "Pages 997 998 999 1000 1001 1002",
    "The logo@2x.png file.",
    "Coordinates 40.7128, -74.0060 mark the spot.",
    "Fortran: integer, intent(in)::a,b",
    "facebook.com/pages/p/388213067901331",
]


@pytest.mark.parametrize("text,kind,span", FOUND)
def test_each_type_is_found_exactly(text, kind, span):
    start = text.index(span)
    assert find_pii(text) == [(start, start + len(span), kind)]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_near_misses_are_left_alone(text):
    assert find_pii(text) == []
    assert mask_text(text, {})[0] == text


def test_validators():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert card_ok("4111-1111-1111-1111") and not card_ok("0000 0000 0000 0000")
    assert not card_ok("9111111111111111")  # Luhn-valid, but no card network starts with 9
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert not iban_ok("DE89370400440532013000" + "1")  # the country's length is checked


def test_masking_tokens_counts_and_types():
    text = "Mail a@b.org or c@d.net, call (212) 555-0199, card 4111 1111 1111 1111."
    masked, counts = mask_text(text, {"email": "[E]"})
    assert masked == "Mail [E] or [E], call <PHONE>, card <CARD>."
    assert counts == {"email": 2, "iban": 0, "card": 1, "ip": 0, "phone": 1}
    only_email, counts = mask_text(text, {}, types=["email"])
    assert "555-0199" in only_email and counts["email"] == 2 and counts["phone"] == 0


def test_mask_batch_replaces_text_and_appends_counts():
    batch = pa.RecordBatch.from_pydict({"id": ["a", "b", "c"], "text": ["x@example.com", "nothing here", None]})
    out = mask_batch(batch, {"email": "<EMAIL>"}, PII_TYPES)
    assert out.schema.names == ["id", "text", "pii_counts"]
    assert out.column("text").to_pylist() == ["<EMAIL>", "nothing here", None]
    assert [c["email"] for c in out.column("pii_counts").to_pylist()] == [1, 0, 0]
