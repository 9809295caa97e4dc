"""The Store as people meet it: repr, notebooks."""

from __future__ import annotations


def test_store_shows_itself_in_a_notebook(example_store) -> None:
    html = example_store._repr_html_()
    assert html.startswith("<div><b>fnstore.Store</b>")
    for name in (*example_store.cells, "YY1.GM12878", "89,997"):
        assert name in html
