package intake

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
)

// Handler serves the intake API:
//
//	POST /api/v1/applications                    clerk: submit (body: application JSON)
//	GET  /api/v1/applications?state=&limit=      staff: list
//	GET  /api/v1/applications/{receipt}          staff: one application with its timeline
//	POST /api/v1/applications/{receipt}/approve  supervisor
//	POST /api/v1/applications/{receipt}/reject   supervisor (body: {"reason": "..."})
//	GET  /api/v1/register/{id_number}            clerk: the register's record, to pre-fill
//	GET  /api/v1/cards/{serial}/status?id_number=  verifier, office staff: valid or revoked, no personal data
//	GET  /status/{receipt}                       public: where an application is, no personal data
//	POST /status/{receipt}/access                public: who read the applicant's record and why
//	                                             (body: {"date_of_birth": "YYYY-MM-DD"}, the proof)
//
// Reads of personal data are recorded (see Lookup); an /api request may name its
// purpose with ?purpose= (prefill, follow-up, approval, hand-over, verification,
// administration), else the role's default applies.
//
// Every /api request carries "Authorization: Bearer <token>". Bad input gets a 4xx with
// a JSON body {"error": ..., "fields": [{"field", "rule"}]} and changes nothing.
func (s *Service) Handler(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/applications", s.auth(s.handleSubmit))
	mux.HandleFunc("GET /api/v1/applications", s.auth(s.handleList))
	mux.HandleFunc("GET /api/v1/applications/{receipt}", s.auth(s.handleShow))
	mux.HandleFunc("POST /api/v1/applications/{receipt}/approve", s.auth(s.handleDecide(true)))
	mux.HandleFunc("POST /api/v1/applications/{receipt}/reject", s.auth(s.handleDecide(false)))
	mux.HandleFunc("GET /api/v1/register/{id}", s.auth(s.handleRegister))
	mux.HandleFunc("GET /api/v1/cards/{serial}/status", s.auth(s.handleCardStatus))
	mux.HandleFunc("POST /status/{receipt}/access", func(w http.ResponseWriter, r *http.Request) {
		s.handleSubjectAccess(w, r, log)
	})
	mux.HandleFunc("GET /status/{receipt}", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.Status(r.Context(), r.PathValue("receipt"))
		reply(w, log, st, err)
	})
	return recoverer(log, mux)
}

func (s *Service) auth(h func(http.ResponseWriter, *http.Request, User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			writeError(w, http.StatusUnauthorized, "authorization: expected 'Bearer <token>'", nil)
			return
		}
		ctx := WithSource(r.Context(), remoteHost(r))
		u, err := s.Authenticate(ctx, tok)
		if err != nil {
			replyError(w, nil, err)
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

func (s *Service) handleSubmit(w http.ResponseWriter, r *http.Request, u User) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, issuance.MaxApplicationJSON))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, issuance.ErrTooLarge.Error(), nil)
			return
		}
		writeError(w, http.StatusBadRequest, "body: "+err.Error(), nil)
		return
	}
	app, err := issuance.DecodeApplication(body)
	if errors.Is(err, issuance.ErrTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, err.Error(), nil)
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), nil)
		return
	}
	out, err := s.Submit(r.Context(), u, app)
	if err != nil {
		replyError(w, nil, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request, u User) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "limit: a positive integer", nil)
			return
		}
		limit = n
	}
	list, err := s.List(r.Context(), u, Filter{State: r.URL.Query().Get("state"), Limit: limit})
	reply(w, nil, list, err)
}

func (s *Service) handleShow(w http.ResponseWriter, r *http.Request, u User) {
	d, err := s.Show(r.Context(), u, r.PathValue("receipt"))
	reply(w, nil, d, err)
}

func (s *Service) handleDecide(approve bool) func(http.ResponseWriter, *http.Request, User) {
	return func(w http.ResponseWriter, r *http.Request, u User) {
		var body struct {
			Reason string `json:"reason"`
		}
		if !approve {
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				writeError(w, http.StatusBadRequest, "body: expected {\"reason\": \"...\"}", nil)
				return
			}
		}
		err := s.Decide(r.Context(), u, Decision{Receipt: r.PathValue("receipt"), Approve: approve, Reason: body.Reason})
		reply(w, nil, map[string]any{"receipt": r.PathValue("receipt"), "approved": approve}, err)
	}
}

