package intake

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"log/slog"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
	"github.com/cccd-project/cccd/issuance/problem"
)

// Handler serves the intake API:
//
//	POST /api/v1/applications                    clerk: submit (body: application JSON)
//	GET  /api/v1/applications?state=&limit=      staff: list
//	GET  /api/v1/applications/{receipt}          staff: one application with its timeline
//	POST /api/v1/applications/{receipt}/approve  supervisor (body: none or {})
//	POST /api/v1/applications/{receipt}/reject   supervisor (body: {"reason": "..."})
//	GET  /api/v1/register/{id_number}            clerk: the register's record, to pre-fill
//	DELETE /api/v1/register/open                 clerk: give up the open look-up (Release)
//	GET  /api/v1/cards/{serial}/status?id_number=  verifier, office staff: valid or revoked, no personal data
//	GET  /status/{receipt}                       public: where an application is, no personal data
//	POST /status/{receipt}/access                public: who read the applicant's record and why
//	                                             (body: {"date_of_birth": "YYYY-MM-DD"}, the proof)
//
// Reads of personal data are recorded (see Lookup); an /api request may name its
// purpose with ?purpose= (prefill, follow-up, approval, hand-over, verification,
// administration), else the role's default applies. Register look-ups past the
// limits and sources past the failed-authentication limit get 429 with Retry-After; a
// clerk's look-up of another person while one is open gets 409 with Retry-After.
//
// Every /api request carries "Authorization: Bearer <token>" (the scheme in any case, RFC 9110 §11.1).
// A POST may carry an Idempotency-Key header (see idempotent). Every 4xx and 5xx is an RFC 9457
// problem details body (package problem) naming each field and rule; bad input changes nothing.
func (s *Service) Handler(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/applications", s.auth(s.idempotent(s.handleSubmit)))
	mux.HandleFunc("GET /api/v1/applications", noBody(s.auth(s.handleList)))
	mux.HandleFunc("GET /api/v1/applications/{receipt}", noBody(s.auth(s.handleShow)))
	mux.HandleFunc("POST /api/v1/applications/{receipt}/approve", s.auth(s.idempotent(s.handleDecide(true))))
	mux.HandleFunc("POST /api/v1/applications/{receipt}/reject", s.auth(s.idempotent(s.handleDecide(false))))
	mux.HandleFunc("GET /api/v1/register/{id}", noBody(s.auth(s.handleRegister)))
	mux.HandleFunc("DELETE /api/v1/register/open", noBody(s.auth(s.handleRelease)))
	mux.HandleFunc("GET /api/v1/cards/{serial}/status", noBody(s.auth(s.handleCardStatus)))
	mux.HandleFunc("POST /status/{receipt}/access", s.handleSubjectAccess)
	mux.HandleFunc("GET /status/{receipt}", noBody(s.handleStatus))
	return problem.Handler(log, mux)
}

func (s *Service) auth(h func(http.ResponseWriter, *http.Request, User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := BearerToken(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cccd"`)
			problem.Write(w, r, http.StatusUnauthorized, "authentication required",
				problem.Field{Field: "header.Authorization", Rule: "must be Bearer <token>"})
			return
		}
		ctx := WithSource(r.Context(), remoteHost(r))
		u, err := s.Authenticate(ctx, tok)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		ctx = WithUser(ctx, u)
		if p := r.URL.Query().Get("purpose"); p != "" {
			ctx = WithPurpose(ctx, p)
		}
		h(w, r.WithContext(ctx), u)
	}
}

// remoteHost is the address a request comes from, without its port: failed
// authentications are counted per host.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// noBody refuses a GET that carries content (RFC 9110 §9.3.1: it has no meaning here) with 415, so that
// a client that sends a document to a read learns it was not read.
func noBody(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			problem.Write(w, r, http.StatusUnsupportedMediaType, "a GET request takes no body",
				problem.Field{Field: "body", Rule: "must be empty"})
			return
		}
		h(w, r)
	}
}

