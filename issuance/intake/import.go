package intake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/registry"
)

// ImportProgress is reported while a register file loads.
type ImportProgress struct {
	Rows    int64
	Elapsed time.Duration
}

// ImportResult summarises an import.
type ImportResult struct {
	Rows       int64            `json:"rows"` // loaded
	Refused    int64            `json:"refused"`
	ByRule     map[string]int64 `json:"refused_by_rule,omitempty"` // "field: rule" -> lines
	Elapsed    time.Duration    `json:"elapsed_ns"`
	RowsPerSec float64          `json:"rows_per_second"`
}

// ImportOptions adjusts ImportRegisterWith.
type ImportOptions struct {
	// Rejects, when set, makes the import load the good lines and write every refused line to it
	// (see ImportRegisterWith); when nil the file is all-or-nothing.
	Rejects  io.Writer
	Progress func(ImportProgress)
}

// ImportRegister loads register residents all-or-nothing: ImportRegisterWith without rejects.
func (s *Service) ImportRegister(ctx context.Context, r io.Reader, progress func(ImportProgress)) (ImportResult, error) {
	return s.ImportRegisterWith(ctx, r, ImportOptions{Progress: progress})
}

// ImportRegisterWith loads register residents (JSON Lines, registry.DecodeLine) with COPY in one transaction.
// Every line passes the rules intake applies (registry.Resident.Validate, as of s.Today()): invalid UTF-8,
// unknown or repeated keys, dates out of bounds, names and places the card cannot carry are refused with the
// line number, field and rule; a leading UTF-8 byte-order mark is skipped; an ID number twice in the file or
// already in the register is refused. Without opt.Rejects the first refused line aborts the whole import and
// changes nothing. With it, the good lines load and each refused line is written to opt.Rejects as one JSON
// object {"line", "errors": [{"field", "rule"}], "text"} ("text_base64" when it is not UTF-8), followed by
// one {"summary": {"loaded", "refused", "by_rule"}}.
//
// Loading into an empty register (the initial load) drops the primary key during COPY and builds it once at
// the end, which is several times faster than maintaining it row by row; duplicates in the file are found
// while reading it (8-16 bytes of memory per line).
func (s *Service) ImportRegisterWith(ctx context.Context, r io.Reader, opt ImportOptions) (ImportResult, error) {
	src := newResidentSource(ctx, r, s.Today(), opt)
	defer src.stop()
	var n int64
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE residents IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return loadError(err)
		}
		var empty bool
		if err := tx.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM residents)").Scan(&empty); err != nil {
			return loadError(err)
		}
		var err error
		switch {
		case empty:
			n, err = copyInitial(ctx, tx, src)
		case opt.Rejects != nil:
			n, err = copyMerge(ctx, tx, src)
		default:
			n, err = tx.CopyFrom(ctx, pgx.Identifier{"residents"}, residentColumns, src)
			if err != nil && src.err == nil {
				err = loadError(err)
			}
		}
		if src.err != nil {
			return src.err
		}
		return err
	})
	if err != nil {
		return ImportResult{}, err
	}
	el := time.Since(src.start)
	res := ImportResult{Rows: n, Refused: src.refused, ByRule: src.byRule, Elapsed: el, RowsPerSec: float64(n) / el.Seconds()}
	if opt.Rejects != nil {
		if err := src.writeSummary(res); err != nil {
			return res, fmt.Errorf("intake: register import: rejects file: %w", err)
		}
	}
	return res, nil
}

var residentColumns = []string{"id_number", "full_name", "date_of_birth", "sex", "nationality", "ethnicity",
	"religion", "place_of_origin", "place_of_residence", "identifying_features", "father", "mother", "spouse",
	"previous_id_number"}

func copyInitial(ctx context.Context, tx pgx.Tx, src *residentSource) (int64, error) {
	if _, err := tx.Exec(ctx, "ALTER TABLE residents DROP CONSTRAINT residents_pkey"); err != nil {
		return 0, loadError(err)
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"residents"}, residentColumns, src)
	if err != nil {
		return n, loadError(err)
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE residents ADD CONSTRAINT residents_pkey PRIMARY KEY (id_number)"); err != nil {
		return n, loadError(err) // cannot happen: duplicates in the file were refused while reading
	}
	return n, nil
}

// copyMerge loads into a register that has rows, refusing (as rejects) the lines whose ID number is already in it.
func copyMerge(ctx context.Context, tx pgx.Tx, src *residentSource) (int64, error) {
	src.withLine = true
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE residents_import (LIKE residents, line bigint NOT NULL) ON COMMIT DROP`); err != nil {
		return 0, loadError(err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"residents_import"}, append(residentColumns, "line"), src); err != nil {
		return 0, loadError(err)
	}
	rows, err := tx.Query(ctx, `SELECT i.line FROM residents_import i JOIN residents r USING (id_number) ORDER BY i.line`)
	if err != nil {
		return 0, loadError(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, loadError(err)
	}
	for _, l := range lines {
		if err := src.reject(l, nil, issuance.ValidationError{{Field: "id_number", Rule: "already in the register"}}); err != nil {
			return 0, err
		}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO residents (`+strings.Join(residentColumns, ", ")+`)
		SELECT `+strings.Join(residentColumns, ", ")+` FROM residents_import i
		WHERE NOT EXISTS (SELECT 1 FROM residents r WHERE r.id_number = i.id_number)`)
	if err != nil {
		return 0, loadError(err)
	}
	return tag.RowsAffected(), nil
}

