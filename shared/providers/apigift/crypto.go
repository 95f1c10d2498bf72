package apigift

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// IV is the fixed initialisation vector APIGift uses for encryptedVirtualCollections.
const IV = "OFRna73mXaze01xY"

var (
	// ErrKeyLength means a secretKey is not 16, 24 or 32 bytes long.
	ErrKeyLength = errors.New("apigift: secretKey must be 16, 24 or 32 bytes (AES-128/192/256)")
	// ErrCiphertextEncoding means the ciphertext field is not base64.
	ErrCiphertextEncoding = errors.New("apigift: ciphertext is not valid base64")
	// ErrDecrypt means the ciphertext does not decrypt with the key. It is one
	// error for every cause (length, padding, UTF-8) so that nothing observable
	// distinguishes them: no padding oracle.
	ErrDecrypt = errors.New("apigift: ciphertext does not decrypt with the configured key")
)

// newCipher returns the AES block cipher for a secretKey taken byte for byte.
func newCipher(key []byte) (cipher.Block, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("%w (got %d bytes)", ErrKeyLength, len(key))
	}
	return aes.NewCipher(key)
}

// Encrypt returns base64(AES-CBC(key, IV, PKCS#7(plaintext))) exactly as APIGift
// produces encryptedVirtualCollections. For samples, tests and local tools.
func Encrypt(key, plaintext []byte) (string, error) {
	block, err := newCipher(key)
	if err != nil {
		return "", err
	}
	n := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+n)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(n)
	}
	cipher.NewCBCEncrypter(block, []byte(IV)).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// Decrypt reverses Encrypt: base64, AES-CBC with IV, strict PKCS#7, UTF-8. A
// bad encoding is ErrCiphertextEncoding; every other failure is ErrDecrypt.
// The caller owns the plaintext and should Wipe it when done.
func Decrypt(key []byte, ciphertextB64 string) ([]byte, error) {
	block, err := newCipher(key)
	if err != nil {
		return nil, err
	}
	return decrypt(block, ciphertextB64)
}

func decrypt(block cipher.Block, ciphertextB64 string) ([]byte, error) {
	ct, err := decodeBase64(ciphertextB64)
	if err != nil {
		return nil, err
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	cipher.NewCBCDecrypter(block, []byte(IV)).CryptBlocks(ct, ct)
	n, ok := unpadLen(ct)
	pt := ct[:len(ct)-n]
	if !ok || !utf8.Valid(pt) {
		Wipe(ct)
		return nil, ErrDecrypt
	}
	return pt, nil
}

// unpadLen checks PKCS#7 padding of buf (a non-empty multiple of the block
// size) and returns the padding length. It looks at the whole last block
// whatever the padding byte says, so its time does not depend on the padding.
func unpadLen(buf []byte) (int, bool) {
	last := buf[len(buf)-aes.BlockSize:]
	n := last[aes.BlockSize-1]
	// 1 <= n <= BlockSize
	good := subtle.ConstantTimeLessOrEq(1, int(n)) & subtle.ConstantTimeLessOrEq(int(n), aes.BlockSize)
	for i := 0; i < aes.BlockSize; i++ {
		// Byte i from the end of the block is padding when i < n; it must equal n.
		inPad := subtle.ConstantTimeLessOrEq(i+1, int(n))
		eq := subtle.ConstantTimeByteEq(last[aes.BlockSize-1-i], n)
		good &= eq | (inPad ^ 1)
	}
	if good != 1 {
		return 0, false
	}
	return int(n), true
}

// decodeBase64 accepts standard base64, padded or not; line breaks are ignored.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	if !strings.HasSuffix(s, "=") {
		if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, ErrCiphertextEncoding
}

// Wipe overwrites b with zeros (best effort: a plaintext should not linger).
func Wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// decrypts reports whether ciphertextB64 decrypts under block (base64 of AES
// blocks with valid PKCS#7 padding and UTF-8 plaintext); the plaintext is
// wiped at once.
func decrypts(block cipher.Block, ciphertextB64 string) bool {
	if block == nil {
		return false
	}
	pt, err := decrypt(block, ciphertextB64)
	if err != nil {
		return false
	}
	Wipe(pt[:cap(pt)])
	return true
}
