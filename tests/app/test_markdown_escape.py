"""app/markdown_escape.py: text from files inside the app's Markdown shows as the characters it is: no
image the browser would fetch, no link, no HTML, no heading or colour; `commands` in our own remedies
stay code. Rendered here with Python-Markdown (installed with tensorboard; Streamlit's renderer lives in the browser)."""
from __future__ import annotations

import markdown
import pytest

from app.markdown_escape import code, escape, escape_keeping_code, shown

HOSTILE = [
    "![x](https://elsewhere.example/x.png)",
    "<img src=https://elsewhere.example/x.png>",
    "[click me](https://elsewhere.example/)",
    "![a][r]\n\n[r]: https://elsewhere.example/x.png",
    "<https://elsewhere.example/x.png>",
    "# a heading\n- a list\n1. a number\n> a quote",
    ":red[colour] **bold** _it_ `code` $x^2$ | table | ~~gone~~",
    "a \\![x](https://elsewhere.example/x.png) after a backslash",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_from_a_file_renders_as_itself_never_as_an_image_a_link_or_markup(text):
    html = markdown.markdown(escape(text))
    for tag in ("<img", "<a ", "<h1", "<li", "<blockquote", "<strong", "<em", "<code"):
        assert tag not in html, (text, html)
    assert shown(escape(text)) == text


def test_ordinary_text_stays_readable():
    assert escape("run tiny-20261207-101500: step 10 of 20, lr 2e-4.") == "run tiny-20261207-101500: step 10 of 20, lr 2e-4."
    assert escape("batch_size [Errno 13]") == "batch\\_size \\[Errno 13\\]"


def test_a_code_span_holds_any_backticks_and_commands_stay_code():
    assert code("a`b") == "``a`b``" and code("`x`") == "`` `x` ``"
    remedy = "`--set lr_d=1e-4`: lower D's rate ![x](https://elsewhere.example/x.png)"
    html = markdown.markdown(escape_keeping_code(remedy))
    assert "<code>--set lr_d=1e-4</code>" in html and "<img" not in html
