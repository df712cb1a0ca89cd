//go:build !unix

package testdb

import "time"

// ProcessCPU is 0 where the process's CPU time cannot be read.
func ProcessCPU() time.Duration { return 0 }
