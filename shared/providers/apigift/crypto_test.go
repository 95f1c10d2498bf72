package apigift_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"webhooks/shared/providers/apigift"
)

// Keys of the vectors below, as given (ASCII bytes). Their hex, as passed to openssl:
//
//	key16 = 30313233343536373839616263646566
//	key24 = 303132333435363738396162636465663031323334353637
//	key32 = 646576417069476966744165733235364b657930313233343536373839616263
//	IV    = 4f46526e6137336d58617a6530317859 ("OFRna73mXaze01xY")
const (
	key16 = "0123456789abcdef"
	key24 = "0123456789abcdef01234567"
	key32 = "devApiGiftAes256Key0123456789abc"
)

// Known answers produced by OpenSSL 3.0 (an implementation independent of Go's),
// with the exact command beside each vector.
var knownAnswers = []struct {
	name, key, plaintext, ciphertext string
}{
	{
		// printf '[{"code":"GIFT-AAAA-1111"}]' | openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 4f46526e6137336d58617a6530317859 -base64 -A
		name: "AES-128 JSON", key: key16, plaintext: `[{"code":"GIFT-AAAA-1111"}]`,
		ciphertext: "cqovZm/ngGcQpaFLuFSju6SUBWCVpGupVaj1+dX0o4c=",
	},
	{
		// printf 'XBOX-1234-5678-9ABC' | openssl enc -aes-192-cbc -K 303132333435363738396162636465663031323334353637 -iv 4f46526e6137336d58617a6530317859 -base64 -A
		name: "AES-192 text", key: key24, plaintext: "XBOX-1234-5678-9ABC",
		ciphertext: "8CMAVudOygOwjrXLL8H46JZ7CYINTWse8vssAATKvcU=",
	},
	{
		// printf '[{"code":"STEAM-7Q2W-9E4R","pin":"0042"}]' | openssl enc -aes-256-cbc -K 646576417069476966744165733235364b657930313233343536373839616263 -iv 4f46526e6137336d58617a6530317859 -base64 -A
		name: "AES-256 JSON", key: key32, plaintext: `[{"code":"STEAM-7Q2W-9E4R","pin":"0042"}]`,
		ciphertext: "vVbFupUY4ANzFV2l6aaEwdateUzwGQhjewes7u/nmiIQE8M6zAeJDW6z52D7+rGs",
	},
	{
		// Block-aligned plaintext: a whole block of padding follows.
		// printf '0123456789ABCDEF' | openssl enc -aes-256-cbc -K 646576417069476966744165733235364b657930313233343536373839616263 -iv 4f46526e6137336d58617a6530317859 -base64 -A
		name: "AES-256 block-aligned", key: key32, plaintext: "0123456789ABCDEF",
		ciphertext: "aKFL4vTT1BWpyecwcsAIWaVY1LGjsYiLm8hRHVh95KA=",
	},
	{
		// printf '' | openssl enc -aes-256-cbc -K 646576417069476966744165733235364b657930313233343536373839616263 -iv 4f46526e6137336d58617a6530317859 -base64 -A
		name: "AES-256 empty", key: key32, plaintext: "",
		ciphertext: "craIa2DFzWUGlufkmVEKvg==",
	},
	{
		// printf 'código-ñ-€' | openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 4f46526e6137336d58617a6530317859 -base64 -A
		name: "AES-128 multi-byte UTF-8", key: key16, plaintext: "código-ñ-€",
		ciphertext: "YtgFKYSwgW+ZkjOYXdqsqw==",
	},
}

func TestKnownAnswers(t *testing.T) {
	for _, v := range knownAnswers {
		t.Run(v.name, func(t *testing.T) {
			pt, err := apigift.Decrypt([]byte(v.key), v.ciphertext)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(pt) != v.plaintext {
				t.Errorf("Decrypt = %q, want %q", pt, v.plaintext)
			}
			ct, err := apigift.Encrypt([]byte(v.key), []byte(v.plaintext))
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if ct != v.ciphertext {
				t.Errorf("Encrypt = %s, want %s", ct, v.ciphertext)
			}
		})
	}
}

