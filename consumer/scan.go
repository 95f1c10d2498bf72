package consumer

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// The tokenizer of DecodeBody: it reads JSON text (RFC 8259, as
// encoding/json's scanner reads it) from a []byte, forward only, without
// building values. Strings are spans of the input; they are decoded (escapes
// resolved, invalid UTF-8 replaced by U+FFFD, as encoding/json does) only
// where a rule or a field needs their text.

// maxNesting bounds nesting as encoding/json does (10,000 levels), counted
// from each member value of the body: data's object is level 1.
const maxNesting = 10000

// Syntax errors: the body is not one JSON object. None names a value.
var (
	errEOF      = errors.New("unexpected end of JSON input")
	errChar     = errors.New("invalid character")
	errEscape   = errors.New("invalid escape in string")
	errControl  = errors.New("control character in string")
	errTooDeep  = errors.New("exceeded max depth")
	errTrailing = errors.New("data after the object")
	errNotObj   = errors.New("not an object")
)

// Flags of a string span.
const (
	strEscaped = 1 << iota // holds a backslash escape
	strHigh                // holds a byte outside ASCII
)

// strClass is what a byte is inside a string: 0 itself (ASCII), or one of
// the classes below.
var strClass = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = clsControl
	}
	t['"'], t['\\'] = clsQuote, clsBackslash
	for c := 0x80; c < 0x100; c++ {
		t[c] = clsHigh
	}
	return t
}()

const (
	clsPlain = iota
	clsQuote
	clsBackslash
	clsControl
	clsHigh
)

// scanner is the position in the body and the first syntax error.
type scanner struct {
	b   []byte
	i   int
	err error  // the first syntax error; every reader stops at it
	buf []byte // scratch for decoded strings
}

func (s *scanner) fail(err error) bool {
	if s.err == nil {
		s.err = err
	}
	return false
}

// ws skips white space (space, tab, line feed, carriage return).
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// expect skips white space and reads c.
func (s *scanner) expect(c byte) bool {
	if s.peek() != c {
		return s.eofOr(errChar)
	}
	s.i++
	return true
}

func (s *scanner) eofOr(err error) bool {
	if s.i >= len(s.b) {
		return s.fail(errEOF)
	}
	return s.fail(err)
}

// str reads the string at s.i (s.b[s.i] == '"') and returns its content's
// span (without the quotes) and flags.
func (s *scanner) str() (start, end int, flags uint8, ok bool) {
	i := s.i + 1
	start = i
	for i < len(s.b) {
		switch strClass[s.b[i]] {
		case clsPlain:
			i++
		case clsQuote:
			s.i = i + 1
			return start, i, flags, true
		case clsHigh:
			flags |= strHigh
			i++
		case clsControl:
			s.i = i
			return 0, 0, 0, s.fail(errControl)
		case clsBackslash:
			flags |= strEscaped
			if i+1 >= len(s.b) {
				s.i = i
				return 0, 0, 0, s.fail(errEOF)
			}
			switch s.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(s.b, i+2); !ok {
					s.i = i
					return 0, 0, 0, s.eofOr(errEscape)
				}
				i += 6
			default:
				s.i = i
				return 0, 0, 0, s.fail(errEscape)
			}
		}
	}
	s.i = i
	return 0, 0, 0, s.fail(errEOF)
}

// text is the decoded text of a string span as encoding/json decodes it: the
// input itself when that is already the text (no escape, valid UTF-8), else
// s.buf, valid until the next call.
func (s *scanner) text(start, end int, flags uint8) []byte {
	raw := s.b[start:end]
	if flags == 0 || flags == strHigh && utf8.Valid(raw) {
		return raw
	}
	addWork(len(raw)) // decoded
	out := s.buf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			switch e := raw[i+1]; e {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, _ := hex4(raw, i+2)
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						r2, _ = hex4(raw, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
				continue
			default: // '"', '\\', '/'
				out = append(out, e)
			}
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, w := utf8.DecodeRune(raw[i:])
			out = utf8.AppendRune(out, r)
			i += w
		}
	}
	s.buf = out
	return out
}

// hex4 reads the four hex digits at b[i:] (-1 and false when there are not
// four).
func hex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return -1, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads the number at s.i by JSON's grammar.
func (s *scanner) number() bool {
	b, i := s.b, s.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		s.i = i
		return s.eofOr(errChar)
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			s.i = j
			return s.eofOr(errChar)
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			s.i = j
			return s.eofOr(errChar)
		}
		i = j
	}
	s.i = i
	return true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i]-'0' < 10 {
		i++
	}
	return i
}

// literal reads true, false or null at s.i.
func (s *scanner) literal() bool {
	var lit string
	switch s.b[s.i] {
	case 't':
		lit = "true"
	case 'f':
		lit = "false"
	case 'n':
		lit = "null"
	default:
		return s.fail(errChar)
	}
	for k := range len(lit) {
		if s.i >= len(s.b) {
			return s.fail(errEOF)
		}
		if s.b[s.i] != lit[k] {
			return s.fail(errChar)
		}
		s.i++
	}
	return true
}

// scalar reads the string, number or literal at s.i.
func (s *scanner) scalar() bool {
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, _, ok := s.str()
		return ok
	case c == '-' || c-'0' < 10:
		return s.number()
	}
	return s.literal()
}

// more reads what follows a member or an element: true after a comma (another
// follows), false after the closing bracket close or at an error (s.err).
func (s *scanner) more(close byte) bool {
	switch s.peek() {
	case ',':
		s.i++
		return true
	case close:
		s.i++
		return false
	}
	s.eofOr(errChar)
	return false
}
