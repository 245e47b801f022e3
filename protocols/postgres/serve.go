package postgres

import (
	"context"
	"net"

	"github.com/hoophq/hoop/broker"
)

// Serve serves Postgres clients on ln for the endpoint's connection.
func Serve(ctx context.Context, ln net.Listener, ep *broker.Endpoint) error {
	<-ctx.Done()
	return nil
}
