"""Schedule ids as people handle them: shown short, as git shows hashes, and taken back by their start.

A schedule id is a 36-character UUID; a table of them leaves no room for the names, and nobody types
one. Tables show the shortest start that tells the shown ids apart, and every command taking an id
accepts a start of one that no other id shares.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

# The fewest characters a table shows of an id (git shows 7 of a hash; a UUID's first group is 8).
SHORTEST_SHOWN = 8
# The fewest characters a command accepts as the start of an id: fewer would match too much to be meant.
SHORTEST_TYPED = 4
# The most candidates an "ambiguous id" error names, so it stays one readable line.
CANDIDATES_NAMED = 5

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def short_length(ids: Collection[str]) -> int:
    """How many leading characters (at least ``SHORTEST_SHOWN``) tell these ids apart.

    One length for the whole table, so the ids line up and each shown one is a valid prefix.
    """
    distinct = set(ids)
    longest = max((len(value) for value in distinct), default=SHORTEST_SHOWN)
    for length in range(SHORTEST_SHOWN, longest):
        if len({value[:length] for value in distinct}) == len(distinct):
            return length
    return max(longest, SHORTEST_SHOWN)


def is_full(text: str) -> bool:
    """Whether ``text`` is a whole schedule id (a UUID), which needs no lookup."""
    return _UUID.fullmatch(text) is not None


def starting_with(prefix: str, ids: Iterable[str]) -> list[str]:
    """The ids that start with ``prefix`` (in any case); an id equal to it wins over longer ones."""
    wanted = prefix.lower()
    found = [value for value in ids if value.lower().startswith(wanted)]
    exact = [value for value in found if value.lower() == wanted]
    return exact or found
