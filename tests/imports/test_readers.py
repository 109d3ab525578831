"""What a file is, by its content: encodings, delimiters, workbooks, and bad input."""

import io
import zipfile

import openpyxl
import pytest

from ringround.contacts.models import Contact
from ringround.imports import services
from ringround.imports.models import Import
from ringround.imports.readers import FileProblem, inspect_file, open_rows
from tests.factories import ContactFactory, the_team
from tests.imports.conftest import csv_bytes, import_now, landline, write_csv

pytestmark = pytest.mark.django_db

NAMES = [["José", "O’Brien", landline(1), "£5 a month"], ["Zoë", "Müller", landline(2), "—"]]
HEADER = ["First name", "Surname", "Phone", "Notes"]


@pytest.mark.parametrize(
    "encoding,label",
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 with BOM"),
        ("cp1252", "Windows-1252"),
        ("utf-16", "UTF-16"),
    ],
)
def test_detects_the_encoding_and_says_so(tmp_path, encoding, label):
    path = write_csv(tmp_path / "f.csv", NAMES, header=HEADER, encoding=encoding)
    info = inspect_file(path)
    assert info.describe().startswith(f"CSV, {label}, comma-separated")
    assert info.headers == HEADER  # no BOM left on the first header
    job = import_now(path)
    assert job.created == 2
    jose = Contact.objects.get(first_name="José")
    assert jose.last_name == "O’Brien" and jose.custom_fields["notes"] == "£5 a month"


def test_latin1_bytes_that_windows_1252_lacks(tmp_path):
    data = "name,phone\nRenée\x81,020 7946 0001\n".encode("latin-1")
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    info = inspect_file(path)
    assert info.encoding == "latin-1"
    assert "Latin-1" in info.describe()


def test_a_file_that_is_utf8_until_late_is_read_as_windows_1252(tmp_path):
    rows = [[f"Name{n}", "B", landline(n), ""] for n in range(20000)]
    data = csv_bytes(rows, header=HEADER) + "Zoë,Smith,020 7946 9999,\r\n".encode("cp1252")
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert inspect_file(path).encoding == "cp1252"