// Ciphertexts whose decryption has bad padding or is not UTF-8. The blocks were
// encrypted with openssl -nopad, so the padding is exactly what is shown.
var rejected = []struct {
	name, key, ciphertext string
}{
	{
		// Last byte 0x00: a zero padding length.
		// printf 'ABCDEFGHIJKLMNO\x00' | openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 4f46526e6137336d58617a6530317859 -nopad -base64 -A
		name: "padding byte zero", key: key16, ciphertext: "NAdf1MPq0tZsPftVe7oaiw==",
	},
	{
		// Last byte 0x11: longer than a block.
		// printf 'ABCDEFGHIJKLMNO\x11' | openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 4f46526e6137336d58617a6530317859 -nopad -base64 -A
		name: "padding longer than a block", key: key16, ciphertext: "Db4O5q2+pkw0gbXORIX9kA==",
	},
	{
		// Last byte 0xff.
		// printf 'ABCDEFGHIJKLMNO\xff' | openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 4f46526e6137336d58617a6530317859 -nopad -base64 -A
		name: "padding byte 0xff", key: key16, ciphertext: "kSrsQtZFL9xMbC7hKPgYbg==",
	},
	{
		// ... 03 02 03: the padding bytes disagree with the length.
		// printf 'ABCDEFGHIJKLM\x03\x02\x03' | openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 4f46526e6137336d58617a6530317859 -nopad -base64 -A
		name: "inconsistent padding bytes", key: key16, ciphertext: "+Y3jPvDz11Z/BK6TER3mMQ==",
	},
	{
		// A full block of 0x10 except one 0x0f far from the end.
		// printf '\x10\x10\x10\x10\x10\x10\x10\x0f\x10\x10\x10\x10\x10\x10\x10\x10' | openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 4f46526e6137336d58617a6530317859 -nopad -base64 -A
		name: "full padding block with one wrong byte", key: key16, ciphertext: "Is6KqutTPEuJAyVD8qWr3Q==",
	},
	{
		// Valid padding, plaintext not UTF-8.
		// printf '\xff\xfe\x80abc' | openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 4f46526e6137336d58617a6530317859 -base64 -A
		name: "plaintext not UTF-8", key: key16, ciphertext: "lByJt9RRuhjSRh5ID2qbaQ==",
	},
	{
		// The AES-128 JSON vector under another key of the same length.
		name: "wrong key", key: "fedcba9876543210", ciphertext: "cqovZm/ngGcQpaFLuFSju6SUBWCVpGupVaj1+dX0o4c=",
	},
	{name: "empty ciphertext", key: key16, ciphertext: ""},
	{name: "not a multiple of the block size", key: key16, ciphertext: base64.StdEncoding.EncodeToString(make([]byte, 15))},
	{name: "one block and a byte", key: key16, ciphertext: base64.StdEncoding.EncodeToString(make([]byte, 17))},
	{name: "truncated vector", key: key32, ciphertext: "vVbFupUY4ANzFV2l6aaEwdateUzwGQhjewes7u/nmiI="},
}

func TestDecryptRejectsEveryPaddingFailureWithOneError(t *testing.T) {
	for _, v := range rejected {
		t.Run(v.name, func(t *testing.T) {
			pt, err := apigift.Decrypt([]byte(v.key), v.ciphertext)
			if err != apigift.ErrDecrypt { // the very same value: nothing tells the causes apart
				t.Fatalf("Decrypt = %q, %v; want ErrDecrypt", pt, err)
			}
		})
	}
}

// The one accepted padding of a single byte 0x01, for contrast with the above.
// printf 'ABCDEFGHIJKLMNO\x01' | openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 4f46526e6137336d58617a6530317859 -nopad -base64 -A
func TestDecryptAcceptsOneBytePadding(t *testing.T) {
	pt, err := apigift.Decrypt([]byte(key16), "sd7FaOTpYzPRJ6cByUvyPw==")
	if err != nil || string(pt) != "ABCDEFGHIJKLMNO" {
		t.Fatalf("got %q, %v", pt, err)
	}
}

