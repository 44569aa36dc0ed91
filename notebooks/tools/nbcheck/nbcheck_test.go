package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nbJSON wraps cells (JSON objects) into an nbformat 4 notebook.
func nbJSON(cells ...string) string {
	return `{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [` + strings.Join(cells, ",") + `]}`
}

// codeCell is an executed code cell with the given tags (a JSON array) and outputs.
func codeCell(id, tags string, outputs ...string) string {
	return `{"cell_type": "code", "id": "` + id + `", "execution_count": 1, "metadata": {"tags": ` + tags +
		`}, "source": ["%%\n", "x()"], "outputs": [` + strings.Join(outputs, ",") + `]}`
}

func stream(name, text string) string {
	return `{"output_type": "stream", "name": "` + name + `", "text": ` + text + `}`
}

func htmlOutput(content string) string {
	return `{"output_type": "display_data", "metadata": {}, "data": {"text/html": ` + content + `}}`
}

const (
	chartHTML   = `"<div class=\"echart\" id=\"c\"></div>"`
	libraryHTML = `["<script data-echarts-library=\"5.6.0\"></script>\n", "<div class=\"echart\" id=\"c\"></div>"]`
)

func TestCheckExecuted(t *testing.T) {
	tests := []struct {
		name   string
		nb     string
		want   []string // substrings of the problems, in order; none for a clean notebook
		charts int
	}{
		{
			name: "clean run with benign stderr",
			nb: nbJSON(
				codeCell("setup", `["setup"]`, stream("stderr", `["go: added github.com/janpfeifer/gonb v0.11.1\n"]`)),
				codeCell("a", `[]`, stream("stdout", `"exit status 0\nno errors: 0\n"`)),
				codeCell("b", `["charts:2"]`, htmlOutput(libraryHTML), htmlOutput(chartHTML)),
			),
			charts: 2,
		},
		{
			name: "panic",
			nb:   nbJSON(codeCell("p", `[]`, stream("stderr", `["panic: boom\n", "\n", "goroutine 1 [running]:\n", "exit status 2\n"]`))),
			want: []string{`cell 1 (id "p"): stderr: panic: boom`, `stderr: exit status 2`},
		},
		{
			name: "os.Exit and log.Fatal",
			nb:   nbJSON(codeCell("e", `[]`, stream("stderr", `"2025/01/01 12:00:00 cannot open\nexit status 1\n"`))),
			want: []string{"stderr: exit status 1"},
		},
		{
			name: "ANSI escapes around a panic",
			nb:   nbJSON(codeCell("a", `[]`, stream("stderr", `"\u001b[31mpanic: red\u001b[0m\n"`))),
			want: []string{"stderr: panic: red"},
		},
		{
			name: "signal and fatal error",
			nb:   nbJSON(codeCell("s", `[]`, stream("stderr", `"fatal error: all goroutines are asleep - deadlock!\nsignal: killed\n"`))),
			want: []string{"fatal error: all goroutines", "signal: killed"},
		},
		{
			name: "go command error",
			nb:   nbJSON(codeCell("g", `[]`, stream("stderr", `"go: example.com/x@v1: error: not found\nerror: cannot build\n"`))),
			want: []string{"stderr: error: cannot build"},
		},
		{
			name: "compile error output",
			nb: nbJSON(codeCell("c", `[]`,
				`{"output_type": "error", "ename": "ERROR", "evalue": "# gonb_1\n./main.go:3:5: undefined: y", "traceback": []}`)),
			want: []string{`error output: ERROR: # gonb_1 | ./main.go:3:5: undefined: y`},
		},
		{
			name: "error text in a plain-text result",
			nb: nbJSON(codeCell("r", `[]`,
				`{"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": "panic: shown as a result"}}`)),
			want: []string{"output: panic: shown as a result"},
		},
		{
			name: "cell not executed",
			nb:   nbJSON(`{"cell_type": "code", "id": "n", "execution_count": null, "metadata": {}, "source": "x := 1", "outputs": []}`),
			want: []string{`cell 1 (id "n"): not executed`},
		},
		{
			name: "empty cell need not run",
			nb:   nbJSON(`{"cell_type": "code", "execution_count": null, "metadata": {}, "source": "  \n", "outputs": []}`),
		},
		{
			name: "lost chart",
			nb:   nbJSON(`{"cell_type": "markdown", "metadata": {}, "source": "# t"}`, codeCell("c", `["chart"]`, stream("stdout", `"done\n"`))),
			want: []string{`cell 2 (id "c"): shows 0 of the 1 expected charts`},
		},
		{
			name:   "fewer charts than tagged",
			nb:     nbJSON(codeCell("c", `["charts:3"]`, htmlOutput(libraryHTML), htmlOutput(chartHTML))),
			want:   []string{"shows 2 of the 3 expected charts"},
			charts: 2,
		},
		{
			name: "bad chart tag",
			nb:   nbJSON(codeCell("c", `["charts:two"]`)),
			want: []string{`tag "charts:two"`},
		},
		{
			name:   "markdown mentioning panic is not output",
			nb:     nbJSON(`{"cell_type": "markdown", "metadata": {}, "source": "panic: a word"}`, codeCell("x", `["chart"]`, htmlOutput(libraryHTML))),
			charts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nb, err := parseNotebook("t.ipynb", []byte(tt.nb))
			if err != nil {
				t.Fatal(err)
			}
			res := checkExecuted(nb)
			if len(res.problems) != len(tt.want) {
				t.Fatalf("problems = %q, want %d matching %q", res.problems, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(res.problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, res.problems[i], w)
				}
			}
			if res.charts != tt.charts {
				t.Errorf("charts = %d, want %d", res.charts, tt.charts)
			}
		})
	}
}

func TestParseNotebookErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"syntax error names line and column", "{\"nbformat\": 4,\n \"cells\": [}", "t.ipynb:2:12: not a notebook"},
		{"wrong type", `{"nbformat": 4, "cells": {}}`, "t.ipynb: not a notebook"},
		{"old format", `{"nbformat": 3, "worksheets": []}`, "nbformat 3, want 4"},
		{"not JSON", "", "t.ipynb:1:1: not a notebook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseNotebook("t.ipynb", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCheckReport(t *testing.T) {
	lib := `<script data-echarts-library="5.6.0">lib</script>`
	chart := `<div class="echart" id="c1"></div>`
	setup := `!*go mod edit -replace "m=${GONB_DIR}/.."`
	// How nbconvert shows the setup cell: highlighted spans and escaped quotes.
	shownSetup := `<pre><span class="err">!</span><span class="o">*</span>go mod edit -replace &quot;m=${GONB_DIR}/..&quot;</pre>`
	tests := []struct {
		name, doc string
		charts    int
		want      []string
	}{
		{"complete", lib + chart + chart, 2, nil},
		{"more charts than expected", lib + chart + chart, 1, nil},
		{"no charts expected", "<p>text</p>", 0, nil},
		{"missing charts", lib + chart, 2, []string{"holds 1 of the 2 expected charts"}},
		{"no library", chart, 1, []string{"no inlined ECharts library"}},
		{"library after the chart", chart + lib, 1, []string{"first chart comes before the ECharts library"}},
		{"setup shown", lib + chart + shownSetup, 1, []string{"shows the setup cell"}},
		{"setup text only inside a script", lib + chart + "<script>var s = '" + setup + "';</script>", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := checkReport(tt.doc, tt.charts, []string{setup})
			if len(problems) != len(tt.want) {
				t.Fatalf("problems = %q, want %q", problems, tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], w)
				}
			}
		})
	}
}

