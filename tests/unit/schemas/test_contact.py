"""E-mail normalisation, the contact key, and Kafka's murmur2 partitioner."""

import hashlib
import hmac
import re

import pytest
from aiokafka.partitioner import DefaultPartitioner
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.contact import DEV_KEY_SECRET, KeyHasher, _fast, contact_key, normalise_email
from schemas.exceptions import InvalidEmail, SchemaError
from schemas.partitioning import murmur2, partition_for

SECRET = "unit-test-secret"


# --- normalise_email -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("jane.doe@example.com", "jane.doe@example.com", id="already-normal"),
        pytest.param("  Jane.Doe@Example.COM \n", "jane.doe@example.com", id="trim-and-lower"),
        pytest.param("\tjane@example.com\t", "jane@example.com", id="tabs"),
        pytest.param("ｊａｎｅ@ＥＸＡＭＰＬＥ.ｃｏｍ", "jane@example.com", id="nfkc-fullwidth"),
        pytest.param("jane@Bücher.example", "jane@xn--bcher-kva.example", id="idna-domain"),
        pytest.param("JANE@BÜCHER.EXAMPLE", "jane@xn--bcher-kva.example", id="idna-upper"),
        pytest.param(
            "jane@xn--bcher-kva.example", "jane@xn--bcher-kva.example", id="punycode-kept"
        ),
        pytest.param("josé@example.com", "josé@example.com", id="unicode-local-part-kept"),
        pytest.param("jane+news@mail.example.co.uk", "jane+news@mail.example.co.uk", id="plus"),
    ],
)
def test_normalise_email(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


def test_composed_and_decomposed_accents_normalise_to_the_same_address() -> None:
    composed = "jos\u00e9@example.com"
    decomposed = "jose\u0301@example.com"
    assert composed != decomposed
    assert normalise_email(composed) == normalise_email(decomposed)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("jane.example.com", id="no-at"),
        pytest.param("john.doe@@example.com", id="double-at"),
        pytest.param("jane@doe@example.com", id="two-ats"),
        pytest.param("@example.com", id="empty-local"),
        pytest.param("jane doe@example.com", id="space-in-local"),
        pytest.param("j" * 65 + "@example.com", id="local-too-long"),
        pytest.param("jane@", id="empty-domain"),
        pytest.param("jane@localhost", id="single-label-domain"),
        pytest.param("jane@-example.com", id="label-leading-hyphen"),
        pytest.param("jane@example-.com", id="label-trailing-hyphen"),
        pytest.param("jane@exa mple.com", id="space-in-domain"),
        pytest.param("jane@example..com", id="empty-label"),
        pytest.param("jane@exam_ple.com", id="underscore-in-domain"),
        pytest.param("jane@" + "a" * 64 + ".com", id="label-too-long"),
        pytest.param("jane@" + ".".join(["abcdefghi"] * 26) + ".com", id="domain-too-long"),
        pytest.param("jane@example.com.", id="trailing-dot"),
        # address tricks that once got a contact key of their own and reached the mailbox
        pytest.param("x<victim@example.com", id="angle-prefix"),
        pytest.param("victim(c)@example.com", id="comment-inside"),
        pytest.param("(c)victim@example.com", id="comment-before"),
        pytest.param("x:victim@example.com", id="route-colon"),
        pytest.param("<>victim@example.com", id="empty-angle"),
        pytest.param("<victim@example.com>", id="angle-brackets"),
        pytest.param("Victim <victim@example.com>", id="display-name"),
        pytest.param('"victim"@example.com', id="quoted-local"),
        pytest.param("victim@[192.0.2.1]", id="domain-literal"),
        pytest.param("victim@example.com\r\nBcc: x@example.com", id="header-injection"),
        pytest.param("victim@example.test", id="special-use-domain"),
        pytest.param("=HYPERLINK(1)@example.com", id="formula-with-parentheses"),
    ],
)
def test_invalid_addresses_are_rejected_without_echoing_them(raw: str) -> None:
    with pytest.raises(InvalidEmail) as info:
        normalise_email(raw)
    assert isinstance(info.value, SchemaError)
    message = str(info.value)
    assert message
    if raw.strip():
        assert raw.strip() not in message
        local = raw.split("@", 1)[0].strip()
        if len(local) > 3:
            assert local not in message


