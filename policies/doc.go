// Package policies loads class-based policy files (YAML, one class per file)
// with inheritance, and answers what a class may run and which limits hold.
// The DRM, the node agent and GISH are its callers.
package policies
