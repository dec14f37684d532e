"""Reading a dataset file into a pandas DataFrame: format by extension, checked against the content.

pandas does the parsing. What this module adds is what pandas leaves to the caller: choosing the
format when the extension lies, the text encoding (UTF-8, UTF-8 with BOM, then a Windows-1252 /
Latin-1 fallback that is always reported), the delimiter, whether the first row is a header (see
engine.analysis.header), two line formats pandas does not read (fastText's ``__label__x text``
and ``label text`` lines, see engine.analysis.lines), and refusing files that are not tables
(binary data, a 50 MB line, an empty file, a header without rows) with a one-line error instead
of a parser traceback or a silently wrong frame. Every detected choice can be given instead
(``ReadOptions``), and is recorded so that resume and relaunch read the file the same way.

The file is opened once, by ``open_dataset`` (regular files only: a FIFO named ``data.csv`` would
block, ``/dev/zero`` would read forever), and every pass, pandas' included, reads that open file:
pandas given the path would open it again, and the path may have been swapped in between.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import pandas as pd

from engine.analysis.dataset_file import open_dataset
from engine.analysis.header import HeaderDecision, decide_header, headerless_names
from engine.analysis.lines import LINE_FORMATS, read_lines, sniff_line_format
from engine.errors import BadInputError

#: Extension -> format. Unknown extensions (``.txt``, none) are decided by the content alone.
EXTENSION_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
TEXT_FORMATS = frozenset({"csv", "tsv", "json", "jsonl", *LINE_FORMATS})
#: Formats a recorded ``dataset_config.format`` may force (the original tool's names, such as
#: ``llm-json``, say nothing about the file itself and are ignored).
KNOWN_FORMATS = frozenset(EXTENSION_FORMATS.values()) | TEXT_FORMATS
#: Extensions whose content alone decides between a table and a line format.
LINE_EXTENSIONS = frozenset({".txt", ".text", ".ft", ".fasttext", ""})
#: A line longer than this is not a row of a table: it is minified JSON, a dump, or binary data.
#: Real texts to classify are far shorter; without the limit pandas would take a 50 MB line for a
#: header and report "no data rows", which names the wrong problem.
MAX_LINE_BYTES = 10 * 1024 * 1024
SNIFF_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
DELIMITERS = {",": "csv", "\t": "tsv", ";": "csv", "|": "csv"}
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
#: Lines of the head read to decide whether the first row is a header.
HEADER_SAMPLE_ROWS = 500


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file; each None is detected from the content."""

    header: bool | None = None
    """Whether the first row of a CSV/TSV file names the columns."""
    delimiter: str | None = None
    """Field delimiter of a CSV/TSV file (a tab makes it TSV)."""
    encoding: str | None = None
    """Text encoding (any name Python knows)."""
    sheet: str | None = None
    """Excel sheet (default: the first, with a warning when there are several)."""
    format: str | None = None
    """The format, whatever the content looks like (one of KNOWN_FORMATS)."""


@dataclass
class TableRead:
    """A file read into a frame, and how it was read."""

    frame: pd.DataFrame
    format: str
    """csv, tsv, json, jsonl, xlsx or parquet (what the content is, whatever the extension)."""
    encoding: str | None
    """Text encoding used (None for binary formats)."""
    sheet: str | None
    """Excel sheet read (None for other formats)."""
    warnings: list[str] = field(default_factory=list)
    """Things the user should know: encoding fallback, sheet chosen, extension not matching."""
    header: bool | None = None
    """Whether the first row was taken as the column names (CSV/TSV only)."""
    header_reason: str | None = None
    """Why the header was decided so ("given" when it was an option)."""
    delimiter: str | None = None
    """Field delimiter of a CSV/TSV file."""
    tried: tuple[str, ...] = ()
    """Other layouts the content was checked against (named when the analysis fails)."""


@dataclass
class _TextScan:
    encoding: str
    warning: str | None


