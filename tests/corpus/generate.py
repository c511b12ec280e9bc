#!/usr/bin/env python3
"""Writes the malformed-CSV corpus: tests/corpus/bookings/*.csv and tests/corpus/offices/*.csv.

Run from anywhere: python3 tests/corpus/generate.py. The files are committed; tests/corpus.rs
imports each one on both engines and compares the errors with the snapshots in tests/snapshots/.
Every file is wrong somewhere: a valid file here is a defect of the corpus (the test fails).
"""

import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))

BOOKING_COLUMNS = ["booking_code", "office_code", "unit_code", "name", "phone", "email", "whatsapp",
                   "language", "appointment_at", "product", "express", "stage", "applied_at"]
OFFICE_COLUMNS = ["code", "name", "timezone", "kind", "parent_code", "class", "region", "tpi",
                  "phone", "address", "website", "instagram"]


def booking(n, **changes):
    row = {
        "booking_code": f"MP-{n:05d}", "office_code": "PLG", "unit_code": "", "name": f"Pemohon {n}",
        "phone": f"0812-3000-{n:04d}", "email": "", "whatsapp": "", "language": "",
        "appointment_at": "2024-06-24 09:00", "product": "regular", "express": "no", "stage": "booked",
        "applied_at": "",
    }
    row.update(changes)
    return row


def office(office_code, **changes):
    code = office_code
    row = {
        "code": code, "name": f"Kantor Imigrasi Kelas II TPI {code.title()}", "timezone": "Asia/Jakarta",
        "kind": "office", "parent_code": "", "class": "II", "region": "Sumatera Selatan", "tpi": "yes",
        "phone": "(0711) 410 123", "address": "Jl. Merdeka No. 1", "website": "kanim.imigrasi.go.id",
        "instagram": "@kanim",
    }
    row.update(changes)
    return row


def cell(value):
    if any(c in value for c in ',"\n\r') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(columns, rows, ending="\n"):
    lines = [",".join(columns)]
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
        else:
            lines.append(",".join(cell(row[c]) for c in columns))
    return ending.join(lines) + ending


written = 0


def write(kind, name, content):
    global written
    path = os.path.join(HERE, kind, name + ".csv")
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    with open(path, "wb") as out:
        out.write(data)
    written += 1


def bookings_with(name, bad_rows, ending="\n"):
    """Two valid rows, the bad ones, one valid row after."""
    rows = [booking(1), booking(2)] + bad_rows + [booking(99)]
    write("bookings", name, csv_text(BOOKING_COLUMNS, rows, ending))


def offices_with(name, bad_rows, ending="\n"):
    rows = [office("AAA")] + bad_rows + [office("ZZZ")]
    write("offices", name, csv_text(OFFICE_COLUMNS, rows, ending))


# One wrong value per column, as people and tools get them wrong.
CELL_MUTATIONS = {
    "booking_code": ["", "MP", "MP 123", "MP-" + "9" * 40, "MP#001", "MP-ÅÖ1", "MP-\u00a0001"],
    "office_code": ["", "XYZ", "P", "PL G", "PLG!", "GTO-ULP"],
    "unit_code": ["PLG-XXX", "GTO", "PL G"],
    "name": ["", "Bu\0di", "Budi\tSantoso", "Budi\nSantoso", "Budi\r\nSantoso", "A" * 151, "x\u202eFED",
             "Budi\u001b[31m", "Bu\u0085di", "\ufeffBudi", "Budi\u2028Santoso", "\u200eBudi"],
    "phone": ["", "0812-3456-789O", "0812-3456-78l0", "021-5551234", "12345", "+60 12-345 6789",
              "+65 8123 4567", "+1 415 555 2671", "0812+3456 7890", "0812 3456 7890 ext 12", "０８１２３４５６７８９０",
              "0812-3456-7890-1234-5678-9012-3456-7890-1234", "call me", "0812\u00a03456\u00a07890", "+62 21 555 1234",
              "62-812-3456", "📞081234567890", "0812/3456/7890"],
    "email": ["budi", "budi@", "@example.com", "budi@@example.com", "bu di@example.com",
              "b" * 250 + "@example.com", "budi@example.com\0"],
    "whatsapp": ["0812-3456-789O", "021-5551234", "+60 12-345 6789", "wa.me/6281234567890"],
    "language": ["fr", "jawa", "id-ID"],
    "appointment_at": ["", "0000-06-24 09:00", "-2024-06-24 09:00", "9999-06-24 09:00", "1999-12-31 09:00",
                       "2100-01-01 09:00", "2024-02-30 09:00", "2024-06-24 25:00", "24/06/2024 09:00",
                       "2024-06-24", "besok pagi", "2024-06-24T09:00:00+25:00", "2024-06-24 09:00 WIB"],
    "product": ["", "diplomatic", "e passport", "paspor"],
    "express": ["", "maybe", "2", "yess"],
    "stage": ["", "done", "printed?", "picked up"],
    "applied_at": ["-99999-01-01", "2024-06-25", "2024-13-01", "11/06/2024", "1999-12-31", "0000-01-01",
                   "2024-06-24 09:00"],
}

