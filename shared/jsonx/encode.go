package jsonx

import (
	"bytes"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s to dst as a JSON string with the least escaping JSON
// allows: the quote, the backslash and control characters below U+0020 (as \b
// \f \n \r \t where JSON has a short form, else \u00XX). Nothing else is
// escaped — no HTML escaping of < > &, no \u2028 or \u2029 — so an encoded
// string is never longer than needed (encoding/json's escaping inflates a body
// of '<' six times). Invalid UTF-8 is written as U+FFFD.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s, false) }

// appendString is AppendString, or with html the form encoding/json writes:
// also <, >, & and U+2028, U+2029 escaped (as \u003c, \u2028, ...), and
// invalid UTF-8 as the escape \ufffd.
func appendString[T string | []byte](dst []byte, s T, html bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!html || (c != '<' && c != '>' && c != '&')) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && size == 1 && html:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
		case html && (r == '\u2028' || r == '\u2029'):
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// SQSSafe returns doc, a valid JSON text, with every character SQS refuses in a
// message body written as a \uXXXX escape instead, so that the message means
// the same JSON. In valid UTF-8 JSON the only such characters are U+FFFE and
// U+FFFF, and they can only occur inside strings (control characters there are
// already escaped, surrogates cannot be encoded): so a byte-level rewrite is
// exact. doc is returned unchanged, without a copy, when it holds neither.
func SQSSafe(doc []byte) []byte {
	// U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8; valid in JSON and in
	// DynamoDB strings, but outside what SQS accepts.
	if !bytes.Contains(doc, []byte{0xEF, 0xBF}) {
		return doc
	}
	var out []byte
	start := 0
	for i := 0; i+2 < len(doc); i++ {
		if doc[i] != 0xEF || doc[i+1] != 0xBF || (doc[i+2] != 0xBE && doc[i+2] != 0xBF) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(doc)+64)
		}
		out = append(out, doc[start:i]...)
		if doc[i+2] == 0xBE {
			out = append(out, `\ufffe`...)
		} else {
			out = append(out, `\uffff`...)
		}
		i += 2
		start = i + 1
	}
	if out == nil {
		return doc
	}
	return append(out, doc[start:]...)
}

// SQSAllowed reports whether r may appear in an SQS message body.
func SQSAllowed(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