def read_table(path: Path, options: ReadOptions | None = None) -> TableRead:
    """Read a CSV, TSV, JSON (array of records), JSONL, Excel, Parquet or line-format file.

    Column names are stripped of surrounding spaces and made strings; cells keep their values
    (delimited text is read as strings, so that ``007`` and ``1.0`` reach the caller unchanged).
    A CSV/TSV file without a header row gets the columns ``column_1``, ``column_2``...; a line
    format gets ``text`` and ``label``.

    Returns:
        The frame with its format, encoding, sheet, header, delimiter and warnings.

    Raises:
        BadInputError: the path is missing, a directory or anything but a regular file (or a
            link to one), the file is empty, binary, not parseable as its format, has a header
            but no rows, names an unknown sheet, or an option does not fit the file.
    """
    path = Path(path)
    options = options or ReadOptions()
    _check_options(path, options)
    with open_dataset(path) as handle:
        try:
            return _read_open_table(path, handle, options)
        except OSError as exc:
            # A read error (EIO, a file on a network share gone away) is not a parser's problem.
            raise BadInputError(f"cannot read dataset {path}: {exc.strerror or exc}") from None


def _check_options(path: Path, options: ReadOptions) -> None:
    if options.format is not None and options.format not in KNOWN_FORMATS:
        known = ", ".join(sorted(KNOWN_FORMATS))
        raise BadInputError(f"unknown dataset format {options.format!r}; one of: {known}")
    if options.encoding is not None:
        try:
            codecs.lookup(options.encoding)
        except LookupError:
            raise BadInputError(
                f"unknown encoding {options.encoding!r}; give one Python knows, such as utf-8, "
                "latin-1 or cp1252"
            ) from None
    if options.delimiter is not None and (
        len(options.delimiter) != 1 or options.delimiter in '\r\n"' or options.delimiter.isalnum()
    ):
        raise BadInputError(
            f"--delimiter must be one character other than a letter, digit, quote or newline "
            f"(got {options.delimiter!r}); for a tab give '\\t' or tab"
        )


def _read_open_table(path: Path, handle: BinaryIO, options: ReadOptions) -> TableRead:
    if os.fstat(handle.fileno()).st_size == 0:
        raise BadInputError(f"dataset {path} is empty (0 bytes); export the data again")
    head = handle.read(SNIFF_BYTES)
    fmt, notices, tried = _choose_format(path, head, options)
    if options.sheet is not None and fmt != "xlsx":
        raise BadInputError(f"--sheet applies to Excel workbooks; {path.name} is {fmt.upper()}")
    table = TableRead(frame=pd.DataFrame(), format=fmt, encoding=None, sheet=None, tried=tried)
    if fmt in TEXT_FORMATS:
        scan = _scan_text(path, handle, head, check_lines=fmt != "json", encoding=options.encoding)
        table.encoding = scan.encoding
        if scan.warning:
            notices.append(scan.warning)
        if fmt in LINE_FORMATS:
            handle.seek(0)
            table.frame = read_lines(path, handle, fmt, scan.encoding)
        elif fmt in ("csv", "tsv"):
            _read_delimited(path, handle, head, table, options)
        else:
            table.frame = _read_json(path, handle, fmt, scan.encoding, head)
    elif fmt == "xlsx":
        table.frame, table.sheet, sheet_warning = _read_excel(path, handle, options.sheet)
        if sheet_warning:
            notices.append(sheet_warning)
    else:
        table.frame = _read_parquet(path, handle)
    frame = table.frame
    frame.columns = pd.Index([str(column).strip() for column in frame.columns])
    if len(frame) == 0:
        header = f"a header ({', '.join(frame.columns)}) but " if len(frame.columns) else ""
        raise BadInputError(f"dataset {path} has {header}no data rows; add rows to it")
    if len(frame.columns) == 0:
        raise BadInputError(f"dataset {path} has no columns; export it with a header row")
    table.warnings = notices
    return table