for column, values in CELL_MUTATIONS.items():
    for index, value in enumerate(values):
        bookings_with(f"cell_{column}_{index:02d}", [booking(10, **{column: value})])

# The same mistakes, in files with Windows and old Mac line endings: the lines must not move.
for ending, label in [("\r\n", "crlf"), ("\r", "cr")]:
    for column in ["phone", "name", "appointment_at", "stage", "email", "applied_at"]:
        bookings_with(f"ending_{label}_{column}", [booking(10, **{column: CELL_MUTATIONS[column][1]})], ending)
    # A quoted line break in a column kabar does not read, before a bad row.
    rows = [booking(1), booking(2, stage="booked"), booking(3, office_code="XYZ")]
    text = csv_text(BOOKING_COLUMNS + ["note"],
                    [dict(r, note="") for r in rows[:1]]
                    + [dict(rows[1], note=f"two{ending}lines")]
                    + [dict(rows[2], note="")], ending)
    write("bookings", f"ending_{label}_quoted_break", text)

mixed = csv_text(BOOKING_COLUMNS, [booking(1)], "\r\n") + csv_text(BOOKING_COLUMNS, [booking(2, product="x")], "\n").split("\n", 1)[1]
write("bookings", "ending_mixed", mixed)

# Many problems in one row, and several bad rows.
bookings_with("row_every_cell_wrong", [booking(10, booking_code="M", office_code="XYZ", name="", phone="abc",
                                               email="x", language="fr", appointment_at="later",
                                               product="x", express="x", stage="x", applied_at="x")])
bookings_with("rows_three_bad", [booking(10, phone="1"), booking(11, stage="x"), booking(12, express="x")])

# Repeated booking codes.
bookings_with("repeat_same_content", [booking(1)])
bookings_with("repeat_other_content", [booking(1, stage="attended")])
bookings_with("repeat_lower_case", [booking(10), booking(11, booking_code="mp-00010")])
bookings_with("repeat_three_times", [booking(10), booking(10, stage="paid"), booking(10, stage="ready")])

# Rows of the wrong shape.
valid = csv_text(BOOKING_COLUMNS, [booking(1)])
write("bookings", "shape_too_few", valid + "MP-00010,PLG,,Budi,0812-3000-0010\n")
write("bookings", "shape_too_many", valid + ",".join(cell(v) for v in booking(10).values()) + ",extra,more\n")
write("bookings", "shape_unclosed_quote", valid + 'MP-00010,PLG,,"Budi,0812-3000-0010,,,,2024-06-24 09:00,regular,no,booked,\n' + ",".join(booking(11).values()) + "\n")
write("bookings", "shape_quote_left_open", valid + 'MP-00010,PLG,,Budi,0812-3000-0010,,,,2024-06-24 09:00,regular,no,"booked,\n' + ",".join(booking(11).values()) + "\n")
write("bookings", "shape_one_column", valid + "MP-00010\n")
write("bookings", "shape_semicolon_rows", valid + ";".join(booking(10).values()) + "\n")
write("bookings", "shape_tab_rows", valid + "\t".join(booking(10).values()) + "\n")

