package safety

import (
	"strings"
	"testing"
)

// benchMessages are typical user turns: short and long, with and without
// risk talk.
var benchMessages = []string{
	"I've been feeling really down since my dog died last week.",
	"I want to kill myself. I have the pills in front of me and tonight is the night.",
	"This commute is killing me, but honestly the new job is going well and I like my coworkers a lot.",
	"My husband yells at me and sometimes pushes me when he's drunk. I don't know if that counts as abuse, " +
		"and I don't want to overreact, but I'm scared of what happens when he gets home tonight.",
	strings.Repeat("I keep procrastinating on my thesis and my advisor is getting impatient with me. ", 8),
}

// BenchmarkScreen measures one message: the issue asks for under 1 ms.
func BenchmarkScreen(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		Screen(benchMessages[i%len(benchMessages)])
	}
}