// Every padding length 1..16 round-trips, and every single-byte corruption of
// the padding (as seen after decryption) is rejected.
func TestEveryPaddingLengthAndCorruption(t *testing.T) {
	block, _ := aes.NewCipher([]byte(key16))
	encryptRaw := func(pt []byte) string {
		buf := bytes.Clone(pt)
		cipher.NewCBCEncrypter(block, []byte(apigift.IV)).CryptBlocks(buf, buf)
		return base64.StdEncoding.EncodeToString(buf)
	}
	for n := 1; n <= aes.BlockSize; n++ {
		msg := strings.Repeat("x", 32-n)
		padded := append([]byte(msg), bytes.Repeat([]byte{byte(n)}, n)...)
		if pt, err := apigift.Decrypt([]byte(key16), encryptRaw(padded)); err != nil || string(pt) != msg {
			t.Errorf("pad %d: got %q, %v", n, pt, err)
		}
		for i := len(padded) - n; i < len(padded); i++ {
			for _, bad := range []byte{0, byte(n) ^ 1, byte(n) + 1, 0x80} {
				if bad == byte(n) {
					continue
				}
				c := bytes.Clone(padded)
				c[i] = bad
				if i == len(c)-1 && int(bad) >= 1 && int(bad) <= aes.BlockSize && validPadding(c) {
					continue // the corruption made another valid padding
				}
				if _, err := apigift.Decrypt([]byte(key16), encryptRaw(c)); err != apigift.ErrDecrypt {
					t.Errorf("pad %d, byte %d = %#x: err %v, want ErrDecrypt", n, i, bad, err)
				}
			}
		}
	}
}

func validPadding(b []byte) bool {
	n := int(b[len(b)-1])
	if n < 1 || n > aes.BlockSize {
		return false
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return false
		}
	}
	return true
}

func TestKeyLengths(t *testing.T) {
	for n := 0; n <= 40; n++ {
		key := []byte(strings.Repeat("k", n))
		_, err := apigift.Encrypt(key, []byte("code"))
		valid := n == 16 || n == 24 || n == 32
		if valid && err != nil {
			t.Errorf("%d-byte key: %v", n, err)
		}
		if !valid && !errors.Is(err, apigift.ErrKeyLength) {
			t.Errorf("%d-byte key: err %v, want ErrKeyLength", n, err)
		}
		if _, err := apigift.Decrypt(key, "craIa2DFzWUGlufkmVEKvg=="); !valid && !errors.Is(err, apigift.ErrKeyLength) {
			t.Errorf("Decrypt with %d-byte key: err %v, want ErrKeyLength", n, err)
		}
	}
	// The key is the secretKey's bytes as given: 16 characters of which one is
	// two bytes in UTF-8 make 17 bytes, not a valid key.
	if _, err := apigift.Encrypt([]byte("ñ123456789abcdef"), nil); !errors.Is(err, apigift.ErrKeyLength) {
		t.Errorf("17-byte UTF-8 key: %v", err)
	}
}

func TestDecryptBase64(t *testing.T) {
	const vec = "craIa2DFzWUGlufkmVEKvg=="
	for _, c := range []struct {
		name, in string
		ok       bool
	}{
		{"padded", vec, true},
		{"unpadded", strings.TrimRight(vec, "="), true},
		{"with line break", vec[:8] + "\n" + vec[8:], true},
		{"surrounding space", " " + vec + " ", true},
		{"url alphabet", "a-b_" + vec[4:], false},
		{"not base64", "not base64!", false},
		{"bad padding chars", "craIa2DFzWUGlufkmVEKvg=", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := apigift.Decrypt([]byte(key32), c.in)
			if c.ok && err != nil {
				t.Errorf("err %v", err)
			}
			if !c.ok && !errors.Is(err, apigift.ErrCiphertextEncoding) {
				t.Errorf("err %v, want ErrCiphertextEncoding", err)
			}
		})
	}
}

func TestEncryptRoundTripAllKeyLengths(t *testing.T) {
	for _, key := range []string{key16, key24, key32} {
		for _, pt := range []string{"", "a", strings.Repeat("b", 15), strings.Repeat("c", 16), strings.Repeat("d", 17), `{"codes":["€100"]}`} {
			ct, err := apigift.Encrypt([]byte(key), []byte(pt))
			if err != nil {
				t.Fatal(err)
			}
			got, err := apigift.Decrypt([]byte(key), ct)
			if err != nil || string(got) != pt {
				t.Errorf("key %d bytes, %q: got %q, %v", len(key), pt, got, err)
			}
		}
	}
}
