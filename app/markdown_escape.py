"""Text that comes from files (a run's name and status message, a health finding, a card's description,
a file name from an uploaded zip, an error naming a path) placed inside the Markdown that st.markdown,
st.caption, st.error, st.toast... render, so that it shows as the characters it is.

Unescaped, a status message ``![x](https://elsewhere/x.png)`` makes every browser showing the run fetch
an outside address, ``[click](...)`` is a link the app never wrote, ``:red[...]`` recolours the page
and ``<...>`` is HTML or an autolink. Every construct that can fetch, link or mark up needs ``[``,
``]``, ``<``, a backtick or an emphasis, heading, table or maths character, or a list marker at the
start of a line: those are backslash-escaped (CommonMark: any ASCII punctuation may be), the rest of
the text stays as it was, so ``batch_size`` reads ``batch\\_size`` in the source and ``batch_size`` on
the page. A bare URL may still show as a link (GitHub-flavoured Markdown links them); it is never
fetched.
"""
from __future__ import annotations

import re
from typing import Any

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$])")
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+[.)])", re.M)
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def escape(text: Any) -> str:
    """``text`` (any value, as ``str`` shows it) as Markdown that renders as exactly that text."""
    escaped = _SPECIAL.sub(r"\\\1", str(text))
    return _LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], escaped)


def code(text: Any) -> str:
    """``text`` on one line as an inline code span, whatever backticks it holds."""
    text = " ".join(str(text).split("\n"))
    fence = "`" * (max(map(len, re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def escape_keeping_code(text: Any) -> str:
    """``escape`` for a text that marks commands as `code` (a health finding's remedies): each span
    stays a code span (inert: nothing inside one is markup), everything between is escaped."""
    parts = re.split(r"`([^`\n]*)`", str(text))
    return "".join(code(part) if i % 2 else escape(part) for i, part in enumerate(parts))


def shown(markdown: str) -> str:
    """What a reader sees of ``escape``'s Markdown: the escapes taken out (for tests and logs)."""
    return _ESCAPED.sub(r"\1", markdown)
