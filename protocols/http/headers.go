package http

import (
	"net/http"
	"strings"
)

// Redacted replaces a secret header value in recordings.
const Redacted = "[redacted]"

// alwaysRedacted are headers whose values are credentials.
var alwaysRedacted = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Auth-Token"}

func redactSet(extra []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range append(alwaysRedacted, extra...) {
		m[http.CanonicalHeaderKey(n)] = true
	}
	return m
}

// redactHeader copies h for the recording, secret values replaced.
func (p *Proxy) redactHeader(h http.Header) map[string][]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		if p.redact[k] {
			out[k] = []string{Redacted}
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// ReservedPrefix reports the first header of h whose canonical name starts
// with one of prefixes, or equals one of them.
func ReservedPrefix(h http.Header, prefixes ...string) string {
	for k := range h {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				return k
			}
		}
	}
	return ""
}
