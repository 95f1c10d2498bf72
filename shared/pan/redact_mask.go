package pan

// Redaction, masking: Luhn-valid and known card-number windows over the digit stream.

import ()

// ---- Masking ----

// maskBit marks a masked digit in r.dig; the low bits are its value.
const maskBit = 0x10

// dbl is a digit's Luhn value when it is doubled.
var dbl = [16]uint8{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}

var pow10 = func() (p [maxWindow + 1]uint64) {
	p[0] = 1
	for i := 1; i <= maxWindow; i++ {
		p[i] = p[i-1] * 10 // 10^19 < 2^64
	}
	return
}()

// addKnown records the digits of a card-number field's value, read as an
// integer, as a known card number of L digits.
func (r *redactor) addKnown(L int, v uint64) {
	if r.known[L] == nil {
		r.known[L] = map[uint64]struct{}{}
		r.knownLens = append(r.knownLens, L)
	}
	r.known[L][v] = struct{}{}
}

// bloomHash is where a known number of L digits has its bit in knownBloom.
func bloomHash(L int, v uint64, bits int) uint64 {
	return ((v + uint64(L)) * 0x9E3779B97F4A7C15) >> (64 - bits)
}

// buildBloom sets up knownBloom: about 64 bits per known number, so that
// nearly every window that is not a known number is told so without a map
// lookup.
func (r *redactor) buildBloom() {
	n := 0
	for _, L := range r.knownLens {
		n += len(r.known[L])
	}
	if n == 0 {
		return
	}
	r.bloomBits = 10
	for 1<<r.bloomBits < 64*n && r.bloomBits < 22 {
		r.bloomBits++
	}
	r.knownBloom = make([]uint64, 1<<r.bloomBits/64)
	r.st.work += uint64(n + len(r.knownBloom))
	for _, L := range r.knownLens {
		for v := range r.known[L] {
			h := bloomHash(L, v, r.bloomBits)
			r.knownBloom[h/64] |= 1 << (h % 64)
		}
	}
}

// isKnown reports whether v is a known card number of L digits.
func (r *redactor) isKnown(L int, v uint64) bool {
	h := bloomHash(L, v, r.bloomBits)
	if r.knownBloom[h/64]&(1<<(h%64)) == 0 {
		return false
	}
	r.st.work++
	_, ok := r.known[L][v]
	return ok
}

// maskRuns applies the Luhn-window rule and the known-number rule to every
// run, then takes out the masked digits and masks until no Luhn-valid or known
// window is left.
func (r *redactor) maskRuns() {
	r.buildBloom()
	for k, a := range r.runs {
		b := int32(len(r.dig))
		if k+1 < len(r.runs) {
			b = r.runs[k+1]
		}
		if b-a < minKnown {
			continue
		}
		r.luhnWindows(r.dig[a:b])
		r.knownWindows(r.dig[a:b])
		r.settle(r.dig[a:b])
	}
}

// luhnWindows masks the middle of every Luhn-valid window of 13–19 digits of
// the run d. Per-parity prefix sums make each window's check O(1): in a window
// ending before index j, the digits at an index of j's parity are the doubled
// ones. pa sums doubled digits at even and plain digits at odd indices, pb the
// other way round, both mod 10: a window d[i:j] passes when pa[j] == pa[i]
// (j even) or pb[j] == pb[i] (j odd).
func (r *redactor) luhnWindows(d []uint8) {
	m := len(d)
	if m < minWindow {
		return
	}
	pa, pb := grow(r.pa, m+1), grow(r.pb, m+1)
	r.pa, r.pb = pa, pb
	luhnPrefix(d, pa, pb)
	work := uint64(m)
	// Masked so far: [from, to) and anything before. Each j's interval ends
	// at j-keepTail, one further than the last: only what it adds to
	// [from, to) is marked, so each digit is marked at most twice.
	from, to := 0, 0
	for j := minWindow; j <= m; j++ {
		p := pa
		if j&1 == 1 {
			p = pb
		}
		// The longest valid window ending at j masks the most: the union of
		// the middles of all valid windows ending at j is its middle.
		lo := max(0, j-maxWindow)
		starts := p[lo : j-minWindow+1]
		work += uint64(len(starts))
		for k, x := range starts {
			if x != p[j] {
				continue
			}
			s, e := lo+k+keepHead, j-keepTail
			if s > to {
				from, to = s, s
			}
			for ; to < e; to++ {
				d[to] |= maskBit
			}
			for ; from > s; from-- {
				d[from-1] |= maskBit
			}
			work += uint64(e - s)
			break
		}
	}
	r.st.work += work
}

// mod10 reduces a sum of two values under 10.
var mod10 = [32]uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}

// luhnPrefix sets pa[t+1] and pb[t+1] to the sums mod 10 of d[:t+1]: pa of
// doubled digits at even and plain digits at odd indices, pb the other way
// round.
func luhnPrefix(d, pa, pb []uint8) {
	var a, b uint8
	pa[0], pb[0] = 0, 0
	t := 0
	for ; t+1 < len(d); t += 2 {
		v, w := d[t]&0xF, d[t+1]&0xF
		a = mod10[(a+dbl[v])&31]
		b = mod10[(b+v)&31]
		pa[t+1], pb[t+1] = a, b
		a = mod10[(a+w)&31]
		b = mod10[(b+dbl[w])&31]
		pa[t+2], pb[t+2] = a, b
	}
	if t < len(d) {
		v := d[t] & 0xF
		pa[t+1], pb[t+1] = mod10[(a+dbl[v])&31], mod10[(b+v)&31]
	}
}