// loadError names the ID number PostgreSQL found twice, and puts any other refusal of the database in
// its words: no SQLSTATE, no driver type.
func loadError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		id := pe.Detail
		if _, after, ok := strings.Cut(pe.Detail, ")=("); ok {
			id, _, _ = strings.Cut(after, ")")
		}
		return fmt.Errorf("intake: register import: id_number %s is already in the register", id)
	}
	if errors.As(err, &pe) {
		return errors.New("intake: register import: the database refused the load: " + pe.Message)
	}
	return fmt.Errorf("intake: register import: %w", err)
}

// residentSource feeds COPY with register rows decoded ahead of it by parallel workers: lines are read in
// batches, each batch decoded and validated by one of several goroutines, and batches consumed in file
// order, so an error names its line and refused lines are written in file order.
type residentSource struct {
	batches  chan chan decodedBatch // in file order
	cur      decodedBatch
	pos      int
	row      []any
	err      error
	opt      ImportOptions
	start    time.Time
	rows     int64
	stop     context.CancelFunc
	seen     map[uint64]int64 // ID number -> first line
	refused  int64
	byRule   map[string]int64
	rejects  *bufio.Writer
	withLine bool // append the line number to each row (copyMerge)
}

// decodedLine is one line: a row for COPY, or the reasons it was refused.
type decodedLine struct {
	line int64
	id   uint64
	row  []any
	bad  error  // issuance.FieldError or issuance.ValidationError
	text []byte // the line, for the rejects file
}

type decodedBatch struct {
	lines []decodedLine
	err   error // reading the file failed
}

const importBatch = 2000

func newResidentSource(ctx context.Context, r io.Reader, today issuance.Date, opt ImportOptions) *residentSource {
	ctx, cancel := context.WithCancel(ctx)
	src := &residentSource{batches: make(chan chan decodedBatch, 2*runtime.GOMAXPROCS(0)), opt: opt,
		start: time.Now(), stop: cancel, seen: map[uint64]int64{}, byRule: map[string]int64{}}
	if opt.Rejects != nil {
		src.rejects = bufio.NewWriterSize(opt.Rejects, 64<<10)
	}
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	go func() {
		defer close(src.batches)
		br := bufio.NewReaderSize(r, 256<<10)
		line := int64(0)
		for {
			var lines [][]byte
			first := line + 1
			var readErr error
			for len(lines) < importBatch {
				l, err := readLine(br)
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr = err
					break
				}
				line++
				if line == 1 {
					l = bytes.TrimPrefix(l, []byte("\xEF\xBB\xBF")) // UTF-8 byte-order mark
				}
				lines = append(lines, l)
			}
			if readErr != nil {
				out := make(chan decodedBatch, 1)
				out <- decodedBatch{err: fmt.Errorf("intake: register line %d: %w", line+1, readErr)}
				src.batches <- out
				return
			}
			if len(lines) == 0 {
				return
			}
			out := make(chan decodedBatch, 1)
			select {
			case src.batches <- out:
			case <-ctx.Done():
				return
			}
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				out <- decodeLines(lines, first, today)
			}()
		}
	}()
	return src
}

// readLine returns the next line without its "\n" (and "\r"); a line longer than registry.MaxLine is returned
// cut, for DecodeLine to refuse, and the rest of it is skipped.
func readLine(br *bufio.Reader) ([]byte, error) {
	l, err := br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull || err == nil && len(l) > registry.MaxLine:
		long := bytes.Clone(l[:min(len(l), registry.MaxLine+1)])
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		return long, nil
	case err == io.EOF && len(l) > 0:
		return bytes.Clone(l), nil
	case err != nil:
		return nil, err
	}
	l = bytes.TrimSuffix(l[:len(l)-1], []byte("\r"))
	return bytes.Clone(l), nil
}

func decodeLines(lines [][]byte, first int64, today issuance.Date) decodedBatch {
	b := decodedBatch{lines: make([]decodedLine, 0, len(lines))}
	for i, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		d := decodedLine{line: first + int64(i), text: l}
		r, err := registry.DecodeLine(l)
		if err == nil {
			err = r.Validate(today)
		}
		if err != nil {
			d.bad = err
		} else {
			d.id = idKey(r.IDNumber)
			p := &r.Person
			d.row = []any{p.IDNumber, p.FullName, p.DateOfBirth.Time(), string(p.Sex), p.Nationality, p.Ethnicity,
				p.Religion, p.PlaceOfOrigin, p.PlaceOfResidence, p.IdentifyingFeatures, p.Father, p.Mother, p.Spouse,
				p.PreviousIDNumber}
		}
		b.lines = append(b.lines, d)
	}
	return b
}

