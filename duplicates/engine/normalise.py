"""Text normalisation robust to OCR noise.

Two paths leave this module:

* :func:`normalise_tokens` gives the *word* tokens used for shingles and text similarity. It folds
  Unicode (NFKC), case, accents, punctuation, end-of-line hyphenation and the usual OCR
  confusions into one "skeleton" form (``0/o``, ``1/l/i``, ``5/s``, ``8/b``, ``rn/m``,
  ``vv/w``), so two scans of one page give the same tokens even where OCR misread a glyph.
* Numbers are *not* folded into letters there when a token is mostly digits, and
  :mod:`duplicates.engine.identifiers` reads dates, amounts and reference numbers from the raw
  text on its own path, so the discriminative check still sees every digit.

Bump :data:`NORMALISER_VERSION` whenever the output of this module changes: stored signatures
carry it and become invalid.
"""

from __future__ import annotations

import re
import unicodedata

NORMALISER_VERSION = 1

_HYPHEN_BREAK = re.compile(r"(?<=\w)[-\u00ad\u2010\u2011][ \t]*\r?\n[ \t]*(?=\w)")
_SOFT_HYPHEN = "\u00ad"
_NON_WORD = re.compile(r"[\W_]+")
_DIGIT_CHARS = frozenset("0123456789")

# Digits that OCR reads for letters (letter-dominant tokens) and the reverse (digit tokens).
_DIGIT_TO_LETTER = str.maketrans({"0": "o", "1": "l", "5": "s", "8": "b", "6": "b", "2": "z"})
_LETTER_TO_DIGIT = str.maketrans({"o": "0", "l": "1", "i": "1", "s": "5", "b": "8", "z": "2"})
# Letters OCR confuses with each other, folded to one representative.
_LETTER_SKELETON = str.maketrans({"i": "l", "j": "l", "\u0131": "l"})
_MULTI_GLYPH = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def _ascii_table() -> bytes:
    table = bytearray(range(256))
    for code in range(128):
        char = chr(code)
        if not char.isalnum():
            table[code] = ord(" ")
    for source, target in (("i", "l"), ("j", "l")):
        table[ord(source)] = ord(target)
    return bytes(table)


# One pass over ASCII text: punctuation and control characters to space, letter skeleton.
_ASCII_TABLE = _ascii_table()


def _fold_mixed(token: str) -> str:
    digits = sum(char in _DIGIT_CHARS for char in token)
    if digits * 2 >= len(token):
        return token.translate(_LETTER_TO_DIGIT)
    return token.translate(_DIGIT_TO_LETTER)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def join_hyphenation(text: str) -> str:
    """Join words split by a hyphen at the end of a line (``docu-\\nment`` -> ``document``)."""
    if "\n" in text:
        text = _HYPHEN_BREAK.sub("", text)
    return text.replace(_SOFT_HYPHEN, "")


def _fold_characters(text: str) -> str:
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE).decode("ascii")
    text = _strip_accents(text)
    return _NON_WORD.sub(" ", text).translate(_LETTER_SKELETON)


def normalise_text(text: str) -> str:
    """The normalised text as one string of tokens separated by single spaces."""
    return " ".join(normalise_tokens(text))


def normalise_tokens(text: str) -> list[str]:
    """Word tokens robust to OCR noise (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = join_hyphenation(text)
    text = _fold_characters(text.casefold())
    for glyphs, folded in _MULTI_GLYPH:
        text = text.replace(glyphs, folded)
    tokens = text.split()
    if any(digit in text for digit in "0123456789"):
        tokens = [
            token if token.isalpha() or token.isdigit() else _fold_mixed(token) for token in tokens
        ]
    return tokens
