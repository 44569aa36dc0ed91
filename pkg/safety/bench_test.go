package safety

import (
	"strings"
	"testing"
)

// benchMessages are typical user turns: short and long, with and without
// risk talk.
var benchMessages = []struct{ name, text string }{
	{"sadness", "I've been feeling really down since my dog died last week."},
	{"crisis", "I want to kill myself. I have the pills in front of me and tonight is the night."},
	{"idiom", "This commute is killing me, but honestly the new job is going well and I like my coworkers a lot."},
	{"abuse", "My husband yells at me and sometimes pushes me when he's drunk. I don't know if that counts as abuse, " +
		"and I don't want to overreact, but I'm scared of what happens when he gets home tonight."},
	{"long", strings.Repeat("I keep procrastinating on my thesis and my advisor is getting impatient with me. ", 8)},
	{"rambling", "Sorry this is long. My landlord still hasn't fixed the heating, my sister's wedding is in June and " +
		"I'm supposed to give a speech, and work keeps piling more onto me because two people quit. I went for a run " +
		"on Sunday which helped a bit, and I've been cooking more instead of ordering food. My mom calls every " +
		"evening and asks if I'm eating. I told her I'm fine. Honestly I've already given my cat to my neighbour and " +
		"I don't think I'll be around for the wedding. Anyway, I also wanted to ask how to say no to extra shifts " +
		"without sounding lazy, because my manager keeps asking and I never know what to say."},
}

// BenchmarkScreen measures one message: the issue asks for under 1 ms.
// The mix cycles through all the messages; the sub-benchmarks take one
// kind each.
func BenchmarkScreen(b *testing.B) {
	b.Run("mix", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			Screen(benchMessages[i%len(benchMessages)].text)
		}
	})
	for _, m := range benchMessages {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				Screen(m.text)
			}
		})
	}
}

// BenchmarkScreenRules is BenchmarkScreen without the learned screen: the
// difference is what the learned screen costs.
func BenchmarkScreenRules(b *testing.B) {
	for _, m := range benchMessages {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				ScreenRules(m.text)
			}
		})
	}
}
