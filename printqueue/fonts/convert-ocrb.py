#!/usr/bin/python3
"""Convert the OCR-B font of Debian's fonts-ocr-b (CFF outlines) to TrueType.

fpdf embeds only TrueType (glyf) outlines, so the MRZ font is converted ONCE with
fontTools and the resulting OCRB.ttf is committed next to this script. Run it with
Debian's interpreter, which has python3-fonttools:

    /usr/bin/python3 printqueue/fonts/convert-ocrb.py \
        /usr/share/fonts/opentype/ocr-b/OCRB.otf printqueue/fonts/OCRB.ttf

Cubic Bezier curves become quadratic ones with cu2qu (max error 1 font unit).
The font is public domain (Matthew Skala, after Norbert Schwarz); see OCRB-LICENSE.txt.
"""
import sys

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

MAX_ERR = 1.0  # font units; OCR-B has 1000 units per em


def convert(src, dst):
    font = TTFont(src)
    if "CFF " not in font:
        raise SystemExit("convert-ocrb: %s has no CFF table" % src)
    order = font.getGlyphOrder()
    glyphset = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphset)
        glyphset[name].draw(Cu2QuPen(pen, MAX_ERR, reverse_direction=True))
        glyphs[name] = pen.glyph()

    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    # Tables that only describe CFF hinting or are FontForge-private.
    for tag in ("VORG", "FFTM"):
        if tag in font:
            del font[tag]

    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                 "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions",
                 "maxComponentElements", "maxPoints", "maxContours",
                 "maxCompositePoints", "maxCompositeContours", "maxComponentDepth"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1

    font["head"].glyphDataFormat = 0
    font["head"].indexToLocFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"
    font.save(dst)  # recalcBBoxes/maxp statistics are recomputed on save


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: convert-ocrb.py OCRB.otf OCRB.ttf")
    convert(sys.argv[1], sys.argv[2])
