"""Agent tools for every caller: the catalog (:mod:`.catalog`), answers (:mod:`.results`), strict schemas."""
