package safety

import (
	"slices"
	"strings"
	"testing"
)

// screenCase is one message with what the screen must say about it.
type screenCase struct {
	text     string
	level    Level
	category Category // "" to skip the check
	subject  Subject  // "" to skip the check
}

// The phenomena the issue lists, each with a case that a keyword list gets
// wrong. These sentences are not in the labelled set.
var phenomena = map[string][]screenCase{
	"explicit ideation": {
		{"I want to kill myself.", High, SuicidalIdeation, Self},
		{"honestly I'm suicidal again", High, SuicidalIdeation, Self},
		{"I keep thinking about taking my own life", High, SuicidalIdeation, Self},
	},
	"plan, method, means, preparation": {
		{"I'm going to hang myself in the shed on Sunday.", High, SuicidePlan, Self},
		{"What's the least painful way to kill yourself?", High, SuicidePlan, Self},
		{"I've been stockpiling my sleeping pills.", High, SuicidePlan, Self},
		{"I wrote my suicide note last night.", High, SuicidePlan, Self},
	},
	"attempts: recent and past": {
		{"I tried to kill myself yesterday.", High, SuicidePlan, Self},
		{"I tried to kill myself when I was fifteen.", Concern, SuicidePlan, Self},
		{"My last suicide attempt was a decade ago.", Concern, SuicidePlan, Self},
	},
	"passive wishes": {
		{"I wish I could fall asleep and never wake up.", Concern, SuicidalIdeation, Self},
		{"My kids would be better off without me.", Concern, SuicidalIdeation, Self},
		{"I just want to die, right now, tonight.", High, SuicidalIdeation, Self},
	},
	"self-harm": {
		{"I cut my wrists again tonight.", High, "", Self},
		{"I have the urge to cut but I haven't.", Concern, SelfHarm, Self},
		{"I used to burn myself in high school.", Concern, SelfHarm, Self},
		{"I'm cutting back on sugar.", None, "", ""},
		{"I cut my finger chopping onions.", None, "", ""},
	},
	"harm to others": {
		{"I'm going to shoot my boss tomorrow, I have the gun in my car.", High, HarmToOthers, Self},
		{"Sometimes I have thoughts of hurting my brother.", Concern, HarmToOthers, Self},
		{"I'm gonna kill my roommate if he eats my leftovers again lol", None, "", ""},
	},
	"abuse and violence": {
		{"My husband says he'll kill me if I leave, and he has a gun.", High, AbuseViolence, Self},
		{"My dad hits me when he drinks.", Concern, AbuseViolence, Self},
		{"I was abused as a kid.", Concern, AbuseViolence, Self},
		{"Nobody hurts me, we just argue.", None, "", ""},
	},
	"overdose and medical": {
		{"I swallowed a whole bottle of Advil an hour ago.", High, OverdoseMedical, Self},
		{"My girlfriend took all her pills and she won't wake up.", High, OverdoseMedical, ThirdParty},
		{"I took two Tylenol for my headache.", None, "", ""},
	},
	"negation": {
		{"I would never hurt myself.", None, "", ""},
		{"I'm not suicidal, just really stressed.", None, "", ""},
		{"I don't want to die, I want things to change.", None, "", ""},
		{"I haven't self-harmed in three years.", Concern, SelfHarm, Self},
	},
	"hyperbole and idiom": {
		{"This commute is killing me.", None, "", ""},
		{"I could murder a burger right now.", None, "", ""},
		{"I'm dying to see that movie.", None, "", ""},
		{"If I have to sit through one more meeting I'll kill myself lol", None, "", ""},
		{"My mom is going to kill me when she sees my grades.", None, "", ""},
	},
	"third parties": {
		{"My sister says she wants to die.", Concern, SuicidalIdeation, ThirdParty},
		{"My friend has been cutting herself.", Concern, SelfHarm, ThirdParty},
		{"My brother is on the bridge right now saying he's going to jump.", High, SuicidePlan, ThirdParty},
	},
	"quotations": {
		{`My therapist asked "do you want to die?" and I said no.`, None, "", ""},
		{`My therapist asked "do you want to die?" and I said yes.`, Concern, SuicidalIdeation, Self},
		{`I can't get the lyric "I want to die young" out of my head.`, None, "", ""},
		{`She texted me "I'm going to kill myself tonight".`, High, "", ThirdParty},
	},
	"questions about the topic": {
		{"What are the warning signs of suicide?", None, "", ""},
		{"How do I help a friend who is suicidal?", None, "", ""},
		{"Why do I want to die all the time?", Concern, SuicidalIdeation, Self},
	},
	"clinical and academic": {
		{"For my class I'm writing a paper on self-harm in adolescents.", None, "", ""},
		{"As a nurse, how do I ask patients about suicidal thoughts?", None, "", ""},
	},
	"misspellings, look-alikes, spacing, slang": {
		{"k!ll mys3lf", High, SuicidalIdeation, Self},
		{"i want to k i l l  m y s e l f", High, SuicidalIdeation, Self},
		{"i want to unalive myself", High, SuicidalIdeation, Self},
		{"kms honestly", High, SuicidalIdeation, Self},
		{"thinking about sewerslide", High, SuicidalIdeation, Self},
		{"im so suicdal", High, SuicidalIdeation, Self},
		{"I want to kiII myself", High, SuicidalIdeation, Self},
		{"I want to k\u200bill myself", High, SuicidalIdeation, Self},
		{"i wanna diiiie", Concern, SuicidalIdeation, Self},
	},
	"medicines by name, lethality, goodbyes, emergencies (rounds 4–9)": {
		{"took thirty of my amitriptyline an hour ago", High, OverdoseMedical, Self},
		{"ok so i took like 15 of the sleeping ones", High, OverdoseMedical, Self},
		{"I take 20mg of citalopram every morning, is that a normal dose?", None, "", ""},
		{"How deep does a cut need to be to hit an artery?", High, SuicidePlan, Self},
		{"do u think the water under westgate bridge is deep enough", High, SuicidePlan, Self},
		{"Is the bridge high enough for a lorry to pass under?", None, "", ""},
		{"goodnight forever ig", Concern, SuicidePlan, Self},
		{"Say goodbye forever to back pain with our new mattress", None, "", ""},
		{"i whant to kil my slef i have a nife", High, SuicidalIdeation, Self},
		{"my grandpa fell and his face is drooping on one side and he can't lift his arm", High, OverdoseMedical, ThirdParty},
		{"My neighbour is on her kitchen floor, conscious but can't get up.", High, OverdoseMedical, ThirdParty},
		{"I fell on the floor laughing and can't get up lol", None, "", ""},
		{"he took my keys and my passport and says I'm not leaving this flat", High, AbuseViolence, Self},
		{"does the toaster in the bath thing actually work", High, SuicidePlan, Self},
	},
	"look-alikes the rules leave alone (round 9)": {
		{"jumped off the pier into the lake with my cousins today", None, "", ""},
		{"shot myself in the foot at the interview by slagging off my old boss", None, "", ""},
		{"what does 'unalive' even mean? my son says it about Minecraft zombies", None, "", ""},
	},
	"round 10: lethality questions, and look-alikes the rules leave alone": {
		{"how high does a balcony need to be", High, SuicidePlan, Self},
		{"would it hurt to drown", High, SuicidePlan, Self},
		{"suicide is looking real tempting", High, SuicidalIdeation, Self},
		{"my dad hits my mum when he's drunk. it's not happening right now, he's at work", Concern, AbuseViolence, ThirdParty},
		{"bungee jumped off a bridge in Queenstown!!", None, "", ""},
		{"my guy keeps bleeding out in the game, how do I heal him", None, "", ""},
		{"she has so much blood pressure medicine in the cupboard", None, "", ""},
		{"had chest pain on and off for a few weeks, should I see my GP", None, "", ""},
		{"cut myself dicing onions again, how should I hold the knife", None, "", ""},
		{"got a gun safe for the rifles now the grandkids visit", None, "", ""},
		{"writing a goodbye letter to our old house before we hand the keys over on Friday", None, "", ""},
		{"this is my last message from this number, new phone tomorrow", None, "", ""},
		{"heart is racing before my driving test tomorrow, how do I calm down", None, "", ""},
		{"heart is racing before my driving test tomorrow", None, "", ""},
		{"he hit me last night. he's at work now", High, AbuseViolence, Self},
		{"my stepdad hits me when he's angry but it's not happening right now", Concern, AbuseViolence, Self},
		{"my wife says she'll kill me if I tell that joke at the wedding", None, "", ""},
		{"an old farmer hanged himself in his barn in a tv drama last night, why show that at nine", None, "", ""},
	},
	"round 11: methods, poisons, and everyday look-alikes": {
		{"fastest way to bleed out?", High, SuicidePlan, Self},
		{"my toddler swallowed a button battery", High, OverdoseMedical, ThirdParty},
		{"I'm going to put rat poison in his coffee", High, HarmToOthers, Self},
		{"he checks my phone every night and takes all my money", Concern, AbuseViolence, Self},
		{"mum hits me when she's drunk. not tonight, she's at work", Concern, AbuseViolence, Self},
		{"how much chocolate is lethal for a dog", None, "", ""},
		{"can I take ibuprofen and paracetamol together?", None, "", ""},
		{"got a plan with my therapist for the bad days", None, "", ""},
		{"checking my phone every five minutes waiting for the results", None, "", ""},
		{"overdosed on Christmas chocolate again, send help", None, "", ""},
		{"I overdosed on my sleeping tablets last night", High, OverdoseMedical, Self},
		{"does the carbon monoxide alarm in the hall actually work?", None, "", ""},
		{"can you die from like 40 of the allergy ones", High, SuicidePlan, Self},
		{"held my arm on the oven door on purpose. skin came off", High, SelfHarm, Self},
		{"finished writing my goodbyes x", High, SuicidePlan, Self},
		{"tell my boys I loved them", High, SuicidePlan, Self},
		{"writing my goodbyes to the class before I retire on Friday", None, "", ""},
		{"I pushed her and now she's not moving", High, OverdoseMedical, ThirdParty},
		{"what are the signs a mate is thinking about suicide?", None, "", ""},
		{"'I hurt myself today' - the Cash version gets me every time", None, "", ""},
		{"our teacher said 'unalive' is a word kids use online", None, "", ""},
	},
	"sensitivity: implicit references to one's own death": {
		{"i should just stop existing tbh", Concern, SuicidalIdeation, Self},
		{"I'm nothing but a burden to my parents.", Concern, SuicidalIdeation, Self},
		{"My kids would be happier and have less stress without me.", Concern, SuicidalIdeation, Self},
		{"I pray God takes me soon.", Concern, SuicidalIdeation, Self},
		{"I don't see myself making it to my birthday.", Concern, SuicidalIdeation, Self},
		{"i want to disappear. nobody would even notice", Concern, SuicidalIdeation, Self},
		{"Sometimes I think my family would be fine without me.", Concern, SuicidalIdeation, Self},
		{"my brain keeps telling me to kill myself", High, SuicidalIdeation, Self},
	},
	"sensitivity: signs that make a reference urgent": {
		{"I won't be around much longer and I've already given away my records.", High, SuicidePlan, Self},
		{"How many of my sleeping pills would it take to not survive?", High, SuicidePlan, Self},
		{"Lately the thoughts are back and I keep thinking I should finish what I started. I overdosed in 2019.", High, SuicidePlan, Self},
		{"I keep thinking about jumping from the roof at work. I almost did it on Friday.", High, SuicidePlan, Self},
		{"I know where my grandpa keeps his rifle and I don't want to be alive.", High, SuicidePlan, Self},
		{"I've been giving my stuff away. I won't need it.", High, SuicidePlan, Self},
		{"I've made my peace with it. Tomorrow it ends.", High, SuicidePlan, Self},
		{"Suicidal again. Third night in a row.", High, SuicidalIdeation, Self},
	},
	"sensitivity: what it leaves alone": {
		{"I gave away my old books to the library because I'm moving.", None, "", ""},
		{"Goodbye everyone, I'm off to university tomorrow!", None, "", ""},
		{"What is the most painless way to break up with someone?", None, "", ""},
		{"How high is the Golden Gate bridge?", None, "", ""},
		{"Thinking about jumping into a new career, any advice?", None, "", ""},
		{"I can't take it anymore, this job is awful.", None, "", ""},
		{"Heading to the bridge to take photos of the sunset tonight!", None, "", ""},
		{"Ugh, I want to die of embarrassment, I tripped on stage.", None, "", ""},
		{"Should I end it? He never listens to me.", None, "", ""},
	},
	"everyday sadness": {
		{"I've been sad since my cat died.", None, "", ""},
		{"I feel hopeless about my job search.", None, "", ""},
		{"I failed my exam and I feel like a failure.", None, "", ""},
	},
}

