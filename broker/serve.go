package broker

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Serve is the accept loop every protocol shares. It accepts clients on ln
// and calls handle for each on a goroutine of its own, until ctx is done or
// accepting fails; ln is closed when ctx is done.
//
// handle gets a context of its connection's own, canceled when Serve stops
// (ctx is done, or accepting failed) and once handle has returned. When it is
// canceled, handle must make its client end and return: watch ctx, or have
// context.AfterFunc close what blocks. Serve closes c once handle returns.
//
// Serve returns only after every handle has returned, so the caller may close
// the recorder right after it. It returns nil when ctx ended it or ln was
// closed, else the accept error. Temporary accept errors (out of file
// descriptors and the like) are retried after a pause that doubles from 5ms to
// 1s, as net/http does.
func (e *Endpoint) Serve(ctx context.Context, ln net.Listener, handle func(ctx context.Context, c net.Conn)) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
					continue
				case <-ctx.Done():
					return nil
				}
			}
			return err
		}
		delay = 0
		cctx, ccancel := context.WithCancel(ctx)
		wg.Go(func() {
			defer ccancel()
			defer c.Close()
			handle(cctx, c)
		})
	}
}

// isTemporary reports an accept error worth retrying.
func isTemporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var t interface{ Temporary() bool } // net.Error's Temporary is deprecated, not gone
	return errors.As(err, &t) && t.Temporary()
}
