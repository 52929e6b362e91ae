package cgroup

import (
	"context"
	"time"
)

// deleteRetry removes a group whose processes were just killed. cgroup.procs
// lists thread-group leaders only, so it can read empty while the last
// threads of a killed multithreaded process are still leaving (rmdir then
// fails with EBUSY); retry, killing again, until the group goes or ctx ends.
func deleteRetry(ctx context.Context, del func() error, kill func() error) error {
	for {
		err := del()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
		_ = kill()
	}
}
