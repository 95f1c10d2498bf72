package pipeline

// MalformedJSON is malformedJSON, for the golden test of the request path.
var MalformedJSON = malformedJSON

// RedactedType is the pipeline's redaction of an event type.
var RedactedType = redactedType

// KeepSingleUse is keepSingleUse, for the property test of the single-use
// record's lifetime.
var KeepSingleUse = keepSingleUse
