package pipeline

// MalformedJSON is malformedJSON, for the golden test of the request path.
var MalformedJSON = malformedJSON
