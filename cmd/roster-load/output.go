package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// writeReport prints rep as a table to stdout, unless jsonOut is "-", and
// writes it as JSON to the file jsonOut, or to stdout when jsonOut is "-".
func writeReport(stdout io.Writer, jsonOut string, rep interface{ writeTable(io.Writer) }) error {
	if jsonOut != "-" {
		rep.writeTable(stdout)
	}
	if jsonOut == "" {
		return nil
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if jsonOut == "-" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(jsonOut, data, 0o644)
}

// writeTable prints the report as an aligned table, then the notes and
// the first error bodies of each workload.
func (r *report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "target %s, account %s: %d users, %d sampled; at most %d requests or %gs per workload\n",
		r.URL, r.AccountID, r.AccountUsers, r.Sampled, r.MaxRequests, r.MaxSeconds)
	for _, t := range r.Terms {
		fmt.Fprintf(w, "search term %q: %d matches, %d with %s\n", t.Q, t.Matches, t.MatchesWithFilters, strings.Join(r.Filters, " and "))
	}
	fmt.Fprintln(w)
	// Right-aligned numbers, but the names padded to read left-aligned.
	width := len("workload")
	for _, x := range r.Results {
		width = max(width, len(x.Name))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\t", width, "workload")
	fmt.Fprintln(tw, "conc\trequests\terrors\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tsrv CPU ms/req\tdb CPU ms/req\tsrv cores\tdb cores\tload cores\tother cores\tsrv RSS MB\t")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%s\t\n",
			width, x.Name, x.Concurrency, x.Requests, x.Errors, x.RPS, x.P50MS, x.P90MS, x.P99MS, x.MaxMS,
			opt(x.ServerCPUPerReqMS, "%.3f"), opt(x.DBCPUPerReqMS, "%.3f"), opt(x.ServerCores, "%.2f"), opt(x.DBCores, "%.2f"),
			x.ClientCores, x.OtherCores, opt(x.ServerRSSMB, "%.1f"))
	}
	tw.Flush()
	fmt.Fprintln(w, "CPU: srv = the server process, db = the PostgreSQL backends of the database, load = roster-load,")
	fmt.Fprintln(w, "other = the rest of the machine meanwhile (cores = CPU seconds per second); latencies are per request.")
	fmt.Fprintln(w)
	for _, x := range r.Results {
		fmt.Fprintf(w, "%s: %s\n", x.Name, x.Note)
		for _, s := range x.ErrorSamples {
			fmt.Fprintf(w, "  error: %s\n", s)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func opt(p *float64, format string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(format, *p)
}
