"""The 评审专家抽取记录表 as a file: XLSX, PDF or CSV from one `RecordSheet`, all A4 landscape and
print-ready where the format has pages. The service decides what the sheet says (and masks what
the reader's role may not see); this module only lays it out.

- XLSX: the sheet 抽取记录表 laid out for printing (merged title, the blocks one under another,
  column widths, page setup A4 landscape fitted to the page width, the title rows repeated on
  every page), plus 成员名单 and 邀请与补抽记录 as plain tables with a bold, frozen header row.
- PDF: reportlab with its built-in CID font STSong-Light (the reader's own 宋体; no font file is
  embedded), tables that repeat their header row on every page, page numbers.
- CSV: the same blocks one under another (UTF-8 with BOM, so Excel opens it as such).

Every cell goes through `io.sheets` (`inert_cell`, `put_cell`, `write_csv`): text, and text a
spreadsheet would read as a formula gets a leading quote, as in every sheet we write. Every format
is written whole or not at all through `io.files.atomic_output`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from expertpool.io.files import atomic_output
from expertpool.io.sheets import put_cell, save_workbook, write_csv

FORMATS: tuple[str, ...] = ("xlsx", "pdf", "csv")


@dataclass
class SheetTable:
    title: str
    headers: list[str]
    rows: list[list[str]]
    widths: list[int]            # relative column widths (characters), one per header
    empty: str = "（无）"


@dataclass
class RecordSheet:
    title: str                                  # 评审专家抽取记录表
    subtitle: str                               # the panel's name and id
    info: list[tuple[str, str]]                 # label → value, laid out two to a line
    rules: list[str]                            # the draw's rules, in Chinese
    tables: list[SheetTable]
    signatures: list[tuple[str, str, str]]      # (role, who, when), each with a line to sign on
    notes: list[str] = field(default_factory=list)   # the anchor and what it is for, …
    flat: dict[str, SheetTable] = field(default_factory=dict)   # sheet name → plain table (XLSX)


def write_sheet(sheet: RecordSheet, out: Path, fmt: str) -> Path:
    """Write `sheet` to `out` in `fmt`, whole or not at all (a failure leaves `out` as it was)."""
    if fmt == "csv":
        return write_csv(out, _csv_rows(sheet))
    if fmt == "xlsx":
        return _xlsx(sheet, out)
    with atomic_output(out) as tmp:
        _pdf(sheet, tmp)
    return out


# ---- CSV ----

def _csv_rows(sheet: RecordSheet) -> list[list[str]]:
    """The blocks one under another (UTF-8 with BOM and inert cells: `sheets.write_csv`)."""
    rows: list[list[str]] = [[sheet.title], [sheet.subtitle], []]
    rows += [[label, value] for label, value in sheet.info]
    rows += [[], ["抽取规则"]] + [[line] for line in sheet.rules]
    for table in sheet.tables:
        rows += [[], [table.title], table.headers]
        rows += table.rows or [[table.empty]]
    rows.append([])
    rows += [[f"{role}：{who}", f"时间：{when}", "签字：", "日期："] for role, who, when in sheet.signatures]
    rows += [[], *([n] for n in sheet.notes)]
    return rows


# ---- XLSX ----

def _xlsx(sheet: RecordSheet, path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "抽取记录表"
    ncols = max([len(t.headers) for t in sheet.tables] + [4])
    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDDDDD")
    wrap = Alignment(wrap_text=True, vertical="top")
    row = 1

    def put(r: int, c: int, value: object, **style) -> None:
        cell = put_cell(ws, r, c, value)
        for key, v in style.items():
            setattr(cell, key, v)

    def line(text: str, *, font=None, height: float | None = None, align=None) -> None:
        nonlocal row
        put(row, 1, text, font=font or Font(), alignment=align or wrap)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        if height:
            ws.row_dimensions[row].height = height
        row += 1

    line(sheet.title, font=Font(bold=True, size=16), height=28, align=Alignment(horizontal="center", vertical="center"))
    line(sheet.subtitle, font=Font(bold=True, size=11), align=Alignment(horizontal="center"))
    half = max(ncols // 2, 2)
    for i in range(0, len(sheet.info), 2):
        for k, (label, value) in enumerate(sheet.info[i:i + 2]):
            start = 1 + k * half
            put(row, start, label, font=bold, border=box, alignment=wrap)
            put(row, start + 1, value, border=box, alignment=wrap)
            end = (half if k == 0 else ncols)
            if end > start + 1:
                ws.merge_cells(start_row=row, start_column=start + 1, end_row=row, end_column=end)
        row += 1
    row += 1
    line("抽取规则", font=bold)
    for text in sheet.rules:
        line(text)
    for table in sheet.tables:
        row += 1
        line(table.title, font=Font(bold=True, size=12))
        for c, header in enumerate(table.headers, 1):
            put(row, c, header, font=bold, fill=head_fill, border=box, alignment=Alignment(horizontal="center"))
        row += 1
        for values in table.rows or [[table.empty] + [""] * (len(table.headers) - 1)]:
            for c, value in enumerate(values, 1):
                put(row, c, value, border=box, alignment=wrap)
            row += 1
    row += 1
    for role, who, when in sheet.signatures:
        line(f"{role}：{who or '　　　　'}　　时间：{when or '　　　　'}　　签字：＿＿＿＿＿＿＿＿　　日期：＿＿＿＿＿＿", height=30,
             align=Alignment(vertical="center"))
    row += 1
    for note in sheet.notes:
        line(note, font=Font(size=9))
    widths = [0] * ncols
    for table in sheet.tables:
        for c, w in enumerate(table.widths):
            widths[c] = max(widths[c], w)
    for c, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(c)].width = max(w, 8)
    _page_setup(ws, "1:2")
    for name, table in sheet.flat.items():
        flat = wb.create_sheet(name)
        for c, header in enumerate(table.headers, 1):
            cell = put_cell(flat, 1, c, header)
            cell.font, cell.fill = bold, head_fill
        for r, values in enumerate(table.rows, 2):
            for c, value in enumerate(values, 1):
                put_cell(flat, r, c, value)
        for c, w in enumerate(table.widths, 1):
            flat.column_dimensions[get_column_letter(c)].width = max(w, 8)
        flat.freeze_panes = "A2"
        if table.rows:
            flat.auto_filter.ref = f"A1:{get_column_letter(len(table.headers))}{len(table.rows) + 1}"
        _page_setup(flat, "1:1")
    return save_workbook(wb, path)


def _page_setup(ws, title_rows: str) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = title_rows
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


# ---- PDF ----

FONT = "STSong-Light"


def _pdf(sheet: RecordSheet, path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    page = landscape(A4)
    margin = 12 * mm
    width = page[0] - 2 * margin
    title = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, alignment=TA_CENTER, spaceAfter=2 * mm)
    subtitle = ParagraphStyle("subtitle", fontName=FONT, fontSize=11, leading=15, alignment=TA_CENTER,
                              spaceAfter=3 * mm)
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=11.5, leading=16, spaceBefore=3 * mm, spaceAfter=1.5 * mm)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, wordWrap="CJK")
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10, wordWrap="CJK")
    head_cell = ParagraphStyle("head", parent=cell, textColor=colors.black)
    small = ParagraphStyle("small", fontName=FONT, fontSize=7.5, leading=10, wordWrap="CJK", textColor=colors.HexColor("#444444"))

    def p(text: object, style=cell) -> Paragraph:
        return Paragraph(_escape(str(text) if text is not None else ""), style)

    grid = [("FONTNAME", (0, 0), (-1, -1), FONT), ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#808080")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
    story: list = [Paragraph(_escape(sheet.title), title), Paragraph(_escape(sheet.subtitle), subtitle)]
    info_rows = []
    for i in range(0, len(sheet.info), 2):
        pair = sheet.info[i:i + 2]
        cells = []
        for label, value in pair:
            cells += [p(label, head_cell), p(value)]
        cells += [""] * (4 - len(cells))
        info_rows.append(cells)
    info = Table(info_rows, colWidths=[width * 0.11, width * 0.39, width * 0.11, width * 0.39])
    info.setStyle(TableStyle(grid + [("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#EEEEEE")),
                                     ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#EEEEEE"))]))
    story += [info, Paragraph("抽取规则", heading)]
    story += [Paragraph(_escape(line), body) for line in sheet.rules]
    for table in sheet.tables:
        story.append(Paragraph(_escape(table.title), heading))
        total = sum(table.widths)
        widths = [width * w / total for w in table.widths]
        rows = [[p(h, head_cell) for h in table.headers]]
        rows += [[p(v) for v in r] for r in table.rows] or [[p(table.empty)] + [""] * (len(table.headers) - 1)]
        t = Table(rows, colWidths=widths, repeatRows=1)
        style = grid + [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDDD"))]
        if not table.rows:
            style.append(("SPAN", (0, 1), (-1, 1)))
        t.setStyle(TableStyle(style))
        story.append(t)
    sign_rows = [[p(f"{role}：{who or ''}", body), p(f"时间：{when or ''}", body), p("签字：", body), p("日期：", body)]
                 for role, who, when in sheet.signatures]
    signs = Table(sign_rows, colWidths=[width * 0.22, width * 0.28, width * 0.3, width * 0.2], rowHeights=12 * mm)
    signs.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                               ("LINEBELOW", (2, 0), (3, -1), 0.6, colors.black)]))
    # the signature lines and the anchor stay on one page
    story.append(KeepTogether([Spacer(1, 6 * mm), signs, Spacer(1, 4 * mm),
                               *(Paragraph(_escape(n), small) for n in sheet.notes)]))

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.drawCentredString(page[0] / 2, 6 * mm, f"{sheet.subtitle}　第 {doc.page} 页")
        canvas.restoreState()

    doc = SimpleDocTemplate(str(path), pagesize=page, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin + 2 * mm, title=sheet.title, author="川渝科技专家库",
                            subject=sheet.subtitle)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)


_ASCII_RUN = re.compile(r"[!-~](?:[ -~]*[!-~])?")


def _escape(text: str) -> str:
    """Paragraph markup for `text`: escaped, line breaks kept, and runs of Latin letters and digits
    (ids, e-mail addresses, hashes) in Helvetica, which sets them more evenly than the CJK font."""
    out, last = [], 0
    for match in _ASCII_RUN.finditer(text):
        out.append(_plain(text[last:match.start()]))
        out.append(f'<font face="Helvetica">{_plain(match.group())}</font>')
        last = match.end()
    out.append(_plain(text[last:]))
    return "".join(out)


def _plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br/>")
