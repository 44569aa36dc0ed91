package safety

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
)

// The gate's texts are fixed wording around the configured resources, so
// that a deployment changes numbers and names, not what the messages say.
// The tests hold the full texts for the shipped safety.yaml: a change to
// them is a reviewed change.

// referral is the reply to a High turn: the model is not called.
func (g *Gate) referral(r Result) string {
	cl := g.res.CrisisLine
	var b strings.Builder
	if r.Subject == ThirdParty {
		fmt.Fprintf(&b, "It sounds like someone you care about may be in danger. If they are in immediate danger, "+
			"call %s now and stay with them if it is safe to do so.\n", g.res.EmergencyNumber)
		fmt.Fprintf(&b, "- The %s also helps people who are worried about someone else: %s (%s).\n",
			cl.Name, contactPhrase(cl), g.res.Region)
	} else {
		b.WriteString("I'm really glad you told me, and I'm worried about your safety. I'm an AI research model " +
			"and I can't give you the help you deserve right now, but people can:\n")
		fmt.Fprintf(&b, "- %s (%s): %s.\n", cl.Name, g.res.Region, contactPhrase(cl))
		fmt.Fprintf(&b, "- If you are in immediate danger, call %s.\n", g.res.EmergencyNumber)
	}
	fmt.Fprintf(&b, "- Outside %s, find a local crisis line at %s, or call your local emergency number.\n",
		g.res.Region, g.res.Elsewhere)
	for _, l := range g.linesFor(r) {
		fmt.Fprintf(&b, "- %s: %s.\n", l.Name, l.Contact)
	}
	if r.Subject == ThirdParty {
		b.WriteString("I'm an AI research model and can't help in an emergency; the people at these numbers can.")
	} else {
		b.WriteString("If you can, reach out to someone you trust and stay with them. You don't have to go through this alone.")
	}
	return b.String()
}

// crisisFollowUp is the reply to every turn after a High one: the
// conversation stays in crisis mode and the model is not called.
func (g *Gate) crisisFollowUp(r Result) string {
	cl := g.res.CrisisLine
	if r.Subject == ThirdParty {
		return fmt.Sprintf("I'm still worried about the person you told me about, so I'll keep this conversation on "+
			"getting them help. If they are in immediate danger, call %s. The %s can help you help them: %s (%s). "+
			"Outside %s: %s.", g.res.EmergencyNumber, cl.Name, contactPhrase(cl), g.res.Region, g.res.Region, g.res.Elsewhere)
	}
	return fmt.Sprintf("I'm still worried about your safety, so I'll keep this conversation on getting you support. "+
		"Please reach out now: %s, %s (%s). If you are in immediate danger, call %s. Outside %s: %s.",
		cl.Name, contactPhrase(cl), g.res.Region, g.res.EmergencyNumber, g.res.Region, g.res.Elsewhere)
}

// resourceLine is appended to the model's reply to a turn of concern.
func (g *Gate) resourceLine(r Result) string {
	cl := g.res.CrisisLine
	var line string
	if r.Subject == ThirdParty {
		line = fmt.Sprintf("If you're worried about someone's safety, the %s can help you support them: %s (%s; "+
			"elsewhere, %s). If they are in immediate danger, call %s.",
			cl.Name, contactPhrase(cl), g.res.Region, g.res.Elsewhere, g.res.EmergencyNumber)
	} else {
		line = fmt.Sprintf("If things get harder or you have thoughts of ending your life, the %s is there: %s (%s; "+
			"elsewhere, %s). In an emergency, call %s.",
			cl.Name, contactPhrase(cl), g.res.Region, g.res.Elsewhere, g.res.EmergencyNumber)
	}
	for _, l := range g.linesFor(r) {
		line += fmt.Sprintf(" %s: %s.", l.Name, l.Contact)
	}
	return line
}

// linesFor returns the other lines whose categories the result has.
func (g *Gate) linesFor(r Result) []config.HelpLine {
	var out []config.HelpLine
	for _, l := range g.res.OtherLines {
		if slices.ContainsFunc(l.Categories, func(c string) bool { return r.Has(Category(c)) }) {
			out = append(out, l)
		}
	}
	return out
}

// contactPhrase says how to reach a crisis line: "call or text 988, or
// chat at https://988lifeline.org/chat".
func contactPhrase(cl config.CrisisLine) string {
	var parts []string
	switch {
	case cl.Call != "" && cl.Call == cl.Text:
		parts = append(parts, "call or text "+cl.Call)
	default:
		if cl.Call != "" {
			parts = append(parts, "call "+cl.Call)
		}
		if cl.Text != "" {
			parts = append(parts, "text "+cl.Text)
		}
	}
	if cl.Chat != "" {
		parts = append(parts, "chat at "+cl.Chat)
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + ", or " + parts[len(parts)-1]
}
