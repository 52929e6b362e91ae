// Package webportal is the web portal: server-rendered pages over the DRM's
// HTTP API for logging in, requesting a session and following one's sessions.
package webportal
