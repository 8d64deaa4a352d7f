from duplicates.engine.identifiers import compare_identifiers, extract_identifiers

BILL = (
    "Rechnung RE-2024-48211 vom 03.04.2024 Kundennummer 7712345 "
    "Grundgebuehr 39,90 EUR Verbrauch 112,47 EUR Gesamt 152,37 EUR faellig am 17.04.2024"
)


def _compare(left, right):
    return compare_identifiers(left=extract_identifiers(left), right=extract_identifiers(right))


def test_dates_amounts_and_reference_numbers_are_extracted():
    kinds = {ident.kind for ident in extract_identifiers(BILL + " Version 2.1")}
    assert kinds == {"date", "amount", "ref", "version"}


def test_other_amounts_and_numbers_mean_different_documents():
    other = BILL.replace("48211", "51377").replace("112,47", "98,12").replace("152,37", "138,02")
    assert _compare(BILL, other).score == 0.0


def test_other_month_of_a_flat_fee_bill_means_different_documents():
    other = BILL.replace("03.04.2024", "03.05.2024").replace("17.04.2024", "17.05.2024")
    other = other.replace("48211", "48212")
    assert _compare(BILL, other).score == 0.0


def test_one_misread_digit_does_not_split_a_pair():
    misread = BILL.replace("7712345", "7712845")
    assert _compare(BILL, misread).score == 1.0
    misread_date = BILL.replace("03.04.2024", "03.04.2029")
    assert _compare(BILL, misread_date).score == 1.0


def test_letter_digit_confusions_inside_numbers_cost_nothing():
    confused = BILL.replace("7712345", "77I2345").replace("03.04.2024", "O3.04.2O24")
    comparison = _compare(BILL, confused)
    assert comparison.near == 0
    assert comparison.conflicts == 0


def test_a_value_missing_on_one_side_is_no_conflict():
    extract = BILL.split(" Grundgebuehr")[0]
    assert _compare(BILL, extract).score == 1.0


def test_different_version_numbers_conflict():
    left, right = "Lizenz Version 2.1 vom 01.03.2020", "Lizenz Version 2.2 vom 01.03.2020"
    assert _compare(left, right).score == 0.0


def test_nothing_to_compare_gives_no_score():
    assert _compare("nur Text", "auch nur Text").score is None


def test_another_digit_ocr_does_not_confuse_is_a_real_difference():
    # 13.03. -> 13.05.: another month, not a misreading (3 and 5 look nothing alike)
    other_month = BILL.replace("03.04.2024", "03.02.2024")
    comparison = _compare(BILL, other_month)
    assert comparison.conflicts == 1 and comparison.near == 0


def test_versions_that_differ_are_counted_apart():
    left = extract_identifiers("GNU Free Documentation License Version 1.2, November 2002")
    right = extract_identifiers("GNU Free Documentation License Version 1.3, 3 November 2008")
    assert compare_identifiers(left=left, right=right).version_conflicts == 1