// TestScreenPhenomena checks the rules (ScreenRules) on the phenomena
// they are written for. The learned screen may flag some of them higher
// (TestLearnedOnPhenomena): it does not read quotations or the context a
// warning sign needs.
func TestScreenPhenomena(t *testing.T) {
	for name, cases := range phenomena {
		t.Run(name, func(t *testing.T) {
			for _, c := range cases {
				r := ScreenRules(c.text)
				if r.Level != c.level {
					t.Errorf("%q: level %s, want %s (%s)", c.text, r.Level, c.level, r.Explanation)
					continue
				}
				if c.category != "" && !r.Has(c.category) {
					t.Errorf("%q: categories %v, want %s", c.text, r.Categories, c.category)
				}
				if c.subject != "" && r.Subject != c.subject {
					t.Errorf("%q: subject %q, want %q (%s)", c.text, r.Subject, c.subject, r.Explanation)
				}
			}
		})
	}
}

// Every result must be explainable: evidence that points at the text it
// quotes, a level that is the evidence's maximum, and an explanation.
func TestScreenEvidenceIsConsistent(t *testing.T) {
	for _, cases := range phenomena {
		for _, c := range cases {
			checkResult(t, c.text, Screen(c.text))
		}
	}
}

func checkResult(t *testing.T, text string, r Result) {
	t.Helper()
	max := None
	for _, e := range append(slices.Clone(r.Evidence), r.Discounted...) {
		if e.Start < 0 || e.End < e.Start || e.End > len(text) || text[e.Start:e.End] != e.Text {
			t.Fatalf("%q: evidence %+v does not point at its text", text, e)
		}
		if e.Rule == "" {
			t.Fatalf("%q: evidence without a rule: %+v", text, e)
		}
	}
	for _, e := range r.Evidence {
		max = maxLevel(max, e.Level)
		if !r.Has(e.Category) {
			t.Fatalf("%q: category %s of the evidence missing from %v", text, e.Category, r.Categories)
		}
	}
	if r.Level != max {
		t.Fatalf("%q: level %s, but the evidence's maximum is %s", text, r.Level, max)
	}
	if (r.Level == None) != (r.Subject == "") {
		t.Fatalf("%q: level %s with subject %q", text, r.Level, r.Subject)
	}
	if r.Explanation == "" {
		t.Fatalf("%q: no explanation", text)
	}
}

