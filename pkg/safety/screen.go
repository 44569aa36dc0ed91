package safety

import (
	"slices"
	"strings"
)

// Screen screens one message written by the person a model talks to (a
// user turn): the rules, and the learned screen (DefaultLearned), whose
// level counts when it is higher. It is deterministic and safe on any
// input, including invalid UTF-8.
func Screen(text string) Result { return screenWith(text, shipped()) }

// ScreenRules screens one message with the rules alone, without the
// learned screen: for comparisons.
func ScreenRules(text string) Result { return screenWith(text, nil) }

// screenWith screens one message with the rules and, unless m is nil, the
// learned screen m.
func screenWith(text string, m *Learned) Result {
	s := screenMessage(text, 0, nil, nil)
	r := Result{}
	s.collect(&r)
	if m != nil {
		t := &learnedText{c: s.c, markerIn: s.inAll, starts: []int{0}, msgs: []int{0}}
		r.Evidence = append(r.Evidence, m.screenTexts(t)...)
	}
	r.finish()
	return r
}

// match is one rule match, in token indices [a, b).
type match struct {
	r    *rule
	a, b int
}

// finding is a match after the modifiers: its evidence, and whether it
// counts.
type finding struct {
	match
	ev      Evidence
	counted bool
	pending bool // a cue waiting for context
	// everyday marks a farewell cue with an everyday reason in its
	// sentence.
	everyday bool
}

// messageScreen is the analysis of one message.
type messageScreen struct {
	c        *canonical
	index    int
	sentOf   []int    // sentence index of each token (-1 for marks between sentences)
	sents    [][2]int // token range of each sentence, marks excluded
	question []bool   // whether each sentence ends with "?"
	clauseOf []int
	clauses  [][2]int
	quotes   [][2]int // token ranges inside quotation marks
	all      string   // the whole canonical text
	findings []*finding
	markers  map[*marker]bool // message-wide marker results, computed once
}

// screenMessage screens one user message; ctx (may be nil) holds the risk
// talk of the conversation's earlier turns, asked (may be nil) the question
// of the assistant turn before it.
func screenMessage(text string, index int, ctx *riskContext, asked *question) *messageScreen {
	s := &messageScreen{c: canonicalize(text), index: index}
	s.segment()
	s.all = s.c.text
	matches, idioms := s.matches()
	for _, m := range matches {
		s.findings = append(s.findings, s.evaluate(m))
	}
	for _, m := range idioms {
		f := &finding{match: m}
		start, end := s.c.source(m.a, m.b)
		f.ev = Evidence{Message: index, Start: start, End: end, Text: s.c.src[start:end], Rule: m.r.name,
			Category: m.r.category, Level: None, Subject: Self,
			Note: "idiom or other sense (followed by \"" + s.word(m.b) + "\")"}
		s.findings = append(s.findings, f)
	}
	if asked != nil {
		if ev, ok := asked.answer(s); ok {
			s.findings = append(s.findings, &finding{ev: ev, counted: true})
		}
	}
	s.resolveCues(ctx)
	s.pastAttemptAndNow()
	return s
}

// pastAttemptAndNow raises the writer's present thoughts of dying to High
// when the message also tells of a past attempt or overdose (a lifetime
// attempt with current ideation is the C-SSRS's higher-risk picture):
// "I tried to hang myself two years ago ... lately I wish I wasn't here".
func (s *messageScreen) pastAttemptAndNow() {
	past := false
	for _, f := range s.findings {
		if f.counted && f.ev.Subject == Self && f.ev.Level == Concern && f.r != nil && f.r.flags&act != 0 &&
			(f.ev.Category == SuicidePlan || f.ev.Category == OverdoseMedical) {
			past = true
		}
	}
	if !past {
		return
	}
	for _, f := range s.findings {
		if f.counted && f.ev.Subject == Self && f.ev.Level == Concern && f.ev.Category == SuicidalIdeation &&
			!strings.Contains(f.ev.Note, "past") && !strings.Contains(f.ev.Note, "rules out") &&
			!pastMarker.in(s.seg(s.sentence(f.a)[0], s.sentence(f.a)[1])) && !s.inAll(denialMarker) {
			f.ev.Level = High
			if f.ev.Note != "" {
				f.ev.Note += "; "
			}
			f.ev.Note += "now, after a past attempt"
		}
	}
}

// matches runs every rule and drops matches that lie inside another one
// (the longer match carries more of the sentence's meaning: "want to hurt
// myself" is an urge, not the act "hurt myself"). Matches followed by a
// word that gives them another sense ("cutting back") come back apart, as
// idioms.
func (s *messageScreen) matches() (kept, idioms []match) {
	return s.matchesIn(false)
}

// matchesIn runs the rules sentence by sentence (or, with whole, over the
// whole text, which gives the same matches: a rule's gaps never cross a
// sentence's end). Each branch runs only on the sentences that hold one of
// its literals, so that a long message costs little more than its risky
// sentence.
func (s *messageScreen) matchesIn(whole bool) (kept, idioms []match) {
	var all []match
	if len(s.c.tokens) == 0 {
		return nil, nil
	}
	windows := s.windows()
	if whole {
		windows = [][2]int{{0, len(s.c.text)}}
	}
	found := ruleLiterals.present(s.c.text, windows)
	for _, r := range rules {
		for i := range r.branches {
			br := &r.branches[i]
			mask := br.windowsIn(found)
			for k, w := range windows {
				if mask&windowBit(k) != 0 {
					all, idioms = s.matchBranch(r, br, w, all, idioms)
				}
			}
		}
	}
	return s.keepOutermost(all, idioms)
}