func (s *Service) handleRegister(w http.ResponseWriter, r *http.Request, u User) {
	p, err := s.Lookup(r.Context(), r.PathValue("id"))
	reply(w, nil, p, err)
}

func (s *Service) handleCardStatus(w http.ResponseWriter, r *http.Request, u User) {
	c, err := s.CardStatus(r.Context(), u, r.PathValue("serial"), r.URL.Query().Get("id_number"))
	reply(w, nil, c, err)
}

func (s *Service) handleSubjectAccess(w http.ResponseWriter, r *http.Request, log *slog.Logger) {
	var body struct {
		DateOfBirth string `json:"date_of_birth"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "body: expected {\"date_of_birth\": \"YYYY-MM-DD\"}", nil)
		return
	}
	dob, err := issuance.ParseDate(body.DateOfBirth)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error(), []issuance.FieldError{{Field: "date_of_birth", Rule: "a date YYYY-MM-DD"}})
		return
	}
	list, err := s.AccessesForApplicant(WithSource(r.Context(), remoteHost(r)), r.PathValue("receipt"), dob)
	if errors.Is(err, ErrProof) {
		writeError(w, http.StatusNotFound, err.Error(), nil)
		return
	}
	reply(w, log, map[string]any{"receipt": r.PathValue("receipt"), "reads": list}, err)
}

func reply(w http.ResponseWriter, log *slog.Logger, v any, err error) {
	if err != nil {
		replyError(w, log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// replyError maps domain errors to 4xx; anything unexpected is a 500 whose detail is
// logged, not sent.
func replyError(w http.ResponseWriter, log *slog.Logger, err error) {
	var ve issuance.ValidationError
	var le *LimitError
	switch {
	case errors.As(err, &ve):
		writeError(w, http.StatusUnprocessableEntity, "application is invalid", ve)
	case errors.Is(err, idnum.ErrFormat), errors.Is(err, idnum.ErrProvince), errors.Is(err, idnum.ErrRange):
		writeError(w, http.StatusUnprocessableEntity, err.Error(), []issuance.FieldError{{Field: "id_number", Rule: err.Error()}})
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(le.RetryAfter.Seconds()+0.5))))
		writeError(w, http.StatusTooManyRequests, err.Error(), nil)
	case errors.Is(err, ErrUnauthenticated):
		writeError(w, http.StatusUnauthorized, err.Error(), nil)
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrSameClerk), errors.Is(err, ErrWrongOffice), errors.Is(err, ErrPurpose):
		writeError(w, http.StatusForbidden, err.Error(), nil)
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error(), nil)
	case errors.Is(err, ErrDuplicateApplication), errors.Is(err, ErrNotSubmitted):
		writeError(w, http.StatusConflict, err.Error(), nil)
	case errors.Is(err, ErrNotInRegister):
		writeError(w, http.StatusUnprocessableEntity, err.Error(), []issuance.FieldError{{Field: "id_number", Rule: "not in the population register"}})
	case errors.Is(err, ErrInvalidFilter):
		writeError(w, http.StatusBadRequest, err.Error(), nil)
	case errors.Is(err, ErrReasonRequired):
		writeError(w, http.StatusUnprocessableEntity, err.Error(), []issuance.FieldError{{Field: "reason", Rule: "required"}})
	default:
		if log == nil {
			log = slog.Default()
		}
		log.Error("intake: internal error", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error", nil)
	}
}

func writeError(w http.ResponseWriter, code int, msg string, fields []issuance.FieldError) {
	body := map[string]any{"error": msg}
	if fields != nil {
		body["fields"] = fields
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// recoverer turns a panic in a handler into a logged 500 instead of a dropped connection.
func recoverer(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if log == nil {
					log = slog.Default()
				}
				log.Error("intake: panic in handler", "panic", v, "path", r.URL.Path)
				writeError(w, http.StatusInternalServerError, "internal error", nil)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
