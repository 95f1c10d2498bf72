package pan

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
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

type frame struct {
	obj   bool
	ctx   uint8
	keys  int // this object's first entry in keyRefs
	arena int // and in keyArena
}

// keyRef is a key of an open object: its decoded name is doc[start:end], or
// keyArena[start:end] when it holds escapes.
type keyRef struct {
	start, end int32
	tok        int32 // its token, -1 for a dropped member
	arena      bool
}

// stats are what a call did, for tests.
type stats struct {
	work          uint64 // inner-loop steps, to check that the work is linear
	maskedNumbers int    // numbers written as strings
	renamedKeys   int    // keys given a suffix
	renameBytes   int    // bytes of those suffixes
}

type redactor struct {
	p      Policy
	doc    []byte
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

	keyRefs  []keyRef // keys of the open objects (for the duplicate check)
	keyArena []byte   // decoded names of those that hold escapes
	objKeys  []int32  // key tokens of each closed object, flat
	objEnds  []int32  // end of each object's keys in objKeys
	renamed  []string // names of the keys given a suffix
	seed     maphash.Seed

	// Reused buffers.
	scratch, scratch2 []byte
	dupTab            []dupEntry
	pa, pb            []uint8 // prefix sums (luhnWindows, then settle)
	stk, pend         []int32
	sv                []uint64

	st stats
}

// redact is Redact, also returning what it did.
func (p Policy) redact(doc []byte) (out []byte, st stats, err error) {
	if len(doc) >= math.MaxInt32 {
		return nil, st, fmt.Errorf("%w: document too large", ErrInvalid)
	}
	// Every key or value follows a '{', '[', ',' or ':' (or is the whole
	// document), and every container has a closing token: counting those
	// bytes (strings too) bounds the number of tokens.
	// The number of ':' bounds the number of keys, and of '{' the number of
	// objects: the lists of keys start at those sizes (up to a point).
	var n [4]int
	for k, c := range []string{"{", "[", ",", ":"} {
		n[k] = bytes.Count(doc, []byte(c))
	}
	ntok := 1 + n[0] + n[1] + n[2] + n[3] + n[0] + n[1]
	keys := min(n[3], 256)
	r := redactors.Get().(*redactor)
	defer r.release()
	*r = redactor{p: p, doc: doc,
		toks:    empty(r.toks, min(ntok, len(doc)+1)),
		dig:     empty(r.dig, len(doc)/4+16),
		runs:    r.runs[:0],
		keyRefs: empty(r.keyRefs, keys),
		objKeys: empty(r.objKeys, keys),
		objEnds: empty(r.objEnds, min(n[0], 64)),
		// Storage only: each is cleared, or written before it is read.
		keyArena: r.keyArena[:0], scratch: r.scratch[:0], scratch2: r.scratch2[:0],
		dupTab: r.dupTab, pa: r.pa, pb: r.pb, stk: r.stk[:0], pend: r.pend[:0], sv: r.sv,
	}
	r.st.work += uint64(len(doc)) * 4 / 64 // bytes.Count reads 64 bytes a step
	if err := r.parse(); err != nil {
		return nil, r.st, err
	}
	r.maskRuns()
	r.markTokens()
	r.renameKeys()
	out = r.emit()
	return out, r.st, nil
}

// redactors keeps redactors for reuse: Redact allocates little more than its
// output. A redactor starts every document with empty lists (above), and is
// kept only while its storage is small; what held digits or decoded text of
// a document is zeroed when it is put back.
var redactors = sync.Pool{New: func() any { return new(redactor) }}

// maxPooledTokens bounds the storage of a redactor kept for reuse.
const maxPooledTokens = 4096

func (r *redactor) release() {
	if cap(r.toks) > maxPooledTokens || cap(r.dig) > 4*maxPooledTokens {
		return
	}
	for _, b := range [][]byte{r.dig, r.keyArena, r.scratch, r.scratch2, r.pa, r.pb} {
		clear(b[:cap(b)])
	}
	clear(r.sv[:cap(r.sv)])
	*r = redactor{
		toks: r.toks, dig: r.dig, runs: r.runs, keyRefs: r.keyRefs, objKeys: r.objKeys, objEnds: r.objEnds,
		keyArena: r.keyArena, scratch: r.scratch, scratch2: r.scratch2,
		dupTab: r.dupTab, pa: r.pa, pb: r.pb, stk: r.stk, pend: r.pend, sv: r.sv,
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

func (r *redactor) errAt(i int, what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrInvalid, what, i)
}
