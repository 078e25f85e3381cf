"""Reading and writing staff CSV files: encodings, headers, row checks, formula injection."""

from __future__ import annotations

import time

import pytest

from anshin.directory.csvio import (
    EXPORT_HEADERS,
    FIELDS,
    FileRefused,
    StaffFile,
    Unencodable,
    neutralise,
    read_staff_csv,
    write_csv,
)
from anshin.directory.tests.conftest import HEADER_EN, HEADER_JA, staff_csv

MB = 1024 * 1024
ROW = "001,山田 太郎,taro@city.example.jp,090-1234-5678,総務課,課長,1班,本町,第1配備"


def read(data: bytes, *, max_rows: int = 100_000) -> StaffFile:
    return read_staff_csv(data, max_bytes=20 * MB, max_rows=max_rows)


def refused(data: bytes, **kwargs: int) -> str:
    with pytest.raises(FileRefused) as caught:
        read(data, **kwargs)
    return caught.value.code


def row_codes(staff_file: StaffFile) -> list[tuple[int, str, str]]:
    return [(e.line, e.field, e.code) for e in staff_file.errors]


# --- Headers -------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [HEADER_JA, HEADER_EN])
def test_japanese_and_english_headers_map_to_the_same_fields(header: str) -> None:
    staff_file = read(staff_csv(ROW, header=header))
    assert list(staff_file.columns) == list(FIELDS)
    assert staff_file.key == "staff_id" and staff_file.extra_columns == []
    (row,) = staff_file.rows
    assert (row.staff_id, row.name, row.email, row.phone) == (
        "001",
        "山田 太郎",
        "taro@city.example.jp",
        "+819012345678",
    )
    assert row.attributes == {
        "department": "総務課",
        "position": "課長",
        "team": "1班",
        "area": "本町",
        "oncall_group": "第1配備",
    }


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Ｅメール", "email"),
        ("E-Mail Address", "email"),
        ("メール", "email"),
        ("Staff ID", "staff_id"),
        ("職員ＩＤ", "staff_id"),
        ("TEL", "phone"),
        ("携帯電話番号", "phone"),
        ("部署", "department"),
        ("職名", "position"),
        ("On-call group", "oncall_group"),
        ("参集区分", "oncall_group"),
        ("居住地", "area"),
        (" 氏名 ", "name"),
    ],
)
def test_header_variants_are_recognised(header: str, field: str) -> None:
    # Every file needs its e-mail column: give it one beside the header under test.
    if field == "email":
        data = staff_csv("taro@city.example.jp,x", header=f"{header},資格")
    else:
        data = staff_csv("03-1234-5678,taro@city.example.jp", header=f"{header},email")
    assert read(data).columns[field] == header.strip()


def test_other_columns_become_attributes_under_their_header() -> None:
    staff_file = read(
        staff_csv("taro@city.example.jp,A,防災士", header="メールアドレス,血液型, 資格 ")
    )
    assert staff_file.key == "email"
    assert staff_file.extra_columns == ["血液型", "資格"]
    assert staff_file.rows[0].extra == {"血液型": "A", "資格": "防災士"}
    assert staff_file.rows[0].staff_id is None and staff_file.rows[0].name is None


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("氏名,所属", "no_email_column"),
        ("山田,taro@city.example.jp", "no_header"),
        ("メール,email", "duplicate_column"),
        ("メールアドレス,資格,資格", "duplicate_column"),
        ("メールアドレス,,所属", "blank_header"),
        ("メールアドレス," + ",".join(f"c{i}" for i in range(100)), "columns"),
    ],
)
def test_unusable_headers_are_refused(header: str, code: str) -> None:
    assert refused(staff_csv("a@city.example.jp,x,y", header=header)) == code


def test_header_refusals_never_quote_a_data_row() -> None:
    with pytest.raises(FileRefused) as caught:
        read(staff_csv(header="山田,山田,taro@city.example.jp"))
    assert caught.value.code == "no_header"
    assert "山田" not in caught.value.message and "taro" not in caught.value.message


# --- Encodings -----------------------------------------------------------------------------


def test_cp932_with_nec_and_ibm_extension_characters() -> None:
    data = staff_csv("001,山﨑 ①郎,taro@city.example.jp,03-1234-5678,,,,,", encoding="cp932")
    assert "﨑".encode("cp932") in data and "①".encode("cp932") in data
    staff_file = read(data)
    assert staff_file.encoding == "cp932"
    assert staff_file.rows[0].name == "山﨑 ①郎"


@pytest.mark.parametrize(("bom", "encoding"), [(b"\xef\xbb\xbf", "utf-8-sig"), (b"", "utf-8")])
def test_utf8_with_or_without_bom(bom: bytes, encoding: str) -> None:
    staff_file = read(bom + staff_csv(ROW))
    assert staff_file.encoding == encoding
    assert list(staff_file.columns)[0] == "staff_id"  # the BOM is not part of the header


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"\r\n \r\n", "empty"),
        (b"\x00\x01\x02\x03" * 100, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"PK\x03\x04\x14\x00\x06\x00", "spreadsheet"),
        (HEADER_JA.encode("utf-16"), "utf16"),
        ("職員番号,メールアドレス\r\n1,a@b.jp\r\n".encode("euc_jp") + b"\xff\xfe\x81", "encoding"),
        (b"email\r\na@city.example.jp\r\n", "not_csv"),
        (staff_csv(), "no_rows"),
        (staff_csv(",,,,,,,,", ""), "no_rows"),
    ],
)
def test_unusable_files_are_refused_whole(data: bytes, code: str) -> None:
    assert refused(data) == code


