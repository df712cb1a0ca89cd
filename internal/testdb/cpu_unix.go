//go:build unix

package testdb

import (
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time (user and system) the process has used;
// benchmarks report it per operation, as wall time on a shared machine
// says little.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