def _choose_format(
    path: Path, head: bytes, options: ReadOptions
) -> tuple[str, list[str], tuple[str, ...]]:
    """The format the content has; warnings when the extension said otherwise; what else was
    tried (a ``.txt`` file is checked against the line formats before it is read as CSV)."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise BadInputError(
            f"{path.name} is an old Excel 97 (.xls) workbook; save it as .xlsx or CSV"
        )
    if options.format is not None:
        return options.format, [], ()
    by_extension = EXTENSION_FORMATS.get(suffix)
    by_content = _sniff_format(path, head)
    if options.delimiter is not None and _family(by_content) == "delimited":
        by_content = "tsv" if options.delimiter == "\t" else "csv"
    tried: tuple[str, ...] = ()
    if suffix in LINE_EXTENSIONS and by_content in ("csv", "tsv") and options.delimiter is None:
        line_format = sniff_line_format(head)
        if line_format is not None:
            return line_format, [], ()
        tried = LINE_FORMATS
    if by_extension is None or _family(by_extension) == _family(by_content):
        # Within delimited text the content decides (a .csv holding tabs is read as TSV) silently:
        # the extension only names the family.
        chosen = by_content if by_extension in (None, "csv", "tsv") else by_extension
        return chosen, [], tried
    warning = (
        f"{path.name} has a .{path.suffix.lstrip('.')} extension but its content is "
        f"{by_content.upper()}; read it as {by_content.upper()}"
    )
    return by_content, [warning], tried


def _family(fmt: str) -> str:
    return "delimited" if fmt in ("csv", "tsv") else fmt


def _sniff_format(path: Path, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BadInputError(f"{path.name} is encoded in UTF-16; save it as UTF-8")
    if _looks_binary(head):
        raise BadInputError(
            f"{path.name} looks like binary data, not a table; give a CSV, TSV, JSON, JSONL, "
            "Excel (.xlsx) or Parquet file"
        )
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not text:
        raise BadInputError(f"dataset {path} holds only blank space; export the data again")
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        return "jsonl"
    return "tsv" if _sniff_delimiter(_first_line(head)) == "\t" else "csv"


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, or more than 1% control characters, do not occur in text files."""
    if b"\x00" in head:
        return True
    controls = sum(head.count(bytes([code])) for code in range(32) if code not in (9, 10, 12, 13))
    return controls > len(head) / 100


def _first_line(head: bytes) -> str:
    line = head.removeprefix(codecs.BOM_UTF8).lstrip(b"\r\n").split(b"\n", 1)[0]
    return line.decode("latin-1")


