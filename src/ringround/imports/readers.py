"""Reading contact files: what a file is (by its content, never its name) and its rows.

``inspect_file`` looks at a file before anything is stored and either describes it (format,
encoding, delimiter, headers, the first rows) or raises ``FileProblem`` with a message for the
organiser. ``open_rows`` then streams its records one at a time, so a million-row file never sits
whole in memory.

This module imports nothing from Django: import worker processes may use it.
"""

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from time import monotonic

MAX_COLUMNS = 500
INSPECT_SECONDS = 10.0
PREVIEW_ROWS = 5
SAMPLE_BYTES = 256 * 1024
# An .xlsx unzips to several times its size; far more than that is a zip bomb.
MAX_XLSX_UNCOMPRESSED = 2 * 1024**3
MAX_XLSX_RATIO = 200
MAX_XLSX_MEMBERS = 10_000

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO-8859-1)",
}
MAGIC = [
    (b"\xd0\xcf\x11\xe0", "an old-style Office file (.xls or .doc): save it as .xlsx or CSV"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"SQLite format 3", "a SQLite database"),
]


class FileProblem(ValueError):
    """A file that cannot be imported, with the reason in words for the organiser."""


@dataclass
class FileInfo:
    """What ``inspect_file`` found."""

    format: str  # "csv" or "xlsx"
    size: int
    headers: list[str]
    preview: list[list[str]] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    sheet_name: str = ""
    has_header: bool = True

    def describe(self) -> str:
        if self.format == "xlsx":
            found = f"Excel workbook, sheet “{self.sheet_name}”"
        else:
            found = f"CSV, {ENCODING_LABELS.get(self.encoding, self.encoding)}"
            if len(self.headers) > 1:
                found += f", {DELIMITERS.get(self.delimiter, repr(self.delimiter))}-separated"
        columns = len(self.headers)
        return f"{found}, {columns} column{'s' if columns != 1 else ''}"


# -- what is this file? ----------------------------------------------------------------------


def sniff_format(head: bytes) -> str:
    """ "xlsx" or "csv" from the first bytes; ``FileProblem`` for anything else."""
    if not head:
        raise FileProblem("The file is empty.")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "xlsx"
    for magic, what in MAGIC:
        if head.startswith(magic):
            raise FileProblem(f"This is not a CSV or Excel file: it is {what}.")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"
    sample = head[:8192]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in sample or controls > len(sample) // 100:
        raise FileProblem(
            "This file is not text: it contains binary data. "
            "Upload a CSV file or an Excel workbook (.xlsx)."
        )
    return "csv"


def inspect_file(
    path,
    *,
    has_header: bool | None = True,
    max_bytes: int | None = None,
    seconds: float = INSPECT_SECONDS,
):
    """Describe ``path`` or raise ``FileProblem``. ``has_header=None``: decide from row one.

    It runs while an organiser waits for the page, so it gives up after ``seconds`` with the
    reason, however the file is made (a workbook can declare a million empty rows)."""
    deadline = monotonic() + seconds
    with open(path, "rb") as f:
        head = f.read(SAMPLE_BYTES)
        f.seek(0, io.SEEK_END)
        size = f.tell()
    if max_bytes is not None and size > max_bytes:
        raise FileProblem(
            f"The file is {size / 1024 / 1024:.0f} MB; the limit is "
            f"{max_bytes / 1024 / 1024:.0f} MB. Split it into smaller files."
        )
    kind = sniff_format(head)
    if kind == "xlsx":
        info = FileInfo(format="xlsx", size=size, headers=[])
        check_zip(path)
    else:
        encoding = detect_encoding(path, head)
        text = _decode_sample(head, encoding, complete=len(head) == size)
        info = FileInfo(
            format="csv",
            size=size,
            headers=[],
            encoding=encoding,
            delimiter=detect_delimiter(text),
        )
    rows = open_rows(path, info, header=False)
    first = []
    try:
        for _number, cells, problem in rows:
            if problem:
                raise FileProblem(f"The file cannot be read as CSV: {problem}.")
            if any(c.strip() for c in cells):
                first.append(cells)
                if len(first) > PREVIEW_ROWS:
                    break
            if monotonic() > deadline:
                raise FileProblem(
                    "Reading the start of this file took too long: it holds very little data "
                    "spread over a huge sheet. Copy the data into a new sheet and save it again."
                )
    finally:
        rows.close()
    if not first:
        raise FileProblem("The file is empty: it has no rows at all.")
    if has_header is None:
        has_header = any(ch.isalpha() for ch in " ".join(first[0]))
    if has_header:
        headers = [h.strip() for h in first[0]]
        while headers and not headers[-1]:
            headers.pop()
        if not any(ch.isalpha() for ch in "".join(headers)):
            raise FileProblem(
                "The first row should name the columns (first name, phone, …), but it looks "
                "like data. Add a header row."
            )
        first = first[1:]
    else:
        headers = [f"Column {n}" for n in range(1, max(len(r) for r in first) + 1)]
    if len(headers) > MAX_COLUMNS:
        raise FileProblem(
            f"The file has {len(headers):,} columns; Ringround reads at most {MAX_COLUMNS}."
        )
    if not first:
        raise FileProblem("The file has a header but no rows to import.")
    width = len(headers)
    info.headers = [h or f"Column {n}" for n, h in enumerate(headers, 1)]
    info.preview = [(r + [""] * width)[:width] for r in first[:PREVIEW_ROWS]]
    info.has_header = has_header
    return info


