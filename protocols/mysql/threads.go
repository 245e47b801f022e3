package mysql

import (
	"sync"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/broker"
)

// threads maps the thread ids the broker gives its clients (in the greeting,
// the id a client names in KILL QUERY when its user presses Ctrl-C) to the
// upstream's thread ids and to who owns them. Ids are the broker's own
// because the greeting goes out before the upstream is dialled — and so that
// a client can only name its own user's sessions, never another user's thread
// on the shared upstream login.
type threads struct {
	mu   sync.Mutex
	next uint32
	byID map[uint32]*thread // guarded by mu
}

// thread is one client connection of the endpoint.
type thread struct {
	upstream uint32 // 0 until logged in upstream
	subject  string
	issuer   string
}

func newThreads() *threads { return &threads{byID: map[uint32]*thread{}} }

// reserve allocates a thread id for a new client connection.
func (t *threads) reserve() uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		t.next++
		if t.next == 0 {
			continue
		}
		if _, used := t.byID[t.next]; !used {
			t.byID[t.next] = &thread{}
			return t.next
		}
	}
}

// bind records the upstream thread and the owner of id once it is logged in.
func (t *threads) bind(id, upstream uint32, who *broker.Identity) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byID[id] = &thread{upstream: upstream, subject: who.Principal.Subject, issuer: who.Principal.Issuer}
}

func (t *threads) release(id uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byID, id)
}

// lookup returns the upstream thread of id for a KILL by who, or the error
// the server would give: no such thread, or not its owner.
func (t *threads) lookup(id uint64, who *broker.Identity) (uint32, *errPacket) {
	t.mu.Lock()
	defer t.mu.Unlock()
	th, ok := t.byID[uint32(id)]
	if !ok || id > 0xffffffff || th.upstream == 0 {
		return 0, newErr(gm.ER_NO_SUCH_THREAD, "Unknown thread id: %d", id)
	}
	if th.subject != who.Principal.Subject || th.issuer != who.Principal.Issuer {
		return 0, newErr(gm.ER_KILL_DENIED_ERROR, "You are not owner of thread %d", id)
	}
	return th.upstream, nil
}