def _sniff_delimiter(header: str) -> str:
    """The delimiter that occurs most often in the header line (a comma when none does).

    csv.Sniffer was tried first and rejected: on a header line alone it often picks a letter.
    """
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _scan_text(
    path: Path, handle: BinaryIO, head: bytes, *, check_lines: bool, encoding: str | None
) -> _TextScan:
    """One streaming pass: is the file valid UTF-8 (or the given encoding), and is every line
    of a sane length."""
    decoder = codecs.getincrementaldecoder(encoding or "utf-8")()
    utf8_error: UnicodeDecodeError | None = None
    since_newline = 0
    lines = 0
    offset = 0
    handle.seek(0)
    while chunk := handle.read(CHUNK_BYTES):
        if utf8_error is None:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                utf8_error = exc
                utf8_error.start += offset
        offset += len(chunk)
        last_newline = chunk.rfind(b"\n")
        if last_newline < 0:
            since_newline += len(chunk)
        else:
            lines += chunk.count(b"\n")
            since_newline = len(chunk) - last_newline - 1
        if check_lines and since_newline > MAX_LINE_BYTES:
            raise BadInputError(
                f"line {lines + 1} of {path.name} is longer than "
                f"{MAX_LINE_BYTES // (1024 * 1024)} MB: this is not a table of texts "
                "(minified JSON? binary data?); give one record per line"
            )
    if utf8_error is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            utf8_error = exc
    if encoding is not None:
        if utf8_error is not None:
            raise BadInputError(
                f"{path.name} is not valid {encoding} (byte {utf8_error.start}); give the "
                "encoding it was saved in with --encoding, or leave it out to detect it"
            )
        return _TextScan(encoding, None)
    if utf8_error is None:
        return _TextScan("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8", None)
    for fallback in FALLBACK_ENCODINGS:
        if not _decodes(handle, fallback):
            continue
        return _TextScan(
            fallback,
            f"{path.name} is not valid UTF-8 (byte {utf8_error.start}); read it as {fallback} "
            "(Windows/Latin-1): check accented characters, or save the file as UTF-8",
        )
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _decodes(handle: BinaryIO, encoding: str) -> bool:
    """Whether the whole file decodes in ``encoding``, read in chunks (it may be large)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    handle.seek(0)
    try:
        while chunk := handle.read(CHUNK_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _read_delimited(
    path: Path, handle: BinaryIO, head: bytes, table: TableRead, options: ReadOptions
) -> None:
    """Read a CSV/TSV file into ``table``: its delimiter, header and frame."""
    assert table.encoding is not None
    delimiter = options.delimiter or _sniff_delimiter(_first_line(head))
    quoting: Literal[0, 3] = (
        csv.QUOTE_MINIMAL if delimiter != "\t" else _tsv_quoting(head, table.encoding)
    )
    table.delimiter = delimiter
    if options.header is not None:
        decision = HeaderDecision(options.header, "given")
    else:
        decision = _decide_header(head, table.encoding, delimiter, quoting)
    table.header, table.header_reason = decision.header, decision.reason
    handle.seek(0)
    table.frame = _read_csv(
        path, handle, table.format, delimiter, quoting, table.encoding, decision
    )


def _decide_header(
    head: bytes, encoding: str, delimiter: str, quoting: Literal[0, 3]
) -> HeaderDecision:
    """Whether the first row is a header, judged on the first rows of the head."""
    text = head.decode(encoding, errors="replace").removeprefix("\ufeff")
    lines = text.splitlines()
    if len(lines) > 1 and len(head) == SNIFF_BYTES:
        lines = lines[:-1]  # the head may end inside a line
    sample = "\n".join(lines[:HEADER_SAMPLE_ROWS])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = pd.read_csv(
                io.StringIO(sample),
                sep=delimiter,
                header=None,
                dtype=str,
                keep_default_na=False,
                quoting=quoting,
                skip_blank_lines=True,
            )
    except (ValueError, pd.errors.ParserError, csv.Error):
        # Rows of different lengths: the full read names the problem; a header is assumed.
        return HeaderDecision(True, "the first rows could not be compared")
    return decide_header(rows.values.tolist(), sample)


def _read_csv(
    path: Path,
    handle: BinaryIO,
    fmt: str,
    delimiter: str,
    quoting: Literal[0, 3],
    encoding: str,
    decision: HeaderDecision,
) -> pd.DataFrame:
    try:
        # Everything as strings: type inference would turn label "007" into 7 and a column
        # of 0/1 with one gap into floats. Only truly empty cells are missing values
        # (pandas' default would also turn the text "NA" or "null" into a missing value).
        with warnings.catch_warnings():
            # Rows longer than the header: pandas would silently make the extra leading
            # fields an index (or, with index_col=False, drop the extra ones with a warning).
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                handle,
                sep=delimiter,
                encoding=encoding,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                quoting=quoting,
                skip_blank_lines=True,
                index_col=False,
                header=0 if decision.header else None,
            )
    except pd.errors.EmptyDataError as exc:
        raise BadInputError(f"dataset {path} has no data; export it again") from exc
    except pd.errors.ParserWarning as exc:
        raise BadInputError(
            f"cannot read {path.name} as {fmt.upper()}: rows have more fields than the header; "
            "quote texts that contain the delimiter, or check the delimiter"
        ) from exc
    except (ValueError, pd.errors.ParserError, csv.Error, UnicodeDecodeError) as exc:
        raise BadInputError(
            f"cannot read {path.name} as {fmt.upper()}: {_first_message_line(exc)}; "
            "check that every row has the same columns"
        ) from exc
    if not decision.header:
        frame.columns = pd.Index(headerless_names(len(frame.columns)))
    return frame


def _read_json(path: Path, handle: BinaryIO, fmt: str, encoding: str, head: bytes) -> pd.DataFrame:
    handle.seek(0)
    try:
        frame = pd.read_json(handle, lines=fmt == "jsonl", encoding=encoding, dtype=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInputError(
            f"cannot read {path.name} as {fmt.upper()}: {_first_message_line(exc)}; "
            "check that every row has the same columns"
        ) from exc
    if fmt == "json" and not _records_array(head, encoding):
        raise BadInputError(
            f"{path.name} is JSON but not an array of records; write it as "
            '[{"text": ..., "label": ...}, ...] or as JSON Lines'
        )
    return frame


def _tsv_quoting(head: bytes, encoding: str) -> Literal[0, 3]:
    """TSV files are usually written without quoting, with raw quotes inside texts.

    Reading those with CSV quoting silently merges lines (a quote opens a field that ends at the
    next quote, many rows later). Quoting is used only when every field that starts with a quote
    in the first lines also ends with one, as a quoting writer (pandas, Excel) produces.
    """
    sample = head.decode(encoding, errors="replace").splitlines()[:-1] or [
        head.decode(encoding, errors="replace")
    ]
    fields = [cell for line in sample for cell in line.split("\t")]
    quoted = [cell for cell in fields if cell.startswith('"')]
    if quoted and all(len(cell) >= 2 and cell.endswith('"') for cell in quoted):
        return csv.QUOTE_MINIMAL
    return csv.QUOTE_NONE


def _records_array(head: bytes, encoding: str) -> bool:
    """Whether the JSON document's first element is an object (a record)."""
    # The head may end inside a multi-byte character: only its start matters here.
    start = head.decode(encoding, errors="ignore").lstrip()
    if not start.startswith("["):
        return False
    rest = start[1:].lstrip()
    return rest.startswith("{") or rest.startswith("]")


