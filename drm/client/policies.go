package client

import (
	"context"
	"net/http"
)

// PolicyClass is one class of GET /policies/classes.
type PolicyClass struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Inherits    []string `json:"inherits"`
}

// PolicyStatus is GET /admin/policies: the classes in force and the
// problems of the last rejected edit (empty when the last edit loaded).
type PolicyStatus struct {
	Classes  []string        `json:"classes"`
	Problems []PolicyProblem `json:"problems"`
}

// PolicyProblem is one problem of a rejected policy edit.
type PolicyProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Key     string `json:"key"`
	Message string `json:"message"`
}

// PolicyClasses lists the classes of the policy set in force.
func (c *Client) PolicyClasses(ctx context.Context) ([]PolicyClass, error) {
	var out []PolicyClass
	return out, c.do(ctx, http.MethodGet, "/policies/classes", nil, &out)
}

// PolicyStatus is the administrators' view of the policy set (403 for
// others).
func (c *Client) PolicyStatus(ctx context.Context) (*PolicyStatus, error) {
	var out PolicyStatus
	if err := c.do(ctx, http.MethodGet, "/admin/policies", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
