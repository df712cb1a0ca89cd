package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat. Linux fixes it
// at 100 for user space on every architecture Go supports (getconf CLK_TCK).
const userHZ = 100

// readCPU returns the user plus system CPU time a process has used so far,
// over all its threads.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses and
// may itself hold spaces and parentheses, so fields are counted after the
// last closing parenthesis.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat format: %d fields", len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc stat format: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// readMachineBusy returns the CPU time all processors of the machine have
// spent on anything but idling, from the first line of /proc/stat.
func readMachineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseMachineBusy(b)
}

func parseMachineBusy(b []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat format")
	}
	var busy int64
	for i, s := range f[1:] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc/stat format: %w", err)
		}
		// user nice system idle iowait irq softirq steal guest guest_nice:
		// skip idle and iowait, and guest time, which user already counts.
		// Steal (time a hypervisor gave to other machines) counts as busy:
		// it slows the figures as much as a local process does.
		if i != 3 && i != 4 && i < 8 {
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / userHZ, nil
}

// readBackendsCPU returns the CPU time used so far by the PostgreSQL
// backends that serve database: the children of the postmaster whose
// process title ("postgres: [cluster:] user database host ...") names it.
// A backend that exits during a workload takes its time with it, so pooled
// connections, which live on, are what this measures well.
func readBackendsCPU(postmaster int, database string) (time.Duration, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || parsePPID(stat) != postmaster {
			continue // gone, or not a backend
		}
		title, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !slices.Contains(strings.Fields(strings.ReplaceAll(string(title), "\x00", " ")), database) {
			continue
		}
		cpu, err := parseStatCPU(stat)
		if err != nil {
			return 0, err
		}
		total += cpu
	}
	return total, nil
}

// parsePPID returns the parent process id (field 4) of a /proc/<pid>/stat
// line, or -1.
func parsePPID(b []byte) int {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return -1
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return n
}

// memory is a process's resident memory now and at its peak.
type memory struct {
	RSS  int64 // bytes
	Peak int64 // bytes (VmHWM)
}

// readMemory reads VmRSS and VmHWM from /proc/<pid>/status.
func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	return parseStatusMemory(b)
}

func parseStatusMemory(b []byte) (memory, error) {
	var m memory
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		default:
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return memory{}, fmt.Errorf("unexpected /proc status line %q", sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("unexpected /proc status line %q", sc.Text())
		}
		*dst = n << 10
		found++
	}
	if found != 2 {
		return memory{}, fmt.Errorf("no VmRSS and VmHWM in /proc status")
	}
	return m, nil
}
