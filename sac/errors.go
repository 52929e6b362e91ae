package sac

import "errors"

var (
	// ErrBadRequest is returned for a request line that is not one JSON
	// object with a non-empty "app".
	ErrBadRequest = errors.New("sac: bad request")
	// ErrUnknownSession is returned when the state has no session of that id.
	ErrUnknownSession = errors.New("sac: unknown session")
	// ErrNoConfig is returned when a controller or server lacks a required part.
	ErrNoConfig = errors.New("sac: missing configuration")
)