@pytest.mark.parametrize("delimiter,word", [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_detects_the_delimiter(tmp_path, delimiter, word):
    path = write_csv(tmp_path / "f.csv", NAMES, header=HEADER, delimiter=delimiter)
    info = inspect_file(path)
    assert info.delimiter == delimiter
    assert f"{word}-separated" in info.describe()
    assert info.preview[0] == NAMES[0]


def test_quoted_fields_with_delimiters_and_newlines(tmp_path):
    rows = [["Jane", "Smith", landline(1), "Flat 2, 10 High St\nLondon"]]
    path = write_csv(tmp_path / "f.csv", rows, header=HEADER, delimiter=";")
    import_now(path)
    assert Contact.objects.get().custom_fields["notes"] == "Flat 2, 10 High St\nLondon"


def make_xlsx(path, rows, header=HEADER):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Members"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_reads_an_excel_workbook(tmp_path):
    rows = [
        ["Jane", "Smith", 2079460001, '=HYPERLINK("http://evil","click")'],  # number cell
        ["Bob", "Jones", "020 7946 0002", 12.5],
    ]
    path = make_xlsx(tmp_path / "members.xlsx", rows)
    info = inspect_file(path)
    assert info.format == "xlsx" and "sheet “Members”" in info.describe()
    assert info.preview[0][2] == "2079460001"
    job = import_now(path)
    assert (job.created, job.rejected) == (2, 0)
    jane = Contact.objects.get(first_name="Jane")
    assert jane.phone == "+442079460001"  # the leading zero Excel dropped
    assert jane.custom_fields["notes"] == '=HYPERLINK("http://evil","click")'  # text, not run
    assert Contact.objects.get(first_name="Bob").custom_fields["notes"] == "12.5"


def test_a_workbook_renamed_csv_is_still_read_as_a_workbook(tmp_path):
    path = make_xlsx(tmp_path / "members.csv", [["Jane", "Smith", "020 7946 0001", ""]])
    assert inspect_file(path).format == "xlsx"


# -- bad input: a clear message, nothing stored ----------------------------------------------


def assert_refused(tmp_path, data: bytes, message: str, name="f.csv"):
    ContactFactory()
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(FileProblem, match=message):
        services.create_import(path=path, team=the_team())
    assert Import.objects.count() == 0
    assert Contact.objects.count() == 1


def test_an_empty_file(tmp_path):
    assert_refused(tmp_path, b"", "The file is empty")


def test_blank_lines_only(tmp_path):
    assert_refused(tmp_path, b"\r\n\r\n  \r\n", "no rows at all")


def test_a_file_with_only_a_header(tmp_path):
    assert_refused(tmp_path, b"first name,surname,phone\r\n", "header but no rows")


def test_a_binary_file_renamed_csv(tmp_path):
    assert_refused(tmp_path, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10, "PNG image")


def test_random_binary_data(tmp_path):
    assert_refused(tmp_path, bytes(range(256)) * 40, "not text: it contains binary data")


def test_an_old_excel_file(tmp_path):
    assert_refused(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old-style Office")


def test_a_zip_that_is_not_a_workbook(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert_refused(tmp_path, buffer.getvalue(), "not an Excel workbook", name="f.xlsx")


def test_an_xlsx_that_is_really_a_zip_bomb(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (40 * 1024 * 1024))
    assert len(buffer.getvalue()) < 200_000
    assert_refused(tmp_path, buffer.getvalue(), "zip bomb", name="bomb.xlsx")


def test_a_damaged_workbook(tmp_path):
    assert_refused(tmp_path, b"PK\x03\x04" + b"garbage" * 100, "damaged", name="f.xlsx")


def test_a_header_with_ten_thousand_columns(tmp_path):
    header = ",".join(f"col{n}" for n in range(10_000)).encode()
    assert_refused(tmp_path, header + b"\r\n" + b"1," * 9999 + b"1\r\n", "10,000 columns")


def test_a_file_over_the_size_limit(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes([["a", "b", landline(1), "x" * 1000]] * 300, header=HEADER))
    with pytest.raises(FileProblem, match="the limit is"):
        inspect_file(path, max_bytes=100_000)


def test_a_first_row_of_data_instead_of_a_header(tmp_path):
    assert_refused(tmp_path, b"020 7946 0001,1\r\n020 7946 0002,2\r\n", "looks like data")


def test_rows_are_streamed_not_loaded(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["a", "b", landline(n), ""] for n in range(50)])
    info = inspect_file(path)
    rows = open_rows(path, info, skip=45)
    numbers = [number for number, _cells, _problem in rows]
    rows.close()
    assert numbers == [47, 48, 49, 50, 51]  # the header is row 1; 45 rows skipped


def declare_a_huge_sheet(path, *, extra_xml=""):
    """Rewrite a workbook's sheet to declare A1:XFD25000 (as a hostile or broken file may),
    optionally with more row XML, keeping its real cells."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = next(name for name in parts if name.startswith("xl/worksheets/sheet"))
    xml = parts[sheet].decode()
    start = xml.index('<dimension ref="')
    end = xml.index('"', start + len('<dimension ref="'))
    xml = xml[:start] + '<dimension ref="A1:XFD25000' + xml[end:]
    xml = xml.replace("</sheetData>", extra_xml + "</sheetData>")
    parts[sheet] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def test_a_workbook_is_read_for_what_it_holds_not_what_it_declares(tmp_path):
    path = declare_a_huge_sheet(make_xlsx(tmp_path / "tiny.xlsx", NAMES))
    info = inspect_file(path)

    with open_rows(path, info) as rows:
        read = list(rows)

    assert [cells[:2] for _n, cells, _p in read] == [["José", "O’Brien"], ["Zoë", "Müller"]]
    assert all(len(cells) <= 4 for _n, cells, _p in read), "no padding to 16,384 cells"


def test_a_row_reaching_the_last_column_is_cut_before_it_is_read(tmp_path):
    wide = (
        '<row r="3"><c r="A3" t="inlineStr"><is><t>Ann</t></is></c><c r="XFD3"><v>1</v></c></row>'
    )
    path = declare_a_huge_sheet(make_xlsx(tmp_path / "wide.xlsx", NAMES[:1]), extra_xml=wide)
    info = inspect_file(path)

    with open_rows(path, info) as rows:
        lengths = [len(cells) for _n, cells, _p in rows]

    assert lengths[0] <= 4 and lengths[-1] == 501


def test_inspecting_gives_up_with_the_reason_when_it_takes_too_long(tmp_path):
    path = make_xlsx(tmp_path / "slow.xlsx", NAMES)
    with pytest.raises(FileProblem, match="took too long"):
        inspect_file(path, seconds=0)