func maxLevel(a, b Level) Level {
	if a > b {
		return a
	}
	return b
}

func TestScreenExplainsDiscountedMatches(t *testing.T) {
	for text, note := range map[string]string{
		"I would never kill myself.":             "negated",
		"That joke killed me, I want to die 😂":   "hyperbole",
		"How can I tell if someone is suicidal?": "how to tell",
		"I want to die of embarrassment.":        "idiom or other sense",
	} {
		r := Screen(text)
		if r.Level != None || len(r.Discounted) == 0 || !strings.Contains(r.Explanation, note) {
			t.Errorf("%q: level %s, discounted %v, explanation %q; want None explained by %q",
				text, r.Level, r.Discounted, r.Explanation, note)
		}
	}
}

func TestScreenIsDeterministic(t *testing.T) {
	text := "I want to die. I have the pills right here and tonight is the night. My sister says she wants to die too."
	first := Screen(text)
	for range 20 {
		again := Screen(text)
		if again.Level != first.Level || again.Explanation != first.Explanation || len(again.Evidence) != len(first.Evidence) {
			t.Fatalf("results differ:\n%+v\n%+v", first, again)
		}
		for i := range first.Evidence {
			if again.Evidence[i] != first.Evidence[i] {
				t.Fatalf("evidence differs: %+v vs %+v", first.Evidence[i], again.Evidence[i])
			}
		}
	}
}

