// Package problem writes every HTTP error of cccd in one form: RFC 9457 problem details
// (media type application/problem+json) with a "fields" extension listing each field
// that broke a rule, and a request ID that matches the server's log line.
//
//	HTTP/1.1 422 Unprocessable Entity
//	Content-Type: application/problem+json
//
//	{"type":"about:blank","title":"Unprocessable Entity","status":422,
//	 "detail":"application is invalid","request_id":"5f2c…",
//	 "fields":[{"field":"date_of_birth","rule":"in the future"}]}
//
// Text that may echo a caller's input (detail, rules) is cut to a short prefix, made valid
// UTF-8 and stripped of control, bidi and zero-width characters before it is written, so
// a hostile value cannot be reflected back whole or steer a terminal. Write never puts Go
// type names or socket addresses in a body: callers pass words, not err.Error() of
// errors they do not own; a 5xx says only "internal error".
package problem

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ContentType is the media type of a problem details body (RFC 9457 §3).
const ContentType = "application/problem+json"

// Field is one input that broke a rule: Field is its JSON name ("date_of_birth",
// "delivery.office", "path.receipt", "header.Idempotency-Key"), Rule says in words what it must be.
type Field struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

// Details is a problem details object (RFC 9457 §3.1) with this project's extension members.
// Type is "about:blank" unless set, so Title is the status phrase (§4.2.1).
type Details struct {
	Type      string  `json:"type"`
	Title     string  `json:"title"`
	Status    int     `json:"status"`
	Detail    string  `json:"detail,omitempty"`
	Instance  string  `json:"instance,omitempty"`
	RequestID string  `json:"request_id,omitempty"`
	Fields    []Field `json:"fields"`            // always present, [] when no single field is at fault
	Receipt   string  `json:"receipt,omitempty"` // 409 duplicate application: the open one, to a caller allowed to see it
}

// Limits of the text a problem body echoes.
const (
	MaxDetail = 300 // bytes of detail
	MaxRule   = 200 // bytes of each rule
	MaxFields = 50  // fields listed
)

// Write sends status with a problem details body. r may be nil; when it carries a
// request ID (WithRequestID) the body names it. A status below 400 is written as 500, an
// unregistered 4xx as 400.
func Write(w http.ResponseWriter, r *http.Request, status int, detail string, fields ...Field) {
	WriteDetails(w, r, Details{Status: status, Detail: detail, Fields: fields})
}

// WriteDetails sends d, filling Type, Title, RequestID and cutting echoed text (see the package comment).
func WriteDetails(w http.ResponseWriter, r *http.Request, d Details) {
	switch {
	case d.Status < 400 || d.Status > 599:
		d.Status = http.StatusInternalServerError
	case http.StatusText(d.Status) == "" && d.Status < 500: // an unregistered code: its class (RFC 9110 §15)
		d.Status = http.StatusBadRequest
	case http.StatusText(d.Status) == "":
		d.Status = http.StatusInternalServerError
	}
	if d.Status >= 500 {
		d.Detail, d.Fields = "internal error", nil
	}
	if d.Type == "" {
		d.Type = "about:blank"
	}
	d.Title = http.StatusText(d.Status)
	d.Detail = Clean(d.Detail, MaxDetail)
	if len(d.Fields) > MaxFields {
		d.Fields = d.Fields[:MaxFields]
	}
	fields := make([]Field, len(d.Fields))
	for i, f := range d.Fields {
		fields[i] = Field{Field: Clean(f.Field, 100), Rule: Clean(f.Rule, MaxRule)}
	}
	d.Fields = fields
	if r != nil && d.RequestID == "" {
		d.RequestID = RequestID(r.Context())
	}
	if d.Instance == "" && r != nil && r.URL != nil {
		d.Instance = Clean(r.URL.EscapedPath(), 100)
	}
	body, err := json.Marshal(d)
	if err != nil { // cannot happen: every member is a string, int or []Field
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"fields":[]}`)
		d.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(d.Status)
	w.Write(append(body, '\n'))
}

// Clean returns s fit to be echoed in a problem body: invalid UTF-8 becomes U+FFFD, control,
// format (bidi, zero-width), private-use and unassigned characters are dropped, and what
// remains is cut to at most max bytes on a character boundary, ending in "…" when cut.
func Clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == ' ' || unicode.IsPrint(r) && !unicode.Is(unicode.Cf, r) {
			return r
		}
		return -1
	}, s)
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Quote returns a short, safe, quoted prefix of a caller's input for a rule or detail:
// Quote("2026-02-30") is "\"2026-02-30\"", and a 100 KB value becomes its first 32 characters
// followed by "…". Non-printable characters are escaped, not reproduced.
func Quote(s string) string {
	const n = 32
	cut := false
	if utf8.RuneCountInString(s) > n {
		i, k := 0, 0
		for i = range s {
			if k == n {
				break
			}
			k++
		}
		s, cut = s[:i], true
	}
	q := quoteASCII(s)
	if cut {
		q += "…"
	}
	return q
}

func quoteASCII(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsPrint(r) && !unicode.Is(unicode.Cf, r):
			b.WriteRune(r)
		case r < 0x10000:
			b.WriteString(`\u`)
			b.WriteString(hex2(byte(r>>8)) + hex2(byte(r)))
		default:
			b.WriteString(`\U`)
			b.WriteString(hex2(byte(r>>24)) + hex2(byte(r>>16)) + hex2(byte(r>>8)) + hex2(byte(r)))
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request ID id (see RequestID).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request ID ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
