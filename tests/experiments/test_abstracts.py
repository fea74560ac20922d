"""A chapter's abstract paragraph follows its verdicts."""

import pytest
from localcodes.experiments import abstracts


def test_the_paragraph_counts_and_lists_the_verdicts(tmp_path, monkeypatch):
    claims = [("sparser with depth", "inconclusive, n = 3, p = 0.09"), ("less sparse at the top", "reproduced")]
    text = abstracts.paragraph("Sparseness", claims)
    assert "2 claims judged — reproduced 1, inconclusive 1." in text and "sparser with depth: *inconclusive" in text
    flipped = abstracts.paragraph("Sparseness", [(c, "contradicted") for c, _ in claims])
    assert "contradicted 2" in flipped and "reproduced" not in flipped
    many = abstracts.paragraph("Many", [(f"claim {i}", "not reproduced") for i in range(20)])
    assert "not reproduced 20" in many and "claim 3" not in many
    assert "*not run*" in abstracts.paragraph("None", [])
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    assert abstracts.save("smoke", "60_x", text).read_text() == text


def test_a_verdict_without_an_outcome_is_refused():
    assert abstracts.outcome_of("not reproduced (n = 4)") == "not reproduced"
    with pytest.raises(ValueError, match="must start with one of"):
        abstracts.outcome_of("looks fine")