# Lengths.
bookings_with("length_name_5000", [booking(10, name="N" * 5000)])
bookings_with("length_address_like_email", [booking(10, email="a" * 300)])
bookings_with("length_code_41", [booking(10, booking_code="M" * 41)])

# Encodings.
latin1 = csv_text(BOOKING_COLUMNS, [booking(1), booking(10, name="Sánchez")]).encode("latin-1")
write("bookings", "encoding_latin1_name", latin1)
write("bookings", "encoding_latin1_header", csv_text(BOOKING_COLUMNS, [booking(1)]).replace("name", "namé", 1).encode("latin-1"))
utf16 = csv_text(BOOKING_COLUMNS, [booking(1)])
write("bookings", "encoding_utf16le_bom", b"\xff\xfe" + utf16.encode("utf-16-le"))
write("bookings", "encoding_utf16be_bom", b"\xfe\xff" + utf16.encode("utf-16-be"))
write("bookings", "encoding_utf16le_no_bom", utf16.encode("utf-16-le"))
write("bookings", "encoding_double_bom", b"\xef\xbb\xbf\xef\xbb\xbf" + utf16.encode("utf-8"))
write("bookings", "encoding_triple_bom", b"\xef\xbb\xbf" * 3 + utf16.encode("utf-8"))
write("bookings", "encoding_bom_in_row", csv_text(BOOKING_COLUMNS, [booking(1), booking(10, name="\ufeffBudi")]))

