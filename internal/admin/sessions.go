package admin

import (
	"net/http"
)

// GET /v1/sessions?connection=&user=&since=&limit=
func (s *Server) sessions(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFilter(r.URL.Query(), s.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, err := List(s.cfg.Store, f)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// GET /v1/sessions/{id}
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	info, err := Get(s.cfg.Store, r.PathValue("id"))
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}