// idKey packs a validated 12-digit ID number into an integer for the duplicate check.
func idKey(id string) uint64 {
	var k uint64
	for i := 0; i < len(id); i++ {
		k = k*10 + uint64(id[i]-'0')
	}
	return k
}

func (r *residentSource) Next() bool {
	for {
		for r.pos >= len(r.cur.lines) {
			next, ok := <-r.batches
			if !ok {
				r.flush()
				return false
			}
			r.cur, r.pos = <-next, 0
			if r.cur.err != nil {
				return r.fail(r.cur.err)
			}
		}
		d := &r.cur.lines[r.pos]
		r.pos++
		if d.bad == nil {
			if first, dup := r.seen[d.id]; dup {
				d.bad = issuance.ValidationError{{Field: "id_number", Rule: fmt.Sprintf("also on line %d of this file", first)}}
			} else {
				r.seen[d.id] = d.line
			}
		}
		if d.bad != nil {
			if err := r.reject(d.line, d.text, d.bad); err != nil {
				return r.fail(err)
			}
			continue
		}
		r.row = d.row
		if r.withLine {
			r.row = append(d.row, d.line)
		}
		r.rows++
		if r.opt.Progress != nil && r.rows%50000 == 0 {
			r.opt.Progress(ImportProgress{Rows: r.rows, Elapsed: time.Since(r.start)})
		}
		return true
	}
}

func (r *residentSource) fail(err error) bool {
	r.err = err
	r.stop()
	return false
}

func (r *residentSource) Values() ([]any, error) { return r.row, nil }
func (r *residentSource) Err() error             { return r.err }

// lineErrors lists the field errors of a refused line.
func lineErrors(err error) issuance.ValidationError {
	var ve issuance.ValidationError
	var fe issuance.FieldError
	switch {
	case errors.As(err, &ve):
		return ve
	case errors.As(err, &fe):
		return issuance.ValidationError{{Field: fe.Field, Rule: fe.Rule}}
	}
	return issuance.ValidationError{{Field: "line", Rule: "refused"}}
}

// reject records a refused line: without a rejects file it is the import's error.
func (r *residentSource) reject(line int64, text []byte, err error) error {
	errs := lineErrors(err)
	if r.rejects == nil {
		return fmt.Errorf("intake: register line %d: %w", line, errs)
	}
	r.refused++
	for _, e := range errs {
		r.byRule[e.Field+": "+ruleClass(e.Rule)]++
	}
	rec := struct {
		Line       int64                    `json:"line"`
		Errors     issuance.ValidationError `json:"errors"`
		Text       *string                  `json:"text,omitempty"`
		TextBase64 string                   `json:"text_base64,omitempty"`
	}{Line: line, Errors: errs}
	switch {
	case text == nil:
	case utf8.Valid(text):
		s := string(text)
		rec.Text = &s
	default:
		rec.TextBase64 = base64.StdEncoding.EncodeToString(text)
	}
	b, _ := json.Marshal(rec) // strings, ints and FieldErrors only
	b = append(b, '\n')
	if _, err := r.rejects.Write(b); err != nil {
		return fmt.Errorf("intake: register import: rejects file: %w", err)
	}
	return nil
}

func (r *residentSource) flush() {
	if r.rejects != nil {
		if err := r.rejects.Flush(); err != nil && r.err == nil {
			r.err = fmt.Errorf("intake: register import: rejects file: %w", err)
		}
	}
}

func (r *residentSource) writeSummary(res ImportResult) error {
	rules := make([]string, 0, len(res.ByRule))
	for k := range res.ByRule {
		rules = append(rules, k)
	}
	sort.Strings(rules)
	type count struct {
		Rule  string `json:"rule"`
		Lines int64  `json:"lines"`
	}
	sum := struct {
		Summary struct {
			Loaded  int64   `json:"loaded"`
			Refused int64   `json:"refused"`
			ByRule  []count `json:"by_rule"`
		} `json:"summary"`
	}{}
	sum.Summary.Loaded, sum.Summary.Refused, sum.Summary.ByRule = res.Rows, res.Refused, []count{}
	for _, k := range rules {
		sum.Summary.ByRule = append(sum.Summary.ByRule, count{k, res.ByRule[k]})
	}
	b, _ := json.Marshal(sum)
	if _, err := r.rejects.Write(append(b, '\n')); err != nil {
		return err
	}
	return r.rejects.Flush()
}

// ruleClass cuts what a rule echoes of the input ("; found …", a quoted value, a line number), so that the
// summary counts lines by rule.
func ruleClass(rule string) string {
	for _, cut := range []string{"; found", " \"", " (at byte", "also on line"} {
		if i := strings.Index(rule, cut); i >= 0 {
			if cut == "also on line" {
				return "also on another line of this file"
			}
			rule = rule[:i]
		}
	}
	return rule
}