// BearerToken returns the token of an Authorization header value "Bearer <token>"; the scheme
// is matched in any case (RFC 9110 §11.1, RFC 6750 §2.1).
func BearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

// readJSON reads a request body of at most max bytes that must be application/json and strictly
// decodes it into v. It writes the problem (413, 415 or 400/422 naming the field) and returns false
// when the body is refused. An empty body is accepted when emptyOK, leaving v unchanged.
func readJSON(w http.ResponseWriter, r *http.Request, max int64, emptyOK bool, decode func([]byte) error) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem.Write(w, r, http.StatusRequestEntityTooLarge, "body larger than "+strconv.FormatInt(max, 10)+" bytes",
				problem.Field{Field: "body", Rule: "at most " + strconv.FormatInt(max, 10) + " bytes"})
			return false
		}
		problem.Write(w, r, http.StatusBadRequest, "body could not be read", problem.Field{Field: "body", Rule: "incomplete"})
		return false
	}
	if len(body) == 0 && emptyOK {
		return true
	}
	if rule := jsonMediaType(r.Header.Get("Content-Type")); rule != "" {
		problem.Write(w, r, http.StatusUnsupportedMediaType, "body must be JSON",
			problem.Field{Field: "header.Content-Type", Rule: rule})
		return false
	}
	if err := decode(body); err != nil {
		WriteError(w, r, err)
		return false
	}
	return true
}

// jsonMediaType returns "" when a Content-Type is application/json (charset, if given, UTF-8),
// otherwise the rule it breaks.
func jsonMediaType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return "must be application/json"
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "charset must be utf-8"
	}
	return ""
}

func (s *Service) handleSubmit(w http.ResponseWriter, r *http.Request, u User) {
	var app issuance.Application
	ok := readJSON(w, r, issuance.MaxApplicationJSON, false, func(b []byte) (err error) {
		app, err = issuance.DecodeApplication(b)
		return err
	})
	if !ok {
		return
	}
	out, err := s.Submit(r.Context(), u, app)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request, u User) {
	q := r.URL.Query()
	for k := range q {
		if k != "state" && k != "limit" && k != "purpose" {
			problem.Write(w, r, http.StatusBadRequest, "unknown query parameter",
				problem.Field{Field: "query." + problem.Clean(k, 40), Rule: "unknown parameter (state, limit, purpose)"})
			return
		}
		if len(q[k]) > 1 {
			problem.Write(w, r, http.StatusBadRequest, "repeated query parameter",
				problem.Field{Field: "query." + k, Rule: "given more than once"})
			return
		}
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 || len(v) > 4 {
			problem.Write(w, r, http.StatusBadRequest, "invalid limit",
				problem.Field{Field: "query.limit", Rule: "an integer from 1 to 1000"})
			return
		}
		limit = n
	}
	list, err := s.List(r.Context(), u, Filter{State: q.Get("state"), Limit: limit})
	reply(w, r, list, err)
}

func (s *Service) handleShow(w http.ResponseWriter, r *http.Request, u User) {
	d, err := s.Show(r.Context(), u, r.PathValue("receipt"))
	reply(w, r, d, err)
}

func (s *Service) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status(r.Context(), r.PathValue("receipt"))
	reply(w, r, st, err)
}

// decisionBody is the body of approve (optional, empty) and reject.
type decisionBody struct {
	Reason string `json:"reason"`
}