def _read_excel(
    path: Path, handle: BinaryIO, sheet: str | None
) -> tuple[pd.DataFrame, str, str | None]:
    handle.seek(0)
    try:
        workbook = pd.ExcelFile(handle, engine="openpyxl")
    except Exception as exc:
        # openpyxl raises zipfile, KeyError and its own errors for damaged workbooks alike.
        raise BadInputError(
            f"cannot open {path.name} as an Excel workbook: {_first_message_line(exc)}"
        ) from exc
    with workbook:
        names = [str(name) for name in workbook.sheet_names]
        warning = None
        if sheet is None:
            if not names:
                raise BadInputError(f"workbook {path.name} has no sheets")
            sheet = names[0]
            if len(names) > 1:
                warning = (
                    f"{path.name} has {len(names)} sheets ({', '.join(names)}); read the first, "
                    f"{sheet!r}; choose another with --sheet"
                )
        elif sheet not in names:
            raise BadInputError(
                f"workbook {path.name} has no sheet {sheet!r}; its sheets are: {', '.join(names)}"
            )
        frame = pd.read_excel(workbook, sheet_name=sheet)
    if not isinstance(frame, pd.DataFrame):  # pragma: no cover - one sheet name gives one frame
        raise BadInputError(f"cannot read sheet {sheet!r} of {path.name}")
    return frame, sheet, warning


def _read_parquet(path: Path, handle: BinaryIO) -> pd.DataFrame:
    handle.seek(0)
    try:
        return pd.read_parquet(handle)
    except Exception as exc:
        # pyarrow raises ArrowInvalid, OSError and others for files that are not Parquet.
        raise BadInputError(
            f"cannot read {path.name} as Parquet: {_first_message_line(exc)}"
        ) from exc


def _first_message_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


__all__ = ["ReadOptions", "TableRead", "read_table"]
