package charts

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

func TestTextHTML(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"paragraphs", "one\nline two\n\n\nthree", "<p>one\nline two</p>\n<p>three</p>\n"},
		{"list", "intro\n- a\n* b\nafter", "<p>intro</p>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<p>after</p>\n"},
		{"inline", "use `go test` and **check** it", "<p>use <code>go test</code> and <strong>check</strong> it</p>\n"},
		{"bold inside code stays literal", "`**x**`", "<p><code>**x**</code></p>\n"},
		{"unpaired markers", "a ` b ** c", "<p>a ` b ** c</p>\n"},
		{"escaping", `<b>"x" & 'y'</b>`, "<p>&lt;b&gt;&#34;x&#34; &amp; &#39;y&#39;&lt;/b&gt;</p>\n"},
		{"escaping in markup", "**<i>** `<i>`", "<p><strong>&lt;i&gt;</strong> <code>&lt;i&gt;</code></p>\n"},
		{"CRLF", "a\r\n\r\nb", "<p>a</p>\n<p>b</p>\n"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TextHTML(tt.in); got != tt.want {
				t.Errorf("TextHTML(%q) =\n%q\nwant\n%q", tt.in, got, tt.want)
			}
		})
	}
}

// ourTags are the only tags TextHTML may emit.
var ourTags = regexp.MustCompile(`</?(p|ul|li|code|strong)>`)

func FuzzTextHTML(f *testing.F) {
	for _, s := range []string{"a\n\n- b", "`x` **y**", "<script>", "**`a**`", "- `unclosed", "\r\n* ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := ourTags.ReplaceAllString(TextHTML(s), "")
		if strings.ContainsAny(out, "<>") {
			t.Fatalf("TextHTML(%q) lets markup through: %q", s, out)
		}
	})
}

func TestTable(t *testing.T) {
	var tbl Table
	tbl.Caption = "a < b"
	tbl.Header = []string{"model", "score"}
	tbl.AddRow("base & <sft>", 0.123456)
	tbl.AddRow("dpo", 2.0)
	tbl.AddRow("x", "12%")
	got := tbl.HTML()
	want := `<table class="metrics">
<caption>a &lt; b</caption>
<thead><tr><th>model</th><th>score</th></tr></thead>
<tbody>
<tr><td>base &amp; &lt;sft&gt;</td><td style="text-align:right">0.1235</td></tr>
<tr><td>dpo</td><td style="text-align:right">2</td></tr>
<tr><td>x</td><td style="text-align:right">12%</td></tr>
</tbody>
</table>
`
	if got != want {
		t.Errorf("Table.HTML() =\n%s\nwant\n%s", got, want)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   interface{}
		want string
	}{
		{"text", "text"},
		{42, "42"},
		{int64(-7), "-7"},
		{3.0, "3"},
		{0.123456, "0.1235"},
		{1234.5678, "1234.6"},
		{float32(0.5), "0.5"},
		{0.0000123, "1.23e-05"},
		{1e20, "1e+20"},
		{math.NaN(), "NaN"},
		{true, "true"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.in); got != tt.want {
			t.Errorf("FormatValue(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