func (s *Service) handleDecide(approve bool) func(http.ResponseWriter, *http.Request, User) {
	return func(w http.ResponseWriter, r *http.Request, u User) {
		receipt := r.PathValue("receipt")
		if err := CheckReceipt(receipt); err != nil {
			WriteError(w, r, err)
			return
		}
		var body decisionBody
		var approveBody struct{}
		ok := readJSON(w, r, 8<<10, approve, func(b []byte) error {
			if approve {
				return issuance.DecodeJSON(b, &approveBody)
			}
			return issuance.DecodeJSON(b, &body)
		})
		if !ok {
			return
		}
		err := s.Decide(r.Context(), u, Decision{Receipt: receipt, Approve: approve, Reason: body.Reason})
		reply(w, r, map[string]any{"receipt": receipt, "approved": approve}, err)
	}
}

func (s *Service) handleRegister(w http.ResponseWriter, r *http.Request, u User) {
	if err := require(u, RoleClerk, RoleSupervisor); err != nil {
		WriteError(w, r, err)
		return
	}
	id := r.PathValue("id")
	if _, err := idnum.Parse(id); err != nil {
		problem.Write(w, r, http.StatusBadRequest, "invalid ID number in the path",
			problem.Field{Field: "path.id", Rule: idRule(id, err)})
		return
	}
	p, err := s.RegisterRecord(r.Context(), u, id)
	reply(w, r, p, err)
}

func (s *Service) handleRelease(w http.ResponseWriter, r *http.Request, u User) {
	if r.URL.RawQuery != "" {
		problem.Write(w, r, http.StatusBadRequest, "invalid query parameter",
			problem.Field{Field: "query", Rule: "none taken"})
		return
	}
	id, err := s.Release(r.Context(), u)
	reply(w, r, map[string]any{"released": id != "", "id_number": id}, err)
}

func (s *Service) handleCardStatus(w http.ResponseWriter, r *http.Request, u User) {
	serial, q := r.PathValue("serial"), r.URL.Query()
	if !validSerial(serial) {
		problem.Write(w, r, http.StatusBadRequest, "invalid card serial in the path",
			problem.Field{Field: "path.serial", Rule: "1 to 64 of A-Z a-z 0-9 . _ : -"})
		return
	}
	for k, v := range q {
		if (k != "id_number" && k != "purpose") || len(v) > 1 {
			problem.Write(w, r, http.StatusBadRequest, "invalid query parameter",
				problem.Field{Field: "query." + problem.Clean(k, 40), Rule: "id_number and purpose, once each"})
			return
		}
	}
	if id := q.Get("id_number"); id != "" {
		if _, err := idnum.Parse(id); err != nil {
			problem.Write(w, r, http.StatusBadRequest, "invalid ID number in the query",
				problem.Field{Field: "query.id_number", Rule: idRule(id, err)})
			return
		}
	}
	c, err := s.CardStatus(r.Context(), u, serial, q.Get("id_number"))
	reply(w, r, c, err)
}

// subjectAccessBody is the proof an applicant gives for the list of reads of their record.
type subjectAccessBody struct {
	DateOfBirth issuance.Date `json:"date_of_birth"`
}

// decodeSubjectAccess decodes the body of POST /status/{receipt}/access strictly: the
// date of birth is required.
func decodeSubjectAccess(b []byte) (issuance.Date, error) {
	var body subjectAccessBody
	if err := issuance.DecodeJSON(b, &body); err != nil {
		return issuance.Date{}, err
	}
	if body.DateOfBirth.IsZero() {
		return issuance.Date{}, issuance.FieldError{Field: "date_of_birth", Rule: "required, YYYY-MM-DD: the date of birth proves the receipt"}
	}
	return body.DateOfBirth, nil
}

func (s *Service) handleSubjectAccess(w http.ResponseWriter, r *http.Request) {
	receipt := r.PathValue("receipt")
	if err := CheckReceipt(receipt); err != nil {
		WriteError(w, r, err)
		return
	}
	var dob issuance.Date
	if !readJSON(w, r, 1<<10, false, func(b []byte) (err error) { dob, err = decodeSubjectAccess(b); return err }) {
		return
	}
	list, err := s.AccessesForApplicant(WithSource(r.Context(), remoteHost(r)), receipt, dob)
	reply(w, r, map[string]any{"receipt": receipt, "reads": list}, err)
}

