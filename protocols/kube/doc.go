// Package kube serves a kubectl-compatible endpoint in front of a Kubernetes
// API server, built on the reverse-proxy core of protocols/http.
//
// # Identity
//
// Callers authenticate with a bearer token (kubectl's token, or the exec
// credential plugin hoopctl kube-credential). The broker talks to the API
// server with the connection's own credential (a service-account token or a
// client certificate, the API server's CA pinned) and impersonates the caller:
// Impersonate-User, Impersonate-Group, and Impersonate-Extra-Hoop-Session and
// Impersonate-Extra-Hoop-Actors, so that the cluster's RBAC and audit log
// apply to the real user. Impersonate-* headers sent by a client are refused.
//
// # Recording
//
// Each API call is a command (verb, group/version/resource, namespace, name,
// request body) recorded before it is forwarded, and its response a result
// (status, kind, item count). Secret data and stringData values, and the
// last-applied-configuration annotation that repeats them, are redacted from
// every recorded body; a body that cannot be redacted is not recorded. Watches
// and logs -f stream through as they arrive.
//
// # Streams
//
// exec and attach are terminated on both sides, over WebSocket (the
// v5.channel.k8s.io family of channel protocols) or SPDY/3.1, so that their
// terminal becomes input, output and resize events and their exit status a
// result, the same events SSH sessions record. port-forward (WebSocket
// tunnelling or SPDY) is relayed as opaque bytes and recorded as its command
// and byte counts.
package kube
