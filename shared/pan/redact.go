package pan

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	"webhooks/shared/jsonx"
)

// ErrInvalid is returned (wrapped, with a byte offset but never a value) by
// Redact for a document that is not one valid JSON value in valid UTF-8, or
// that repeats a key in one object.
var ErrInvalid = errors.New("pan: not a valid JSON document")

const (
	minWindow = 13 // shortest card number
	maxWindow = 19 // longest card number
	minKnown  = 12 // fewest digits of a card-number field's value searched for elsewhere
	keepHead  = 6  // digits shown at the start of a masked card number
	keepTail  = 4  // digits shown at its end
)

// Token kinds.
const (
	kNone uint8 = iota
	kObj
	kObjEnd
	kArr
	kArrEnd
	kKey
	kStr
	kNum
	kLit
)

// Token flags.
const (
	fEsc     uint8 = 1 << iota // a string with escapes
	fKeep                      // part of a kept value: written as sent
	fMasked                    // some digit of the token is masked
	fRenamed                   // a key with a suffix: its name is r.renamed[dig]
)

// token is one JSON token of the output, in document order. Dropped members
// have no tokens.
type token struct {
	start, end  int32 // raw bytes in the document; strings include their quotes
	dig         int32 // the token's first digit in r.dig; its digits end where the next token's begin
	kind, flags uint8
}

// Contexts of a value. The kept ones come last: ctx >= cKeep is a value
// under a kept name.
const (
	cNone   uint8 = iota
	cCard         // inside the value of a card-number field
	cDrop         // inside a dropped member
	cKeep         // a kept (scalar) value
	cKeepIf       // the value of a Policy.KeepIf member, not yet read: r.keepIf decides
)

// stats are what a call did, for tests.
type stats struct {
	work          uint64 // inner-loop steps, to check that the work is linear
	maskedNumbers int    // numbers written as strings
	renamedKeys   int    // keys given a suffix
	renameBytes   int    // bytes of those suffixes
}

type redactor struct {
	p      Policy
	val    jsonx.Value            // the document redacted
	doc    []byte                 // the body its tokens point into
	docStr string                 // doc as a string, for Policy.Drop (made on first use)
	keepIf func(text string) bool // the Policy.KeepIf function of the member being read
	toks   []token

	// The stream: every digit in document order (its value, and maskBit once
	// it is masked), and the first digit of each run (runs are consecutive).
	dig  []uint8
	runs []int32
	brk  bool // a letter was seen since the last digit: the next digit starts a run

	known      [maxWindow + 1]map[uint64]struct{} // known card numbers by length, as integers
	knownLens  []int
	knownBloom []uint64 // a bit per hash of (length, number) of the known numbers
	bloomBits  int

	frames   []frame  // the open containers of the walk
	ctx      uint8    // the context of the value after a key (its member's)
	afterKey bool     // the walk's last token was a key
	keyToks  []int32  // key tokens of the open objects
	objKeys  []int32  // key tokens of each closed object, flat
	objEnds  []int32  // end of each object's keys in objKeys
	renamed  []string // names of the keys given a suffix
	seed     maphash.Seed
	out      jsonx.Builder // the tokens of the output

	// Reused buffers.
	scratch, scratch2 []byte
	pa, pb            []uint8 // prefix sums (luhnWindows, then settle)
	stk, pend         []int32
	sv                []uint64

	st stats
}

// redact is Redact, also returning what it did.
func (p Policy) redact(doc []byte) (out []byte, st stats, err error) {
	d, err := jsonx.ParseValue(doc)
	if err != nil {
		return nil, st, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	defer d.Release()
	red, st := p.redactValue(d.Root())
	defer red.Release()
	return red.Body(), st, nil
}

// redactValue is RedactValue, also returning what it did.
func (p Policy) redactValue(v jsonx.Value) (*jsonx.Doc, stats) {
	raw := v.Raw()
	r := redactors.Get().(*redactor)
	defer r.release()
	*r = redactor{p: p, val: v, doc: v.Doc().Body(),
		toks:    empty(r.toks, min(len(raw)/4+16, 1<<16)),
		dig:     empty(r.dig, len(raw)/4+16),
		runs:    r.runs[:0],
		frames:  r.frames[:0],
		keyToks: r.keyToks[:0],
		objKeys: r.objKeys[:0],
		objEnds: r.objEnds[:0],
		out:     r.out,
		// Storage only: each is cleared, or written before it is read.
		scratch: r.scratch[:0], scratch2: r.scratch2[:0],
		pa: r.pa, pb: r.pb, stk: r.stk[:0], pend: r.pend[:0], sv: r.sv,
	}
	if v.Kind() == jsonx.Absent {
		return nil, r.st
	}
	r.read()
	r.maskRuns()
	r.markTokens()
	r.renameKeys()
	return r.emit(), r.st
}

// redactors keeps redactors for reuse: Redact allocates little more than its
// output. A redactor starts every document with empty lists (above), and is
// kept only while its storage is small; what held digits or decoded text of
// a document is zeroed when it is put back.
var redactors = sync.Pool{New: func() any { return new(redactor) }}

// retained is the bytes of storage r keeps for the next document.
func (r *redactor) retained() int {
	return jsonx.SliceBytes(r.toks) + jsonx.SliceBytes(r.dig) + jsonx.SliceBytes(r.runs) + jsonx.SliceBytes(r.frames) +
		jsonx.SliceBytes(r.keyToks) + jsonx.SliceBytes(r.objKeys) + jsonx.SliceBytes(r.objEnds) + r.out.Retained() +
		jsonx.SliceBytes(r.scratch) + jsonx.SliceBytes(r.scratch2) + jsonx.SliceBytes(r.pa) + jsonx.SliceBytes(r.pb) +
		jsonx.SliceBytes(r.stk) + jsonx.SliceBytes(r.pend) + jsonx.SliceBytes(r.sv)
}

// release keeps r for reuse while its storage is within jsonx.MaxPooledBytes,
// which a document at the request body limit stays under.
func (r *redactor) release() {
	if r.retained() > jsonx.MaxPooledBytes {
		return
	}
	for _, b := range [][]byte{r.dig, r.scratch, r.scratch2, r.pa, r.pb} {
		clear(b[:cap(b)])
	}
	clear(r.sv[:cap(r.sv)])
	*r = redactor{
		toks: r.toks, dig: r.dig, runs: r.runs, frames: r.frames, keyToks: r.keyToks, objKeys: r.objKeys, objEnds: r.objEnds,
		scratch: r.scratch, scratch2: r.scratch2, out: r.out,
		pa: r.pa, pb: r.pb, stk: r.stk, pend: r.pend, sv: r.sv,
	}
	redactors.Put(r)
}

// empty returns s emptied, with room for n elements.
func empty[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s[:0]
}

// initSeed draws the seed of renameKeys' hashes, once per document that has
// a masked key.
func (r *redactor) initSeed() {
	if r.seed == (maphash.Seed{}) {
		r.seed = maphash.MakeSeed()
	}
}
