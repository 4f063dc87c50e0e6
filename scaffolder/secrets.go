package scaffolder

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SecretKeySize is the length of a Sealer's key: AES-256.
const SecretKeySize = 32

// Sealer encrypts a task's secrets for the time they rest in the
// database (a task resumed by another process needs them), with
// AES-256-GCM and the task's id as additional data, so a sealed value
// copied onto another task does not open. Backstage stores them in
// plain text.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a sealer with a SecretKeySize-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("scaffolder secrets key: %d bytes; want %d", len(key), SecretKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// LoadOrCreateKey reads the base64 key in path, or creates it (mode 0600)
// when the file does not exist. Replicas sharing one PostgreSQL database
// must share the key: a task resumed by a replica with another key
// fails, saying so.
func LoadOrCreateKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, SecretKeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		// O_EXCL: two processes starting at once keep one key.
		fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return LoadOrCreateKey(path)
		}
		if err != nil {
			return nil, err
		}
		_, werr := fh.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		if err := errors.Join(werr, fh.Close()); err != nil {
			return nil, fmt.Errorf("write scaffolder secrets key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != SecretKeySize {
		// The file's content is never quoted: it is a key.
		return nil, fmt.Errorf("scaffolder secrets key %s: not %d bytes of base64", path, SecretKeySize)
	}
	return key, nil
}

// Seal encrypts secrets for task id; no secrets seal to "".
func (s *Sealer) Seal(id string, secrets map[string]string) (string, error) {
	if len(secrets) == 0 {
		return "", nil
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := s.aead.Seal(nonce, nonce, plain, []byte(id))
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// Open decrypts what Seal returned for task id.
func (s *Sealer) Open(id, sealed string) (map[string]string, error) {
	if sealed == "" {
		return nil, nil
	}
	data, err := base64.StdEncoding.DecodeString(sealed)
	n := s.aead.NonceSize()
	if err != nil || len(data) < n {
		return nil, fmt.Errorf("task %s: its sealed secrets are damaged", id)
	}
	plain, err := s.aead.Open(nil, data[:n], data[n:], []byte(id))
	if err != nil {
		return nil, fmt.Errorf("task %s: its secrets do not open with this server's key (replicas must share the scaffolder secrets key)", id)
	}
	var out map[string]string
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, fmt.Errorf("task %s: decode secrets: %w", id, err)
	}
	return out, nil
}
