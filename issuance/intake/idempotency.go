package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/problem"
)

// Errors of the Idempotency-Key header.
var (
	ErrIdempotencyMismatch = errors.New("intake: Idempotency-Key already used for a different request")
	ErrIdempotencyBusy     = errors.New("intake: a request with this Idempotency-Key is in progress")
)

// MaxIdempotencyKey is the longest Idempotency-Key accepted.
const MaxIdempotencyKey = 128

// idempotent wraps a POST handler with the Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header):
// the first 2xx response to a key of a user is kept for a day, and a request with the same key, method,
// path and body gets that response again without running twice. The same key with another request gets
// 422; while the first request runs, 409. A refusal (4xx) or failure is not kept, so a corrected retry
// with the same key runs. Without the header, h runs as it is.
func (s *Service) idempotent(h func(http.ResponseWriter, *http.Request, User)) func(http.ResponseWriter, *http.Request, User) {
	return func(w http.ResponseWriter, r *http.Request, u User) {
		vals := r.Header.Values("Idempotency-Key")
		if len(vals) == 0 {
			h(w, r, u)
			return
		}
		key := vals[0]
		if len(vals) > 1 || !validIdempotencyKey(key) {
			problem.Write(w, r, http.StatusBadRequest, "invalid Idempotency-Key",
				problem.Field{Field: "header.Idempotency-Key", Rule: "one value of 1 to 128 visible ASCII characters"})
			return
		}
		// Hash what identifies the request; a body too large is left to h to refuse.
		body, err := io.ReadAll(io.LimitReader(r.Body, issuance.MaxApplicationJSON+1))
		if err != nil {
			problem.Write(w, r, http.StatusBadRequest, "body could not be read", problem.Field{Field: "body", Rule: "incomplete"})
			return
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		sum := sha256.New()
		fmt.Fprintf(sum, "%s %s %q %q\n", r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), body)
		hash := sum.Sum(nil)

		ctx := r.Context()
		first, err := s.reserveKey(ctx, u.Name, key, hash)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		if first == nil {
			rec := &recorder{ResponseWriter: w}
			h(rec, r, u)
			s.settleKey(context.WithoutCancel(ctx), u.Name, key, rec)
			return
		}
		w.Header().Set("Content-Type", first.contentType)
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(first.status)
		w.Write(first.body)
	}
}

func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > MaxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7E {
			return false
		}
	}
	return true
}

// reservations counts new keys, to sweep expired ones now and then.
var reservations atomic.Uint64

type storedResponse struct {
	status      int
	contentType string
	body        []byte
}

// reserveKey claims (actor, key) for a new request and returns nil, or returns the response
// kept for it, ErrIdempotencyMismatch or ErrIdempotencyBusy.
func (s *Service) reserveKey(ctx context.Context, actor, key string, hash []byte) (*storedResponse, error) {
	tag, err := s.db.Exec(ctx, `INSERT INTO idempotency_keys (actor, key, request_hash) VALUES ($1, $2, $3)
		ON CONFLICT (actor, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = 0,
			content_type = '', response = '', created_at = now()
		WHERE idempotency_keys.created_at < now() - interval '1 day'`, actor, key, hash)
	if err != nil {
		return nil, fmt.Errorf("intake: idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		if reservations.Add(1)%256 == 0 { // now and then, forget the keys older than a day
			if _, err := s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day'`); err != nil {
				problem.Logger(ctx).Warn("intake: idempotency keys not swept", "err", err)
			}
		}
		return nil, nil
	}
	var got storedResponse
	var gotHash []byte
	err = s.db.QueryRow(ctx, `SELECT request_hash, status, content_type, response FROM idempotency_keys
		WHERE actor = $1 AND key = $2`, actor, key).Scan(&gotHash, &got.status, &got.contentType, &got.body)
	switch {
	case errors.Is(err, pgx.ErrNoRows): // settled as a refusal meanwhile: try once more
		return s.reserveKey(ctx, actor, key, hash)
	case err != nil:
		return nil, fmt.Errorf("intake: idempotency key: %w", err)
	case !bytes.Equal(gotHash, hash):
		return nil, ErrIdempotencyMismatch
	case got.status == 0:
		return nil, ErrIdempotencyBusy
	}
	return &got, nil
}

// settleKey keeps a 2xx response for its key and releases the key otherwise.
func (s *Service) settleKey(ctx context.Context, actor, key string, rec *recorder) {
	var err error
	if rec.status >= 200 && rec.status < 300 {
		_, err = s.db.Exec(ctx, `UPDATE idempotency_keys SET status = $3, content_type = $4, response = $5
			WHERE actor = $1 AND key = $2`, actor, key, rec.status, rec.Header().Get("Content-Type"), rec.body.Bytes())
	} else {
		_, err = s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE actor = $1 AND key = $2`, actor, key)
	}
	if err != nil {
		problem.Logger(ctx).Error("intake: idempotency key not settled", "err", err)
	}
}

// recorder passes a response through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// marshalJSON encodes a response body, ending in a newline.
func marshalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