// validSerial reports whether s has the form of a chip serial as stations record it.
func validSerial(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("._:-", c) >= 0) {
			return false
		}
	}
	return true
}

func idRule(id string, err error) string {
	switch {
	case errors.Is(err, idnum.ErrProvince) && len(id) >= 3:
		return "unknown province code " + id[:3]
	case errors.Is(err, idnum.ErrFormat):
		return "must be 12 digits"
	}
	return "not a valid ID number"
}

func reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// WriteError answers a request with the problem details for err: the service's errors become
// the 4xx they stand for, naming field and rule; anything else is a 500 whose cause is logged
// (with the request ID) and not sent. Other handlers of the API (and of other components) call
// it so that every error has one form.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var ve issuance.ValidationError
	var fe issuance.FieldError
	var de *DuplicateError
	var le *LimitError
	var oe *OpenLookupError
	switch {
	case errors.As(err, &ve):
		problem.Write(w, r, http.StatusUnprocessableEntity, "application is invalid", fieldsOf(ve)...)
	case errors.As(err, &fe):
		problem.Write(w, r, http.StatusUnprocessableEntity, "invalid "+fe.Field, problem.Field{Field: fe.Field, Rule: fe.Rule})
	case errors.Is(err, issuance.ErrTooLarge):
		problem.Write(w, r, http.StatusRequestEntityTooLarge, "body too large", problem.Field{Field: "body", Rule: "at most 256 KiB"})
	case errors.Is(err, issuance.ErrInvalidUTF8):
		problem.Write(w, r, http.StatusBadRequest, "body is not valid UTF-8", problem.Field{Field: "body", Rule: "must be valid UTF-8"})
	case errors.Is(err, issuance.ErrTooDeep), errors.Is(err, issuance.ErrNotObject), errors.Is(err, issuance.ErrTrailing),
		errors.Is(err, issuance.ErrMalformedJSON):
		problem.Write(w, r, http.StatusBadRequest, "body is not one well-formed JSON object",
			problem.Field{Field: "body", Rule: strings.TrimPrefix(err.Error(), "issuance: ")})
	case errors.Is(err, ErrInvalidReceipt):
		problem.Write(w, r, http.StatusBadRequest, "invalid receipt in the path", problem.Field{Field: "path.receipt", Rule: receiptRule})
	case errors.Is(err, idnum.ErrFormat), errors.Is(err, idnum.ErrProvince), errors.Is(err, idnum.ErrRange):
		problem.Write(w, r, http.StatusUnprocessableEntity, "invalid ID number", problem.Field{Field: "id_number", Rule: "not a valid ID number"})
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(le.RetryAfter.Seconds()+0.5))))
		problem.Write(w, r, http.StatusTooManyRequests, le.Msg, problem.Field{Field: le.field(), Rule: le.rule()})
	case errors.As(err, &oe):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(oe.RetryAfter.Seconds()+0.5))))
		problem.Write(w, r, http.StatusConflict, strings.TrimPrefix(oe.Error(), "intake: "),
			problem.Field{Field: "user", Rule: "one look-up at a time: submit its application or give it up (DELETE /api/v1/register/open)"})
	case errors.Is(err, ErrTokenRevoked), errors.Is(err, ErrTokenExpired):
		w.Header().Set("WWW-Authenticate", `Bearer realm="cccd", error="invalid_token"`)
		problem.Write(w, r, http.StatusUnauthorized, strings.TrimPrefix(err.Error(), ErrUnauthenticated.Error()+": "),
			problem.Field{Field: "header.Authorization", Rule: "must carry a valid token"})
	case errors.Is(err, ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="cccd"`)
		problem.Write(w, r, http.StatusUnauthorized, "missing or unknown token",
			problem.Field{Field: "header.Authorization", Rule: "must carry a valid token"})
	case errors.Is(err, ErrPurpose):
		problem.Write(w, r, http.StatusForbidden, strings.TrimPrefix(err.Error(), "intake: "),
			problem.Field{Field: "query.purpose", Rule: "must be a purpose this read serves"})
	case errors.Is(err, ErrProof):
		problem.Write(w, r, http.StatusNotFound, "receipt and date of birth do not match an application",
			problem.Field{Field: "date_of_birth", Rule: "must be the applicant's"})
	case errors.Is(err, ErrForbidden):
		problem.Write(w, r, http.StatusForbidden, "not allowed for this role", problem.Field{Field: "role", Rule: "not allowed to do this"})
	case errors.Is(err, ErrSameClerk):
		problem.Write(w, r, http.StatusForbidden, "dual control", problem.Field{Field: "supervisor", Rule: "must not be the clerk who took the application"})
	case errors.Is(err, ErrWrongOffice):
		problem.Write(w, r, http.StatusForbidden, "application of another office", problem.Field{Field: "intake_office", Rule: "must be the user's own office"})
	case errors.Is(err, ErrNotFound):
		problem.Write(w, r, http.StatusNotFound, "no such application", problem.Field{Field: "path.receipt", Rule: "no such application"})
	case errors.As(err, &de):
		d := problem.Details{Status: http.StatusConflict, Detail: "the citizen already has an open application",
			Fields: []problem.Field{{Field: "id_number", Rule: "already has an open application"}}}
		if u, ok := UserFrom(r.Context()); ok && (u.Role == RoleAdmin || u.Office == de.Office) {
			d.Receipt = de.Receipt
		}
		problem.WriteDetails(w, r, d)
	case errors.Is(err, ErrDuplicateApplication):
		problem.Write(w, r, http.StatusConflict, "the citizen already has an open application", problem.Field{Field: "id_number", Rule: "already has an open application"})
	case errors.Is(err, ErrNotSubmitted):
		problem.Write(w, r, http.StatusConflict, "application is no longer awaiting a decision", problem.Field{Field: "state", Rule: "must be submitted"})
	case errors.Is(err, ErrNotInRegister):
		problem.Write(w, r, http.StatusUnprocessableEntity, "not in the population register",
			problem.Field{Field: "id_number", Rule: "not in the population register"})
	case errors.Is(err, ErrInvalidFilter):
		problem.Write(w, r, http.StatusBadRequest, "invalid filter", problem.Field{Field: "query.state", Rule: "not an application state"})
	case errors.Is(err, ErrReasonRequired):
		problem.Write(w, r, http.StatusUnprocessableEntity, "a rejection needs a reason", problem.Field{Field: "reason", Rule: "required (1-500 characters)"})
	case errors.Is(err, ErrIdempotencyMismatch):
		problem.Write(w, r, http.StatusUnprocessableEntity, "Idempotency-Key reused with another body",
			problem.Field{Field: "header.Idempotency-Key", Rule: "already used for a different request"})
	case errors.Is(err, ErrIdempotencyBusy):
		problem.Write(w, r, http.StatusConflict, "a request with this Idempotency-Key is still in progress",
			problem.Field{Field: "header.Idempotency-Key", Rule: "in use by a request in progress"})
	case errors.Is(err, context.Canceled):
		problem.Write(w, r, http.StatusServiceUnavailable, "request cancelled")
	default:
		problem.Logger(r.Context()).Error("intake: internal error", "err", err)
		problem.Write(w, r, http.StatusInternalServerError, "")
	}
}

func fieldsOf(v issuance.ValidationError) []problem.Field {
	out := make([]problem.Field, len(v))
	for i, e := range v {
		out[i] = problem.Field{Field: e.Field, Rule: e.Rule}
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := marshalJSON(v)
	if err != nil {
		problem.Write(w, nil, http.StatusInternalServerError, "")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b)
}
