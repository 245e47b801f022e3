package kube

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Status is the Kubernetes API's error document (meta/v1 Status), which
// kubectl shows as it is.
type Status struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   struct{}       `json:"metadata"`
	Status     string         `json:"status,omitempty"`
	Message    string         `json:"message,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Details    *StatusDetails `json:"details,omitempty"`
	Code       int            `json:"code,omitempty"`
}

// StatusDetails carries the causes of a Status (an exec's exit code).
type StatusDetails struct {
	Causes []StatusCause `json:"causes,omitempty"`
}

// StatusCause is one cause of a Status.
type StatusCause struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// writeStatus answers with a failure Status.
func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(&Status{
		Kind: "Status", APIVersion: "v1", Status: "Failure",
		Message: msg, Reason: reason, Code: code,
	})
}

// exitStatus reads the status an exec or attach stream ends with: nil error
// and code 0 for success; otherwise the exit code ("" when the command did
// not exit but failed) and the message.
func exitStatus(b []byte) (code string, msg string, ok bool) {
	var st Status
	if err := json.Unmarshal(b, &st); err != nil || st.Status == "" {
		if len(b) == 0 {
			return "", "", false
		}
		// Before v4 the error channel carried plain text.
		return "", string(b), true
	}
	if st.Status == "Success" {
		return "0", "", true
	}
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			if c.Reason == "ExitCode" {
				if _, err := strconv.Atoi(c.Message); err == nil {
					return c.Message, st.Message, true
				}
			}
		}
	}
	return "", st.Message, true
}
