package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/atomicfile"
)

// hostKey loads the broker's host key for a connection, generating the default
// one into the data dir when it is missing.
func hostKey(s *config.SSH) (ssh.Signer, error) {
	hostKeyMu.Lock() // connections sharing the generated key start at once
	defer hostKeyMu.Unlock()
	b, err := os.ReadFile(s.HostKey)
	if errors.Is(err, fs.ErrNotExist) && s.GenerateHostKey {
		return generateHostKey(s.HostKey)
	}
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	k, err := ssh.ParsePrivateKey(b)
	if err != nil {
		// The parser's messages never quote the key.
		return nil, fmt.Errorf("host key %s: %w", s.HostKey, err)
	}
	return k, nil
}

var hostKeyMu sync.Mutex

// generateHostKey writes a new ed25519 key (OpenSSH format, 0600) and its
// public key beside it (.pub), the way ssh-keygen lays them out.
func generateHostKey(path string) (ssh.Signer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(key, "hoop broker host key")
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if err := atomicfile.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	return signer, nil
}
