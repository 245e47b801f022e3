// Package admin is the broker's admin API, which hoopctl talks to, and a small
// client for it.
//
// # Routes
//
// Every request carries "Authorization: Bearer <admin token>"; errors are JSON
// objects {"error": "..."} with a fitting status code.
//
//	GET  /v1/sessions?connection=&user=&since=&limit=   []session.Info, newest first
//	GET  /v1/sessions/{id}                               session.Info
//	GET  /v1/sessions/{id}/records?after=N&follow=1      NDJSON {"seq":N,"data":"<base64 record>"}
//	GET  /v1/keys                                        {"keys":[{"id":..., "pem":...}]}
//	POST /v1/tokens {user, groups, ttl, actors, parent}  {"token":..., "expires_at":...}
//
// Records are sent as stored, framed and hash-chained: the client verifies and
// decodes them itself (session.NewChain), so reading through the API and
// reading a stopped broker's store share one code path. With follow=1 the
// stream goes on as the recorder commits, until session.end, the end of a
// session that can no longer be sealed, or the client going away.
package admin
