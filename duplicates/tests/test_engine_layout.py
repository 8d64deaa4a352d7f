"""Page layout signatures compare the ink on a page, not the white around it."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFilter

from duplicates.engine.layout import (
    BLANK,
    layout_bits,
    layout_of,
    layout_similarity,
    layout_spread,
)


def _page(seed: int, *, width: int = 500, margin: int = 40, lines: int = 22) -> Image.Image:
    """A text page: a heading bar, then lines of word-like blocks laid out from ``seed``."""
    rng = random.Random(seed)
    height = round(width * 1.414)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    scale = width / 500
    y = margin + 10 * scale
    draw.rectangle((margin, y, margin + rng.randint(120, 260) * scale, y + 12 * scale), fill=30)
    y += 40 * scale
    for _ in range(lines):
        x = margin
        end = width - margin - rng.randint(0, 200) * scale
        while x < end:
            word = rng.randint(12, 60) * scale
            draw.rectangle((x, y, min(x + word, end), y + 5 * scale), fill=60)
            x += word + 6 * scale
        y += rng.choice((12, 12, 12, 26)) * scale
    return image


def _same_page_as_a_photo(page: Image.Image) -> Image.Image:
    """The page on a grey desk, a little blurred and darker: a phone photo."""
    border = 30
    canvas = Image.new("L", (page.width + 2 * border, page.height + 2 * border), 100)
    canvas.paste(page.point(lambda v: int(v * 0.85)), (border, border))
    return canvas.filter(ImageFilter.GaussianBlur(0.7))


def test_the_same_page_at_another_size_and_margin_looks_alike():
    small = _page(1, width=500, margin=40)
    rendered = _page(1, width=900, margin=72)
    assert layout_similarity(layout_of(small), layout_of(rendered)) > 0.9


def test_a_photo_of_the_page_with_a_desk_around_it_still_looks_alike():
    page = _page(2)
    photo = _same_page_as_a_photo(page)
    assert layout_similarity(layout_of(page), layout_of(photo)) > 0.8


def test_two_different_text_pages_do_not_look_alike():
    # the old whole-page dhash gave unrelated text pages 0.9-1.0: the white page agreed
    scores = [
        layout_similarity(layout_of(_page(a)), layout_of(_page(b)))
        for a, b in ((3, 4), (5, 6), (7, 8), (9, 10))
    ]
    assert max(scores) < 0.6


def test_a_blank_page_has_no_layout_to_compare():
    blank = Image.new("L", (500, 707), 250)
    assert layout_of(blank) == BLANK
    assert layout_spread(BLANK) == 0
    assert layout_similarity(BLANK, layout_of(_page(1))) is None
    assert layout_bits(BLANK) is None


def test_specks_of_scanner_dust_do_not_move_the_layout():
    page = _page(11)
    dusty = page.copy()
    draw = ImageDraw.Draw(dusty)
    rng = random.Random(1)
    for _ in range(300):
        x, y = rng.randrange(dusty.width), rng.randrange(dusty.height)
        draw.point((x, y), fill=40)
    assert layout_similarity(layout_of(page), layout_of(dusty)) > 0.9


def test_near_layouts_are_near_in_bits():
    first, again = layout_of(_page(12)), layout_of(_page(12, width=700, margin=60))
    other = layout_of(_page(13))
    distance = _hamming(layout_bits(first), layout_bits(again))
    assert distance < _hamming(layout_bits(first), layout_bits(other))


def _hamming(a: bytes, b: bytes) -> int:
    return sum((x ^ y).bit_count() for x, y in zip(a, b, strict=True))


def test_a_coloured_stamp_does_not_change_the_layout():
    page = _page(14).convert("RGB")
    stamped = page.copy()
    draw = ImageDraw.Draw(stamped)
    draw.rectangle((280, 60, 470, 140), outline=(180, 20, 30), width=6)
    draw.text((300, 80), "RECEIVED 12.03.", fill=(180, 20, 30))
    grey_stamp = page.copy()
    ImageDraw.Draw(grey_stamp).rectangle((280, 60, 470, 140), outline=(40, 40, 40), width=6)
    same = layout_similarity(layout_of(page), layout_of(stamped))
    assert same > 0.95
    assert layout_similarity(layout_of(page), layout_of(grey_stamp)) < same