@pytest.mark.parametrize("trick", ["x<victim@example.com", "victim(c)@example.com",
                                   "(c)victim@example.com", "x:victim@example.com",
                                   "<>x@example.com"])
def test_the_library_refuses_every_address_trick_too(trick: str) -> None:
    """The fast path is not the only gate: the library, which decides the rest, refuses them."""
    with pytest.raises(EmailNotValidError):
        validate_email(trick, check_deliverability=False)


def _library_normal(text: str) -> str | None:
    try:
        v = validate_email(text, check_deliverability=False, allow_smtputf8=True, strict=True)
    except EmailNotValidError:
        return None
    return f"{v.local_part}@{v.ascii_domain}"


_atext = "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-"
_weird = _atext + ".@<>()[]:;,\" \\\tABCXYZ"


@settings(max_examples=3000)
@given(st.one_of(
    st.from_regex(r"\A[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,70}@([a-z0-9-]{1,64}\.){1,4}[a-z0-9-]{1,64}\Z"),
    st.text(alphabet=_weird, min_size=1, max_size=80),
))
def test_fast_path_agrees_with_the_library(text: str) -> None:
    """Where the fast path decides, it decides exactly as email-validator would."""
    fast = _fast(text.strip().lower()) if text.isascii() else None
    if fast is not None:
        assert _library_normal(text.strip().lower()) == fast


@pytest.mark.parametrize("address", ["0@00--0.aa", "a@ab--cd.example", "a@xn--bcher.example"])
def test_fast_path_leaves_hyphen_pairs_in_places_3_and_4_to_the_library(address: str) -> None:
    """Found by the property test below: IDNA refuses such labels, so the fast path must too."""
    assert _fast(address) is None


def test_non_string_is_rejected() -> None:
    with pytest.raises(InvalidEmail):
        normalise_email(b"jane@example.com")  # type: ignore[arg-type]


def test_local_part_of_exactly_64_characters_is_accepted() -> None:
    local = "j" * 64
    assert normalise_email(f"{local}@example.com") == f"{local}@example.com"


_local = st.from_regex(r"\A[a-z0-9_+-]{1,12}(\.[a-z0-9_+-]{1,12}){0,2}\Z")
_label = st.from_regex(r"\A[a-z0-9]([a-z0-9]{0,10}[a-z0-9])?\Z")
_domain = st.tuples(st.lists(_label, min_size=1, max_size=3),
                    st.from_regex(r"\A(com|org|example|co|uk|nl|de)\Z")).map(
    lambda parts: ".".join([*parts[0], parts[1]]))


@given(local=_local, domain=_domain, data=st.data())
def test_normalisation_is_idempotent_and_case_and_space_insensitive(
    local: str, domain: str, data: st.DataObject
) -> None:
    address = f"{local}@{domain}"
    normal = normalise_email(address)
    assert normal == address
    assert normalise_email(normal) == normal
    flips = data.draw(st.lists(st.booleans(), min_size=len(address), max_size=len(address)))
    spelled = "".join(c.upper() if f else c for c, f in zip(address, flips, strict=True))
    pad = data.draw(st.sampled_from(["", " ", "  \t", "\n"]))
    assert normalise_email(pad + spelled + pad) == normal
    assert contact_key(pad + spelled + pad, SECRET) == contact_key(address, SECRET)


# --- contact_key -----------------------------------------------------------------------------


