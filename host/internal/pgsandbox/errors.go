package pgsandbox

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// invalidError is a malformed call; it maps to abi.StatusInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }

// interruptedError is a call cut short because its context ended: the
// tick's deadline passed or the tick was canceled.
type interruptedError struct{ err error }

func (e *interruptedError) Error() string { return "interrupted: " + e.err.Error() }
func (e *interruptedError) Unwrap() error { return e.err }

// Explain maps an error of a Session call to its ABI status and message:
//
//   - the statement check's refusal, and insufficient_privilege (42501):
//     not_authorized, "not authorized: ...";
//   - serialization_failure (40001), deadlock_detected (40P01) and
//     lock_not_available (55P03): busy;
//   - integrity constraint violations, class 23 (unique, foreign key,
//     check, not null, exclusion, restrict): constraint;
//   - a malformed call (bad argument encoding, wrong transaction state, a
//     result over the limit): invalid;
//   - a call cut short by the end of the tick's context: other,
//     "interrupted: ...", whatever the server answered;
//   - a call in a transaction the server has already ended (after a failed
//     commit or a lost connection): the status of what ended it;
//   - anything else: other.
func (s *Session) Explain(err error) (abi.Status, string) {
	return Explain(err)
}

// Explain is Session.Explain for an error of any session.
func Explain(err error) (abi.Status, string) {
	var (
		inv *invalidError
		den *deniedError
		ie  *interruptedError
		pe  *pgconn.PgError
	)
	switch {
	case err == nil:
		return abi.StatusOK, ""
	case errors.As(err, &ie):
		return abi.StatusOther, oneLine(err.Error())
	case errors.As(err, &den):
		return abi.StatusNotAuthorized, den.Error()
	case errors.As(err, &inv):
		return abi.StatusInvalid, inv.msg
	case errors.As(err, &pe):
		msg := oneLine(err.Error())
		switch {
		case pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "55P03":
			return abi.StatusBusy, msg
		case strings.HasPrefix(pe.Code, "23"):
			return abi.StatusConstraint, msg
		case pe.Code == "42501":
			return abi.StatusNotAuthorized, "not authorized: " + msg
		}
		return abi.StatusOther, msg
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return abi.StatusOther, "interrupted: " + oneLine(err.Error())
	}
	return abi.StatusOther, oneLine(err.Error())
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
