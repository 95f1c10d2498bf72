package consumer

import "fmt"

// The rules every member of data obeys at any depth, whatever the struct
// says: the value of a member named like a card number is masked (every
// string in it a masked card number, no number); for a provider that drops
// secrets, no member is named like one; nesting is bounded. Values kept as
// sent are not looked into.

// maxDepth bounds how deep data may nest: the receivers refuse webhooks
// nested deeper than 32 levels, and a bound keeps every check linear.
const maxDepth = 64

// Modes of a value.
const (
	modeRedacted = iota // the receiver redacted it: card-number members are masked
	modeMasked          // inside a card-number member: every string masked, no number
	modeAsSent          // kept as sent (or decrypted): not looked into
)

// Member rules' errors: what was wrong, recorded with where (walkAt).
const (
	walkNone = iota
	walkSecret
	walkMaskedString
	walkMaskedNumber
	walkDeep
)

// walkFail records a member rule's error at offset at, unless one is already
// recorded.
func (d *decoder) walkFail(kind, at int) {
	if d.walkKind == walkNone {
		d.walkKind, d.walkAt = kind, at
	}
}

// container applies the nesting bounds to the container at d.i, at level
// depth: past maxNesting it is a syntax error, past maxDepth a member rule's
// error (but for values kept as sent).
func (d *decoder) container(mode, depth int) bool {
	if depth > maxNesting {
		return d.fail(errTooDeep)
	}
	if mode != modeAsSent && depth > maxDepth {
		d.walkFail(walkDeep, d.i)
	}
	return true
}

// walk reads the value at d.i, which no struct describes, holding it to the
// member rules of mode, at nesting level depth.
func (d *decoder) walk(mode, depth int) bool {
	if mode == modeAsSent && !d.drops {
		return d.skip(depth) // nothing to look for
	}
	switch c := d.peek(); c {
	case '{':
		if !d.container(mode, depth) {
			return false
		}
		if mode != modeAsSent && depth > maxDepth {
			return d.skip(depth)
		}
		d.i++
		if d.peek() == '}' {
			d.i++
			return true
		}
		for {
			if d.peek() != '"' {
				return d.eofOr(errChar)
			}
			at := d.i
			start, end, flags, ok := d.str()
			if !ok {
				return false
			}
			child := mode
			if mode == modeRedacted || d.drops {
				card, secret := d.nameRules(d.text(start, end, flags), mode)
				if secret {
					d.walkFail(walkSecret, at)
				}
				if card && mode == modeRedacted {
					child = modeMasked
				}
			}
			if !d.expect(':') || !d.walk(child, depth+1) || !d.more('}') {
				return d.err == nil
			}
		}
	case '[':
		if !d.container(mode, depth) {
			return false
		}
		if mode != modeAsSent && depth > maxDepth {
			return d.skip(depth)
		}
		d.i++
		if d.peek() == ']' {
			d.i++
			return true
		}
		for {
			if !d.walk(mode, depth+1) || !d.more(']') {
				return d.err == nil
			}
		}
	case '"':
		start, end, flags, ok := d.str()
		if ok && mode == modeMasked && !maskedCardNumber(d.text(start, end, flags)) {
			d.walkFail(walkMaskedString, start-1)
		}
		return ok
	case 0:
		return d.eofOr(errChar)
	}
	start := d.i
	if !d.scalar() {
		return false
	}
	if mode == modeMasked && d.b[start] != 't' && d.b[start] != 'f' && d.b[start] != 'n' {
		d.walkFail(walkMaskedNumber, start)
	}
	return true
}

// walkError is the recorded member rule's error, named by its place in the
// data (read again up to it: once, for the one error reported).
func (d *decoder) walkError() error {
	if d.walkKind == walkDeep {
		return invalid("data is nested deeper than %d levels", maxDepth)
	}
	addWork(d.walkAt - d.dataAt) // read again
	s := scanner{b: d.b, i: d.dataAt}
	var segs []string
	s.pathTo(d.walkAt, &segs)
	path := "data"
	for _, seg := range segs {
		path += seg
	}
	switch d.walkKind {
	case walkSecret:
		return invalid("%s is a secret field, which the receiver removes", path)
	case walkMaskedNumber:
		return invalid("%s must be a masked card number (a masked number is a string)", path)
	}
	return invalid("%s must be a masked card number", path)
}

// pathTo reads the valid JSON value at s.i until offset off, the start of a
// value or of a member's name in it, and leaves in segs the members
// (".name", digits hidden) and elements ("[i]") that lead there.
func (s *scanner) pathTo(off int, segs *[]string) bool {
	if s.peek() == 0 || s.i == off {
		return true
	}
	n := len(*segs)
	switch s.b[s.i] {
	case '{':
		s.i++
		if s.peek() == '}' {
			s.i++
			return false
		}
		for {
			s.ws()
			at := s.i
			start, end, flags, _ := s.str()
			*segs = append((*segs)[:n], "."+printable(string(s.text(start, end, flags))))
			if at == off {
				return true
			}
			s.expect(':')
			if s.pathTo(off, segs) {
				return true
			}
			if !s.more('}') {
				break
			}
		}
	case '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return false
		}
		for i := 0; ; i++ {
			*segs = append((*segs)[:n], fmt.Sprintf("[%d]", i))
			if s.pathTo(off, segs) {
				return true
			}
			if !s.more(']') {
				break
			}
		}
	default:
		s.scalar()
	}
	*segs = (*segs)[:n]
	return false
}
