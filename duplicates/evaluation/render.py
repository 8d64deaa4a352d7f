"""Real files from a :class:`~.texts.Source`, made the way they come into Paperless.

* ``pdf``: a born-digital PDF with a text layer (ReportLab), as e-mailed or downloaded. Paperless
  reads its text with ``pdftotext -layout``.
* ``raster``: the PDF's pages rasterised by poppler's ``pdftoppm`` at a given dpi, then changed
  the way a scanner or a phone changes them (:func:`degrade`, :func:`stamp`, :func:`photograph`).
* ``ocr``: tesseract on each page (what Paperless's OCRmyPDF sidecar holds), or OCRmyPDF itself
  on an image-only PDF.
* ``thumbnail``: Paperless's thumbnail: the first page, 500 pixels wide, WebP.

Every function is deterministic for its inputs (noise comes from a seeded NumPy generator), so a
cached file can be rebuilt bit for bit on the same tool versions.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .texts import Block, Source

TOOLS = ("pdftoppm", "pdftotext", "tesseract", "ocrmypdf")


class MissingTool(RuntimeError):
    pass


def check_tools(names: tuple[str, ...] = TOOLS) -> None:
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        raise MissingTool(
            f"missing {', '.join(missing)}: apt install tesseract-ocr poppler-utils ocrmypdf"
        )


def _run(args: list[str], *, stdin: bytes | None = None, timeout: int = 300) -> bytes:
    result = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr[-400:]!r}")
    return result.stdout


# --- born-digital PDF ----------------------------------------------------------------------


def _page_size(name: str) -> tuple[float, float]:
    from reportlab.lib.pagesizes import A4, A5
    from reportlab.lib.units import mm

    if name == "A5":
        return A5
    if name == "receipt":
        return (80 * mm, 160 * mm)
    return A4


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _flowables(blocks: list[Block], *, font: str, size: float, width: float) -> list:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import PageBreak, Paragraph, Preformatted, Spacer, Table, TableStyle

    bold = {"Helvetica": "Helvetica-Bold", "Times-Roman": "Times-Bold", "Courier": "Courier-Bold"}
    body = ParagraphStyle("body", fontName=font, fontSize=size, leading=size * 1.3,
                          spaceAfter=size * 0.6)  # fmt: skip
    styles = {
        "para": body,
        "letterhead": ParagraphStyle("head", parent=body, fontName=bold[font], fontSize=size + 3,
                                     leading=(size + 3) * 1.25, spaceAfter=size * 2),
        "address": ParagraphStyle("address", parent=body, spaceAfter=size * 1.5),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        "subject": ParagraphStyle("subject", parent=body, fontName=bold[font], spaceBefore=size),
        "title": ParagraphStyle("title", parent=body, fontName=bold[font], fontSize=size + 4,
                                leading=(size + 4) * 1.3),
        "heading": ParagraphStyle("heading", parent=body, fontName=bold[font]),
        "total": ParagraphStyle("total", parent=body, fontName=bold[font], alignment=TA_RIGHT),
        "small": ParagraphStyle("small", parent=body, fontSize=size - 2, leading=(size - 2) * 1.3,
                                textColor=colors.HexColor("#444444")),
    }  # fmt: skip
    mono = ParagraphStyle("mono", parent=body, fontName="Courier", fontSize=min(size, 9),
                          leading=min(size, 9) * 1.25)  # fmt: skip
    chars = max(20, int(width / (0.6 * mono.fontSize)))
    story: list = []
    for block in blocks:
        if block.style == "pagebreak":
            story.append(PageBreak())
        elif block.style == "table":
            table = Table([list(row) for row in block.rows], hAlign="LEFT")
            table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, size - 0.5),
                                       ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                                       ("ALIGN", (1, 0), (-1, -1), "RIGHT")]))  # fmt: skip
            story.extend((table, Spacer(1, size)))
        elif block.style == "mono":
            story.append(Preformatted(block.text, mono, maxLineLength=chars, newLineChars=""))
            story.append(Spacer(1, size * 0.6))
        else:
            text = "<br/>".join(_escape(line) for line in block.text.split("\n"))
            story.append(Paragraph(text, styles.get(block.style, body)))
    return story


def pdf(source: Source) -> bytes:
    """A born-digital PDF of the source (deterministic: fixed creation date, no random id)."""
    from reportlab.platypus import SimpleDocTemplate

    width, height = _page_size(source.page)
    margin = 14 if source.page == "receipt" else 52
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=(width, height), leftMargin=margin, rightMargin=margin,
        topMargin=margin, bottomMargin=margin, title=source.title, author="",
        invariant=1,
    )  # fmt: skip
    story = _flowables(
        list(source.blocks), font=source.font, size=source.font_size, width=width - 2 * margin
    )
    document.build(story)
    return buffer.getvalue()


def pdf_text(data: bytes) -> str:
    """The text layer as Paperless reads it (``pdftotext -layout``)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(data)
        return _run(["pdftotext", "-q", "-layout", "-enc", "UTF-8", str(path), "-"]).decode()


