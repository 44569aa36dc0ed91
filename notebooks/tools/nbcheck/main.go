// Command nbcheck fails when an executed notebook, or the HTML report rendered
// from it, shows that something went wrong.
//
// jupyter nbconvert exits 0 when a GoNB cell panics, calls log.Fatal or
// os.Exit(n), or runs a failing "!" command, and a cell that forgets
// gonbui.Sync() can lose its charts silently. So after execution nbcheck reads
// each notebook and reports:
//
//   - code cells that did not run (the kernel died or execution stopped);
//   - error outputs (compile errors, with GoNB's --raw_error);
//   - text output lines of a failure: "panic: ", "fatal error: ",
//     "exit status N", "signal: ", "error: ", "ERROR";
//   - cells tagged "chart" (or "charts:N") that show fewer than one (N) charts.
//
// With -reports DIR it also reads DIR/NAME.html for each NAME.ipynb and checks
// that the report holds at least as many charts as the notebook's tags expect,
// that the ECharts library is inlined before the first chart, and that cells
// tagged "setup" are hidden.
//
// With -clean it checks source notebooks instead: they are committed without
// outputs or execution counts.
//
// Usage:
//
//	nbcheck [-reports DIR] EXECUTED.ipynb...
//	nbcheck -clean NOTEBOOK.ipynb...
//
// It prints one line per problem and exits 1 if there is any, 2 on a usage or
// read error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nbcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nbcheck [-reports DIR] EXECUTED.ipynb...\n       nbcheck -clean NOTEBOOK.ipynb...")
		fs.PrintDefaults()
	}
	clean := fs.Bool("clean", false, "check source notebooks: no outputs, no execution counts")
	reports := fs.String("reports", "", "directory holding NAME.html for each executed NAME.ipynb")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 || *clean && *reports != "" {
		fs.Usage()
		return 2
	}
	failed := false
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "nbcheck:", err)
			return 2
		}
		var ok bool
		if *clean {
			ok = checkCleanFile(stdout, path, b)
		} else {
			ok = checkExecutedFile(stdout, path, b, *reports)
		}
		failed = failed || !ok
	}
	if failed {
		return 1
	}
	return 0
}

func report(w io.Writer, path string, problems []string) {
	for _, p := range problems {
		fmt.Fprintf(w, "%s: %s\n", path, p)
	}
}

// checkCleanFile checks a source notebook and prints its problems, or one "ok" line.
func checkCleanFile(w io.Writer, path string, b []byte) bool {
	nb, err := parseNotebook(path, b)
	if err != nil {
		fmt.Fprintln(w, err)
		return false
	}
	problems := checkClean(nb)
	report(w, path, problems)
	if len(problems) == 0 {
		fmt.Fprintf(w, "ok %s: %d cells, no outputs\n", path, len(nb.Cells))
	}
	return len(problems) == 0
}

// checkExecutedFile checks an executed notebook and, when reports is not empty, its
// HTML report there; it prints the problems, or one "ok" line.
func checkExecutedFile(w io.Writer, path string, b []byte, reports string) bool {
	nb, err := parseNotebook(path, b)
	if err != nil {
		fmt.Fprintln(w, err)
		return false
	}
	res := checkExecuted(nb)
	report(w, path, res.problems)
	ok := len(res.problems) == 0
	summary := fmt.Sprintf("%d cells, %d charts (%d expected)", len(nb.Cells), res.charts, res.expectedCharts)
	if reports != "" {
		htmlPath := filepath.Join(reports, strings.TrimSuffix(filepath.Base(path), ".ipynb")+".html")
		doc, err := os.ReadFile(htmlPath)
		if err != nil {
			fmt.Fprintf(w, "%s: no report: %v\n", path, err)
			return false
		}
		problems := checkReport(string(doc), res.expectedCharts, res.setupLines)
		report(w, htmlPath, problems)
		ok = ok && len(problems) == 0
		summary += fmt.Sprintf("; %s: %d charts", htmlPath, countCharts(string(doc)))
	}
	if ok {
		fmt.Fprintf(w, "ok %s: %s\n", path, summary)
	}
	return ok
}
