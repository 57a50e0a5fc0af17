package qc

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// Page is one page of a PDF as pdftotext -bbox reports it: its size and its words,
// in points (1/72 inch) from the top-left corner.
type Page struct {
	Width, Height float64
	Words         []Word
}

// Word is one word of text and its bounding box in points.
type Word struct {
	XMin, YMin, XMax, YMax float64
	Text                   string
}

// ErrBBox is wrapped by every error of ParseBBox.
var ErrBBox = errors.New("qc: malformed pdftotext -bbox output")

// Limits on what ParseBBox accepts from outside.
const (
	MaxPages = 10000
	MaxWords = 1 << 20
)

// ParseBBox parses the XHTML that `pdftotext -bbox` writes (poppler): <page width=
// height=> elements holding <word xMin= yMin= xMax= yMax=>text</word>.
func ParseBBox(b []byte) ([]Page, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	dec.Entity = xml.HTMLEntity
	var pages []Page
	words := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBBox, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "page":
			if len(pages) == MaxPages {
				return nil, fmt.Errorf("%w: more than %d pages", ErrBBox, MaxPages)
			}
			var p Page
			if err := attrs(se, map[string]*float64{"width": &p.Width, "height": &p.Height}); err != nil {
				return nil, err
			}
			pages = append(pages, p)
		case "word":
			if len(pages) == 0 {
				return nil, fmt.Errorf("%w: word outside a page", ErrBBox)
			}
			if words++; words > MaxWords {
				return nil, fmt.Errorf("%w: more than %d words", ErrBBox, MaxWords)
			}
			var w Word
			if err := attrs(se, map[string]*float64{"xMin": &w.XMin, "yMin": &w.YMin, "xMax": &w.XMax, "yMax": &w.YMax}); err != nil {
				return nil, err
			}
			var text strings.Builder
			for {
				t, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("%w: word: %v", ErrBBox, err)
				}
				if cd, ok := t.(xml.CharData); ok {
					text.Write(cd)
					continue
				}
				if end, ok := t.(xml.EndElement); ok && end.Name.Local == "word" {
					break
				}
				return nil, fmt.Errorf("%w: markup inside a word", ErrBBox)
			}
			w.Text = text.String()
			p := &pages[len(pages)-1]
			p.Words = append(p.Words, w)
		}
	}
	return pages, nil
}

func attrs(se xml.StartElement, want map[string]*float64) error {
	seen := map[string]bool{}
	for _, a := range se.Attr {
		dst, ok := want[a.Name.Local]
		if !ok || seen[a.Name.Local] {
			continue
		}
		v, err := strconv.ParseFloat(a.Value, 64)
		if err != nil || v < -1e6 || v > 1e6 || v != v {
			return fmt.Errorf("%w: %s %s=%q", ErrBBox, se.Name.Local, a.Name.Local, a.Value)
		}
		*dst = v
		seen[a.Name.Local] = true
	}
	if len(seen) != len(want) {
		return fmt.Errorf("%w: %s lacks coordinates", ErrBBox, se.Name.Local)
	}
	return nil
}

// Extract runs poppler's pdftotext (Debian poppler-utils) on a PDF and returns its
// pages with the position of every word. This is the package's only I/O.
func Extract(ctx context.Context, pdf []byte) ([]Page, error) {
	cmd := exec.CommandContext(ctx, "pdftotext", "-bbox", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("qc: pdftotext (Debian poppler-utils): %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return ParseBBox(out.Bytes())
}
