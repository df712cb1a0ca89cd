package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"roster"
)

// env is what a command reads and writes besides its flags; tests give
// their own, running commands in-process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand of roster.
type command struct {
	name     string // "account create"
	summary  string // one line for the command list
	help     string // paragraphs for "roster help NAME"
	register func(fs *flagSet) runner
}

// runner runs a command once its flags are parsed.
type runner func(ctx context.Context, e *env) error

// commands lists every subcommand, in the order "roster help" shows them.
func commands() []*command {
	return []*command{
		serveCommand(),
		migrateCommand(),
		accountCreateCommand(),
		accountUpdateCommand(),
		apiKeyCreateCommand(),
		apiKeyListCommand(),
		apiKeyUpdateCommand(),
		apiKeyDeleteCommand(),
		auditVerifyCommand(),
		devSeedCommand(),
	}
}

// run is the whole program: it parses args (without the program name),
// runs one command and returns its error. The error's text is what the
// person at the terminal should read; exitCode maps it to an exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printUsage(stderr)
		return usageErrorf("no command given")
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return help(e, args[1:])
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		return unknownCommand(commandWords(args))
	}
	fs := newFlagSet(cmd.name)
	r := cmd.register(fs)
	if err := parseFlags(fs, rest, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandUsage(stdout, cmd, fs)
			return nil
		}
		return err
	}
	return r(ctx, e)
}

// findCommand matches the longest command name at the start of args.
func findCommand(args []string) (*command, []string) {
	words := commandWords(args)
	for n := len(words); n > 0; n-- {
		name := strings.Join(words[:n], " ")
		for _, c := range commands() {
			if c.name == name {
				return c, args[n:]
			}
		}
	}
	return nil, nil
}

// commandWords returns the leading arguments that are not flags, at most two.
func commandWords(args []string) []string {
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") || len(words) == 2 {
			break
		}
		words = append(words, a)
	}
	return words
}

// unknownCommand explains words that name no command: for a group such as
// "account" it lists the group's commands.
func unknownCommand(words []string) error {
	if len(words) == 1 {
		var subs []string
		for _, c := range commands() {
			if group, sub, ok := strings.Cut(c.name, " "); ok && group == words[0] {
				subs = append(subs, sub)
			}
		}
		if len(subs) > 0 {
			return usageErrorf("roster %s needs a command: %s; run 'roster help' for the list of commands", words[0], strings.Join(subs, ", "))
		}
	}
	return usageErrorf("unknown command %q; run 'roster help' for the list of commands", strings.Join(words, " "))
}

func help(e *env, args []string) error {
	if len(args) == 0 {
		printUsage(e.stdout)
		return nil
	}
	cmd, rest := findCommand(args)
	if cmd == nil || len(rest) > 0 {
		return unknownCommand(args)
	}
	fs := newFlagSet(cmd.name)
	cmd.register(fs)
	printCommandUsage(e.stdout, cmd, fs)
	return nil
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `Roster is the team and access service: accounts, their users, roles and API keys.

Usage:
  roster <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-20s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'roster help <command>' or 'roster <command> -h' for a command's flags.

Commands that change data print JSON on standard output and errors on
standard error. Exit status: 0 on success, 2 for a usage error (an unknown
command or flag, a missing or invalid flag value), 1 for any other error.
`)
}

func printCommandUsage(w io.Writer, cmd *command, fs *flagSet) {
	fmt.Fprintf(w, "Usage: roster %s [flags]\n\n%s\n", cmd.name, strings.TrimSpace(cmd.help))
	fmt.Fprintln(w, "\nFlags:")
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		if _, ok := f.Value.(*listFlag); ok {
			typ = "value"
		}
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintln(w, line)
		var extra []string
		if d := f.DefValue; d != "" && !isZeroFlag(f) {
			extra = append(extra, "default "+d)
		}
		if _, ok := f.Value.(*listFlag); ok {
			extra = append(extra, "repeatable")
		}
		if fs.env[f.Name] {
			extra = append(extra, "env "+envName(f.Name))
		}
		if len(extra) > 0 {
			usage += " (" + strings.Join(extra, "; ") + ")"
		}
		fmt.Fprintf(w, "      %s\n", usage)
	})
}

