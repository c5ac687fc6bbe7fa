"""A griffe extension that turns the reST markup of tinynet's docstrings into Markdown.

tinynet's docstrings are NumPy style and write their formulas in reST: ``.. math::``
blocks and inline :math:`...` roles, plus cross-reference roles such as
:class:`Layer`.  mkdocstrings renders docstrings as Markdown, so before it parses
them this extension rewrites, in every docstring:

* ``.. math:: formula`` (on one line or as an indented block) into a ``$$ ... $$``
  block that ``pymdownx.arithmatex`` hands to MathJax; a block that uses ``&``
  alignment without its own environment is wrapped in ``aligned``;
* :math:`x` into ``$x$``;
* the roles :class:, :func:, :meth:, :mod:, :data:, :attr:, :exc: and :obj: into
  inline code;
* reST definition lists whose terms are inline literals (````build(input_shape)````
  followed by an indented description) into Markdown definition lists (``def_list``);
* reST "simple tables" (columns framed by lines of ``=``) into Markdown tables;
* a paragraph ending in ``::`` (a reST literal block) into one ending in ``:``;
  the indented block that follows is already a Markdown code block.

It is referenced from ``mkdocs.yml`` (``plugins: mkdocstrings: handlers: python:
options: extensions: [docs/griffe_math.py]``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_INLINE_MATH = re.compile(r":math:`([^`]+)`")
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj|py:\w+):`~?([^`]+)`")
_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<rest>.*)$")
_LITERAL = re.compile(r"(?<=\S)::$")
_BORDER = re.compile(r"^[ \t]*=+(?: +=+)+[ \t]*$")


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())


def _math_block(indent: str, body: list[str]) -> list[str]:
    """The ``$$`` block for the formula lines ``body`` (already dedented).

    reST aligns a block inside a list item with the item's text (3 spaces after ``1. ``);
    Markdown needs 4 to keep it in the item, so the indent is rounded up to a multiple of 4.
    """
    indent = " " * (-(-len(indent.expandtabs(4)) // 4) * 4)
    text = "\n".join(body).strip("\n")
    if "&" in text and "\\begin{" not in text:
        text = "\\begin{aligned}\n" + text + "\n\\end{aligned}"
    lines = [
        indent + "$$",
        *(indent + line if line.strip() else "" for line in text.split("\n")),
        indent + "$$",
    ]
    return ["", *lines, ""]


def convert_math_blocks(text: str) -> str:
    """Rewrite every ``.. math::`` directive of ``text`` into a ``$$`` block."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if match is None:
            out.append(lines[i])
            i += 1
            continue
        indent = match["indent"]
        base = len(indent)
        first = match["rest"].strip()
        body_lines: list[str] = []
        j = i + 1
        # the formula goes on in every following line indented deeper than the directive
        # (blank lines included, unless they end the block)
        while j < len(lines) and (not lines[j].strip() or _indent_of(lines[j]) > base):
            body_lines.append(lines[j])
            j += 1
        while body_lines and not body_lines[-1].strip():
            body_lines.pop()
            j -= 1
        deeper = [_indent_of(line) for line in body_lines if line.strip()]
        cut = min(deeper) if deeper else 0
        body = ([first] if first else []) + [line[cut:] for line in body_lines]
        out.extend(_math_block(indent, body))
        i = j
        if i < len(lines) and not lines[i].strip():
            i += 1  # _math_block already ends with a blank line
    return "\n".join(out)


def _table_rows(lines: list[str], starts: list[int]) -> list[list[str]]:
    """Split the lines between two borders into cells.

    A line whose first or last cell is empty continues the row above (reST itself only
    reads an empty first cell that way; tinynet's docstrings wrap long first cells too).
    """
    bounds = [*starts[1:], None]
    rows: list[list[str]] = []
    for line in lines:
        if not line.strip():
            continue
        cells = [line[a:b].strip() for a, b in zip(starts, bounds, strict=True)]
        if rows and (not cells[0] or not cells[-1]):
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    return rows


def convert_simple_tables(text: str) -> str:
    """Rewrite every reST simple table of ``text`` into a Markdown table."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _BORDER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        border = lines[i]
        indent = border[: _indent_of(border)]
        starts = [m.start() for m in re.finditer(r"=+", border)]
        borders = [j for j in range(i + 1, len(lines)) if lines[j].strip() == border.strip()]
        if not borders:
            out.append(lines[i])
            i += 1
            continue
        if len(borders) >= 2:  # border, header, border, body, border
            header = _table_rows(lines[i + 1 : borders[0]], starts)
            body = _table_rows(lines[borders[0] + 1 : borders[1]], starts)
            end = borders[1]
        else:
            rows = _table_rows(lines[i + 1 : borders[0]], starts)
            header, body, end = rows[:1], rows[1:], borders[0]
        table = [*header[:1], ["---"] * len(starts), *body]
        out.extend(["", *(indent + "| " + " | ".join(row) + " |" for row in table), ""])
        i = end + 1
    return "\n".join(out)


def convert_definition_lists(text: str) -> str:
    """Rewrite definition-list items whose term is a ````literal```` into Markdown ``term`` / ``:   text``."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        is_term = (
            line.strip().startswith("``")
            and nxt.strip()
            and _indent_of(nxt) > _indent_of(line)
            and (not out or not out[-1].strip())
        )
        if not is_term:
            out.append(line)
            i += 1
            continue
        base = _indent_of(line)
        out.append(line)
        j = i + 1
        body: list[str] = []
        while j < len(lines) and lines[j].strip() and _indent_of(lines[j]) > base:
            body.append(lines[j].strip())
            j += 1
        pad = " " * base
        out.append(pad + ":   " + body[0])
        out.extend(pad + "    " + b for b in body[1:])
        out.append("")
        i = j
    return "\n".join(out)


def rest_to_markdown(text: str) -> str:
    """Rewrite the reST markup of one docstring into Markdown (see the module docstring)."""
    text = convert_math_blocks(text)
    text = convert_simple_tables(text)
    text = convert_definition_lists(text)
    text = _INLINE_MATH.sub(lambda m: "$" + m.group(1).strip() + "$", text)
    text = _ROLE.sub(lambda m: "`" + m.group(1) + "`", text)
    return "\n".join(_LITERAL.sub(":", line) for line in text.split("\n"))


class ReSTMath(griffe.Extension):
    """Rewrite each docstring as it is loaded, before mkdocstrings parses its sections."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rest_to_markdown(obj.docstring.value)