// grow returns s with length n, reallocated if it is too short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// maskKnown masks a known card number of L digits found at d[i:i+L]: all but
// the first 6 and last 4 digits, or all of them under 15 digits.
func maskKnown(d []uint8, i, L int) {
	from, to := i, i+L
	if L >= MinPartialLength {
		from, to = i+keepHead, i+L-keepTail
	}
	for t := from; t < to; t++ {
		d[t] |= maskBit
	}
}

// knownWindows masks every occurrence of a known card number in the run d:
// for each known length (at most 8), the run's windows of that length are
// read as integers, each from the previous one in O(1) (a rolling hash that
// is exact: there is nothing to verify).
func (r *redactor) knownWindows(d []uint8) {
	for _, L := range r.knownLens {
		if len(d) < L {
			continue
		}
		var v uint64
		for t, x := range d {
			if t >= L {
				v -= uint64(d[t-L]&^maskBit) * pow10[L-1]
			}
			v = v*10 + uint64(x&^maskBit)
			if t >= L-1 && r.isKnown(L, v) {
				maskKnown(d, t+1-L, L)
				r.st.work += uint64(L)
			}
		}
		r.st.work += uint64(len(d))
	}
}

// settle makes the run d final: the digits still unmasked, with the masked
// ones taken out (as a reader treating '*' as a separator sees them), must
// hold no Luhn-valid or known window. They are pushed on a stack one by one;
// when a window ending at the top is Luhn-valid or known, its middle is masked
// and taken out, and the (at most 4) digits after it are pushed again to check
// the windows that now end at them. Each push checks at most 7 + 8 windows in
// O(1) with per-parity prefix sums (and prefix values for known numbers) kept
// per stack entry; each masking takes out at least 3 digits for good and
// pushes back at most 4, so there are O(len(d)) pushes.
//
// Until this pass masks something, K's windows ending before the first
// masked digit are d's, which phase 1 found neither valid nor known: those
// digits are pushed without checks. A run with no masked digit is final.
func (r *redactor) settle(d []uint8) {
	first, unmasked := -1, 0 // the first masked digit; unmasked digits
	for g, x := range d {
		if x&maskBit == 0 {
			unmasked++
		} else if first < 0 {
			first = g
		}
	}
	r.st.work += uint64(len(d))
	if first < 0 || unmasked < minKnown {
		return
	}
	known := len(r.knownLens) > 0
	work, changed := uint64(0), false
	stk, pend := grow(r.stk, unmasked)[:0], r.pend[:0]
	sa, sb := grow(r.pa, unmasked+1), grow(r.pb, unmasked+1)
	sa[0], sb[0] = 0, 0
	var sv []uint64
	if known {
		sv = grow(r.sv, unmasked+1)
		sv[0] = 0
		r.sv = sv
	}
	for g := range d {
		if d[g]&maskBit != 0 {
			continue
		}
		pend = append(pend, int32(g))
		for len(pend) > 0 {
			x := pend[len(pend)-1]
			pend = pend[:len(pend)-1]
			// Push x.
			n := len(stk)
			v := d[x]
			p, q := dbl[v], v
			if n%2 == 1 {
				p, q = q, p
			}
			if p += sa[n]; p >= 10 {
				p -= 10
			}
			if q += sb[n]; q >= 10 {
				q -= 10
			}
			sa[n+1], sb[n+1] = p, q
			if known {
				sv[n+1] = sv[n]*10 + uint64(v)
			}
			stk = append(stk, x)
			n++
			work++
			if (int(x) < first && !changed) || n < minKnown {
				// Until this pass masks something, K's windows ending before
				// the first masked digit are d's, checked by phase 1.
				continue
			}
			// Check the windows ending at x, longest first.
			cut, to := -1, 0 // stk[cut:to] is masked
			ps := sa
			if n&1 == 1 {
				ps = sb
			}
			if n >= minWindow {
				lo := max(0, n-maxWindow)
				starts := ps[lo : n-minWindow+1]
				work += uint64(len(starts))
				for k, y := range starts {
					if y == ps[n] {
						cut, to = lo+k+keepHead, n-keepTail
						break
					}
				}
			}
			if cut < 0 && known {
				for _, L := range r.knownLens {
					work++
					if L <= n && r.isKnown(L, sv[n]-sv[n-L]*pow10[L]) {
						cut, to = n-L, n
						if L >= MinPartialLength {
							cut, to = n-L+keepHead, n-keepTail
						}
						break
					}
				}
			}
			if cut < 0 {
				continue
			}
			changed = true
			for _, y := range stk[cut:to] {
				d[y] |= maskBit
			}
			work += uint64(to - cut)
			for k := n - 1; k >= to; k-- { // the digits after the masked ones, again
				pend = append(pend, stk[k])
			}
			stk = stk[:cut]
		}
	}
	r.stk, r.pend, r.pa, r.pb = stk, pend, sa, sb
	r.st.work += work
}
