"""A print run: one letter a page, each addressed for a window envelope. Pure: no I/O.

The address sits where a DL or C5 window envelope shows it when an A4 sheet is folded in
three: 20 mm from the left edge and 45 mm from the top, in a block 90 mm by 35 mm (the
common UK left-hand window). The school's name and how to reply are at the top right, out of
the window.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Frame, Paragraph

from attendance_shared.pdf import BODY

WINDOW_LEFT, WINDOW_TOP, WINDOW_WIDTH, WINDOW_HEIGHT = 20 * mm, 45 * mm, 90 * mm, 35 * mm
LETTER_TEXT = ParagraphStyle("letter", parent=BODY, fontSize=11, leading=15, spaceAfter=8)
ADDRESS = ParagraphStyle("address", parent=BODY, fontSize=11, leading=13)
HEADER = ParagraphStyle("header", parent=BODY, fontSize=9, leading=11, alignment=2)
SUBJECT = ParagraphStyle("subject", parent=LETTER_TEXT, fontName="Helvetica-Bold")


@dataclass(frozen=True, slots=True)
class Letter:
    message_id: int
    address: str  # the recipient's name, then one line each, postcode last
    subject: str
    body: str
    dated: date


@dataclass(frozen=True, slots=True)
class Sender:
    name: str
    reply_details: Sequence[str]  # e-mail, phone, the named contact: whatever the school has set


def print_run_pdf(sender: Sender, letters: Sequence[Letter], title: str) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, invariant=1)
    canvas.setTitle(title)
    canvas.setAuthor(sender.name)
    width, height = A4
    for letter in letters:
        header = [Paragraph(f"<b>{escape(sender.name)}</b>", HEADER)]
        header += [Paragraph(escape(line), HEADER) for line in sender.reply_details]
        Frame(width - 90 * mm, height - 40 * mm, 75 * mm, 30 * mm, showBoundary=0).addFromList(header, canvas)
        lines = [Paragraph(escape(line), ADDRESS) for line in letter.address.split("\n")]
        Frame(
            WINDOW_LEFT,
            height - WINDOW_TOP - WINDOW_HEIGHT,
            WINDOW_WIDTH,
            WINDOW_HEIGHT,
            leftPadding=0,
            topPadding=0,
            showBoundary=0,
        ).addFromList(lines, canvas)
        text = [
            Paragraph(letter.dated.strftime("%d %B %Y"), LETTER_TEXT),
            Paragraph(escape(letter.subject), SUBJECT),
            *(Paragraph(escape(part), LETTER_TEXT) for part in _paragraphs(letter.body)),
        ]
        Frame(
            WINDOW_LEFT, 25 * mm, width - 40 * mm, height - WINDOW_TOP - WINDOW_HEIGHT - 35 * mm, leftPadding=0
        ).addFromList(text, canvas)
        canvas.setFont("Helvetica", 7)
        canvas.drawString(20 * mm, 12 * mm, f"Reference {letter.message_id}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _paragraphs(body: str) -> list[str]:
    """A message's text as a letter's paragraphs: "Dear Jo," on a line of its own."""
    parts = [part for part in body.split("\n") if part.strip()]
    if parts and parts[0].startswith("Dear "):
        greeting, comma, rest = parts[0].partition(", ")
        if comma and rest:
            parts[:1] = [f"{greeting},", rest[:1].upper() + rest[1:]]
    return parts
