package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	for _, tc := range []struct {
		data string
		perm os.FileMode
	}{
		{"first", 0o600},
		{"second, replacing the first", 0o644},
	} {
		if err := WriteFile(path, []byte(tc.data), tc.perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != tc.data {
			t.Fatalf("got %q, %v; want %q", got, err, tc.data)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != tc.perm {
			t.Fatalf("mode %v, %v; want %v", fi.Mode().Perm(), err, tc.perm)
		}
	}
	// No temporary file is left behind.
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("dir holds %d entries; want only the file", len(ents))
	}
	// A directory that does not exist is an error, not a panic.
	if err := WriteFile(filepath.Join(dir, "missing", "key"), nil, 0o600); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}
