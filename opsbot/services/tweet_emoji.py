"""Where X sees an emoji: each one, however many code points it takes, weighs as one CJK character.

twitter-text (v3) finds emoji with twemoji's list of sequences; this module finds the same
shapes with a grammar instead of a list, so emoji newer than that list count as one too:

- a keycap: `#`, `*` or a digit, an optional VS16 (U+FE0F), then U+20E3 (`1⃣`, `#️⃣`);
- a flag: two regional indicators (`🇷🇺`), or a black flag, tag characters and a cancel tag
  (Scotland's, England's);
- a pictograph with an optional skin tone or VS16, and pictographs joined by ZWJ (U+200D) into
  one sequence (`👨‍👩‍👧‍👦`, `🏳️‍🌈`, `🙋🏽`).

The grammar also takes shapes no keyboard sends and twemoji's list lacks (two arbitrary regional
indicators, a skin tone on a rainbow): such a sequence counts 2 here, its parts apart there.
© and ® are text unless VS16 follows them, as in twemoji: `©` weighs 1, `©️` weighs 2.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Unicode's Extended_Pictographic code points (emoji-data.txt) but © and ®, as ranges in hex.
# The property is stable: it reserves blocks for future emoji, so new ones are already in it.
_PICTOGRAPHIC = """
203C 2049 2122 2139 2194-2199 21A9-21AA 231A-231B 2328 23CF 23E9-23F3 23F8-23FA 24C2
25AA-25AB 25B6 25C0 25FB-25FE 2600-2604 260E 2611 2614-2615 2618 261D 2620 2622-2623 2626
262A 262E-262F 2638-263A 2640 2642 2648-2653 265F-2660 2663 2665-2666 2668 267B 267E-267F
2692-2697 2699 269B-269C 26A0-26A1 26A7 26AA-26AB 26B0-26B1 26BD-26BE 26C4-26C5 26C8
26CE-26CF 26D1 26D3-26D4 26E9-26EA 26F0-26F5 26F7-26FA 26FD 2702 2705 2708-270D 270F 2712
2714 2716 271D 2721 2728 2733-2734 2744 2747 274C 274E 2753-2755 2757 2763-2764 2795-2797
27A1 27B0 27BF 2934-2935 2B05-2B07 2B1B-2B1C 2B50 2B55 3030 303D 3297 3299 1F004 1F02C-1F02F
1F094-1F09F 1F0AF-1F0B0 1F0C0 1F0CF-1F0D0 1F0F6-1F0FF 1F170-1F171 1F17E-1F17F 1F18E
1F191-1F19A 1F1AE-1F1E5 1F201-1F20F 1F21A 1F22F 1F232-1F23A 1F23C-1F23F 1F249-1F25F
1F266-1F321 1F324-1F393 1F396-1F397 1F399-1F39B 1F39E-1F3F0 1F3F3-1F3F5 1F3F7-1F3FA
1F400-1F4FD 1F4FF-1F53D 1F549-1F54E 1F550-1F567 1F56F-1F570 1F573-1F57A 1F587 1F58A-1F58D
1F590 1F595-1F596 1F5A4-1F5A5 1F5A8 1F5B1-1F5B2 1F5BC 1F5C2-1F5C4 1F5D1-1F5D3 1F5DC-1F5DE
1F5E1 1F5E3 1F5E8 1F5EF 1F5F3 1F5FA-1F64F 1F680-1F6C5 1F6CB-1F6D2 1F6D5-1F6E5 1F6E9
1F6EB-1F6F0 1F6F3-1F6FF 1F7DA-1F7FF 1F80C-1F80F 1F848-1F84F 1F85A-1F85F 1F888-1F88F
1F8AE-1F8AF 1F8BC-1F8BF 1F8C2-1F8CF 1F8D9-1F8FF 1F90C-1F93A 1F93C-1F945 1F947-1F9FF
1FA58-1FA5F 1FA6E-1FAFF 1FC00-1FFFD
"""


def _char_class(ranges: str) -> str:
    parts = []
    for item in ranges.split():
        first, _, last = item.partition("-")
        parts.append(re.escape(chr(int(first, 16))))
        if last:
            parts.append("-" + re.escape(chr(int(last, 16))))
    return "".join(parts)


_VS16 = "\ufe0f"
_ZWJ = "\u200d"
_SKIN_TONE = "\U0001f3fb-\U0001f3ff"
_ELEMENT = rf"(?:[\xa9\xae]{_VS16}|[{_char_class(_PICTOGRAPHIC)}](?:[{_SKIN_TONE}]|{_VS16})?)"
_REGIONAL_INDICATOR = "\U0001f1e6-\U0001f1ff"

EMOJI = re.compile(
    rf"[#*0-9]{_VS16}?\u20e3"
    rf"|[{_REGIONAL_INDICATOR}]{{2}}"
    r"|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"
    rf"|{_ELEMENT}(?:{_ZWJ}{_ELEMENT})*"
)
# Every emoji starts with one of these. The regex engine skips ahead fast over a single class,
# not over the alternation above, so the class is searched first: one linear pass in all.
_FIRST = re.compile(rf"[#*0-9\xa9\xae{_REGIONAL_INDICATOR}{_char_class(_PICTOGRAPHIC)}]")


def emoji_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each emoji, left to right, as `EMOJI.finditer` would find them."""
    position = 0
    while found := _FIRST.search(text, position):
        emoji = EMOJI.match(text, found.start())
        if emoji is None:
            position = found.start() + 1
        else:
            yield emoji.span()
            position = emoji.end()
