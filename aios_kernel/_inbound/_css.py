"""Does a CSS declaration block make its text invisible, and why.

Declarations are parsed with tinycss2; only what mail clients honour and
attackers use is judged: ``display``, ``visibility``, ``opacity``,
``font-size``, text colour against the background it sits on, off-screen
positions and indents, zero-size or clipped boxes, and Outlook's ``mso-hide``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

Color = tuple[float, float, float, float]
WHITE: Color = (1.0, 1.0, 1.0, 1.0)

_LENGTH = re.compile(r"^(-?\d*\.?\d+)\s*(px|pt|em|rem|%|ex|ch|vw|vh|cm|mm|in)?$")
_ZERO_BOX = {"width", "height", "max-width", "max-height"}
_OFFSETS = ("left", "top", "right", "bottom", "margin-left", "margin-top", "text-indent")
HIDING = frozenset({"display", "visibility", "mso-hide", "opacity", "font-size", "color", "background", "background-color",
                    "background-image", "overflow", "overflow-x", "overflow-y", "line-height", "clip", "clip-path",
                    "transform", *_ZERO_BOX, *_OFFSETS})
"""Properties that can hide text or change the colours text is judged against."""


_PLAIN_BLOCK = re.compile(r"^[^\"'\\/(]*$")


@lru_cache(maxsize=4096)
def declarations(style: str) -> tuple[tuple[str, str], ...]:
    """``(name, value)`` pairs of a declaration block, lower-cased, ``!important`` ones last so they win."""
    plain: list[tuple[str, str]] = []
    important: list[tuple[str, str]] = []
    if _PLAIN_BLOCK.match(style):
        # no strings, comments, escapes or functions: ";" and ":" cannot be quoted, so a split is exact
        # (and ten times faster than tokenising, which matters when every element has its own style)
        for part in style.split(";"):
            name, sep, value = part.partition(":")
            if sep and name.strip():
                value = value.strip().lower()
                is_important = value.endswith("!important")
                value = value.removesuffix("!important").strip()
                (important if is_important else plain).append((name.strip().lower(), value))
        return tuple(plain + important)
    import tinycss2

    for d in tinycss2.parse_blocks_contents(style, skip_whitespace=True, skip_comments=True):
        if d.type != "declaration":
            continue
        value = tinycss2.serialize(d.value).strip().lower()
        (important if d.important else plain).append((d.lower_name, value))
    return tuple(plain + important)


@lru_cache(maxsize=1024)
def parse_color(value: str) -> Color | None:
    """An RGBA colour of a CSS colour value; None for ``inherit``, ``currentColor`` or nonsense."""
    import tinycss2.color3

    try:
        c = tinycss2.color3.parse_color(value)
    except (ValueError, TypeError, AttributeError):
        return None
    if c is None or isinstance(c, str):
        return None
    return (float(c.red), float(c.green), float(c.blue), float(c.alpha))


@lru_cache(maxsize=1024)
def length_px(value: str) -> float | None:
    """A CSS length in pixels (em and rem at 16 px, percentages as given); None when it is not one."""
    m = _LENGTH.match(value.replace("!important", "").strip())
    if not m:
        return None
    n, unit = float(m.group(1)), m.group(2) or "px"
    return n * {"pt": 4 / 3, "em": 16.0, "rem": 16.0, "ex": 8.0, "ch": 8.0, "cm": 37.8, "mm": 3.78, "in": 96.0}.get(unit, 1.0)


def close(a: Color, b: Color) -> bool:
    """Two opaque colours a reader cannot tell apart (every channel within about 20 of 255)."""
    return max(abs(x - y) for x, y in zip(a[:3], b[:3])) <= 0.08


class Style:
    """What one element's declarations say: its own colours (for children) and whether it hides its text."""

    __slots__ = ("color", "background", "hidden")

    def __init__(self, decls: tuple[tuple[str, str], ...], color: Color | None, background: Color | None) -> None:
        # mail templates repeat the same few styles thousands of times: computed once each
        self.color, self.background, self.hidden = _computed(decls, color, background)


@lru_cache(maxsize=4096)
def _computed(decls: tuple[tuple[str, str], ...], color: Color | None,
              background: Color | None) -> tuple[Color | None, Color | None, str | None]:
    props: dict[str, str] = dict(decls)
    if not props:
        return color, background, None
    if "background-color" in props or "background" in props:
        bg = parse_color(props.get("background-color") or (props["background"].split() or [""])[0])
        if bg is not None and bg[3] > 0.5:
            background = bg
    if "background-image" in props or "url(" in props.get("background", ""):
        background = None  # text over a picture: its colour beneath is unknown
    if "color" in props:
        c = parse_color(props["color"])
        if c is not None:
            color = c
    return color, background, _hidden(props, color, background)


def _hidden(props: dict[str, Any], color: Color | None, background: Color | None) -> str | None:
    if props.get("display", "").startswith("none"):
        return "display:none"
    if props.get("visibility", "").startswith(("hidden", "collapse")):
        return "visibility:hidden"
    if props.get("mso-hide", "").startswith("all"):
        return "mso-hide:all"
    opacity = length_px(props.get("opacity", "1"))
    if opacity is not None and opacity < 0.05:
        return "opacity:0"
    size = length_px(props.get("font-size", "")) if "font-size" in props else None
    if size is not None and size <= 1.0:
        return "font-size:0"
    if "color" in props and color is not None:
        if color[3] < 0.1:
            return "transparent text"
        if background is not None and close(color, background):
            return "same colour as background"
    for name in _OFFSETS:
        px = length_px(props[name]) if name in props else None
        if px is not None and px <= -500:
            return "off-screen"
    overflow_hidden = props.get("overflow", "").startswith("hidden") or "overflow-y" in props or "overflow-x" in props
    for name in _ZERO_BOX:
        px = length_px(props[name]) if name in props else None
        if px is not None and px <= 1 and (overflow_hidden or name.startswith("max-")):
            return "zero-size box"
    lh = length_px(props.get("line-height", ""))
    if lh is not None and lh <= 1 and overflow_hidden:
        return "zero-size box"
    clip = props.get("clip", "") + " " + props.get("clip-path", "")
    if re.search(r"rect\(\s*0(px)?[\s,]+0(px)?[\s,]+0(px)?[\s,]+0(px)?\s*\)|inset\(\s*(50|100)%", clip):
        return "clipped"
    if re.search(r"scale\(\s*0(\.0+)?\s*[,)]", props.get("transform", "")):
        return "zero-size box"
    return None
