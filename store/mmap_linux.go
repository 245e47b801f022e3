package store

import (
	"os"

	"golang.org/x/sys/unix"
)

var pageSize = os.Getpagesize()

// mapSegment allocates size bytes of f's blocks and maps them shared.
func mapSegment(f *os.File, size int) ([]byte, error) {
	if err := unix.Fallocate(int(f.Fd()), 0, 0, int64(size)); err != nil {
		// Filesystems without fallocate: a sparse file, then.
		if err := f.Truncate(int64(size)); err != nil {
			return nil, err
		}
	}
	return unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

func msync(b []byte) error { return unix.Msync(b, unix.MS_SYNC) }

func unmap(b []byte) error { return unix.Munmap(b) }