// windows returns the byte ranges of the canonical text's sentences, each
// with its end mark and the spaces around it.
func (s *messageScreen) windows() [][2]int {
	var out [][2]int
	first := 0
	for i, t := range s.c.tokens {
		switch t.word {
		case ".", "!", "?", ";":
		default:
			if i < len(s.c.tokens)-1 {
				continue
			}
		}
		out = append(out, [2]int{s.c.offset[first] - 1, s.c.offset[i] + len(t.word) + 1})
		first = i + 1
	}
	return out
}

// matchBranch adds the matches of one branch of a rule in the window w of
// the text: all of them, each starting after the last one (or, after an
// idiom, on its next word).
func (s *messageScreen) matchBranch(r *rule, br *branch, w [2]int, all, idioms []match) ([]match, []match) {
	text := s.c.text[:w[1]]
	for pos := w[0]; pos < len(text); {
		loc := br.re.FindStringIndex(text[pos:])
		if loc == nil {
			break
		}
		start, end := pos+loc[0], pos+loc[1]
		// The match includes a space on each side.
		a, b := s.c.span(start+1, end-1)
		if s.followedByOther(r, b) {
			// Look again from the next word: a later match may fit.
			idioms = append(idioms, match{r: r, a: a, b: b})
			pos = s.c.offset[a] + len(s.c.tokens[a].word)
			continue
		}
		all = append(all, match{r: r, a: a, b: b})
		pos = end - 1 // the closing space may open the next match
	}
	return all, idioms
}

// keepOutermost drops matches inside a longer match of the same kind, and
// idioms inside a kept match.
func (s *messageScreen) keepOutermost(all, idioms []match) (kept, _ []match) {
	order := func(m match) int { return slices.Index(rules, m.r) }
	slices.SortStableFunc(all, func(x, y match) int {
		if x.a != y.a {
			return x.a - y.a
		}
		if x.b != y.b {
			return y.b - x.b
		}
		return order(x) - order(y)
	})
	for _, m := range all {
		inside := false
		for _, k := range kept {
			if k.a <= m.a && m.b <= k.b && (m.r.flags&cue != 0) == (k.r.flags&cue != 0) &&
				familyOf(k.r.category) == familyOf(m.r.category) {
				inside = true
				break
			}
		}
		if !inside {
			kept = append(kept, m)
		}
	}
	// The sensitivity layer does not overrule a specific rule that read
	// the same words as an idiom ("want to die of embarrassment").
	kept = slices.DeleteFunc(kept, func(k match) bool {
		if k.r.flags&sense == 0 {
			return false
		}
		for _, i := range idioms {
			if i.r.flags&sense == 0 && i.a <= k.a && k.b <= i.b+1 {
				return true
			}
		}
		return false
	})
	// An idiom reading inside a counted match says nothing.
	idioms = slices.DeleteFunc(idioms, func(i match) bool {
		for _, k := range kept {
			if k.a <= i.a && i.b <= k.b {
				return true
			}
		}
		return false
	})
	return kept, idioms
}