def test_contact_key_is_lowercase_hex_hmac_sha256_of_the_normalised_address() -> None:
    key = contact_key("  Jane.Doe@Example.COM ", SECRET)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    expected = hmac.new(b"unit-test-secret", b"jane.doe@example.com", hashlib.sha256).hexdigest()
    assert key == expected


def test_contact_key_is_not_a_plain_hash_of_the_address() -> None:
    key = contact_key("jane.doe@example.com", SECRET)
    assert key != hashlib.sha256(b"jane.doe@example.com").hexdigest()
    assert "jane" not in key


def test_every_spelling_of_one_mailbox_has_one_key() -> None:
    spellings = [
        "jane@bücher.example",
        " JANE@BÜCHER.EXAMPLE ",
        "jane@xn--bcher-kva.example",
        "ｊａｎｅ@bücher.example",
    ]
    assert len({contact_key(s, SECRET) for s in spellings}) == 1


def test_different_addresses_and_different_secrets_give_different_keys() -> None:
    jane = contact_key("jane@example.com", SECRET)
    assert contact_key("john@example.com", SECRET) != jane
    assert contact_key("jane@example.org", SECRET) != jane
    assert contact_key("jane@example.com", DEV_KEY_SECRET) != jane
    assert contact_key("jane@example.com", SECRET + "x") != jane


def test_key_hasher_gives_the_contact_key() -> None:
    hasher = KeyHasher(SECRET)
    for address in ("jane@example.com", " JANE@BÜCHER.EXAMPLE ", "josé@example.com"):
        assert hasher(address) == contact_key(address, SECRET)


def test_contact_key_of_invalid_address_raises() -> None:
    with pytest.raises(InvalidEmail):
        contact_key("john.doe@@example.com", SECRET)


# --- murmur2 / partition_for -----------------------------------------------------------------

# Kafka's Java client, `UtilsTest.testMurmur2` (signed 32-bit results).
JAVA_VECTORS = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}


@pytest.mark.parametrize(("text", "expected"), list(JAVA_VECTORS.items()), ids=list(JAVA_VECTORS))
def test_murmur2_matches_the_java_client(text: str, expected: int) -> None:
    assert murmur2(text.encode("ascii")) == expected


@pytest.mark.parametrize("length", range(9))
def test_murmur2_agrees_with_aiokafka_for_every_tail_length(length: int) -> None:
    from aiokafka.partitioner import murmur2 as aiokafka_murmur2

    key = bytes(range(200, 200 + length))  # high bytes catch signed/unsigned mix-ups
    assert murmur2(key) & 0xFFFFFFFF == aiokafka_murmur2(key) & 0xFFFFFFFF


@given(key=st.binary(max_size=200), partitions=st.integers(min_value=1, max_value=1000))
def test_partition_for_agrees_with_aiokafka_default_partitioner(
    key: bytes, partitions: int
) -> None:
    all_partitions = list(range(partitions))
    expected = DefaultPartitioner()(key, all_partitions, all_partitions)
    assert partition_for(key, partitions) == expected
    assert 0 <= partition_for(key, partitions) < partitions


@given(key=st.binary(max_size=200))
def test_murmur2_is_a_signed_32_bit_value_equal_to_aiokafkas_modulo_2_32(key: bytes) -> None:
    from aiokafka.partitioner import murmur2 as aiokafka_murmur2

    ours = murmur2(key)
    assert -(2**31) <= ours < 2**31
    assert ours & 0xFFFFFFFF == aiokafka_murmur2(key) & 0xFFFFFFFF


def test_contact_keys_spread_over_partitions() -> None:
    keys = [contact_key(f"user{i}@example.com", SECRET).encode() for i in range(600)]
    counts = [0] * 6
    for key in keys:
        counts[partition_for(key, 6)] += 1
    assert min(counts) > 50, counts


@pytest.mark.parametrize("partitions", [0, -1])
def test_partition_for_rejects_non_positive_partition_counts(partitions: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        partition_for(b"key", partitions)
