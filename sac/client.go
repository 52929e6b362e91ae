package sac

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// Ask sends one request to the SAC socket and returns the decision. GISH
// calls it before every exec; the node agent identifies the caller itself.
func Ask(socketPath, app string, argv []string) (Decision, error) {
	c, err := net.DialTimeout("unix", socketPath, 2*time.Second)
	if err != nil {
		return Decision{}, fmt.Errorf("sac: dial %s: %w", socketPath, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := json.Marshal(Request{App: app, Argv: argv})
	if err != nil {
		return Decision{}, err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return Decision{}, fmt.Errorf("sac: send: %w", err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return Decision{}, fmt.Errorf("sac: read reply: %w", err)
	}
	var d Decision
	if err := json.Unmarshal(line, &d); err != nil {
		return Decision{}, fmt.Errorf("sac: bad reply %q: %w", line, err)
	}
	return d, nil
}