// The fixtures in testdata were executed by GoNB v0.11.1 and rendered by nbconvert
// 6.5.3 (see testdata/README.md): real outputs, not imitations.
func TestRealGoNBOutputs(t *testing.T) {
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	nb, err := parseNotebook("executed_failures.ipynb", read("executed_failures.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(checkExecuted(nb).problems, "\n")
	for _, want := range []string{
		`(id "panic"): stderr: panic: boom`,
		`(id "exit"): stderr: exit status 3`,
		`(id "logfatal"): stderr: exit status 1`,
		`(id "shell"): stderr: exit status 1`,
		`(id "compile"): error output: ERROR`,
		`(id "nochart"): shows 0 of the 1 expected charts`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems miss %q; got:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"after"`) || strings.Contains(got, `"setup"`) {
		t.Errorf("clean cells reported:\n%s", got)
	}

	nb, err = parseNotebook("executed_ok.ipynb", read("executed_ok.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	res := checkExecuted(nb)
	if len(res.problems) != 0 || res.charts != 2 || res.expectedCharts != 2 || len(res.setupLines) != 1 {
		t.Fatalf("clean run: %+v", res)
	}
	if p := checkReport(gunzip(t, read("executed_ok.html.gz")), res.expectedCharts, res.setupLines); len(p) != 0 {
		t.Errorf("clean report: %q", p)
	}
	p := checkReport(gunzip(t, read("executed_ok_setup_shown.html.gz")), res.expectedCharts, res.setupLines)
	if len(p) != 1 || !strings.Contains(p[0], "shows the setup cell") {
		t.Errorf("report with the setup cell: %q", p)
	}
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// The notebooks of this repository are committed without outputs.
func TestCommittedNotebooksAreClean(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "*.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no notebooks found in notebooks/")
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		nb, err := parseNotebook(path, b)
		if err != nil {
			t.Fatal(err)
		}
		if p := checkClean(nb); len(p) > 0 {
			t.Errorf("%s: %q", path, p)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good.ipynb", nbJSON(codeCell("a", `["chart"]`, htmlOutput(libraryHTML))))
	bad := write("bad.ipynb", nbJSON(codeCell("a", `[]`, stream("stderr", `"panic: boom\n"`))))
	source := write("source.ipynb", nbJSON(`{"cell_type": "code", "execution_count": null, "metadata": {}, "source": "x", "outputs": []}`))
	reports := filepath.Join(dir, "reports")
	if err := os.Mkdir(reports, 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join("reports", "good.html"), `<script data-echarts-library="5.6.0"></script><div class="echart" id="c"></div>`)

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"good", []string{good}, 0, "ok " + good + ": 1 cells, 1 charts (1 expected)"},
		{"good with report", []string{"-reports", reports, good}, 0, "good.html: 1 charts"},
		{"error output fails", []string{good, bad}, 1, bad + `: cell 1 (id "a"): stderr: panic: boom`},
		{"missing report fails", []string{"-reports", dir, good}, 1, "no report"},
		{"clean source", []string{"-clean", source}, 0, "no outputs"},
		{"executed notebook is not clean", []string{"-clean", good}, 1, "commit notebooks without outputs"},
		{"no arguments", nil, 2, "usage"},
		{"clean and reports together", []string{"-clean", "-reports", dir, good}, 2, "usage"},
		{"missing file", []string{filepath.Join(dir, "none.ipynb")}, 2, "none.ipynb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(tt.args, &out, &out)
			if code != tt.code || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("run(%q) = %d with output\n%s\nwant %d and %q", tt.args, code, out.String(), tt.code, tt.want)
			}
		})
	}
}

func FuzzCheck(f *testing.F) {
	for _, name := range []string{"executed_ok.ipynb", "executed_failures.ipynb"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(nbJSON(codeCell("a", `["charts:2"]`, stream("stderr", `["panic: x"]`)))))
	f.Add([]byte(`{"nbformat": 4, "cells": [{"cell_type": "code", "source": 1, "outputs": [{"data": {"text/html": {}}}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		nb, err := parseNotebook("fuzz.ipynb", b)
		if err != nil {
			return
		}
		res := checkExecuted(nb)
		checkClean(nb)
		checkReport(string(b), res.expectedCharts, res.setupLines)
	})
}
