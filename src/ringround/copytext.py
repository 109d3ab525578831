"""PostgreSQL's COPY text format for rows of text values, in one place: the contact writers
(``contacts.bulk``, ``contacts.staged``) and the import's worker processes (which import
nothing from Django) all write it."""

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def lines(rows: list[tuple]) -> list[str]:
    """Each row as a line of COPY text (without its newline); values are escaped only in a
    batch that needs it (a tab, newline or backslash in some value)."""
    if not rows:
        return []
    joined = list(map("\t".join, rows))
    text = "\n".join(joined)
    width = len(rows[0])
    if (
        "\\" not in text
        and "\r" not in text
        and text.count("\t") == len(rows) * (width - 1)
        and text.count("\n") == len(rows) - 1
    ):
        return joined
    return ["\t".join(value.translate(_ESCAPES) for value in row) for row in rows]
