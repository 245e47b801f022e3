package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"
)

// SQLSTATE codes the broker answers with (PostgreSQL Appendix A).
const (
	codeFeatureNotSupported  = "0A000"
	codeUnableToConnect      = "08001" // sqlclient_unable_to_establish_sqlconnection
	codeConnectionFailure    = "08006"
	codeProtocolViolation    = "08P01"
	codeInvalidAuthorization = "28000"
	codeInvalidPassword      = "28P01"
	codeInsufficientPriv     = "42501"
	codeAdminShutdown        = "57P01"
	codeIOError              = "58030"
)

// Severities.
const (
	severityError = "ERROR"
	severityFatal = "FATAL"
)

// pgError is an error the broker reports to the client as an ErrorResponse.
// Its Message is written for the client and never carries a secret.
type pgError struct {
	Severity string
	Code     string
	Message  string
	// Err is the underlying cause, for the session's end reason; it is not
	// sent to the client.
	Err error
}

func (e *pgError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (SQLSTATE %s): %v", e.Message, e.Code, e.Err)
	}
	return fmt.Sprintf("%s (SQLSTATE %s)", e.Message, e.Code)
}

func (e *pgError) Unwrap() error { return e.Err }

// fatalf is a FATAL error: the broker closes the connection after sending it.
func fatalf(code, format string, args ...any) *pgError {
	return &pgError{Severity: severityFatal, Code: code, Message: fmt.Sprintf(format, args...)}
}

// wrap sets the cause and returns e.
func (e *pgError) wrap(err error) *pgError {
	e.Err = err
	return e
}

// encode appends e as an ErrorResponse message.
func (e *pgError) encode(dst []byte) []byte {
	msg := pgproto3.ErrorResponse{
		Severity:            e.Severity,
		SeverityUnlocalized: e.Severity,
		Code:                e.Code,
		Message:             e.Message,
	}
	out, err := msg.Encode(dst)
	if err != nil {
		// Encode fails only for messages over 1GiB; ours are short.
		panic(err)
	}
	return out
}

// Sentinel errors that end a relay.
var (
	// errTerminated: the client sent Terminate. A normal end.
	errTerminated = errors.New("client terminated the session")
	// errClientGone: the client closed its connection without Terminate.
	errClientGone = errors.New("client closed the connection")
	// errShutdown: the broker is shutting down.
	errShutdown = errors.New("the broker is shutting down")
)

// directionError labels an error with the direction of the relay it came from.
type directionError struct {
	Dir string // "client->upstream" or "upstream->client"
	Err error
}

func (e *directionError) Error() string { return e.Dir + ": " + e.Err.Error() }
func (e *directionError) Unwrap() error { return e.Err }
