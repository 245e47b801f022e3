package ssh_test

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/session"
)

// randomFile writes size random bytes and returns the path and its SHA-256.
func randomFile(t *testing.T, dir, name string, size int64) (string, string) {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	return p, fmt.Sprintf("%x", h.Sum(nil))
}

func sum(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestSCP: a multi-MiB file both ways with scp (SFTP underneath, the default
// since OpenSSH 9) and with the legacy scp protocol (-O), checksums matching.
func TestSCP(t *testing.T) {
	e := newEnv(t, connOpts{})
	tok := e.Token(t, "alice", "ops")
	local := t.TempDir()
	src, want := randomFile(t, local, "blob", 5<<20+123)
	remote := e.sshd.Files
	n := 0
	for _, legacy := range []bool{false, true} {
		name := map[bool]string{false: "scp", true: "scp -O"}[legacy]
		var flags []string
		if legacy {
			flags = []string{"-O"}
		}
		up := filepath.Join(remote, fmt.Sprintf("up-%v", legacy))
		args := append(append([]string{"-q", "-P", e.port("box")}, flags...), src, "u@127.0.0.1:"+up)
		if _, stderr, code := run(t, e.command("scp", auth{token: tok}, args...)); code != 0 {
			t.Fatalf("%s upload: exit %d: %s", name, code, stderr)
		}
		n++
		if got := sum(t, up); got != want {
			t.Errorf("%s upload: checksum %s; want %s", name, got, want)
		}
		upInfo := e.last(n)
		down := filepath.Join(local, fmt.Sprintf("down-%v", legacy))
		args = append(append([]string{"-q", "-P", e.port("box")}, flags...), "u@127.0.0.1:"+up, down)
		if _, stderr, code := run(t, e.command("scp", auth{token: tok}, args...)); code != 0 {
			t.Fatalf("%s download: exit %d: %s", name, code, stderr)
		}
		n++
		if got := sum(t, down); got != want {
			t.Errorf("%s download: checksum %s; want %s", name, got, want)
		}
		downInfo := e.last(n)
		if legacy {
			// The scp protocol is an exec'd command: its line is recorded,
			// and the bytes are counted past the recording cap.
			for _, tc := range []struct {
				info session.Info
				cmd  string
			}{{upInfo, "scp -t " + up}, {downInfo, "scp -f " + up}} {
				cmds := e.recorded(tc.info.ID).CommandsOf("")
				if len(cmds) != 1 || cmds[0].Type != "exec" || !strings.HasPrefix(cmds[0].Text, "scp ") || !strings.HasSuffix(cmds[0].Text, up) {
					t.Errorf("%s: commands %+v; want %q", name, cmds, tc.cmd)
				}
				res := e.recorded(tc.info.ID).Results
				if len(res) != 1 || res[0].Exit == nil || res[0].Exit.Status != 0 || !res[0].Truncated || res[0].BytesIn+res[0].BytesOut < 5<<20 {
					t.Errorf("%s: results %+v", name, res)
				}
			}
			continue
		}
		// Over SFTP the file operations are the record: open with the path,
		// and close with the bytes written or read.
		checkFileOps(t, e, upInfo.ID, up, "write", 5<<20+123, 0)
		checkFileOps(t, e, downInfo.ID, up, "read", 0, 5<<20+123)
	}
}

// checkFileOps checks that a session opened path (with flags containing
// mode) and closed it with the byte counts.
func checkFileOps(t *testing.T, e *env, id, path, mode string, written, read int64) {
	t.Helper()
	var open, closed uint64
	for _, ev := range e.Events(t, id) {
		if ev.Kind != session.KindCommand {
			continue
		}
		c := brokertest.Payload[session.Command](t, ev)
		switch {
		case c.Type == "sftp.open" && len(c.Params) == 1 && *c.Params[0] == path && strings.Contains(c.Text, mode) && open == 0:
			open = ev.Seq
		case c.Type == "sftp.close" && c.Text == "close "+path && open != 0 && closed == 0:
			closed = ev.Seq
		}
	}
	if open == 0 || closed == 0 {
		t.Errorf("session %s: want sftp.open (%s) and sftp.close of %s; commands %+v", id, mode, path, e.recorded(id).CommandsOf(""))
		return
	}
	for _, r := range e.recorded(id).Results {
		if r.Command == closed {
			if r.BytesIn != written || r.BytesOut != read || r.Error != nil {
				t.Errorf("close result %+v; want %d written, %d read", r, written, read)
			}
			return
		}
	}
	t.Errorf("no result for the close of %s", path)
}

// TestSFTP: an sftp batch of put, get, mkdir, rename and rm, each recorded
// as a file operation with its path.
func TestSFTP(t *testing.T) {
	local := t.TempDir()
	// sftp -b allows no password prompt: a batch logs in with a bound key.
	key := keygen(t, local, "robot")
	e := newEnv(t, connOpts{ssh: "      keys:\n        - key: " + pubLine(t, key) + "\n          user: robot\n          groups: [ops]\n"})
	src, want := randomFile(t, local, "data.bin", 3<<20)
	dir := e.sshd.Files
	batch := filepath.Join(local, "batch")
	brokertest.WriteFile(t, batch, fmt.Sprintf(`put %s %s/a.bin
get %s/a.bin %s/back.bin
mkdir %s/sub
rename %s/a.bin %s/sub/b.bin
rm %s/sub/b.bin
rmdir %s/sub
-rm %s/missing
`, src, dir, dir, local, dir, dir, dir, dir, dir, dir))
	stdout, stderr, code := run(t, e.command("sftp", auth{key: key}, "-b", batch, "-P", e.port("box"), "u@127.0.0.1"))
	if code != 0 {
		t.Fatalf("sftp: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if got := sum(t, filepath.Join(local, "back.bin")); got != want {
		t.Errorf("get: checksum %s; want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("sub still exists: %v", err)
	}
	info := e.last(1)
	checkFileOps(t, e, info.ID, dir+"/a.bin", "write", 3<<20, 0)
	checkFileOps(t, e, info.ID, dir+"/a.bin", "read", 0, 3<<20)
	var texts []string
	for _, c := range e.recorded(info.ID).CommandsOf("") {
		if c.Type != "sftp.open" && c.Type != "sftp.close" && c.Type != "sftp.opendir" {
			texts = append(texts, c.Text)
		}
	}
	wantOps := []string{
		"subsystem",
		"mkdir " + dir + "/sub",
		"posix-rename@openssh.com " + dir + "/a.bin " + dir + "/sub/b.bin",
		"remove " + dir + "/sub/b.bin",
		"rmdir " + dir + "/sub",
		"remove " + dir + "/missing",
	}
	texts[0] = "subsystem" // "sftp"
	if strings.Join(texts, "\n") != strings.Join(wantOps, "\n") {
		t.Errorf("file operations:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(wantOps, "\n"))
	}
	// The failed remove has its error.
	found := false
	for _, r := range e.recorded(info.ID).Results {
		if r.Error != nil && r.Error.Code == "SSH_FX_NO_SUCH_FILE" {
			found = true
		}
	}
	if !found {
		t.Errorf("results %+v; want the NO_SUCH_FILE of the last remove", e.recorded(info.ID).Results)
	}
	// The replay's transcript lists the file operations and their outcome.
	_, transcript, code := e.Hoopctl("replay", info.ID, "--no-timing")
	for _, want := range []string{"robot> open " + dir + "/a.bin write,create,truncate", "robot> close " + dir + "/a.bin",
		": 3.0 MiB in, 0 B out", ": 0 B in, 3.0 MiB out", "robot> remove " + dir + "/missing", "SSH_FX_NO_SUCH_FILE", "verification: sealed"} {
		if code != 0 || !strings.Contains(transcript, want) {
			t.Errorf("replay (exit %d) lacks %q:\n%s", code, want, transcript)
		}
	}
}

// TestRsync: rsync -e ssh through the broker, both ways.
func TestRsync(t *testing.T) {
	e := newEnv(t, connOpts{})
	local := t.TempDir()
	tree := filepath.Join(local, "tree")
	os.MkdirAll(filepath.Join(tree, "d"), 0o755)
	_, want1 := randomFile(t, tree, "one", 1<<20)
	_, want2 := randomFile(t, filepath.Join(tree, "d"), "two", 200<<10)
	// rsync runs ssh with this command line; the token comes from askpass.
	rsh := "ssh " + strings.Join(e.clientOpts(), " ") + " -o PubkeyAuthentication=no -p " + e.port("box")
	up := e.command("rsync", auth{token: e.Token(t, "alice", "ops")})
	up.Args = []string{"rsync", "-a", "-e", rsh, tree + "/", "u@127.0.0.1:" + e.sshd.Files + "/tree/"}
	if _, stderr, code := run(t, up); code != 0 {
		t.Fatalf("rsync up: exit %d: %s", code, stderr)
	}
	if sum(t, filepath.Join(e.sshd.Files, "tree/one")) != want1 || sum(t, filepath.Join(e.sshd.Files, "tree/d/two")) != want2 {
		t.Error("rsync up: checksums differ")
	}
	back := filepath.Join(local, "back")
	down := e.command("rsync", auth{token: e.Token(t, "alice", "ops")})
	down.Args = []string{"rsync", "-a", "-e", rsh, "u@127.0.0.1:" + e.sshd.Files + "/tree/", back + "/"}
	if _, stderr, code := run(t, down); code != 0 {
		t.Fatalf("rsync down: exit %d: %s", code, stderr)
	}
	if sum(t, filepath.Join(back, "one")) != want1 || sum(t, filepath.Join(back, "d/two")) != want2 {
		t.Error("rsync down: checksums differ")
	}
	for _, info := range e.ended(2) {
		cmds := e.recorded(info.ID).CommandsOf("")
		if len(cmds) != 1 || cmds[0].Type != "exec" || !strings.HasPrefix(cmds[0].Text, "rsync --server") {
			t.Errorf("commands %+v; want the rsync --server line", cmds)
		}
	}
}
