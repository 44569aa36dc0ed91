package safety

import (
	"fmt"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

// family groups categories whose signs add up: a rope means more after
// talk of dying, a locked door more after talk of a violent partner.
type family uint8

const (
	familySuicide  family = iota // suicidal ideation, plans, self-harm, overdose
	familyViolence               // abuse or violence from someone
	familyOthers                 // harm to others
)

func familyOf(c Category) family {
	switch c {
	case AbuseViolence:
		return familyViolence
	case HarmToOthers:
		return familyOthers
	}
	return familySuicide
}

type contextKey struct {
	f family
	s Subject
}

// riskContext is the risk talk of a conversation so far: the families
// that counted, per subject, with the message they first counted in.
type riskContext struct {
	seen map[contextKey]int
}

func newRiskContext() *riskContext { return &riskContext{seen: map[contextKey]int{}} }

func (c *riskContext) add(fs []*finding) {
	for _, f := range fs {
		if f.counted && f.ev.Level >= Concern {
			k := contextKey{familyOf(f.ev.Category), f.ev.Subject}
			if _, ok := c.seen[k]; !ok {
				c.seen[k] = f.ev.Message
			}
		}
	}
}

// resolveCues decides the cues of a message: a cue counts (at its rule's
// level) when the same family was talked about for the same subject earlier
// in the conversation or elsewhere in the message, when there is a second
// cue of which one is strong or with a time of now or tonight, or, for a
// strong sign of danger from someone, when it is happening now; otherwise
// it counts at its rule's "alone" level, or not at all.
func (s *messageScreen) resolveCues(ctx *riskContext) {
	here := newRiskContext()
	for _, f := range s.findings {
		if !f.pending {
			here.add([]*finding{f})
		}
	}
	type group struct {
		cues   []*finding
		strong bool
		kinds  map[string]bool
	}
	groups := map[contextKey]*group{}
	var order []contextKey
	selfSuicide := contextKey{familySuicide, Self}
	thirdSuicide := contextKey{familySuicide, ThirdParty}
	_, selfTalk := here.seen[selfSuicide]
	_, thirdTalk := here.seen[thirdSuicide]
	if _, ok := ctxSeen(ctx, selfSuicide); ok {
		selfTalk = true
	}
	if _, ok := ctxSeen(ctx, thirdSuicide); ok {
		thirdTalk = true
	}
	selfCue := false
	for _, f := range s.findings {
		if f.pending && f.ev.Subject == Self && familyOf(f.ev.Category) == familySuicide {
			selfCue = true
		}
	}
	for _, f := range s.findings {
		if !f.pending {
			continue
		}
		// Signs that name someone else are the writer's when only the
		// writer is at risk: their gun or pills are the writer's means ("I
		// know where my dad keeps the key to the gun safe"), a farewell
		// told to them is the writer's ("please tell my sister it wasn't
		// her fault").
		if f.ev.Subject == ThirdParty && (selfTalk || selfCue) && !thirdTalk && familyOf(f.ev.Category) == familySuicide {
			f.ev.Subject = Self
			f.ev.Note = "the writer's, with the writer's other signs"
		}
		k := contextKey{familyOf(f.ev.Category), f.ev.Subject}
		g := groups[k]
		if g == nil {
			g = &group{}
			groups[k] = g
			order = append(order, k)
		}
		g.cues = append(g.cues, f)
		g.strong = g.strong || f.r.flags&strongCue != 0
		if g.kinds == nil {
			g.kinds = map[string]bool{}
		}
		kind := cueKind(f.r.name)
		if kind == "intent" && f.r.name == "cue_intent" && !intentFrame.in(s.seg(f.a, min(f.b, f.a+2))) {
			kind = "done" // "I'm done", "I've had enough": weaker than "going to end it"
		}
		g.kinds[kind] = true
	}
	for _, g := range groups {
		// Entrapment ("I can't take it anymore") is a kind of its own only
		// next to an intention ("I'm going to end it").
		if g.kinds["entrapment"] && !g.kinds["intent"] {
			delete(g.kinds, "entrapment")
		}
	}
	for _, k := range order {
		g := groups[k]
		_, talkBefore := ctxSeen(ctx, k)
		_, talkHere := here.seen[k]
		if !talkBefore && !talkHere && everydayOnly(g.cues) {
			for _, f := range g.cues {
				f.pending = false
				f.ev.Note = "a farewell or a gift with an everyday reason"
			}
			continue
		}
		note := ""
		if onlyEntrapment(g.cues) {
			// "I can't take it anymore" is everyday distress unless
			// another sign comes with it.
		} else if at, ok := ctxSeen(ctx, k); ok {
			note = fmt.Sprintf("with the risk talk of message %d", at)
		} else if _, ok := here.seen[k]; ok {
			note = "with other risk talk in the message"
		} else if len(g.cues) >= 2 && (g.strong || len(g.kinds) >= 2 || s.inAll(acuteMarker)) {
			note = "together with another warning sign"
		} else if k.f == familyViolence && g.strong && s.inAll(presentDanger) {
			note = "happening now or just happened"
		} else if k.f == familySuicide && g.strong && s.timedCue(g.cues) {
			note = "with a near time"
		}
		// "It's not happening right now": abuse without present danger is
		// a concern.
		lowered := ""
		if k.f == familyViolence && s.inAll(notNow) && !s.inAll(justHappened) {
			lowered = "not happening now"
		}
		// Thoughts of a way or a place, with a stated denial of intent ("what
		// if I fall ... I don't want to do it"), are a concern.
		if k.f == familySuicide && s.inAll(denialMarker) && thoughtsOnly(g.kinds) {
			lowered = "the writer rules out acting on it"
		}
		for _, f := range g.cues {
			f.pending = false
			switch {
			case note != "":
				f.counted = true
				n := note
				if lowered != "" && f.ev.Level > Concern {
					f.ev.Level = Concern
					n += "; " + lowered
				}
				if f.ev.Note == "" {
					f.ev.Note = n
				} else {
					f.ev.Note += "; " + n
				}
			case f.r.alone > None:
				f.counted = true
				f.ev.Level = f.r.alone
			default:
				f.ev.Note = "a warning sign that counts only with other signs"
			}
		}
	}
}

// everydayOnly reports a group whose signs other than farewells with an
// everyday reason are none: nothing comes with "goodbye everyone, I'm off
// to university".
func everydayOnly(cues []*finding) bool {
	any := false
	for _, f := range cues {
		if !f.everyday {
			return false
		}
		any = true
	}
	return any
}

// onlyEntrapment reports a group of entrapment cues alone.
func onlyEntrapment(cues []*finding) bool {
	for _, f := range cues {
		if cueKind(f.r.name) != "entrapment" {
			return false
		}
	}
	return true
}

// thoughtsOnly reports cue kinds that are thoughts and talk, not means,
// plans or preparation.
func thoughtsOnly(kinds map[string]bool) bool {
	for k := range kinds {
		switch k {
		case "place", "method", "intent", "finality", "urge", "entrapment":
		default:
			return false
		}
	}
	return true
}

// timedCue reports a strong cue with a near time in its sentence ("I
// updated my will ... after Sunday").
func (s *messageScreen) timedCue(cues []*finding) bool {
	for _, f := range cues {
		// A symptom before an exam "tomorrow" is not a plan with a date.
		if f.r.flags&strongCue == 0 || f.r.category == OverdoseMedical {
			continue
		}
		sent := s.sentence(f.a)
		for _, seg := range []string{s.seg(sent[0], f.a), s.seg(f.b, sent[1])} {
			if futureTime.in(seg) || acuteMarker.in(seg) {
				return true
			}
		}
	}
	return false
}

func ctxSeen(ctx *riskContext, k contextKey) (int, bool) {
	if ctx == nil {
		return 0, false
	}
	at, ok := ctx.seen[k]
	return at, ok
}

// cueKinds group cues by what they show; two weak cues of different kinds
// (a place and an intent: "on the bridge", "going to jump") add up, two of
// one kind ("I'm done", "going to do it") do not.
var cueKinds = map[string]string{
	"cue_means": "means", "cue_means_specific": "means", "at_the_edge": "place", "cue_place": "place",
	"cue_intent": "intent", "cue_plan": "plan", "cue_goodbye": "farewell", "goodbye_letters": "farewell", "goodbyes_written": "farewell", "cue_unreachable": "unreachable",
	"cue_relapse": "relapse", "weak_symptoms": "symptom", "mixed_substances": "substance", "cue_drugs": "substance",
	"urges_again": "urge", "danger_signs": "danger", "cue_harm_means": "means",
	"cue_finality": "finality", "cue_note": "farewell", "cue_affairs": "farewell", "cue_decided": "intent",
	"cue_date": "plan", "cue_aborted": "attempt", "cue_return": "return", "cue_access": "access",
	"cue_method_idea": "method", "cue_harm_approach": "approach", "cue_empty_bottle": "substance",
	"cue_entrapment": "entrapment", "cue_implied": "intent", "farewell_forever": "farewell",
}

func cueKind(rule string) string {
	if k, ok := cueKinds[rule]; ok {
		return k
	}
	return rule
}

// ruleAffirmed names the evidence of a "yes" to a question about suicide or
// self-harm.
const ruleAffirmed = "affirmed_question"

// question is what an assistant turn asked about.
type question struct {
	message  int
	category Category
	level    Level
}

// askedAbout reports whether an assistant turn asks about suicide,
// self-harm or violence ("Have you had thoughts of ending your life?"),
// reading "you" as the person answering. Modifiers do not apply: a
// counsellor asks in general terms ("people sometimes think of ending their
// life; have you?").
func askedAbout(text string, index int) (question, bool) {
	c := canonicalize(text)
	asks := false
	for i, t := range c.tokens {
		switch t.word {
		case "?":
			asks = true
		case "you", "u":
			c.tokens[i].word = "i"
		case "yourself":
			c.tokens[i].word = "myself"
		case "your":
			c.tokens[i].word = "my"
		case "are":
			if i+1 < len(c.tokens) && (c.tokens[i+1].word == "you" || c.tokens[i+1].word == "i") ||
				i > 0 && c.tokens[i-1].word == "i" {
				c.tokens[i].word = "am"
			}
		}
	}
	if !asks {
		return question{}, false
	}
	c.build()
	s := &messageScreen{c: c, index: index}
	s.segment()
	q := question{message: index}
	found := false
	matches, _ := s.matches()
	for _, m := range matches {
		if m.r.flags&cue != 0 {
			continue
		}
		if !found || m.r.level > q.level {
			q.category, q.level, found = m.r.category, m.r.level, true
		}
	}
	return q, found
}

// answer checks whether a user turn opens with yes to q; the evidence is
// the affirming words.
func (q question) answer(s *messageScreen) (Evidence, bool) {
	text := s.c.text
	if len(s.c.tokens) == 0 || negativeAnswer.MatchString(text) {
		return Evidence{}, false
	}
	loc := affirmation.FindStringIndex(text)
	if loc == nil {
		return Evidence{}, false
	}
	a, b := s.c.span(loc[0]+1, loc[1]-1)
	start, end := s.c.source(a, b)
	return Evidence{
		Message: s.index, Start: start, End: end, Text: s.c.src[start:end],
		Rule: ruleAffirmed, Category: q.category, Level: q.level, Subject: Self,
		Note: fmt.Sprintf("answers yes to the question of message %d", q.message),
	}, true
}

// ScreenConversation screens a conversation's user turns in order, with
// what came before each: a warning sign counts after earlier risk talk ("I
// have the pills" after "I want to die" is High), a "yes" answers the
// assistant's question about suicide, and once a turn is High the
// conversation stays High (Result.Crisis is set when the High turn is not
// the last one). Assistant turns are read only for the questions they ask;
// system turns are ignored.
//
// The learned screen (DefaultLearned) reads each user turn alone and all of
// them together; its level counts when it is higher than the rules'.
func ScreenConversation(messages []data.Message) Result {
	return screenConversationWith(messages, shipped())
}

// ScreenConversationRules screens a conversation with the rules alone,
// without the learned screen: for comparisons.
func ScreenConversationRules(messages []data.Message) Result {
	return screenConversationWith(messages, nil)
}

func screenConversationWith(messages []data.Message, learned *Learned) Result {
	r := Result{}
	ctx := newRiskContext()
	var pending *question
	lastUser := -1
	var turns []*learnedText
	var userTexts []string
	var userIdx []int
	for i, m := range messages {
		switch m.Role {
		case data.RoleUser:
			s := screenMessage(m.Content, i, ctx, pending)
			pending = nil
			s.collect(&r)
			ctx.add(s.findings)
			lastUser = i
			turns = append(turns, &learnedText{c: s.c, markerIn: s.inAll, starts: []int{0}, msgs: []int{i}})
			userTexts = append(userTexts, m.Content)
			userIdx = append(userIdx, i)
		case data.RoleAssistant:
			pending = nil
			if q, ok := askedAbout(m.Content, i); ok {
				pending = &q
			}
		}
	}
	if learned != nil && len(turns) > 0 {
		if len(turns) > 1 {
			turns = append(turns, joinedTurns(userTexts, userIdx))
		}
		r.Evidence = append(r.Evidence, learned.screenTexts(turns...)...)
	}
	r.finish()
	if r.Level == High {
		latest := false
		for _, e := range r.Evidence {
			if e.Message == lastUser && e.Level == High {
				latest = true
			}
		}
		if !latest {
			r.Crisis = true
			r.Explanation = "crisis mode since an earlier turn; " + r.Explanation
		}
	}
	return r
}
