"""decode_html: honest decoding whatever the page claims, and never an exception."""

from __future__ import annotations

import random

import pytest

from pipelines.decode import declared_encodings, decode_html

# Characters outside GB2312 but inside GBK (镕, 喆): a strict gb2312 decoder fails on them.
CHINESE = "朱镕基和张喆在北京谈论“网易新闻”的编码问题。" * 20


def page(charset: str | None, body: str = CHINESE) -> str:
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    meta = meta if charset else ""
    return f"<html><head>{meta}<title>测试</title></head><body><p>{body}</p></body></html>"


def test_utf8_declared_utf8() -> None:
    html = page("utf-8")
    assert decode_html(html.encode("utf-8"), "text/html; charset=utf-8") == html


@pytest.mark.parametrize("declared", ["gb2312", "GBK", "gb18030", "x-gbk"])
def test_gbk_family_decodes_as_gb18030(declared: str) -> None:
    html = page(declared)
    body = html.encode("gbk")
    assert decode_html(body) == html
    assert decode_html(body, f"text/html; charset={declared}") == html


def test_declared_gb2312_but_really_utf8() -> None:
    # The charset lie: bytes are UTF-8, header and <meta> both say gb2312.
    html = page("gb2312")
    assert decode_html(html.encode("utf-8"), "text/html; charset=gb2312") == html


def test_gbk_without_any_declaration() -> None:
    html = page(None)
    assert decode_html(html.encode("gbk")) == html
    assert decode_html(html.encode("gbk"), "text/html") == html


def test_header_declares_gbk_page_declares_nothing() -> None:
    html = page(None)
    assert decode_html(html.encode("gb18030"), "text/html; charset=GBK") == html


def test_declared_gbk_with_a_few_bad_bytes_stays_gbk() -> None:
    # A truncated or damaged GBK page: the declared encoding, with U+FFFD for the damage,
    # beats a detector's guess (which may be a single-byte encoding that "fits").
    good = page("gbk").encode("gbk")
    damaged = good[:200] + b"\xff\xff" + good[200:]
    text = decode_html(damaged)
    assert "朱镕基" in text
    assert text.count("\ufffd") <= 2


def test_utf8_with_a_bad_byte_stays_utf8() -> None:
    html = page("utf-8")
    damaged = html.encode("utf-8").replace("北京".encode(), b"\xff", 1)
    text = decode_html(damaged)
    assert "朱镕基" in text and text.count("\ufffd") == 1


def test_byte_order_marks() -> None:
    html = page(None)
    assert decode_html(b"\xef\xbb\xbf" + html.encode("utf-8")) == html
    assert decode_html(html.encode("utf-16")) == html


def test_latin1_declared_is_windows_1252() -> None:
    html = "<html><head><meta charset=iso-8859-1></head><body>caf\xe9 \u201cq\u201d</body></html>"
    assert decode_html(html.encode("cp1252")) == html


def test_declared_encodings_maps_to_supersets() -> None:
    body = b'<meta charset="gb2312">'
    assert declared_encodings(body, "text/html; charset=GBK") == ["gb18030"]
    assert declared_encodings(b"<p>x</p>", "text/html; charset=iso-8859-1") == ["cp1252"]
    assert declared_encodings(b"<p>x</p>", None) == []


def test_str_and_empty_pass_through() -> None:
    assert decode_html(b"") == ""
    assert decode_html("已是文本") == "已是文本"  # type: ignore[arg-type]


def test_never_raises_on_arbitrary_bytes() -> None:
    rng = random.Random(163)
    for size in (1, 2, 3, 17, 255, 4096):
        for _ in range(30):
            body = bytes(rng.randrange(256) for _ in range(size))
            assert isinstance(decode_html(body, "text/html; charset=nonsense-42"), str)
    assert isinstance(decode_html(b"\x00" * 100, "text/html; charset=utf-7"), str)