func isZeroFlag(f *flag.Flag) bool {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return f.DefValue == "false"
	}
	z := reflect.New(reflect.TypeOf(f.Value).Elem()).Interface().(flag.Value)
	return f.DefValue == z.String() || f.DefValue == "0s"
}

// flagSet is a flag.FlagSet that knows which of its flags also read an
// environment variable. Flags that are server configuration do; flags
// naming what one command acts on (--account, --name, ...) do not, so that a
// stray variable cannot redirect an operator's command.
type flagSet struct {
	*flag.FlagSet
	env map[string]bool
}

func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet("roster "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors come back to run; usage is printed by printCommandUsage
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, env: map[string]bool{}}
}

// EnvString defines a string flag that also reads ROSTER_<NAME>.
func (fs *flagSet) EnvString(name, value, usage string) *string {
	fs.env[name] = true
	return fs.String(name, value, usage)
}

// EnvDuration defines a duration flag that also reads ROSTER_<NAME>.
func (fs *flagSet) EnvDuration(name string, value time.Duration, usage string) *time.Duration {
	fs.env[name] = true
	return fs.Duration(name, value, usage)
}

// EnvList defines a repeatable flag that also reads ROSTER_<NAME> as a
// comma-separated list.
func (fs *flagSet) EnvList(name string, value []string, usage string) *listFlag {
	fs.env[name] = true
	return fs.List(name, value, usage)
}

// List defines a repeatable flag.
func (fs *flagSet) List(name string, value []string, usage string) *listFlag {
	l := &listFlag{values: value}
	fs.Var(l, name, usage)
	return l
}

// envName is the environment variable of a flag: ROSTER_ and the name in
// upper case with dashes as underscores.
func envName(flagName string) string {
	return "ROSTER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags applies environment variables, then the command line, so that
// a flag beats its variable. A repeatable flag takes a comma-separated list
// from its variable, and the command line replaces that list rather than
// adding to it.
func parseFlags(fs *flagSet, args []string, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if !fs.env[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if l, ok := f.Value.(*listFlag); ok {
			l.setList(v)
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = usageErrorf("%s: %v", name, e)
		}
	})
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErrorf("%v\nRun '%s -h' for usage.", err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q\nRun '%s -h' for usage.", fs.Arg(0), fs.Name())
	}
	return nil
}

// listFlag is a repeatable string flag. Its default and a list from the
// environment are replaced by the first value on the command line.
type listFlag struct {
	values   []string
	explicit bool // set on the command line
}

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.values, ",")
}

func (l *listFlag) Set(v string) error {
	if !l.explicit {
		l.values, l.explicit = nil, true
	}
	l.values = append(l.values, v)
	return nil
}

func (l *listFlag) setList(v string) {
	l.values = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			l.values = append(l.values, s)
		}
	}
}

// usageError is an error in how roster was called; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode is the exit status for an error returned by run.
func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// domainError turns a service error into what the operator reads: field
// problems as "--flag: message" lines (a usage error), other domain errors
// as their message, and anything else unchanged with its detail, since the
// operator at a terminal needs it.
func domainError(err error) error {
	var e *roster.Error
	if !errors.As(err, &e) {
		return err
	}
	if len(e.Fields) > 0 && (e.Code == roster.CodeInvalid || e.Code == roster.CodeBadRequest) {
		lines := make([]string, len(e.Fields))
		for i, f := range e.Fields {
			lines[i] = "--" + strings.ReplaceAll(f.Field, "_", "-") + ": " + f.Message
		}
		return &usageError{msg: strings.Join(lines, "\n")}
	}
	if e.Code == roster.CodeInternal {
		return err
	}
	return errors.New(e.Message)
}

// printJSON writes v as indented JSON and a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
