"""Bounded property test of the ladder views over arbitrary text in every field (hypothesis).

benchmarks/fuzz_views.py runs the same checks coverage-guided with atheris.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.ladder_checks import check_views, ladder_of

FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
# every code point but surrogates; control, format and separator characters drawn often
WIRE = st.text(st.one_of(st.characters(exclude_categories=("Cs",)),
                         st.sampled_from("\x1b\x07\x9b\r\n;#$<>&\"'[]%\u202e\u2028\ufffe\uffff")), max_size=40)
ARROW = st.tuples(st.integers(0, 2), st.integers(0, 2), WIRE, st.none() | WIRE, WIRE)


@FAST
@given(st.lists(WIRE, min_size=1, max_size=3), WIRE, st.lists(ARROW, min_size=1, max_size=4), st.none() | WIRE)
def test_any_text_keeps_every_ladder_view_inert(columns, call_id, arrows, codec):
    check_views(ladder_of(columns, call_id, arrows, codec), with_svg=False)


@pytest.mark.filterwarnings("ignore:Glyph:UserWarning")  # code points the font lacks
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(WIRE, min_size=2, max_size=2), WIRE, st.lists(ARROW, min_size=1, max_size=2), st.none() | WIRE)
def test_any_text_keeps_the_svg_well_formed(columns, call_id, arrows, codec):
    check_views(ladder_of(columns, call_id, arrows, codec), with_svg=True)
