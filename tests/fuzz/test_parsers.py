"""Property-based tests (hypothesis) of the parsers every request goes through: URLs, data:
URIs, Authorization headers, upload content types, content sniffing. Any input at all gives a
result or the module's own typed error, never another exception; what is accepted is safe to
hand on (ASCII, canonical, re-parses to itself)."""

from __future__ import annotations

import ipaddress
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from talkies.errors import InputError
from talkies.service import auth, inputs, sniff
from talkies.service.errors import FetchError, Unauthorized
from talkies.service.fetch import Guard
from talkies.service.routers.storage import checked_content_type
from talkies.service.urls import MAX_URL_CHARS, parse_http_url

FUZZ = settings(max_examples=400, deadline=None)

# Text that looks like URLs often enough to reach deep into the parser: a scheme, a host made
# of parts hosts are made of (unicode, digits, dots, brackets, xn--), a port, a path.
_HOST_PART = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["xn--", "0177", "0x7f", "127", "localhost", "ｌｏｃａｌｈｏｓｔ", "[", "]", "::1", "%00"]
    ),
    st.from_regex(r"[a-z0-9-]{1,10}", fullmatch=True),
    st.integers(0, 2**32).map(str),
)
_HOST = st.lists(_HOST_PART, min_size=1, max_size=5).map(".".join)
_PORT = st.one_of(
    st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"), st.text(max_size=6).map(":".__add__)
)
_SCHEME = st.sampled_from(
    ["http://", "https://", "HTTP://", "ftp://", "data:", "javascript:", "", "http:/", "//"]
)
URLISH = st.one_of(
    st.builds(lambda s, h, p, rest: s + h + p + rest, _SCHEME, _HOST, _PORT, st.text(max_size=20)),
    st.text(max_size=80),
)


@FUZZ
@given(URLISH)
def test_url_parser_accepts_canonical_ascii_or_refuses_with_a_fetch_error(text: str) -> None:
    try:
        url = parse_http_url(text, "image_url")
    except FetchError as e:
        assert e.field == "image_url" and e.message.startswith("image_url")
        return
    assert url.text.isascii() and url.text.isprintable() and len(url.text) <= 3 * MAX_URL_CHARS
    assert url.scheme in ("http", "https") and 1 <= url.port <= 65535
    assert parse_http_url(url.text, "image_url") == url, "canonical: parses to itself"
    try:  # a numeric host is exactly a dotted quad or an IPv6 address, nothing in between
        ipaddress.ip_address(url.host)
    except ValueError:
        assert not url.host.replace(".", "").isdigit()


@FUZZ
@given(URLISH)
def test_url_text_check_refuses_or_passes_never_raises_anything_else(text: str) -> None:
    try:
        Guard().check_url_text(text, "audio_url")
    except FetchError as e:
        assert e.field == "audio_url" or e.message  # BlockedAddressError is a FetchError too


@FUZZ
@given(
    st.one_of(
        st.builds(
            lambda head, body: f"data:{head},{body}",
            st.sampled_from(["image/png;base64", "audio/wav;base64", "", ";base64", "text/plain"]),
            st.one_of(
                st.text(alphabet=string.ascii_letters + string.digits + "+/=%", max_size=200),
                st.text(max_size=50),
            ),
        ),
        st.text(max_size=100).map("data:".__add__),
    )
)
def test_data_uri_decoder_returns_bytes_or_an_input_error(value: str) -> None:
    try:
        data = inputs.decode_data_uri(value, "image_url", 1000)
    except InputError as e:
        assert e.field == "image_url"
        return
    assert isinstance(data, bytes) and 0 < len(data) <= 1000 * 2


@FUZZ
@given(st.one_of(st.text(max_size=60), st.binary(max_size=60).map(lambda b: b.decode("latin-1"))))
def test_authorization_header_is_a_key_a_token_or_a_401(header: str) -> None:
    secret = b"s" * 32
    try:
        auth.check(header, ("the-key",), secret, auth.UPLOAD)
    except Unauthorized:
        return
    assert header.split()[-1] == "the-key"


@FUZZ
@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(r"[a-z]{1,8}/[a-z0-9.+-]{1,12}(; ?[a-z]+=[a-z0-9]+)?", fullmatch=True),
    )
)
def test_content_type_is_a_media_type_or_a_422_naming_content_type(value: str) -> None:
    try:
        checked = checked_content_type(value)
    except InputError as e:
        assert e.field == "content_type"
        return
    assert checked.isascii() and "/" in checked and "\r" not in checked and "\n" not in checked
    assert checked.encode("latin-1").decode("ascii") == checked  # safe as a response header


@FUZZ
@given(st.sampled_from(["image_url", "audio_url", "mask_url"]), st.binary(max_size=80))
def test_sniffing_names_a_type_or_raises_the_fields_error(field: str, data: bytes) -> None:
    try:
        found = sniff.check(field, data)
    except InputError as e:
        assert e.field == field
        return
    assert found.startswith(("image/", "audio/"))
