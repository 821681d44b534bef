"""Data shown literally inside the app's Markdown (captions, labels, messages, toasts).

Why: Streamlit renders Markdown (and its own directives: ``:red[...]``, ``$...$``) in
st.markdown, captions, callouts, toasts and the labels of buttons, metrics, expanders
and widgets. Texts, ids, label and LF names and error messages are data: a text holding
``![x](http://host/img)`` must not make the browser fetch that image, and ``**bold**``
must read as typed. Whole texts go to st.text_area / st.code; the short pieces of data
inside a Markdown sentence go through :func:`literal`.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the
# ones that start inline markup, HTML, links, autolinks (``http:``, ``www.``, ``a@b``),
# tables, math, Streamlit directives and shortcodes.
_INLINE = re.compile(r"([\\`*_{}\[\]()<>#+!|~$:&@.])")
# At the start of a block, these make a list item or a thematic break.
_LINE_START = re.compile(r"^(\s*)([-=])")


def literal(value) -> str:
    r"""``value`` as text that Markdown shows as typed (on one line).

    >>> literal("![x](http://h/i) **b**")
    '\\!\\[x\\]\\(http\\://h/i\\) \\*\\*b\\*\\*'
    >>> literal("- a\nb <i>")
    '\\- a b \\<i\\>'
    """
    text = " ".join(str(value).splitlines())
    return _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))
