package intake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
)

// ErrNotInRegister means an ID number is not in the population register.
var ErrNotInRegister = errors.New("intake: id_number: not in the population register")

// maxRegistryLine bounds one JSON line of a register file.
const maxRegistryLine = 64 << 10

// ImportProgress is reported while a register file loads.
type ImportProgress struct {
	Rows    int64
	Elapsed time.Duration
}

// ImportResult summarises an import.
type ImportResult struct {
	Rows       int64         `json:"rows"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	RowsPerSec float64       `json:"rows_per_second"`
}

// residentSource feeds COPY with register rows decoded ahead of it by parallel
// workers: lines are read in batches, each batch decoded by one of several goroutines,
// and batches consumed in file order, so an error still names its line.
type residentSource struct {
	batches  chan chan decodedBatch // in file order
	cur      decodedBatch
	pos      int
	row      []any
	err      error
	progress func(ImportProgress)
	start    time.Time
	rows     int64
	stop     context.CancelFunc
}

type decodedBatch struct {
	rows [][]any
	err  error
}

const importBatch = 2000

func newResidentSource(ctx context.Context, r io.Reader, progress func(ImportProgress)) *residentSource {
	ctx, cancel := context.WithCancel(ctx)
	src := &residentSource{batches: make(chan chan decodedBatch, 2*runtime.GOMAXPROCS(0)), progress: progress,
		start: time.Now(), stop: cancel}
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	go func() {
		defer close(src.batches)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), maxRegistryLine)
		line := int64(0)
		for {
			var lines [][]byte
			first := line + 1
			for len(lines) < importBatch && sc.Scan() {
				line++
				lines = append(lines, bytes.Clone(sc.Bytes()))
			}
			if err := sc.Err(); err != nil {
				out := make(chan decodedBatch, 1)
				out <- decodedBatch{err: fmt.Errorf("intake: register line %d: %w", line+1, err)}
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
				out <- decodeLines(lines, first)
			}()
		}
	}()
	return src
}

func decodeLines(lines [][]byte, first int64) decodedBatch {
	b := decodedBatch{rows: make([][]any, 0, len(lines))}
	for i, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var p issuance.Person
		err := json.Unmarshal(l, &p)
		if err == nil {
			err = checkResident(p)
		}
		if err != nil {
			b.err = fmt.Errorf("intake: register line %d: %w", first+int64(i), err)
			return b
		}
		b.rows = append(b.rows, []any{p.IDNumber, p.FullName, p.DateOfBirth.Time(), string(p.Sex), p.Nationality, p.Ethnicity,
			p.Religion, p.PlaceOfOrigin, p.PlaceOfResidence, p.IdentifyingFeatures, p.Father, p.Mother, p.Spouse,
			p.PreviousIDNumber})
	}
	return b
}

func (r *residentSource) Next() bool {
	for r.pos >= len(r.cur.rows) {
		next, ok := <-r.batches
		if !ok {
			return false
		}
		r.cur, r.pos = <-next, 0
		if r.cur.err != nil {
			r.err = r.cur.err
			r.stop()
			return false
		}
	}
	r.row = r.cur.rows[r.pos]
	r.pos++
	r.rows++
	if r.progress != nil && r.rows%50000 == 0 {
		r.progress(ImportProgress{Rows: r.rows, Elapsed: time.Since(r.start)})
	}
	return true
}

func (r *residentSource) Values() ([]any, error) { return r.row, nil }
func (r *residentSource) Err() error             { return r.err }

// checkResident applies the register's own consistency rules: a valid ID number that
// agrees with the birth date and sex, and the mandatory fields.
func checkResident(p issuance.Person) error {
	n, err := idnum.Parse(p.IDNumber)
	if err != nil {
		return err
	}
	if p.DateOfBirth.IsZero() {
		return errors.New("date_of_birth: required")
	}
	if !p.Sex.Valid() {
		return fmt.Errorf("sex %q: must be M or F", p.Sex)
	}
	if err := idnum.CheckBirth(n, p.DateOfBirth.Year, p.Sex == issuance.SexFemale); err != nil {
		return err
	}
	if p.FullName == "" {
		return errors.New("full_name: required")
	}
	return nil
}

var residentColumns = []string{"id_number", "full_name", "date_of_birth", "sex", "nationality", "ethnicity",
	"religion", "place_of_origin", "place_of_residence", "identifying_features", "father", "mother", "spouse",
	"previous_id_number"}

// ImportRegister loads register residents (JSON Lines of issuance.Person) with COPY in
// one transaction: a bad line or a duplicate ID number aborts the whole import and
// changes nothing. Loading into an empty register (the initial load) drops the primary
// key during COPY and builds it once at the end, which is several times faster than
// maintaining it row by row; duplicates are still refused when it is built.
func (s *Service) ImportRegister(ctx context.Context, r io.Reader, progress func(ImportProgress)) (ImportResult, error) {
	src := newResidentSource(ctx, r, progress)
	defer src.stop()
	var n int64
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE residents IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("intake: register import: %w", err)
		}
		var empty bool
		if err := tx.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM residents)").Scan(&empty); err != nil {
			return fmt.Errorf("intake: register import: %w", err)
		}
		if empty {
			if _, err := tx.Exec(ctx, "ALTER TABLE residents DROP CONSTRAINT residents_pkey"); err != nil {
				return fmt.Errorf("intake: register import: %w", err)
			}
		}
		var err error
		n, err = tx.CopyFrom(ctx, pgx.Identifier{"residents"}, residentColumns, src)
		if err != nil {
			if src.err != nil {
				return src.err
			}
			return duplicateError(err)
		}
		if empty {
			if _, err := tx.Exec(ctx, "ALTER TABLE residents ADD CONSTRAINT residents_pkey PRIMARY KEY (id_number)"); err != nil {
				return duplicateError(err)
			}
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	el := time.Since(src.start)
	return ImportResult{Rows: n, Elapsed: el, RowsPerSec: float64(n) / el.Seconds()}, nil
}

// duplicateError names the duplicated ID number when PostgreSQL refused one.
func duplicateError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("intake: register import: duplicate ID number: %s", pe.Detail)
	}
	return fmt.Errorf("intake: register import: %w", err)
}

// register returns the register's record for an ID number, unrecorded: Submit compares
// an application with it and discloses only the names of the fields that differ.
// Reads for a person go through Lookup.
func (s *Service) register(ctx context.Context, id string) (issuance.Person, error) {
	if _, err := idnum.Parse(id); err != nil {
		return issuance.Person{}, err
	}
	var p issuance.Person
	var dob time.Time
	var sex string
	err := s.db.QueryRow(ctx, `SELECT id_number, full_name, date_of_birth, sex, nationality, ethnicity, religion,
		place_of_origin, place_of_residence, identifying_features, father, mother, spouse, previous_id_number
		FROM residents WHERE id_number = $1`, id).Scan(&p.IDNumber, &p.FullName, &dob, &sex, &p.Nationality,
		&p.Ethnicity, &p.Religion, &p.PlaceOfOrigin, &p.PlaceOfResidence, &p.IdentifyingFeatures, &p.Father,
		&p.Mother, &p.Spouse, &p.PreviousIDNumber)
	if errors.Is(err, pgx.ErrNoRows) {
		return issuance.Person{}, fmt.Errorf("%w: %s", ErrNotInRegister, id)
	}
	if err != nil {
		return issuance.Person{}, fmt.Errorf("intake: register lookup: %w", err)
	}
	p.DateOfBirth = issuance.DateOf(dob)
	p.Sex = issuance.Sex(sex)
	return p, nil
}

// ChangedFields lists, by JSON name, the fields of got that differ from the register's
// record: what the clerk changed and a supervisor must look at.
func ChangedFields(register, got issuance.Person) []string {
	pairs := []struct {
		name string
		a, b string
	}{
		{"full_name", register.FullName, got.FullName},
		{"date_of_birth", register.DateOfBirth.String(), got.DateOfBirth.String()},
		{"sex", string(register.Sex), string(got.Sex)},
		{"nationality", register.Nationality, got.Nationality},
		{"ethnicity", register.Ethnicity, got.Ethnicity},
		{"religion", register.Religion, got.Religion},
		{"place_of_origin", register.PlaceOfOrigin, got.PlaceOfOrigin},
		{"place_of_residence", register.PlaceOfResidence, got.PlaceOfResidence},
		{"identifying_features", register.IdentifyingFeatures, got.IdentifyingFeatures},
		{"father", register.Father, got.Father},
		{"mother", register.Mother, got.Mother},
		{"spouse", register.Spouse, got.Spouse},
		{"previous_id_number", register.PreviousIDNumber, got.PreviousIDNumber},
	}
	out := []string{}
	for _, p := range pairs {
		if p.a != p.b {
			out = append(out, p.name)
		}
	}
	return out
}
