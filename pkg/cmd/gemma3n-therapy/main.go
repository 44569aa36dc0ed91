// Command gemma3n-therapy fine-tunes Gemma 3n into a motivational-interviewing
// counselling assistant: data preparation, tokenization, training, preference
// tuning, merging and evaluation, each as a subcommand.
//
// Every subcommand is a thin layer over a package in pkg/: it parses flags,
// calls one exported function and prints the result, so that notebooks can
// call the same functions.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand. Subcommands register themselves in init
// functions, one file each (cmd_*.go).
type command struct {
	name     string
	summary  string
	usage    string // arguments after the command name, for the usage line
	run      func(ctx *runContext, args []string) error
	children map[string]*command // for command groups such as "data stats"
}

var commands = map[string]*command{}

// register adds a top-level subcommand, or a child when path has two words
// ("data stats").
func register(path, summary, usage string, run func(ctx *runContext, args []string) error) {
	words := strings.Fields(path)
	c := &command{name: words[len(words)-1], summary: summary, usage: usage, run: run}
	if len(words) == 1 {
		if old, ok := commands[path]; ok && old.children != nil {
			c.children = old.children
		}
		commands[path] = c
		return
	}
	parent, ok := commands[words[0]]
	if !ok {
		parent = &command{name: words[0]}
		commands[words[0]] = parent
	}
	if parent.children == nil {
		parent.children = map[string]*command{}
	}
	parent.children[words[1]] = c
	if parent.summary == "" {
		parent.summary = words[0] + " commands"
	}
}

// runContext carries the standard streams so that commands are testable.
type runContext struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// errUsage asks main to print the usage of the failing command.
var errUsage = errors.New("usage")

func main() {
	reexecWithoutAsyncPreemption()
	ctx := &runContext{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	if err := runMain(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "gemma3n-therapy: %v\n", err)
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(exitCode(err)) // 128 + n for a run stopped by signal n

	}
}

// runMain dispatches args to a subcommand.
func runMain(ctx *runContext, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printCommands(ctx.stdout, "gemma3n-therapy", commands)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return flag.ErrHelp
	}
	c, ok := commands[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q (run 'gemma3n-therapy --help' for the list)", args[0])
	}
	path := "gemma3n-therapy " + c.name
	args = args[1:]
	for c.children != nil && (c.run == nil || (len(args) > 0 && c.children[args[0]] != nil)) {
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
			printCommands(ctx.stdout, path, c.children)
			if len(args) == 0 {
				return fmt.Errorf("%s: missing subcommand", path)
			}
			return flag.ErrHelp
		}
		child, ok := c.children[args[0]]
		if !ok {
			return fmt.Errorf("%s: unknown subcommand %q", path, args[0])
		}
		c, path, args = child, path+" "+child.name, args[1:]
	}
	return c.run(ctx, args)
}

func printCommands(w io.Writer, path string, cmds map[string]*command) {
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\nCommands:\n", path)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, cmds[n].summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for the flags of a command.\n", path)
}

// newFlagSet returns a flag set whose errors are returned (not printed and
// exited on) and whose --help prints the command's usage and flags.
func newFlagSet(ctx *runContext, path, usage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(ctx.stderr)
	fs.Usage = func() {
		fmt.Fprintf(ctx.stderr, "Usage: gemma3n-therapy %s %s\n\n%s\n\nFlags:\n", path, usage, summary)
		fs.PrintDefaults()
	}
	return fs
}
