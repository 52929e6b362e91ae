// Package client is the Go client of the DRM's HTTP API under /api/v1. The
// igrid CLI, the web portal and tests use it; every non-2xx answer comes
// back as an *APIError carrying the API's error code and message.
package client
