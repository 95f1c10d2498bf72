package consumer

import (
	"hash/maphash"
	"reflect"
	"sync"

	"webhooks/consumer/fieldname"
)

// structInfo is what DecodeBody knows of a data struct, worked out once per
// type: its fields (fieldsOf) by member name, and what the member-name rules
// say of each name.
type structInfo struct {
	t      reflect.Type
	fields []fieldInfo
	byName map[string]int // index in fields
}

type fieldInfo struct {
	field
	cardName   bool        // fieldname.IsCardNumber(name)
	secretName bool        // fieldname.IsSecret(name)
	object     *structInfo // kindObject: the struct's
}

var structInfos sync.Map // reflect.Type → *structInfo

// structInfoOf returns the structInfo of the data struct t.
func structInfoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	fields := fieldsOf(t)
	if len(fields) > 64 {
		panic("consumer: more than 64 fields in " + t.Name()) // DecodeBody keeps one bit per field
	}
	si := &structInfo{t: t, byName: make(map[string]int, len(fields))}
	if prev, loaded := structInfos.LoadOrStore(t, si); loaded {
		return prev.(*structInfo)
	}
	// Stored before its fields are filled in, so that a struct may hold
	// itself; the registry's init fills every one before any decoding.
	si.fields = make([]fieldInfo, len(fields))
	for k, f := range fields {
		fi := fieldInfo{field: f, cardName: fieldname.IsCardNumber(f.name), secretName: fieldname.IsSecret(f.name)}
		if f.kind == kindObject {
			fi.object = structInfoOf(f.object)
		}
		si.fields[k] = fi
		si.byName[f.name] = k
	}
	return si
}

// lookup returns the index of the field named name, or -1.
func (si *structInfo) lookup(name []byte) int {
	addWork(len(name)) // hashed
	if k, ok := si.byName[string(name)]; ok {
		return k
	}
	return -1
}

// span is a member name in the body that needs no decoding.
type span struct{ start, end int }

// repeated reports whether name, a member of an object whose other names
// (but those its struct documents, which a bit tells apart) are
// d.keys[base:d.nkeys] and those of the object's scope in d.names, is one of
// them, and adds it. The first names are compared one by one (at most
// len(d.keys)); the others, and any that needed decoding, go in d.names, a
// hash table made only for them, under a scope number of the object's own
// (*scope, given on the first).
func (d *decoder) repeated(name []byte, start, end int, flags uint8, base int, scope *int) bool {
	for _, k := range d.keys[base:d.nkeys] {
		addWork(1)
		if k.end-k.start == len(name) && string(d.b[k.start:k.end]) == string(name) {
			addWork(len(name))
			return true
		}
	}
	clean := flags&strEscaped == 0 && end-start == len(name) // name is d.b[start:end]
	if *scope == 0 && clean && d.nkeys < len(d.keys) {
		d.keys[d.nkeys] = span{start, end}
		d.nkeys++
		return false
	}
	if *scope == 0 {
		// The object's names move to the table.
		d.scopes++
		*scope = d.scopes
		for _, k := range d.keys[base:d.nkeys] {
			d.names.add(d.b, d.b[k.start:k.end], k.start, k.end, true, *scope)
		}
		d.nkeys = base
	}
	return d.names.add(d.b, name, start, end, clean, *scope)
}

// nameTable holds the member names of objects of many members (or with
// escapes), for repeated: open addressing, hashed with a seed of the
// process's own, so that no input makes the probes long. Entries of closed
// objects stay: their scope numbers never come again.
type nameTable struct {
	slots []nameSlot
	n     int
	arena []byte // the decoded names that had escapes
}

type nameSlot struct {
	hash       uint64
	key        int // scope<<1 | 1 when the name is in arena; 0: an empty slot
	start, end int // the name: in the body, or in arena
}

var nameSeed = maphash.MakeSeed()

func (t *nameTable) text(b []byte, s *nameSlot) []byte {
	if s.key&1 != 0 {
		return t.arena[s.start:s.end]
	}
	return b[s.start:s.end]
}

// add reports whether scope already has name (b[start:end] when clean, else
// decoded), and adds it.
func (t *nameTable) add(b, name []byte, start, end int, clean bool, scope int) bool {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	addWork(2 * len(name)) // hashed; compared, at most once
	h := maphash.Bytes(nameSeed, name)
	mask := len(t.slots) - 1
	for j := int(h^uint64(scope)*0x9E3779B97F4A7C15) & mask; ; j = (j + 1) & mask {
		addWork(1) // a slot probed
		s := &t.slots[j]
		if s.key == 0 {
			*s = nameSlot{hash: h, key: scope << 1, start: start, end: end}
			if !clean {
				*s = nameSlot{hash: h, key: scope<<1 | 1, start: len(t.arena), end: len(t.arena) + len(name)}
				t.arena = append(t.arena, name...)
			}
			t.n++
			return false
		}
		if s.hash == h && s.key>>1 == scope && string(t.text(b, s)) == string(name) {
			return true
		}
	}
}

// grow doubles the table (64 slots at first), placing its entries again.
func (t *nameTable) grow() {
	old := t.slots
	t.slots = make([]nameSlot, max(64, 2*len(old)))
	addWork(len(old)) // entries moved
	mask := len(t.slots) - 1
	for _, s := range old {
		if s.key == 0 {
			continue
		}
		j := int(s.hash^uint64(s.key>>1)*0x9E3779B97F4A7C15) & mask
		for t.slots[j].key != 0 {
			j = (j + 1) & mask
		}
		t.slots[j] = s
	}
}
