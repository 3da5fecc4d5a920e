"""The brief stage's plain-string searches give what the regular expressions they replace give."""
from __future__ import annotations

import re

import pytest

from outputs import sentences as sent
from outputs import signals as sig

TEXT = ("Nimbus-7B beats Nimbus on MMLU. The Nimbus team (Nimbus Labs) said Nimbus_2 and pre-Nimbus builds "
        "are gone; C++ and A.I. rules in the U.S. apply. Nimbus. Nimbus-\nNimbus's weights.Nimbus")
PARTS = ["Nimbus", "Nimbus Labs", "Nimbus-7B", "C++", "A.I.", "U.S.", "weights", "7B", "-", "Labs)", "s", "Nim"]


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("left", ["-", ".-"])
def test_standalone_counts_what_the_pattern_finds(part, left):
    pattern = rf"(?<![\w{re.escape(left)}]){re.escape(part)}(?![\w-])"
    assert sig.standalone(part, TEXT, left=left, most=100) == len(re.findall(pattern, TEXT))
    assert sig.standalone(part, TEXT, left=left) == min(1, len(re.findall(pattern, TEXT)))


@pytest.mark.parametrize("part", PARTS)
def test_whole_word_is_a_word_boundary_search(part):
    assert sig.whole_word(part, TEXT) == bool(re.search(rf"\b{re.escape(part)}\b", TEXT))


@pytest.mark.parametrize("para", [
    "Dr. Smith released v2.1 of the model. It runs on one GPU! Does it scale? The U.S. team says yes.",
    "Nothing here ends with a stop",
    "“Quoted.” Then more... and more. e.g. this one. Mr. Jones, Inc. said so.   Trailing   space.  ",
    "Repeated. Repeated. Repeated.",
])
def test_sentences_are_pysbds_found_without_a_pattern_per_sentence(para):
    assert sent._segment(para) == sent._segmenter().segment(para)