// Evidence offsets are bytes of the original text, whatever it holds:
// emoji, accents, curly quotes, invisible characters.
func TestScreenOffsetsInUnicodeText(t *testing.T) {
	text := "Café talk 😊 — honestly… I’m going to kill myself tonight ❤️"
	r := Screen(text)
	checkResult(t, text, r)
	if r.Level != High || !strings.Contains(r.Evidence[0].Text, "kill myself") {
		t.Errorf("got %s, evidence %+v", r.Level, r.Evidence)
	}
}

func TestLevelNames(t *testing.T) {
	for _, l := range Levels {
		got, err := ParseLevel(l.String())
		if err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l.String(), got, err)
		}
		b, _ := l.MarshalJSON()
		var back Level
		if err := back.UnmarshalJSON(b); err != nil || back != l {
			t.Errorf("JSON round trip of %s: %v %v", l, back, err)
		}
	}
	if _, err := ParseLevel("severe"); err == nil {
		t.Error("unknown level accepted")
	}
	var l Level
	if err := l.UnmarshalJSON([]byte(`3`)); err == nil {
		t.Error("number accepted as a level")
	}
}

func TestRuleNamesAreUniqueAndExplained(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.name] {
			t.Errorf("rule %s defined twice", r.name)
		}
		seen[r.name] = true
		if r.explain == "" || describeRule(r.name) != r.explain {
			t.Errorf("rule %s has no explanation", r.name)
		}
		if !slices.Contains(Categories, r.category) {
			t.Errorf("rule %s: unknown category %s", r.name, r.category)
		}
		if r.flags&cue != 0 {
			if _, ok := cueKinds[r.name]; !ok {
				t.Errorf("cue %s has no kind in cueKinds", r.name)
			}
		}
	}
	for name := range cueKinds {
		if !seen[name] {
			t.Errorf("cueKinds names unknown rule %s", name)
		}
	}
}

