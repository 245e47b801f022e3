package ssh

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hoophq/hoop/config"
)

// TestHostKey: the key is generated once, kept (0600, with its .pub), and
// the same key comes back on the next start, also when listeners start at
// once.
func TestHostKey(t *testing.T) {
	s := &config.SSH{HostKey: filepath.Join(t.TempDir(), "ssh", "host_ed25519_key"), GenerateHostKey: true}
	keys := make([][]byte, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := hostKey(s)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k.PublicKey().Marshal()
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("listeners starting at once got different host keys")
		}
	}
	fi, err := os.Stat(s.HostKey)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	if _, err := os.Stat(s.HostKey + ".pub"); err != nil {
		t.Fatal(err)
	}
	again, err := hostKey(s)
	if err != nil || !bytes.Equal(again.PublicKey().Marshal(), keys[0]) {
		t.Fatalf("restart: %v; want the same key", err)
	}
	// A configured key that is missing is an error, never generated.
	if _, err := hostKey(&config.SSH{HostKey: s.HostKey + "-missing"}); err == nil {
		t.Error("a missing configured host key was accepted")
	}
}