def test_a_50_mb_file_is_refused_at_once() -> None:
    data = staff_csv(*[ROW] * (50 * MB // len(ROW.encode())))
    assert len(data) > 50 * MB
    started = time.monotonic()
    with pytest.raises(FileRefused) as caught:
        read(data)
    assert time.monotonic() - started < 0.5
    assert caught.value.code == "too_large"
    assert "20 MB" in caught.value.message


def test_rows_over_the_limit_are_refused() -> None:
    lines = [f"{i},n,s{i}@city.example.jp,,,,,," for i in range(11)]
    assert len(read(staff_csv(*lines[:10]), max_rows=10).rows) == 10
    assert refused(staff_csv(*lines), max_rows=10) == "too_many_rows"


# --- Rows ----------------------------------------------------------------------------------


def test_ragged_rows_are_reported_and_trailing_empty_cells_tolerated() -> None:
    staff_file = read(
        staff_csv(
            "taro@city.example.jp,総務課",  # 2 right
            "hanako@city.example.jp",  # 3 too few
            "jiro@city.example.jp,総務課,課長",  # 4 too many
            "saburo@city.example.jp,総務課,,,",  # 5 Excel's trailing commas
            header="メールアドレス,所属",
        )
    )
    assert row_codes(staff_file) == [(3, "", "columns"), (4, "", "columns")]
    assert "1 cells; the header row has 2" in staff_file.errors[0].message
    assert [row.line for row in staff_file.rows] == [2, 5]


def test_every_problem_of_every_row_is_reported_by_line() -> None:
    staff_file = read(
        staff_csv(
            "001,山田,taro@city.example.jp,090-1234-5678,,,,,",
            ",鈴木,not-an-address,9012345678,,,,,",
            "003,佐藤,hanako@example,03-1234-5678 内線12,,,,,",
            '"004,佐藤,x@city.example.jp,,,,,,',
            "0 5,高橋,jiro@city.example.jp,0120-111-222," + "課" * 101 + ",,,,",
            "",  # blank lines are skipped, not counted
            "006,中村,saburo@city.example.jp,,総務\t課,,,,",
        )
    )
    assert row_codes(staff_file) == [
        (3, "email", "email_no_at"),
        (3, "staff_id", "staff_id_missing"),
        (3, "phone", "phone_leading_zero"),
        (4, "email", "email_domain"),
        (4, "phone", "phone_characters"),
        (5, "", "quote"),
        (6, "staff_id", "staff_id_invalid"),
        (6, "phone", "phone_service_number"),
        (6, "department", "too_long"),
        (8, "department", "control_chars"),
    ]
    assert staff_file.data_rows == 6 and [row.line for row in staff_file.rows] == [2]


def test_duplicates_within_the_file_name_the_first_line() -> None:
    staff_file = read(
        staff_csv(
            "001,a,taro@city.example.jp,,,,,,",
            "002,b,hanako@city.example.jp,,,,,,",
            "003,c,Taro@CITY.example.jp,,,,,,",  # the local part's case makes another address
            "004,d,ｔａｒｏ＠ｃｉｔｙ．ｅｘａｍｐｌｅ．ｊｐ,,,,,,",  # full-width: the same address
            "００２,e,jiro@city.example.jp,,,,,,",  # full-width staff number: the same number
        )
    )
    assert row_codes(staff_file) == [(5, "email", "duplicate"), (6, "staff_id", "duplicate")]
    assert staff_file.errors[0].message == "Same e-mail address as line 2."
    assert staff_file.errors[1].message == "Same staff number as line 3."


def test_row_messages_never_quote_a_cell() -> None:
    staff_file = read(
        staff_csv(
            ",山田太郎,yamada@city,090-9999-888,,,,,",
            "7 7,鈴木花子,suzuki@city.example.jp,03-8888-7777 内線5,,,,,",
            "008,佐藤,suzuki@city.example.jp,+1 555 0100,,,,,",
        )
    )
    messages = " ".join(error.message for error in staff_file.errors)
    for secret in ("山田", "yamada", "9999", "鈴木", "suzuki", "8888", "7 7", "555"):
        assert secret not in messages


# --- Writing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("'quoted", "'quoted"),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralised(cell: str, written: str) -> None:
    assert neutralise(cell) == written


def test_neutralised_cells_read_back_as_written() -> None:
    data = write_csv(
        [["メールアドレス", "所属", "=メモ"], ["taro@city.example.jp", "=1+1", "@home"]],
        encoding="utf-8",
    )
    assert b"'=1+1" in data and b"'@home" in data and "'=メモ".encode() in data
    (row,) = read(data).rows
    assert (row.attributes["department"], row.extra["=メモ"]) == ("=1+1", "@home")


def test_utf8_is_written_with_a_bom_and_crlf() -> None:
    data = write_csv([["氏名", "メール"], ["山﨑", "a@b.jp"]], encoding="utf-8")
    assert data == "\ufeff氏名,メール\r\n山﨑,a@b.jp\r\n".encode()


def test_cp932_lists_every_cell_it_cannot_encode() -> None:
    table = [
        list(EXPORT_HEADERS.values())[:3],
        ["001", "𠮷田", "a@b.jp"],
        ["002", "髙橋", "c@d.jp"],
    ]
    table.append(["003", "森\u2014鷗外", "e@f.jp"])
    with pytest.raises(Unencodable) as caught:
        write_csv(table, encoding="cp932")
    assert [(c.line, c.column, c.character) for c in caught.value.cells] == [
        (2, 1, "𠮷"),
        (4, 1, "\u2014"),
    ]
    assert "髙橋".encode("cp932") in write_csv(table[:1] + table[2:3], encoding="cp932")
