package pipeline

import (
	"errors"
	"fmt"
	"net/http"
)

// Stable error codes, part of every error response. Consumers and operators may
// match on them; they never change meaning.
const (
	CodeUnauthorized      = "unauthorized"           // 401: not authentic
	CodeForbidden         = "forbidden"              // 403: source IP outside the allow-list
	CodeNotFound          = "not_found"              // 404: unknown route parameter (kind, event slug)
	CodeMethodNotAllowed  = "method_not_allowed"     // 405
	CodePayloadTooLarge   = "payload_too_large"      // 413
	CodeUnsupportedMedia  = "unsupported_media_type" // 415
	CodeMalformedJSON     = "malformed_json"         // 400: not one well-formed JSON object
	CodeInvalidEncoding   = "invalid_encoding"       // 400: not UTF-8, or bad base64 transport encoding
	CodeDuplicateKey      = "duplicate_key"          // 400: an object repeats a key
	CodeMissingField      = "missing_field"          // 400
	CodeInvalidField      = "invalid_field"          // 400
	CodeUnknownEvent      = "unknown_event"          // 400: body matches no event of the provider
	CodeConfiguration     = "configuration_error"    // 500: the secret is missing or invalid
	CodeSecretUnavailable = "secret_unavailable"     // 503
	CodeStorage           = "storage_unavailable"    // 503: DynamoDB failed
	CodeQueue             = "queue_unavailable"      // 503: SQS failed
	CodeInternal          = "internal_error"         // 500
)

// Error is a failure with the HTTP status and stable code to answer with. Message
// is safe to show the caller; Err is the internal cause, logged only.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%d): %s: %v", e.Code, e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Malformed is the error a provider's Decode returns for input it cannot accept
// (400). The message must name the problem without echoing secrets or values.
func Malformed(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the error for a route parameter that names nothing (404).
func NotFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

// QuarantineError marks authenticated input that cannot be processed with the
// configured secret (for example ciphertext that does not decrypt). The event is
// stored with this reason, not queued, and can be re-processed later.
type QuarantineError struct {
	Reason string
	Err    error
}

func (q *QuarantineError) Error() string { return "quarantine: " + q.Reason }
func (q *QuarantineError) Unwrap() error { return q.Err }

// Quarantine returns a QuarantineError with a reason safe to store and log.
func Quarantine(reason string, cause error) error {
	return &QuarantineError{Reason: reason, Err: cause}
}

// ErrNoReprocess is returned by Reprocess for events that are already queued.
var ErrNoReprocess = errors.New("pipeline: event is already queued")

// ErrDataNotKept is returned by Reprocess for a quarantined event whose data
// DynamoDB could not hold: it cannot be rebuilt from the table.
var ErrDataNotKept = errors.New("pipeline: the event's data was not kept (DynamoDB refused it); it cannot be re-processed")
