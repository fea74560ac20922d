"""`localcodes readme`: the README's findings block is the chapters' stored abstracts, nothing typed."""

from __future__ import annotations

import pytest
from localcodes import readme


def _root(tmp_path, monkeypatch, markers: bool = True):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path / "results"))
    (tmp_path / "notebooks").mkdir()
    for name in ("10_a", "22_b"):
        (tmp_path / "notebooks" / f"{name}.py").write_text("")
    body = f"{readme.START}\nold text\n{readme.END}" if markers else "no block"
    (tmp_path / "README.md").write_text(f"# Title\n\n{body}\n\n## Next\n")
    return tmp_path


def test_the_block_is_the_stored_abstracts_in_book_order(tmp_path, monkeypatch):
    root = _root(tmp_path, monkeypatch)
    for name, text in (("22_b", "* second"), ("10_a", "* first")):
        (tmp_path / "results" / "book" / name).mkdir(parents=True)
        (tmp_path / "results" / "book" / name / "abstract.md").write_text(text + "\n")
    readme.update_readme("book", root=root, picture=False)
    text = (root / "README.md").read_text()
    assert "old text" not in text and text.index("* first") < text.index("* second") < text.index("## Next")
    assert "`book`-scale build" in text and text.count(readme.START) == 1
    (tmp_path / "results" / "book" / "10_a" / "abstract.md").write_text("* changed\n")
    readme.update_readme("book", root=root, picture=False)
    assert "* changed" in (root / "README.md").read_text() and "* first" not in (root / "README.md").read_text()


def test_no_verdicts_or_no_markers_are_refused(tmp_path, monkeypatch):
    root = _root(tmp_path, monkeypatch)
    with pytest.raises(ValueError, match="no chapter has stored verdicts"):
        readme.update_readme("book", root=root, picture=False)
    (root / "README.md").write_text("# nothing\n")
    with pytest.raises(ValueError, match="lacks the findings markers"):
        readme.update_readme("book", root=root, picture=False)


def test_the_projects_readme_has_the_block():
    from localcodes.store import project_root

    text = (project_root() / "README.md").read_text()
    assert text.count(readme.START) == 1 and text.count(readme.END) == 1
