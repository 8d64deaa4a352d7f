from duplicates.engine.normalise import normalise_text, normalise_tokens


def test_end_of_line_hyphenation_is_joined():
    assert normalise_tokens("Die Rech-\nnung kommt") == normalise_tokens("Die Rechnung kommt")


def test_case_accents_and_punctuation_do_not_matter():
    assert normalise_text("Köln, GRÜNE Straße!") == normalise_text("KOLN grune strasse")


def test_common_ocr_confusions_in_words_fold_together():
    clean = normalise_tokens("modern window billing")
    misread = normalise_tokens("modern vvindow bi1ling")
    assert clean == misread
    assert normalise_tokens("rnodern") == normalise_tokens("modern")


def test_digits_in_numbers_are_kept_for_the_identifier_path():
    tokens = normalise_tokens("Betrag 1234 am 2O24")
    assert "1234" in tokens
    assert "2024" in tokens
    assert normalise_tokens("Betrag 1234") != normalise_tokens("Betrag 1239")
