"""Error formatting: one line naming file, location and problem."""

from __future__ import annotations

import pytest

from biolake.errors import InputError, check_param


def test_input_error__full_location():
    err = InputError("expected 3 fields, found 4", file="x.csv", line=12, column="dose")
    assert str(err) == "x.csv: line 12: column dose: expected 3 fields, found 4"
    assert err.one_line() == "error: x.csv: line 12: column dose: expected 3 fields, found 4"


def test_input_error__record_only():
    assert (
        str(InputError("bad GT '0/x'", file="a.vcf", record="chr1:12345")) == "a.vcf: record chr1:12345: bad GT '0/x'"
    )


def test_input_error__multiline_problem_is_folded():
    err = InputError("first\nsecond\n\tthird")
    assert err.one_line() == "error: first second third"
    assert "\n" not in err.one_line()


def test_input_error__is_value_error_and_json():
    err = InputError("bad", file="f", line=2)
    assert isinstance(err, ValueError)
    assert err.to_dict() == {
        "error": "f: line 2: bad",
        "file": "f",
        "line": 2,
        "record": None,
        "column": None,
        "problem": "bad",
    }


def test_check_param__message_form():
    with pytest.raises(InputError) as info:
        check_param("gwas", "alpha", 2.0, False, "a float in (0, 1)")
    assert str(info.value) == "The 'alpha' parameter of gwas must be a float in (0, 1); got 2.0"
    check_param("gwas", "alpha", 0.5, True, "a float in (0, 1)")