// followedByOther reports whether the words from token b on are one of the
// rule's other-sense continuations.
func (s *messageScreen) followedByOther(r *rule, b int) bool {
	// A closing quotation mark does not part a match from the words after
	// it ("what does 'unalive' mean").
	for w := s.word(b); w == markQuote || w == "'"; w = s.word(b) {
		b++
	}
	for _, phrase := range r.notFollowedBy {
		ok := true
		for k, w := range phrase {
			if s.word(b+k) != w {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// segment finds sentences, clauses and quotations.
func (s *messageScreen) segment() {
	toks := s.c.tokens
	n := len(toks)
	s.sentOf = make([]int, n)
	s.clauseOf = make([]int, n)
	start, cstart := 0, 0
	closeClause := func(end int) {
		if cstart < end {
			s.clauses = append(s.clauses, [2]int{cstart, end})
		}
	}
	for i := 0; i <= n; i++ {
		w := ""
		if i < n {
			w = toks[i].word
		}
		if i == n || w == "." || w == "!" || w == "?" || w == ";" {
			if start < i {
				s.sents = append(s.sents, [2]int{start, i})
				s.question = append(s.question, w == "?")
			}
			closeClause(i)
			start, cstart = i+1, i+1
			continue
		}
		if w == "," || isClauseBreak(toks, i) {
			closeClause(i)
			cstart = i
			if w == "," {
				cstart = i + 1
			}
		}
	}
	for i := range s.sentOf {
		s.sentOf[i], s.clauseOf[i] = -1, -1
	}
	for k, r := range s.sents {
		for i := r[0]; i < r[1]; i++ {
			s.sentOf[i] = k
		}
	}
	for k, r := range s.clauses {
		for i := r[0]; i < r[1]; i++ {
			s.clauseOf[i] = k
		}
	}
	// Quotations: pairs of the same mark, in order.
	for _, mark := range []string{markQuote, "'"} {
		open := -1
		for i, t := range toks {
			if t.word != mark {
				continue
			}
			if open < 0 {
				open = i
				continue
			}
			if i > open+1 {
				s.quotes = append(s.quotes, [2]int{open + 1, i})
			}
			open = -1
		}
	}
}

// isClauseBreak reports a conjunction that starts a new clause: "but",
// "though", "because" always; "and", "so", "or" before a subject pronoun.
func isClauseBreak(toks []token, i int) bool {
	switch toks[i].word {
	case "but", "though", "although", "however", "because", "cause", "whereas", "except":
		return true
	case "and", "so", "or", "then":
		if i+1 < len(toks) {
			switch toks[i+1].word {
			case "i", "he", "she", "they", "we", "it", "my", "you", "now", "then", "that":
				return true
			}
		}
	}
	return false
}

// seg returns the canonical text of tokens [a, b), with a space at each end.
func (s *messageScreen) seg(a, b int) string {
	if a >= b {
		return " "
	}
	last := s.c.tokens[b-1].word
	return s.c.text[s.c.offset[a]-1 : s.c.offset[b-1]+len(last)+1]
}

// sentence returns the token range of the sentence holding token i (the
// whole text when i is a mark outside sentences), cut to contextWindow
// tokens on each side of i.
func (s *messageScreen) sentence(i int) [2]int {
	r := [2]int{0, len(s.c.tokens)}
	if i >= 0 && i < len(s.sentOf) && s.sentOf[i] >= 0 {
		r = s.sents[s.sentOf[i]]
	}
	return clip(r, i)
}

func (s *messageScreen) clause(i int) [2]int {
	if i >= 0 && i < len(s.clauseOf) && s.clauseOf[i] >= 0 {
		return clip(s.clauses[s.clauseOf[i]], i)
	}
	return s.sentence(i)
}

// contextWindow bounds the context a modifier reads around a match: a
// sentence of thousands of words (pasted text, no full stops) would
// otherwise make screening quadratic.
const contextWindow = 60

func clip(r [2]int, i int) [2]int {
	return [2]int{max(r[0], i-contextWindow), min(r[1], i+contextWindow)}
}

// inAll reports whether a marker occurs anywhere in the message, computing
// it once.
func (s *messageScreen) inAll(m *marker) bool {
	if v, ok := s.markers[m]; ok {
		return v
	}
	if s.markers == nil {
		s.markers = map[*marker]bool{}
	}
	v := m.in(s.all)
	s.markers[m] = v
	return v
}

func (s *messageScreen) word(i int) string {
	if i < 0 || i >= len(s.c.tokens) {
		return ""
	}
	return s.c.tokens[i].word
}

// evaluate applies the modifiers to one match.
func (s *messageScreen) evaluate(m match) *finding {
	r := m.r
	start, end := s.c.source(m.a, m.b)
	f := &finding{match: m, ev: Evidence{
		Message: s.index, Start: start, End: end, Text: s.c.src[start:end],
		Rule: r.name, Category: r.category, Level: r.level, Subject: Self,
	}}
	discount := func(note string) *finding {
		f.ev.Note, f.counted = note, false
		return f
	}
	sent := s.sentence(m.a)
	sentSeg := s.seg(sent[0], sent[1])
	before := s.seg(sent[0], m.a)

	forced := Subject("")
	if q, ok := s.quoteAround(m.a, m.b); ok {
		switch attr := s.attribution(q); attr {
		case quoteWork:
			return discount("quotes a song, film, book or saying")
		case quoteHabit:
			// A catchphrase about an everyday trigger ("always says 'I'm
			// going to kill myself' when the printer jams") is a saying;
			// without one, repeated talk of dying is a warning sign.
			if habitTrigger.in(s.seg(q[1], sent[1])) || trivialCondition.in(sentSeg) {
				return discount("quotes someone's habitual saying")
			}
			forced = s.quoteSpeaker(q)
		case quoteQuestion:
			if !s.answeredYes(q[1]) {
				return discount("a question someone asked, quoted")
			}
			forced = Self
			f.ev.Note = "the writer answered yes to this question"
		case quoteThird:
			forced = ThirdParty
		}
	} else if innerVoice.in(before) {
		// "my head keeps saying kill yourself": the writer's own thoughts.
		forced = Self
		f.ev.Note = "the writer's own thoughts"
	} else if reportedQuestion.in(before) {
		if !s.answeredYes(m.b) {
			return discount("a question someone asked")
		}
		forced = Self
		f.ev.Note = "the writer answered yes to this question"
	}

	past := false
	if r.flags&negatedFrame == 0 {
		if neg, resolved := s.negated(m); neg {
			if !resolved {
				return discount("negated")
			}
			past = true
		}
	}
	if r.flags&(joking|threat) != 0 && !s.inAll(seriousMarker) {
		// Laughter does not make a wish not to exist a joke: hyperbole
		// says "I want to die", not "I wish I'd never been born".
		literal := r.flags&passive != 0 && nonHyperbole.in(s.seg(m.a, m.b))
		if s.inAll(jokeMarker) && !literal {
			return discount("hyperbole (joke marker)")
		}
		if trivialCondition.in(sentSeg) {
			return discount("hyperbole (a trivial condition)")
		}
		if strings.Contains(s.all, " "+markSob+" ") && everydayCause.in(s.all) && !literal {
			return discount("hyperbole (crying emoji about an everyday cause)")
		}
	}
	if r.flags&cue != 0 && fearedFrame.in(s.seg(max(s.clause(m.a)[0], m.a-5), m.a)) {
		return discount("feared, not done")
	}
	// A farewell or a gift with an everyday reason ("because I'm moving")
	// is left to resolveCues: the reason explains it away only when no
	// other sign comes with it.
	f.everyday = r.flags&cue != 0 && cueKind(r.name) == "farewell" && everydayFarewell.in(sentSeg)
	if r.name == "sense_method_question" && populationStat.in(sentSeg) {
		return discount("a question about how often it happens")
	}
	if r.name == "sense_burden" && burdenScope.in(sentSeg) {
		return discount("a burden at work or school, not to the people in one's life")
	}
	if r.name != "end_it" && endsSomething(s.seg(m.a, m.b)) && (s.inAll(relationshipMarker) || s.inAll(partnerPronoun)) {
		return discount("about ending a relationship or an activity")
	}

	if s.question[s.sentIndex(m.a)] && hypothetical.in(before) && r.flags&method == 0 {
		return discount("asks how to tell whether someone is at risk")
	}
	subject, found := s.subject(m, forced)
	if r.flags&violence != 0 {
		var ok bool
		if subject, ok = s.routeViolence(f); !ok {
			return discount("no person acts")
		}
	}
	if subject == subjGeneric {
		if r.flags&method == 0 {
			if s.question[s.sentIndex(m.a)] {
				return discount("a question about the topic")
			}
			return discount("about people in general")
		}
		subject = subjSelf
	}
	if r.flags&sense != 0 && subject == subjNonPerson {
		return discount("not about a person")
	}
	f.ev.Subject = subject.Subject()

	if s.inAll(clinicalMarker) && (r.flags&noun != 0 || !found) && r.flags&method == 0 {
		return discount("clinical, academic or fictional discussion")
	}
	if subject == subjThird && fictionMarker.in(sentSeg) && !socialStory.in(sentSeg) {
		return discount("about characters in a story, play or film")
	}
	if r.flags&noun != 0 && !s.firstPersonNear(m) && subject != subjThird {
		return discount("a topic word, not about the writer")
	}
	if r.category == OverdoseMedical && (r.name == "emergency_symptoms" || r.name == "weak_symptoms") {
		if s.inAll(panicMarker) || metaphorMarker.in(before) {
			return discount("a figure of speech, anxiety or a panic attack")
		}
	}
	if r.name == "overdosed_self" && s.word(m.b) == "on" && !drug.in(s.seg(m.b, min(m.b+5, sent[1]))) {
		return discount("an overdose of something harmless, an idiom")
	}
	if r.name == "sense_method_question" && safetyDevice.in(sentSeg) {
		return discount("asks about an alarm or a detector")
	}
	if r.name == "mixed_substances" && s.question[s.sentIndex(m.a)] && !alcohol.in(s.seg(m.a, m.b)) {
		return discount("a question whether two medicines go together")
	}
	if r.name == "coercion" && writerDoes(before) {
		return discount("the writer's own doing")
	}
	if r.name == "preparation_note" && farewellToThing.in(sentSeg) {
		return discount("a goodbye letter to a place, a habit or one's old self")
	}
	if (r.name == "method_jump" || r.name == "emergency_symptoms") && gameOrSport.in(sentSeg) {
		return discount("a game, a plot or a sport")
	}
	if r.name == "emergency_symptoms" && longStanding.in(sentSeg) {
		return discount("a symptom of weeks or months")
	}
	if r.name == "violence_passive" && metaphorMarker.in(before) {
		return discount("a figure of speech")
	}
	if r.name == "think_death" && s.inAll(notSuicidal) {
		return discount("the writer says they are not suicidal")
	}
	if r.flags&violence != 0 && nounDeterminers[s.word(m.a-1)] {
		return discount("a noun (\"the abuse\"), not an act")
	}
	if r.flags&violence != 0 && s.word(m.b-1) == "her" && possessiveHer(s.word(m.b)) {
		return discount("\"her\" is a possessive here")
	}
	if r.name == "end_it" && s.inAll(relationshipMarker) {
		return discount("about ending a relationship or an activity")
	}
	if r.category == SelfHarm && accidentMarker.in(sentSeg) && !onPurpose.in(sentSeg) {
		return discount("an accidental injury")
	}

	// Levels.
	level := r.level
	note := func(n string) {
		if f.ev.Note == "" {
			f.ev.Note = n
		} else {
			f.ev.Note += "; " + n
		}
	}
	cl := s.clause(m.a)
	clauseSeg := s.seg(cl[0], max(cl[1], m.b))
	recent := recentMarker.in(clauseSeg)
	if r.flags&passive != 0 && (acuteMarker.in(sentSeg) || s.acuteNearby(m.a)) {
		level = High
		note("acute: now or tonight")
	} else if r.flags&(passive|sense) == passive|sense && intentFrame.in(before) && futureTime.in(sentSeg) {
		level = High
		note("an intent with a time")
	}
	if (past || pastMarker.in(sentSeg) || monthsAgoPast(sentSeg)) && !recent {
		if level > Concern {
			level = Concern
			note("a past event")
		}
	} else if r.flags&idea != 0 && pastTense.in(s.seg(max(sent[0], m.a-2), m.b)) && !recent {
		if level > Concern {
			level = Concern
			note("past tense")
		}
	}
	if r.flags&idea != 0 && s.inAll(denialMarker) && level > Concern {
		level = Concern
		note("the writer rules out acting on it")
	}
	if r.flags&(idea|joking) != 0 && r.flags&threat == 0 && conditionalMarker.in(before) && level > Concern {
		level = Concern
		note("conditional")
	}
	if r.category == SelfHarm && r.flags&act != 0 && level < High && actNow.in(clauseSeg) && !pastMarker.in(clauseSeg) {
		level = High
		note("recent")
	} else if r.category == SelfHarm && r.flags&act != 0 && level < High && subject == subjSelf &&
		(ongoing.in(sentSeg) || recentAct.in(clauseSeg)) && !pastMarker.in(sentSeg) {
		level = High
		note("ongoing")
	}
	if r.flags&threat != 0 && level < High && (acuteMarker.in(sentSeg) || threatTime.in(sentSeg)) {
		level = High
		note("with a time")
	}
	if r.flags&violence != 0 || r.name == "violence_passive" {
		danger := presentDanger.in(sentSeg)
		if f.ev.Category == HarmToOthers {
			danger = presentDanger.in(clauseSeg)
		}
		if subject == subjThird {
			danger = acuteMarker.in(sentSeg) || presentDanger.in(clauseSeg) && s.inAll(acuteMarker)
		}
		overNow := s.inAll(notNow) && !justHappened.in(sentSeg) // "not right now", nothing just happened
		if danger && !pastMarker.in(clauseSeg) && !overNow && level < High {
			level = High
			note("happening now or just happened")
		}
	}
	if subject == subjThird && level > Concern {
		// Someone else's thoughts, urges and past acts are a concern; their
		// plans and acts now are an emergency.
		now := actNow.in(sentSeg) || s.inAll(acuteMarker) || r.flags&act != 0 && recentAct.in(sentSeg)
		if r.category == SuicidalIdeation || r.category == SelfHarm && !now ||
			r.flags&act != 0 && r.category != OverdoseMedical && !now {
			level = Concern
			note("about someone else")
		}
	}
	f.ev.Level = level
	if r.flags&cue != 0 {
		f.pending = true
		return f
	}
	f.counted = true
	return f
}

// endsSomething reports a match that speaks of ending it or things, which
// may be a relationship.
func endsSomething(seg string) bool {
	return strings.Contains(seg, " end it ") && !strings.Contains(seg, " end it all ") ||
		strings.Contains(seg, " end things ") || strings.Contains(seg, " ending it ") && !strings.Contains(seg, " ending it all ")
}

// threatTime: a threat with a day or a moment ("when he gets home").
var threatTime = newMarker("threat_time", `tomorrow|tonight|today|when (?:he|she|they) (?:gets|get|comes|come) (?:home|back|in)|on monday|on friday|this week|next week|in the morning|while (?:he|she|they) (?:sleeps|sleep|is asleep|are asleep)|the next time i see (?:him|her|them)|next time (?:he|she|they)`)

// fearedFrame: a sign the writer fears or fights ("scared I'll relapse").
var fearedFrame = newMarker("feared", `(?:scared|afraid|worried|terrified|fear|frightened|nervous|anxious)(?: that)?(?: i will| i would| i might| i could| i am going to| of| she will| he will| they will| she would| he would)?|(?:do not|don't) want to|trying not to|try not to|so i do not|so i don't`)

// ongoing: self-harm that goes on ("every night this week").
var ongoing = newMarker("ongoing", `every (?:night|day|morning|evening)|each (?:night|day)|most (?:nights|days)|this week|all week|daily|nightly|these days|every time i`)

// recentAct: someone else's act that just happened ("just took").
var recentAct = newMarker("recent_act", `just|an hour ago|minutes ago|last night|this morning|today|tonight|yesterday|earlier`)

// actNow: an act of self-harm today or just now.
var actNow = newMarker("act_now", `today|tonight|last night|this morning|this afternoon|this evening|just now|an hour ago|minutes ago|right now`)

// pastTense: ideation told in the past tense ("I was suicidal", "I wanted
// to die").
var pastTense = newMarker("past_tense", `was|were|had|used to|felt|wanted|wished|thought|tried to think|went through|struggled with`)

// reportedQuestion: "the doctor asked if I ...".
var reportedQuestion = newMarker("reported_question", `(?:asked|asks|asking|ask|question|questions|wondered|wants to know|wanted to know) (?:me |us |them |him |her |you |my {w} )?(?:if|whether|about|how often|when)`)

// answerYes: the writer answered yes to a question just reported.
var answerYes = newMarker("answer_yes", `(?:and )?i (?:said|answered|told (?:her|him|them)|replied|admitted|nodded|had to say) (?:yes|yeah|that i do|that i have|i do|i have|yes i do|the truth)`)

func (s *messageScreen) answeredYes(after int) bool {
	end := min(len(s.c.tokens), after+12)
	return answerYes.in(s.seg(after, end))
}

func (s *messageScreen) sentIndex(i int) int {
	if i >= 0 && i < len(s.sentOf) && s.sentOf[i] >= 0 {
		return s.sentOf[i]
	}
	return 0
}

// acuteNearby: an acute time in the sentence after the match's ("I want to
// die. Right now.").
func (s *messageScreen) acuteNearby(i int) bool {
	k := s.sentIndex(i)
	if k+1 < len(s.sents) {
		r := s.sents[k+1]
		if r[1]-r[0] <= 4 {
			return acuteMarker.in(s.seg(r[0], r[1]))
		}
	}
	return false
}

// negated reports a negation before the match in its clause ("I would never
// hurt myself"); resolved is set when the negation says the thing is over
// ("I don't cut anymore", "I haven't self-harmed in two years"): a past
// event, not a denial.
func (s *messageScreen) negated(m match) (negated, resolved bool) {
	cl := s.clause(m.a)
	from := max(cl[0], m.a-6)
	for i := m.a - 1; i >= from; i-- {
		w := s.word(i)
		if !negators[w] {
			continue
		}
		rest := s.seg(i+1, min(len(s.c.tokens), i+4))
		exception := false
		for _, e := range negationExceptions {
			if strings.HasPrefix(rest, " "+e+" ") {
				exception = true
				break
			}
		}
		if exception {
			continue
		}
		sent := s.sentence(m.a)
		seg := s.seg(sent[0], sent[1])
		return true, resolvedNegation.in(seg)
	}
	return false, false
}

// resolvedNegation: "not anymore", "in two years", "since".
var resolvedNegation = newMarker("resolved", `anymore|any more|no longer|since|in (?:over |more than |almost )?(?:a |one |two |three |four |five |six |\d+ |several |many |a few )?(?:years?|months?)|for (?:years|months|a long time)|(?:in|for) a (?:long )?while`)

// firstPersonNear reports a first-person word in the match's clause.
func (s *messageScreen) firstPersonNear(m match) bool {
	cl := s.clause(m.a)
	for i := cl[0]; i < max(cl[1], m.b); i++ {
		switch s.word(i) {
		case "i", "my", "me", "myself", "we", "our":
			return true
		}
	}
	return false
}

// quoteAround returns the quotation that holds the match.
func (s *messageScreen) quoteAround(a, b int) ([2]int, bool) {
	for _, q := range s.quotes {
		if q[0] <= a && b <= q[1] {
			return q, true
		}
	}
	return [2]int{}, false
}

// Kinds of quotation.
const (
	quotePlain    = iota // no attribution found, or the writer's own words
	quoteWork            // a song, film, book, saying
	quoteHabit           // what someone always says
	quoteQuestion        // a question someone asked
	quoteThird           // someone else's words about themselves
)

var (
	quoteWorkAfter      = newMarker("quote_work_after", `version|cover|song|songs|lyric|lyrics|track|album|film|movie|book|novel|poem|episode|band|singer|rapper|chorus`)
	quoteWorkMarker     = newMarker("quote_work", `song|songs|lyric|lyrics|chorus|verse|refrain|hook|line|lines|movie|film|show|book|novel|poem|quote|saying|villain|character|meme|tiktok|video|sings|sang|singing|sing|listening|hum|humming|rapper|singer|album|track|episode|game|goes|playing|band|title|called|named|grandma always|motto|expression|phrase`)
	quoteHabitMarker    = newMarker("quote_habit", `always|keeps|every time|constantly|whenever|all the time|jokingly|joked|joking`)
	quoteQuestionMarker = newMarker("quote_question", `asked|asks|asking|ask|question|questions|form|survey|questionnaire|intake|screening|checklist`)
)

// attribution classifies a quotation by the words before it in its
// sentence and by its own last mark.
func (s *messageScreen) attribution(q [2]int) int {
	open := q[0] - 1
	from := 0
	for i := open - 1; i >= 0; i-- {
		if w := s.word(i); w == "." || w == "!" || w == ";" || w == "?" && i < open-1 {
			from = i + 1
			break
		}
	}
	attr := s.seg(from, open)
	inner := s.seg(q[0], q[1])
	switch {
	case habitVerb.in(attr):
		return quoteHabit // "keeps saying": not a proverb
	case quoteWorkMarker.in(attr):
		return quoteWork
	case quoteHabitMarker.in(attr):
		return quoteHabit
	case quoteQuestionMarker.in(attr) || strings.Contains(inner, " ? "):
		return quoteQuestion
	case from == open && q[1]+1 < len(s.c.tokens) && quoteWorkAfter.in(s.seg(q[1]+1, min(q[1]+7, s.sentence(q[1])[1]))):
		// "'I hurt myself today' - the Cash version gets me every time".
		return quoteWork
	}
	for i := open - 1; i >= from; i-- {
		switch w := s.word(i); {
		case w == "i":
			return quotePlain
		case w == "he" || w == "she" || w == "they" || relationNouns[w] || genericNouns[w]:
			return quoteThird
		}
	}
	return quotePlain
}

// quoteSpeaker is whom a quotation is about: the writer when "I" says it,
// else whoever is named before it.
func (s *messageScreen) quoteSpeaker(q [2]int) Subject {
	for i := q[0] - 2; i >= max(0, q[0]-12); i-- {
		switch w := s.word(i); {
		case w == "." || w == "!" || w == "?":
			return ThirdParty
		case w == "i":
			return Self
		case w == "he" || w == "she" || w == "they" || relationNouns[w] || genericNouns[w]:
			return ThirdParty
		}
	}
	return ThirdParty
}

// populationStat: a question about numbers of people, not a method.
var populationStat = newMarker("population_stat", `each year|per year|every year|a year|annually|statistics|statistic|rate|rates|percentage|percent|how many people|how common`)

// burdenScope: a burden in one setting ("at work").
var burdenScope = newMarker("burden_scope", `at work|at school|at uni|in class|on the team|on my team|to my team|to my coworkers|to my colleagues|to my boss|in the group|at the office|at my job`)

// partnerPronoun: someone "it" may be ended with ("Should I end it? He
// never listens").
var partnerPronoun = newMarker("partner_pronoun", `he|she`)

// hypotheticalFrame: a sentence about anyone ("if a friend tells me").
var hypotheticalFrame = newMarker("hypothetical_frame", `if|when|whenever|what should|what do|how do|how should|how can|in case`)

// habitVerb: someone says something again and again.
var habitVerb = newMarker("habit_verb", `(?:keeps|kept|keep|always|constantly|often|sometimes|still) (?:saying|says|said|telling|tells|texting|posting|writing)`)

// habitTrigger: the everyday trigger of a catchphrase ("when the printer
// jams").
var habitTrigger = newMarker("habit_trigger", `when|whenever|every time|each time|if`)

// subjectKind is whom a match is about, before it becomes a Subject.
type subjectKind uint8

const (
	subjSelf subjectKind = iota
	subjThird
	subjGeneric
	subjNonPerson
	subjUnknown
)

// Subject converts to the exported type (general subjects never reach it).
func (k subjectKind) Subject() Subject {
	if k == subjThird {
		return ThirdParty
	}
	return Self
}

// subject decides whom a match is about: a reflexive or possessive in the
// match ("kill herself", "her pills"), else the nearest subject before it
// in its clause, then in its sentence ("my sister says she wants to die").
// found is false when no word names the subject and the writer is assumed.
func (s *messageScreen) subject(m match, forced Subject) (subjectKind, bool) {
	if forced == ThirdParty {
		return subjThird, true
	}
	if forced == Self {
		return subjSelf, true
	}
	for i := m.a; i < m.b; i++ {
		w := s.word(i)
		if k, ok := reflexiveSubject[w]; ok {
			if k == Self {
				return subjSelf, true
			}
			return subjThird, true
		}
		if generalReflexives[w] {
			return subjGeneric, true
		}
	}
	// A pronoun opening the match is its subject: "I am not joking", "he is
	// going to jump".
	switch s.word(m.a) {
	case "i", "we":
		return subjSelf, true
	case "he", "she", "they":
		return subjThird, true
	}
	if m.r.category == AbuseViolence && m.r.flags&violence == 0 {
		// Abuse is about its victim: "threatening to beat me up".
		for i := m.a; i < m.b; i++ {
			switch s.word(i) {
			case "me", "us", "my", "myself", "i":
				return subjSelf, true
			}
		}
	}
	if m.r.flags&(threat|violence) == 0 {
		// A subject pronoun near the start of the match ("wishes he were
		// dead", "after I am gone"); later ones belong to another clause.
		for i := m.a; i < min(m.b, m.a+3); i++ {
			switch w := s.word(i); w {
			case "i", "we":
				return subjSelf, true
			case "he", "she", "they":
				return subjThird, true
			case "without":
				switch s.word(i + 1) {
				case "me":
					return subjSelf, true
				case "him", "her", "them":
					return subjThird, true
				}
			}
		}
		// "everyone would be better off if I ...", "... without me": the
		// writer, whoever else the sentence names.
		if m.r.flags&passive != 0 {
			for i := m.a; i+1 < m.b; i++ {
				if w, next := s.word(i), s.word(i+1); w == "without" && next == "me" || w == "if" && next == "i" {
					return subjSelf, true
				}
			}
		}
		// "my girlfriend overdosed": the relative is the subject.
		if s.word(m.a) == "my" && (relationNouns[s.word(m.a+1)] || relationNouns[s.word(m.a+2)]) && m.r.flags&cue == 0 {
			return subjThird, true
		}
		// In a cue a possessive is rarely its subject ("it was not their
		// fault"), so cues take the subject from the words before them.
		for i := m.a; i < m.b && m.r.flags&cue == 0; i++ {
			switch s.word(i) {
			case "my":
				if m.r.category == SelfHarm && relationNouns[s.word(i+1)] {
					return subjThird, true // "cuts on my daughter's arm"
				}
				return subjSelf, true
			case "his", "their":
				if s.genericAntecedent(m.a) {
					return subjGeneric, true
				}
				return subjThird, true
			case "your":
				return subjGeneric, true
			}
		}
	}
	if k, ok := s.lookBack(m.a, s.clause(m.a)[0]); ok {
		return k, true
	}
	if k, ok := s.lookBack(s.clause(m.a)[0], s.sentence(m.a)[0]); ok {
		return k, true
	}
	// A topic word in a question with no subject ("is self-harm always a
	// suicide attempt?") is about the topic.
	if m.r.flags&passive == 0 && s.question[s.sentIndex(m.a)] {
		return subjGeneric, false
	}
	return subjSelf, false
}

// genericAntecedent reports a general person shortly before token i in
// its sentence ("if a friend tells me they are thinking of ending their
// life"), whom a later "they" or "their" refers to.
func (s *messageScreen) genericAntecedent(i int) bool {
	sent := s.sentence(i)
	if !s.question[s.sentIndex(i)] && !hypotheticalFrame.in(s.seg(sent[0], i)) {
		return false // "a girl in my class posted that she ...": someone in particular
	}
	from := max(sent[0], i-10)
	for k := i - 1; k >= from; k-- {
		w := s.word(k)
		if w == "i" || w == "my" {
			continue
		}
		if genericPronouns[w] || genericNouns[w] && !definiteDeterminers[s.word(k-1)] ||
			relationNouns[w] && indefiniteDeterminers[s.word(k-1)] {
			return true
		}
		if definiteDeterminers[w] && w != "the" {
			return false
		}
	}
	return false
}

// lookBack finds the nearest subject word in tokens [from, i).
func (s *messageScreen) lookBack(i, from int) (subjectKind, bool) {
	for j := i - 1; j >= from && j >= 0; j-- {
		w := s.word(j)
		switch {
		case w == "i" || w == "we":
			return subjSelf, true
		case w == "you" || w == "u":
			return subjGeneric, true
		case w == "him" || w == "her" || w == "them":
			// The object of "causes her to become suicidal".
			if next := s.word(j + 1); next == "feel" || next == "become" || next == "to" && (s.word(j+2) == "become" || s.word(j+2) == "feel") {
				return subjThird, true
			}
		case w == "he" || w == "she" || w == "they":
			// A pronoun whose antecedent is general ("someone says they").
			for k := j - 1; k >= from && k >= j-6; k-- {
				if genericNouns[s.word(k)] && !definiteDeterminers[s.word(k-1)] {
					return subjGeneric, true
				}
				// "if a friend tells me they ...": anyone's friend.
				if relationNouns[s.word(k)] && indefiniteDeterminers[s.word(k-1)] && s.genericAntecedent(j) {
					return subjGeneric, true
				}
			}
			if w == "they" && s.question[s.sentIndex(j)] {
				return subjGeneric, true
			}
			return subjThird, true
		case genericPronouns[w] || genericNouns[w] && !definiteDeterminers[s.word(j-1)] && !definiteDeterminers[s.word(j-2)]:
			return subjGeneric, true
		case relationNouns[w] || genericNouns[w]:
			for k := j - 1; k >= max(from, j-3); k-- {
				d := s.word(k)
				if indefiniteDeterminers[d] {
					return subjGeneric, true
				}
				if definiteDeterminers[d] {
					return subjThird, true
				}
			}
			if strings.HasSuffix(w, "s") && !relationNouns[strings.TrimSuffix(w, "s")] {
				continue
			}
			return subjThird, true
		case nonPersonSubjects[w]:
			return subjNonPerson, true
		}
	}
	return subjUnknown, false
}

// routeViolence decides the category and subject of an act of violence:
// the writer acting is harm to others; someone acting on the writer (or on
// someone in the writer's home, with the writer afraid or hiding) is abuse.
func (s *messageScreen) routeViolence(f *finding) (subjectKind, bool) {
	victimSelf := false
	for i := f.a; i < f.b; i++ {
		switch s.word(i) {
		case "me", "us":
			victimSelf = true
		}
	}
	actor, ok := s.actor(f.a)
	if !ok || actor == subjNonPerson || actor == subjUnknown {
		return subjUnknown, false
	}
	if actor == subjSelf {
		if victimSelf || strings.HasPrefix(s.word(f.a), "touch") {
			return subjUnknown, false
		}
		switch s.word(f.a - 1) {
		case "could", "would", "might":
			// "I could strangle him": a threat or a figure of speech, which
			// the threat rules read; not an act.
			return subjUnknown, false
		}
		f.ev.Category = HarmToOthers
		return subjSelf, true
	}
	if victimSelf || s.inAll(writerInDanger) {
		return subjSelf, true
	}
	return subjThird, true
}

// nounDeterminers before a violence word make it a noun: "the abuse my
// dad showed me".
var nounDeterminers = map[string]bool{"the": true, "this": true, "that": true, "of": true, "from": true,
	"a": true, "an": true, "any": true, "no": true, "such": true, "physical": true, "sexual": true}

// possessiveHer reports a word after "her" that makes it a possessive
// ("abusing her prescription"): a word that is not a function word or a
// mark.
func possessiveHer(next string) bool {
	switch next {
	case "", ".", ",", "!", "?", ";", `"`, "'", "and", "or", "with", "in", "at", "on", "when", "because", "again",
		"every", "right", "last", "yesterday", "today", "tonight", "up", "until", "so", "while", "to", "for",
		"from", "but", "if", "all", "hard", "badly", "twice", "once", "repeatedly", "too", "as", "after", "before",
		"around", "down", "then", "now", "like", "just", "really", "a", "the", "by", "over":
		return false
	}
	return true
}

// actor finds who does the act that starts at token i: the words just
// before it, past adverbs and auxiliaries ("my husband just pushed me",
// "he always hits me"); after "and" or a comma the subject of the earlier
// verb ("my girlfriend checks my phone and slapped me"). Anything else
// before the verb ("the grief hits me") is no person acting.
func (s *messageScreen) actor(i int) (subjectKind, bool) {
	cl := s.clause(i)
	j := i - 1
	for j >= cl[0] && actorSkippable[s.word(j)] {
		j--
	}
	if j < cl[0] {
		return subjUnknown, false
	}
	w := s.word(j)
	if w == "and" || w == "or" || w == "then" {
		return s.lookBack(j, s.sentence(i)[0])
	}
	k, ok := s.lookBack(j+1, max(cl[0], j-2))
	if !ok {
		return subjUnknown, false
	}
	return k, true
}

// actorSkippable are the words between an actor and the act.
var actorSkippable = map[string]bool{"always": true, "sometimes": true, "just": true, "never": true, "often": true,
	"also": true, "still": true, "keeps": true, "kept": true, "has": true, "had": true, "have": true, "would": true,
	"will": true, "is": true, "was": true, "were": true, "are": true, "constantly": true, "repeatedly": true,
	"even": true, "mentally": true, "emotionally": true, "verbally": true, "physically": true, "sexually": true,
	"brutally": true, "badly": true, "playfully": true, "usually": true, "again": true, "been": true,
	"literally": true, "actually": true, "then": false, "once": true, "nearly": true, "almost": true,
	"started": true, "starts": true, "tried": true, "tries": true, "to": true, "used": true, "did": true,
	"does": true, "not": false, "really": true, "violently": true, "hard": true, "finally": true}

// writerInDanger: the writer is hiding or afraid in a violent scene.
var writerInDanger = newMarker("writer_in_danger", `i am (?:hiding|scared|terrified|afraid|locked)|i locked myself|(?:hiding|hid) in my|scared (?:he|she) will (?:kill|hurt) (?:me|us)|i am in my room`)

// collect adds the message's findings to r.
func (s *messageScreen) collect(r *Result) {
	for _, f := range s.findings {
		if f.counted {
			r.Evidence = append(r.Evidence, f.ev)
		} else {
			r.Discounted = append(r.Discounted, f.ev)
		}
	}
}

// writerDoes reports whether the words before a match in its sentence make
// the writer its subject: none ("checking my phone every 5 minutes"), or
// "I am", "I keep", "I was", "I have been".
func writerDoes(before string) bool {
	before = strings.TrimSpace(before)
	if before == "" {
		return true
	}
	for _, frame := range []string{"i am", "i keep", "i was", "i have been", "i keep on"} {
		if before == frame || strings.HasSuffix(before, " "+frame) {
			return true
		}
	}
	return false
}
