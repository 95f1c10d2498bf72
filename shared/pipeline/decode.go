package pipeline

import (
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
)

// DecodeBody runs the steps of the request path from an authenticated request
// to its event, without any AWS call: the route (Router: req.Variant is set;
// a route error or NotFound is returned), the strict parse (jsonx.Parse; a
// refused body is the *Error the pipeline answers) and the provider's Decode.
// For tests, fuzz targets and tools that run a provider on its own.
func DecodeBody[C any](p Provider[C], req *apigw.Request, cfg C) (*Event, error) {
	if r, ok := any(p).(Router); ok {
		route, err := r.Route(req)
		req.Variant = route.Variant
		switch {
		case err != nil:
			return nil, err
		case route.NotFound != nil:
			return nil, route.NotFound
		}
	}
	doc, err := jsonx.Parse(req.Body)
	if err != nil {
		return nil, malformedJSON(err)
	}
	defer doc.Release()
	return p.Decode(req, doc, cfg)
}
