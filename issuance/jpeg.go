package issuance

// jpegStructure walks the marker segments of a JPEG file (ITU-T T.81 annex B) and
// returns the first structural rule it breaks, or "". It checks what a card needs
// without decoding pixels (which would cost milliseconds per portrait at intake):
// every segment's length fits the file, a frame header (SOF) comes before the first
// scan, each scan's entropy-coded data ends in a marker, and the file ends with EOI and
// nothing after it. Header contents (size, components) are checked by
// image/jpeg.DecodeConfig before this runs.
func jpegStructure(b []byte) string {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return "not a JPEG (missing start of image)"
	}
	i := 2
	sawFrame, sawScan := false, false
	for {
		// Markers may be preceded by fill bytes 0xFF.
		if i >= len(b) || b[i] != 0xFF {
			return "corrupt JPEG (expected a marker)"
		}
		for i < len(b) && b[i] == 0xFF {
			i++
		}
		if i >= len(b) {
			return "truncated JPEG"
		}
		m := b[i]
		i++
		switch {
		case m == 0xD9: // EOI
			if !sawScan {
				return "corrupt JPEG (no image data)"
			}
			if i != len(b) {
				return "data after the end of the JPEG image"
			}
			return ""
		case m == 0x00 || m == 0x01 || m >= 0xD0 && m <= 0xD7:
			return "corrupt JPEG (misplaced marker)"
		}
		if i+2 > len(b) {
			return "truncated JPEG"
		}
		n := int(b[i])<<8 | int(b[i+1])
		if n < 2 || i+n > len(b) {
			return "corrupt JPEG (segment length)"
		}
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC: // SOFn
			sawFrame = true
		case m == 0xDA: // SOS: skip the header, then the entropy-coded data up to the next marker
			if !sawFrame {
				return "corrupt JPEG (scan before frame header)"
			}
			sawScan = true
			j := i + n
			for {
				if j+1 >= len(b) {
					return "truncated JPEG (image data does not end)"
				}
				if b[j] == 0xFF && b[j+1] != 0x00 && !(b[j+1] >= 0xD0 && b[j+1] <= 0xD7) {
					break
				}
				j++
			}
			i = j
			continue
		}
		i += n
	}
}
