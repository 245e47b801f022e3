package main

import (
	"net/http"
	"sync"
)

// podLogs keeps each pod's log in memory; followers get appended lines as
// they come.
type podLogs struct {
	mu    sync.Mutex
	lines map[string][]string
	wake  map[string]chan struct{}
}

func newLogs() *podLogs {
	return &podLogs{lines: map[string][]string{}, wake: map[string]chan struct{}{}}
}

func (l *podLogs) append(pod, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines[pod] = append(l.lines[pod], line)
	if ch, ok := l.wake[pod]; ok {
		close(ch)
	}
	l.wake[pod] = make(chan struct{})
}

// since returns the lines from i on and a channel closed at the next append.
func (l *podLogs) since(pod string, i int) ([]string, chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch, ok := l.wake[pod]
	if !ok {
		ch = make(chan struct{})
		l.wake[pod] = ch
	}
	all := l.lines[pod]
	if i > len(all) {
		i = len(all)
	}
	return all[i:], ch
}

func (l *podLogs) serve(w http.ResponseWriter, r *http.Request, pod string, follow bool) {
	w.Header().Set("Content-Type", "text/plain")
	n := 0
	for {
		lines, wake := l.since(pod, n)
		for _, s := range lines {
			if _, err := w.Write([]byte(s)); err != nil {
				return
			}
		}
		n += len(lines)
		w.(http.Flusher).Flush()
		if !follow {
			return
		}
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		}
	}
}
