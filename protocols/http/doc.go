// Package http serves internal HTTP services through the broker, and is the
// reverse-proxy core that protocols/kube specialises.
//
// # Requests
//
// A caller authenticates every request with Authorization: Bearer <token>.
// The broker verifies it, strips it, and sends the connection's upstream
// credential instead; the caller's identity goes upstream as X-Hoop-User and a
// short-lived assertion signed with the broker's key (broker.Session.Assertion),
// which the service verifies with the broker's public key. A request that sets
// a header the broker owns (X-Hoop-*, Impersonate-*, the assertion header) is
// refused by the policy and recorded as such.
//
// # Sessions
//
// Requests are grouped into recorded sessions: by default one per client
// connection and token; a Dialect may group several connections (kubectl's
// Kubectl-Session header groups one kubectl invocation). A session ends when
// its last connection closes and no request of it is in flight.
//
// # Recording
//
// Every request is a command event (method, path, query, headers with secrets
// redacted, the start of the body) made durable before the request goes
// upstream; every response a result event (status, headers, the start of the
// body, byte counts) appended when the body has been relayed. Bodies flow
// through as they arrive: streaming responses (chunked, server-sent events,
// watches) are flushed per write, and upgraded connections (WebSocket) are
// relayed both ways, never buffered whole.
package http
