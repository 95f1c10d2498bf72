package pan

// Redaction, output: the masked document, with member names that became equal renamed apart.

import (
	"bytes"
	"hash/maphash"
	"unicode/utf8"

	"webhooks/shared/jsonx"
)

// ---- Output ----

// markTokens flags the tokens that have a masked digit.
func (r *redactor) markTokens() {
	for i := range r.toks {
		t := &r.toks[i]
		end := int32(len(r.dig))
		if i+1 < len(r.toks) {
			end = r.toks[i+1].dig
		}
		r.st.work += uint64(end-t.dig) + 1
		for _, d := range r.dig[t.dig:end] {
			if d&maskBit != 0 {
				t.flags |= fMasked
				break
			}
		}
	}
}

// maskText appends s, the decoded characters of a token whose first digit is
// r.dig[dig], with its masked digits written '*'.
func (r *redactor) maskText(dst, s []byte, dig int32) []byte {
	r.st.work += uint64(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c-'0' <= 9 {
				if r.dig[dig]&maskBit != 0 {
					c = '*'
				}
				dig++
			}
			dst = append(dst, c)
			i++
			continue
		}
		rn, size := utf8.DecodeRune(s[i:])
		if _, ok := digitValue(rn); ok {
			if r.dig[dig]&maskBit != 0 {
				dst = append(dst, '*')
				i += size
				dig++
				continue
			}
			dig++
		}
		dst = append(dst, s[i:i+size]...)
		i += size
	}
	return dst
}

// keyName returns a key's name as it will be written (masked), in a scratch
// buffer.
func (r *redactor) keyName(t *token) []byte {
	s := r.content(int(t.start), int(t.end), t.flags&fEsc != 0)
	if t.flags&fMasked == 0 {
		r.st.work += uint64(len(s))
		return s
	}
	r.scratch2 = r.maskText(r.scratch2[:0], s, t.dig)
	return r.scratch2
}

// suffixLetters are the letters of a rename suffix. Every word
// IsCardNumberField looks for holds an 'n' or a 'p': leaving them out means a
// suffix never turns a key into a card-number field.
const suffixLetters = "abcdefghijklmoqrstuvwxyz"

// suffix returns the k-th rename suffix: "#a", "#b", ..., "#z", "#aa", ...
func suffix(k int) string {
	var b [16]byte
	i := len(b)
	for k++; k > 0; k = (k - 1) / len(suffixLetters) {
		i--
		b[i] = suffixLetters[(k-1)%len(suffixLetters)]
	}
	i--
	b[i] = '#'
	return string(b[i:])
}

// renameKeys gives a suffix to every masked key that equals another key of
// its object. The names of an object are kept as 64-bit hashes: equal names
// have equal hashes, so a name whose hash is not in the set is unique (two
// names that collide would only cost an unnecessary suffix). Per object and
// base name, suffixes are tried in order from where the last search stopped:
// each failed try is on a distinct key of the object, so the work is linear.
func (r *redactor) renameKeys() {
	start := int32(0)
	for _, end := range r.objEnds {
		keys := r.objKeys[start:end]
		start = end
		masked := false
		for _, t := range keys {
			r.st.work++
			if r.toks[t].flags&fMasked != 0 {
				masked = true
				break
			}
		}
		if !masked {
			continue
		}
		r.initSeed()
		seed := r.seed
		names := make(map[uint64]struct{}, len(keys))
		for _, t := range keys {
			if r.toks[t].flags&fMasked == 0 {
				names[maphash.Bytes(seed, r.keyName(&r.toks[t]))] = struct{}{}
			}
		}
		var next map[uint64]int
		for _, t := range keys {
			if r.toks[t].flags&fMasked == 0 {
				continue
			}
			base := r.keyName(&r.toks[t])
			h := maphash.Bytes(seed, base)
			if _, dup := names[h]; dup {
				if next == nil {
					next = map[uint64]int{}
				}
				hb, k, n := h, next[h], len(base)
				for {
					base = append(base[:n], suffix(k)...)
					k++
					r.st.work += uint64(len(base))
					if h = maphash.Bytes(seed, base); !hasKey(names, h) {
						break
					}
				}
				next[hb] = k
				r.scratch2 = base
				// The key's digits are no longer needed (markTokens has run):
				// dig now says where its name is.
				r.toks[t].dig = int32(len(r.renamed))
				r.toks[t].flags |= fRenamed
				r.renamed = append(r.renamed, string(base))
				r.st.renamedKeys++
				r.st.renameBytes += len(base) - n
			}
			names[h] = struct{}{}
		}
	}
}

func hasKey(m map[uint64]struct{}, k uint64) bool {
	_, ok := m[k]
	return ok
}

// emit writes the output, compact, and records its tokens: the redacted
// document, never parsed again.
func (r *redactor) emit() *jsonx.Doc {
	doc := r.doc
	out := make([]byte, 0, len(r.val.Raw())+16)
	b := &r.out
	b.Reset()
	prev := kNone
	for ti := range r.toks {
		t := &r.toks[ti]
		raw := doc[t.start:t.end]
		r.st.work += uint64(len(raw))
		switch t.kind {
		case kObjEnd:
			out = append(out, '}')
			b.Close(len(out))
			prev = t.kind
			continue
		case kArrEnd:
			out = append(out, ']')
			b.Close(len(out))
			prev = t.kind
			continue
		case kKey:
			if prev != kObj {
				out = append(out, ',')
			}
		default:
			switch prev {
			case kKey:
				out = append(out, ':')
			case kNone, kObj, kArr:
			default:
				out = append(out, ',')
			}
		}
		prev = t.kind
		start := len(out)
		switch {
		case t.kind == kObj:
			b.Open(jsonx.Object, start)
			out = append(out, '{')
		case t.kind == kArr:
			b.Open(jsonx.Array, start)
			out = append(out, '[')
		case t.kind == kLit:
			out = append(out, raw...)
			b.Scalar(litKind(raw), start, len(out), false)
		case t.kind == kNum && t.flags&fMasked == 0:
			out = append(out, raw...)
			b.Scalar(jsonx.Number, start, len(out), false)
		case t.kind == kNum:
			r.st.maskedNumbers++
			out = append(out, '"')
			out = r.maskText(out, raw, t.dig) // no character of a number needs escaping
			out = append(out, '"')
			b.Scalar(jsonx.String, start, len(out), false)
		case t.flags&fKeep != 0 || t.flags&(fMasked|fEsc|fRenamed) == 0:
			out = append(out, raw...) // a string as sent: what AppendString would write, when it holds no escape
			b.Scalar(jsonx.String, start, len(out), t.flags&fEsc != 0)
		default: // a key or string rewritten
			if t.flags&fRenamed != 0 {
				out = jsonx.AppendString(out, r.renamed[t.dig])
			} else {
				s := r.content(int(t.start), int(t.end), t.flags&fEsc != 0)
				if t.flags&fMasked != 0 {
					r.scratch2 = r.maskText(r.scratch2[:0], s, t.dig)
					s = r.scratch2
				}
				out = jsonx.AppendString(out, string(s))
			}
			r.st.work += uint64(len(out) - start)
			b.Scalar(jsonx.String, start, len(out), bytes.IndexByte(out[start+1:len(out)-1], '\\') >= 0)
		}
	}
	return b.Doc(out)
}

// litKind is the kind of a literal: true, false or null.
func litKind(raw []byte) jsonx.Kind {
	if len(raw) > 0 && raw[0] == 'n' {
		return jsonx.Null
	}
	return jsonx.Bool
}