def pdf_page_count(data: bytes) -> int:
    info = _run(["pdfinfo", "-"], stdin=data).decode(errors="replace")
    for line in info.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    return 1


def resave_pdf(data: bytes) -> bytes:
    """The same document re-written by ghostscript (another producer, other bytes)."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.pdf", Path(tmp) / "out.pdf"
        source.write_bytes(data)
        _run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite",
              "-dPDFSETTINGS=/ebook", f"-sOutputFile={target}", str(source)])  # fmt: skip
        return target.read_bytes()


# --- rasters -------------------------------------------------------------------------------


def rasterise(data: bytes, *, dpi: int, grey: bool = True) -> list[Image.Image]:
    """Every page of a PDF as an image at ``dpi`` (poppler's pdftoppm)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(data)
        args = ["pdftoppm", "-r", str(dpi), "-png"]
        if grey:
            args.append("-gray")
        _run([*args, str(source), str(Path(tmp) / "page")])
        pages = []
        for path in sorted(Path(tmp).glob("page*.png")):
            with Image.open(path) as image:
                pages.append(image.copy())
        return pages


def degrade(
    image: Image.Image,
    *,
    seed: int,
    rotation: float = 0.0,
    blur: float = 0.0,
    noise: float = 0.0,
    contrast: float = 1.0,
    shift: tuple[int, int] = (0, 0),
    speckle: float = 0.0,
    edge_shadow: bool = False,
) -> Image.Image:
    """A scanner's changes: skew, soft focus, sensor noise, faded contrast, offset on the glass,
    dust specks, a dark edge where the lid did not close."""
    rng = np.random.default_rng(seed)
    mode = image.mode
    image = image.convert("L") if mode not in ("L", "RGB") else image
    if rotation:
        fill = 255 if image.mode == "L" else (255, 255, 255)
        image = image.rotate(rotation, resample=Image.Resampling.BICUBIC, expand=False,
                             fillcolor=fill, translate=shift)  # fmt: skip
    elif shift != (0, 0):
        image = image.rotate(0, translate=shift, fillcolor=255 if image.mode == "L" else (255,) * 3)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(image, dtype=np.float32)
    if contrast != 1.0:
        pixels = 255 - (255 - pixels) * contrast
    if noise:
        pixels = pixels + rng.normal(0, noise, size=pixels.shape)
    if speckle:
        mask = rng.random(pixels.shape[:2]) < speckle
        pixels[mask] = 40
    if edge_shadow:
        ramp = 0.35 + 0.65 * np.clip(np.linspace(-1.5, 1, max(1, pixels.shape[1] // 25)), 0, 1)
        pixels[:, : len(ramp)] *= ramp[None, :] if pixels.ndim == 2 else ramp[None, :, None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def stamp(image: Image.Image, *, text: str, seed: int) -> Image.Image:
    """A rubber stamp ("RECEIVED 12.03.") on the upper part of the page, slightly rotated."""
    rng = np.random.default_rng(seed)
    image = image.convert("RGB")
    scale = image.width / 1240
    font = ImageFont.load_default(size=max(12, int(44 * scale)))
    layer = Image.new("RGBA", (int(520 * scale), int(150 * scale)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    colour = (170, 20, 30, 230) if rng.random() < 0.5 else (30, 40, 170, 230)
    draw.rectangle(
        (4, 4, layer.width - 5, layer.height - 5), outline=colour, width=max(2, int(5 * scale))
    )
    draw.multiline_text(
        (18 * scale, 16 * scale), text, fill=colour, font=font, spacing=int(8 * scale)
    )
    layer = layer.rotate(float(rng.uniform(-12, 12)), expand=True)
    x = int(image.width * rng.uniform(0.45, 0.62))
    y = int(image.height * rng.uniform(0.08, 0.22))
    image.paste(layer, (x, y), layer)
    return image


def photograph(image: Image.Image, *, seed: int) -> Image.Image:
    """The page as a phone photo: a desk around it, perspective, uneven light, soft focus, small."""
    rng = np.random.default_rng(seed)
    page = image.convert("L")
    border = int(page.width * 0.05)
    canvas = Image.new("L", (page.width + 2 * border, page.height + 2 * border),
                       int(rng.integers(70, 120)))  # fmt: skip
    canvas.paste(page, (border, border))
    w, h = canvas.size
    jitter = [float(v) for v in rng.uniform(-0.03, 0.03, size=8) * np.array([w, h] * 4)]
    quad = (0 + jitter[0], 0 + jitter[1], 0 + jitter[2], h + jitter[3],
            w + jitter[4], h + jitter[5], w + jitter[6], 0 + jitter[7])  # fmt: skip
    canvas = canvas.transform((w, h), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC,
                              fillcolor=90)  # fmt: skip
    pixels = np.asarray(canvas, dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    light = 0.78 + 0.22 * (xx / w) * float(rng.uniform(0.5, 1.0)) + 0.1 * (yy / h)
    pixels = pixels * np.clip(light, 0, 1.1) + rng.normal(0, 4, size=pixels.shape)
    canvas = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    canvas = canvas.filter(ImageFilter.GaussianBlur(0.8))
    return canvas.resize((int(w * 0.8), int(h * 0.8)), Image.Resampling.LANCZOS)


def encode(image: Image.Image, *, fmt: str, quality: int = 85) -> bytes:
    """One image as PNG, JPEG, GIF, BMP or TIFF bytes."""
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB" if image.mode == "RGB" else "L").save(buffer, "JPEG", quality=quality)
    elif fmt == "GIF":
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(buffer, "GIF")
    elif fmt == "TIFF":
        image.save(buffer, "TIFF", compression="tiff_lzw")
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def jpeg_roundtrip(image: Image.Image, *, quality: int) -> Image.Image:
    with Image.open(io.BytesIO(encode(image, fmt="JPEG", quality=quality))) as decoded:
        return decoded.copy()


def multipage_tiff(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
    return buffer.getvalue()


def image_pdf(pages: list[Image.Image], *, dpi: int) -> bytes:
    """An image-only PDF (a scanner's PDF without a text layer)."""
    buffer = io.BytesIO()
    rgb = [page.convert("RGB") for page in pages]
    rgb[0].save(buffer, "PDF", save_all=True, append_images=rgb[1:], resolution=float(dpi))
    return buffer.getvalue()


# --- OCR -----------------------------------------------------------------------------------


def ocr_image(image: Image.Image, *, dpi: int, language: str = "eng") -> str:
    """tesseract's text of one page image (what OCRmyPDF's sidecar holds for it)."""
    data = encode(image.convert("L") if image.mode not in ("L", "RGB") else image, fmt="PNG")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.png"
        path.write_bytes(data)
        return _run(["tesseract", str(path), "stdout", "-l", language, "--dpi", str(dpi)],
                    timeout=600).decode()  # fmt: skip


def ocr_pdf(data: bytes, *, language: str = "eng") -> str:
    """OCRmyPDF on an image-only PDF, as Paperless runs it; the sidecar text."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target, sidecar = (Path(tmp) / n for n in ("in.pdf", "out.pdf", "out.txt"))
        source.write_bytes(data)
        _run(["ocrmypdf", "-q", "-l", language, "--output-type", "pdf", "--sidecar", str(sidecar),
              "--jobs", "1", "--optimize", "0", str(source), str(target)], timeout=900)  # fmt: skip
        return sidecar.read_text(encoding="utf-8", errors="replace")


def thumbnail(first_page: Image.Image) -> bytes:
    """Paperless's thumbnail: the first page scaled to 500 pixels wide, WebP."""
    page = first_page.convert("RGB")
    height = max(1, round(page.height * 500 / page.width))
    small = page.resize((500, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "WEBP", quality=80)
    return buffer.getvalue()