def check_zip(path) -> None:
    """An .xlsx is a zip: refuse one that is not a workbook or that would unzip to far too much."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileProblem("This looks like an Excel file but it is damaged.") from exc
    if "xl/workbook.xml" not in names:
        raise FileProblem("This is a zip archive, not an Excel workbook (.xlsx).")
    if len(members) > MAX_XLSX_MEMBERS:
        raise FileProblem("This workbook has too many parts to be a real spreadsheet.")
    total = sum(m.file_size for m in members)
    bomb = any(
        m.file_size > 10 * 1024 * 1024 and m.file_size > MAX_XLSX_RATIO * max(m.compress_size, 1)
        for m in members
    )
    if bomb or total > MAX_XLSX_UNCOMPRESSED:
        raise FileProblem(
            "This workbook would unzip to "
            f"{total / 1024**3:.1f} GB: it is not a real spreadsheet (a “zip bomb”)."
        )


# -- encodings and delimiters ----------------------------------------------------------------


def detect_encoding(path, head: bytes) -> str:
    """UTF-8 (with or without BOM) if the whole file is; else a single-byte Western encoding."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig" if _decodes(path, "utf-8-sig") else "cp1252"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(path, "utf-8"):
        return "utf-8"
    # Not UTF-8: ask charset-normalizer which Western code page it is. Left free it calls a
    # British list with one "£" Japanese, so only the single-byte Western family is offered.
    from charset_normalizer import from_bytes

    best = from_bytes(head, cp_isolation=["cp1252", "latin_1"]).best()
    guess = "latin-1" if best is not None and best.encoding == "latin_1" else "cp1252"
    for encoding in (guess, "cp1252", "latin-1"):
        if _decodes(path, encoding):
            return encoding
    return "latin-1"  # every byte is a Latin-1 character


def _decodes(path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1024 * 1024):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _decode_sample(head: bytes, encoding: str, *, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(head, final=complete)
    if not complete and "\n" in text:
        text = text[: text.rfind("\n")]  # the last line may be cut short
    return text


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number of columns, most often."""
    lines = text.splitlines()[:50]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        consistent = sum(1 for w in widths if w == widths[0]) / len(widths)
        score = (consistent, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


# -- rows ------------------------------------------------------------------------------------


def cell_text(value) -> str:
    """A spreadsheet cell as the text a person would have typed."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


class Rows:
    """Records of a file as ``(row_number, cells, problem)``; the header is row 1.

    ``done`` and ``total`` measure progress (bytes for CSV, rows for XLSX)."""

    done = 0
    total = 0

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class CsvRows(Rows):
    def __init__(self, path, encoding: str, delimiter: str):
        self._raw = open(path, "rb")  # noqa: SIM115 (closed by close())
        self.total = self._raw.seek(0, io.SEEK_END)
        self._raw.seek(0)
        self._text = io.TextIOWrapper(self._raw, encoding=encoding, newline="", errors="replace")
        self._reader = csv.reader(self._text, delimiter=delimiter or ",")

    @property
    def done(self):
        return self._raw.tell() if not self._raw.closed else self.total

    def __iter__(self):
        number = 0
        while True:
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield number, [], f"unreadable row ({exc})"
                continue
            number += 1
            yield number, cells, None

    def close(self):
        self._text.close()


class XlsxRows(Rows):
    def __init__(self, path):
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        # An open file, not the path: openpyxl refuses a workbook by its name's extension, and
        # what a file is is decided by its content. Formulas are read as their text, never
        # evaluated (data_only=False).
        self._file = open(path, "rb")  # noqa: SIM115 (closed by close())
        try:
            self._book = openpyxl.load_workbook(self._file, read_only=True, data_only=False)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            self._file.close()
            raise FileProblem("This Excel file is damaged or not a workbook.") from exc
        self.sheet = self._book.worksheets[0] if self._book.worksheets else None
        if self.sheet is None:
            raise FileProblem("This workbook has no sheets.")
        try:
            self.total = int(self.sheet.max_row or 0)
        except (TypeError, ValueError):
            self.total = 0
        # Read what the sheet holds, not what it declares: with its declared size (say
        # A1:XFD25000) openpyxl would pad every row to 16,384 cells and every missing row in.
        self.sheet.reset_dimensions()

    def __iter__(self):
        for number, values in enumerate(self.sheet.iter_rows(values_only=True), 1):
            self.done = number
            # Past the widest row a file may have, cells are never read (the row is refused).
            yield number, [cell_text(v) for v in values[: MAX_COLUMNS + 1]], None

    def close(self):
        self._book.close()
        self._file.close()


def open_rows(path, info: FileInfo, *, header: bool = True, skip: int = 0):
    """Stream ``path``'s data rows (after the header unless ``header=False``), skipping the
    first ``skip`` records after it (as an interrupted import resumes)."""
    if info.format == "xlsx":
        rows = XlsxRows(path)
        info.sheet_name = info.sheet_name or rows.sheet.title
    else:
        rows = CsvRows(path, info.encoding, info.delimiter)
    if not header:
        return rows
    return _DataRows(rows, has_header=info.has_header, skip=skip)


class _DataRows(Rows):
    """The records after the header row (the first row with anything in it)."""

    def __init__(self, rows: Rows, *, has_header: bool, skip: int):
        self._rows, self._has_header, self._skip = rows, has_header, skip

    done = property(lambda self: self._rows.done)
    total = property(lambda self: self._rows.total)

    def __iter__(self):
        records = iter(self._rows)
        if self._has_header:
            for _number, cells, _problem in records:
                if any(c.strip() for c in cells):
                    break
        for skipped, record in enumerate(records):
            if skipped >= self._skip:
                yield record
                break
        yield from records

    def close(self):
        self._rows.close()
