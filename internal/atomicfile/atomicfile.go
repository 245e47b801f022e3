// Package atomicfile writes files that are either wholly there or not there at
// all: through a temporary file in the same directory, synced, then renamed
// over the target. The broker writes its keys and certificates with it, so a
// crash never leaves half a key, and two listeners generating the same key at
// once end up agreeing on one.
package atomicfile

import (
	"os"
	"path/filepath"
)

// WriteFile writes data to path with mode perm, replacing any file there. The
// temporary file is removed if anything fails; readers of path see either the
// old contents or the new, never a part.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename, a no-op
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
