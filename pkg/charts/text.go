package charts

import (
	"html"
	"strings"
)

// TextHTML renders a little Markdown as HTML, escaping everything else: blank lines
// separate paragraphs, lines starting with "- " or "* " form a bullet list,
// `code` spans and **bold** spans are marked up. Nothing else is interpreted, so text
// from data (utterances, topics) can be passed safely.
func TextHTML(text string) string {
	var b strings.Builder
	writeText(&b, text)
	return b.String()
}

func writeText(b *strings.Builder, text string) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	for _, para := range strings.Split(text, "\n\n") {
		lines := strings.Split(strings.Trim(para, "\n"), "\n")
		var prose []string
		inList := false
		flushProse := func() {
			if len(prose) > 0 {
				b.WriteString("<p>" + inline(strings.Join(prose, "\n")) + "</p>\n")
				prose = nil
			}
		}
		for _, line := range lines {
			trimmed := strings.TrimSpace(line)
			if item, ok := listItem(trimmed); ok {
				flushProse()
				if !inList {
					b.WriteString("<ul>\n")
					inList = true
				}
				b.WriteString("<li>" + inline(item) + "</li>\n")
				continue
			}
			if inList {
				b.WriteString("</ul>\n")
				inList = false
			}
			if trimmed != "" {
				prose = append(prose, trimmed)
			}
		}
		if inList {
			b.WriteString("</ul>\n")
		}
		flushProse()
	}
}

func listItem(line string) (string, bool) {
	for _, bullet := range []string{"- ", "* "} {
		if strings.HasPrefix(line, bullet) {
			return strings.TrimSpace(line[len(bullet):]), true
		}
	}
	return "", false
}

// inline escapes s and marks up `code` and **bold** spans. Backticks split s into
// alternating prose and code; bold applies to prose only, and an unpaired marker
// stays literal.
func inline(s string) string {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 { // odd number of backticks: the last one is literal
		parts[len(parts)-2] += "`" + parts[len(parts)-1]
		parts = parts[:len(parts)-1]
	}
	var b strings.Builder
	for i, part := range parts {
		if i%2 == 1 {
			b.WriteString("<code>" + html.EscapeString(part) + "</code>")
			continue
		}
		bold := strings.Split(part, "**")
		if len(bold)%2 == 0 {
			bold[len(bold)-2] += "**" + bold[len(bold)-1]
			bold = bold[:len(bold)-1]
		}
		for j, seg := range bold {
			if j%2 == 1 {
				b.WriteString("<strong>" + html.EscapeString(seg) + "</strong>")
			} else {
				b.WriteString(html.EscapeString(seg))
			}
		}
	}
	return b.String()
}
