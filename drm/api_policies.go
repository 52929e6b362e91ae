package drm

import (
	"net/http"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/drm/store"
)

// handlePolicyClasses lists the classes of the policy set in force.
func (s *Server) handlePolicyClasses(w http.ResponseWriter, _ *http.Request, _ store.User) {
	set := s.pol.Current()
	out := []client.PolicyClass{}
	for _, name := range set.Names() {
		c, _ := set.Class(name)
		out = append(out, client.PolicyClass{Name: c.Name, Description: c.Description, Inherits: c.Inherits})
	}
	writeJSON(w, http.StatusOK, out)
}

// handlePolicyStatus tells administrators whether the last policy edit
// loaded, and if not, every problem with file, line and key.
func (s *Server) handlePolicyStatus(w http.ResponseWriter, _ *http.Request, u store.User) {
	if !u.Admin {
		writeError(w, http.StatusForbidden, "forbidden", "only an administrator may see the policy status")
		return
	}
	st := client.PolicyStatus{Classes: s.pol.Current().Names(), Problems: []client.PolicyProblem{}}
	for _, p := range s.PolicyProblems() {
		st.Problems = append(st.Problems, client.PolicyProblem{File: p.File, Line: p.Line, Key: p.Key, Message: p.Msg})
	}
	writeJSON(w, http.StatusOK, st)
}