# Not CSV at all, or no header.
rows_only = csv_text(BOOKING_COLUMNS, [booking(1), booking(2)]).split("\n", 1)[1]
write("bookings", "header_missing", rows_only)
write("bookings", "header_missing_crlf", rows_only.replace("\n", "\r\n"))
write("bookings", "header_missing_columns", "booking_code,office_code,name\nMP-00001,PLG,Budi\n")
write("bookings", "header_one_column_missing", csv_text([c for c in BOOKING_COLUMNS if c != "stage"], [{k: v for k, v in booking(1).items() if k != "stage"}]))
write("bookings", "header_duplicate_column", ",".join(BOOKING_COLUMNS + ["Phone"]) + "\n" + ",".join(booking(1).values()) + ",0812-3000-0009\n")
write("bookings", "header_nul", "booking_code,office\0_code," + ",".join(BOOKING_COLUMNS[2:]) + "\n" + rows_only)
write("bookings", "header_control_char", "booking_code,office_code\x07," + ",".join(BOOKING_COLUMNS[2:]) + "\n" + rows_only)
write("bookings", "header_only_bom", b"\xef\xbb\xbf")
write("bookings", "header_blank_lines_only", "\n\n\r\n  \n")
write("bookings", "header_empty_file", b"")
write("bookings", "header_office_list", csv_text(OFFICE_COLUMNS, [office("AAA")]))
write("bookings", "header_semicolon_missing_column", ";".join(BOOKING_COLUMNS[:-2]) + "\n" + ";".join(list(booking(1).values())[:-2]) + "\n")
write("bookings", "notcsv_json_array", json.dumps([booking(1), booking(2)], indent=2))
write("bookings", "notcsv_json_object", json.dumps({"bookings": [booking(1)]}))
write("bookings", "notcsv_json_lines", "\n".join(json.dumps(booking(n)) for n in range(1, 4)) + "\n")
write("bookings", "notcsv_html", "<!DOCTYPE html><html><body><table><tr><td>booking_code</td></tr></table></body></html>\n")
write("bookings", "notcsv_xml", '<?xml version="1.0"?><bookings><booking code="MP-1"/></bookings>\n')
write("bookings", "notcsv_xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"\x00" * 64)
write("bookings", "notcsv_xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
write("bookings", "notcsv_binary", bytes(range(256)) * 4)
write("bookings", "notcsv_prose", "Daftar pemohon paspor minggu ini\nBudi, Siti, Andi\n")

# The office list.
OFFICE_MUTATIONS = {
    "code": ["", "A", "AB CD", "A" * 25, "AAA"],
    "name": ["", "Kanim\0Palembang", "Kanim\nPalembang", "K" * 151, "Kanim\u202ePalembang"],
    "timezone": ["", "WIB", "Atlantis/Capital", "UTC+7", "asia/jakarta"],
    "kind": ["", "branch", "kantor"],
    "class": ["", "IV", "Kelas IV", "Kelas II Khusus TPI", "Kelas I TPI Non", "Kelas I TPI TPI", "Kelas 1.5", "TPI"],
    "region": ["", "Sumatera\tSelatan", "R" * 101],
    "tpi": ["", "perhaps", "tpi", "2"],
    "phone": ["(0711) 41O 123", "1234", "call us", "0711\0410123"],
    "address": ["A" * 301, "Jl. Merdeka\0No. 1"],
    "website": ["not a website", "http://", "localhost", "kanim imigrasi.go.id"],
    "instagram": ["@", "@kanim palembang", "@" + "k" * 31, "@kanim!"],
}
for column, values in OFFICE_MUTATIONS.items():
    for index, value in enumerate(values):
        offices_with(f"cell_{column}_{index:02d}", [office("BBB", **{column: value})])

# The TPI column against the class.
offices_with("tpi_class_says_tpi_cell_no", [office("BBB", **{"class": "Kelas II TPI", "tpi": "no"})])
offices_with("tpi_class_says_non_tpi_cell_yes", [office("BBB", **{"class": "Kelas I Non TPI", "tpi": "yes"})])
offices_with("tpi_khusus_mismatch", [office("BBB", **{"class": "Kelas I Khusus TPI", "tpi": "tidak"})])
offices_with("tpi_empty_class_silent", [office("BBB", **{"class": "Kelas III", "tpi": ""})])

# Units.
def unit(code, parent, **changes):
    row = office(code, kind="unit", parent_code=parent, timezone="", **{"class": ""}, region="", tpi="")
    row.update(changes)
    return row

offices_with("unit_unknown_parent", [unit("BBB-ULP", "QQQ")])
offices_with("unit_other_zone", [unit("AAA-ULP", "AAA", timezone="Asia/Jayapura")])
offices_with("unit_no_parent", [unit("AAA-ULP", "")])
offices_with("unit_bad_code", [unit("AAA ULP", "AAA")])
offices_with("repeat_office_code", [office("AAA", name="Kantor Imigrasi Kelas II TPI Lain")])
offices_with("repeat_unit_code", [unit("AAA-ULP", "AAA"), unit("AAA-ULP", "ZZZ")])
for ending, label in [("\r\n", "crlf"), ("\r", "cr")]:
    offices_with(f"ending_{label}_class", [office("BBB", **{"class": "IV"})], ending)
    offices_with(f"ending_{label}_unit", [unit("BBB-ULP", "QQQ")], ending)

valid_offices = csv_text(OFFICE_COLUMNS, [office("AAA")])
write("offices", "shape_too_few", valid_offices + "BBB,Kantor,Asia/Jakarta\n")
write("offices", "shape_too_many", valid_offices + ",".join(office("BBB").values()) + ",extra\n")
write("offices", "shape_unclosed_quote", valid_offices + '"BBB,Kantor Imigrasi,Asia/Jakarta,office,,II,Jambi,yes,,,,\n')
write("offices", "header_missing", valid_offices.split("\n", 1)[1])
write("offices", "header_missing_tz_and_kind", "code,name,parent_code,class,region,tpi\nAAA,Kantor,,II,Jambi,yes\n")
write("offices", "header_booking_export", csv_text(BOOKING_COLUMNS, [booking(1)]))
write("offices", "header_duplicate", "code,name,timezone,kind,parent_code,class,region,tpi,name\nAAA,A,Asia/Jakarta,office,,II,Jambi,yes,B\n")
write("offices", "encoding_utf16", b"\xff\xfe" + valid_offices.encode("utf-16-le"))
write("offices", "encoding_double_bom", b"\xef\xbb\xbf\xef\xbb\xbf" + valid_offices.encode())
write("offices", "encoding_latin1", csv_text(OFFICE_COLUMNS, [office("AAA", address="Jl. Sudirmán")]).encode("latin-1"))
write("offices", "notcsv_json", json.dumps([office("AAA")]))
write("offices", "notcsv_empty", b"")

print(f"wrote {written} files")