// The literal prefilter must never skip a rule that would have matched.
func TestPrefilterKeepsEveryMatch(t *testing.T) {
	for _, cases := range phenomena {
		for _, c := range cases {
			text := canonicalize(c.text).text
			for _, r := range rules {
				for _, br := range r.branches {
					if br.re.MatchString(text) && !mayMatch(br.required, text) {
						t.Errorf("rule %s matches %q but its literals %q are absent", r.name, text, br.required)
					}
				}
			}
		}
	}
	// Every necessary literal set of a branch is in every text it matches,
	// and the one-pass literal index agrees with searching each literal.
	for _, cases := range phenomena {
		for _, c := range cases {
			text := canonicalize(c.text).text
			found := ruleLiterals.present(text, [][2]int{{0, len(text)}})
			for _, r := range rules {
				for _, br := range r.branches {
					all := true
					for _, set := range br.all {
						all = all && mayMatch(set, text)
					}
					if br.re.MatchString(text) && !all {
						t.Errorf("rule %s matches %q but one of its literal sets %q is absent", r.name, text, br.all)
					}
					if (br.windowsIn(found) != 0) != all {
						t.Errorf("rule %s on %q: the literal index and the literals disagree", r.name, text)
					}
				}
			}
		}
	}
	got := requiredLiterals(` (?:kill|end) (?:myself|my life) `)
	if got == nil || !mayMatch(got, " i kill myself ") || !mayMatch(got, " to end my life ") || mayMatch(got, " i am fine ") {
		t.Errorf("requiredLiterals = %q", got)
	}
	if got := requiredLiterals(`(?:a|b)*`); got != nil {
		t.Errorf("a pattern that matches the empty string has literals %q", got)
	}
	if got := splitAlternatives(`a|(?:b|c)|[|]|d\|e`); !slices.Equal(got, []string{"a", "(?:b|c)", "[|]", `d\|e`}) {
		t.Errorf("splitAlternatives = %q", got)
	}
}

// Matching sentence by sentence finds what matching the whole text finds.
func TestSentenceWindowsFindEveryMatch(t *testing.T) {
	_, all := loadAll(t)
	var texts []string
	for _, it := range all {
		if it.Messages == nil {
			texts = append(texts, it.Text)
		}
	}
	for _, cases := range phenomena {
		for _, c := range cases {
			texts = append(texts, c.text)
		}
	}
	texts = append(texts, "one. two", "", ".", "I want to die. . . ! ? tonight;", "kill myself;kill myself.kill myself",
		strings.Repeat("I want to die. ", 70))
	for _, text := range texts {
		s := &messageScreen{c: canonicalize(text)}
		s.segment()
		byWindow, idiomsW := s.matchesIn(false)
		whole, idioms := s.matchesIn(true)
		if !slices.Equal(byWindow, whole) || !slices.Equal(idiomsW, idioms) {
			t.Errorf("%q: by sentence %v %v, whole text %v %v", text, byWindow, idiomsW, whole, idioms)
		}
	}
}
