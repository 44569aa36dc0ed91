package safety

import (
	"regexp"
	"strings"
)

// variants maps a lower-cased word (after look-alikes are resolved) to its
// canonical words: contractions written without an apostrophe, chat
// abbreviations, the euphemisms and coded spellings people use to get past
// filters ("unalive", "sewerslide", "kms"), and common misspellings of the
// rules' key words that are too short for fuzzy matching.
var variants = map[string][]string{
	// Contractions without apostrophes. ("ill", "id", "wont" → will not
	// is safe: "wont" as a noun is rare in chat.)
	"im": {"i", "am"}, "ive": {"i", "have"}, "youre": {"you", "are"}, "dont": {"do", "not"},
	"cant": {"can", "not"}, "cannot": {"can", "not"}, "wont": {"will", "not"}, "didnt": {"did", "not"},
	"doesnt": {"does", "not"}, "isnt": {"is", "not"}, "wasnt": {"was", "not"}, "werent": {"were", "not"},
	"arent": {"are", "not"}, "havent": {"have", "not"}, "hasnt": {"has", "not"}, "hadnt": {"had", "not"},
	"wouldnt": {"would", "not"}, "couldnt": {"could", "not"}, "shouldnt": {"should", "not"},
	"aint": {"am", "not"}, "thats": {"that", "is"}, "whats": {"what", "is"}, "theres": {"there", "is"},
	"shes": {"she", "is"}, "hes": {"he", "is"}, "theyre": {"they", "are"}, "itll": {"it", "will"},
	"ill've": {"i", "will", "have"}, "y'all": {"you", "all"}, "i'ma": {"i", "am", "going", "to"},
	// Chat forms.
	"gonna": {"going", "to"}, "gunna": {"going", "to"}, "finna": {"going", "to"}, "wanna": {"want", "to"},
	"wana": {"want", "to"}, "gotta": {"got", "to"}, "tryna": {"trying", "to"}, "imma": {"i", "am", "going", "to"},
	"ima": {"i", "am", "going", "to"}, "kinda": {"kind", "of"}, "sorta": {"sort", "of"}, "lemme": {"let", "me"},
	"u": {"you"}, "ur": {"your"}, "ppl": {"people"}, "bc": {"because"}, "cuz": {"because"}, "coz": {"because"},
	"rn": {"right", "now"}, "atm": {"right", "now"}, "tn": {"tonight"}, "tonite": {"tonight"}, "2nite": {"tonight"},
	"2night": {"tonight"}, "tonigth": {"tonight"}, "tmrw": {"tomorrow"}, "tmr": {"tomorrow"},
	"tomorow": {"tomorrow"}, "2morrow": {"tomorrow"}, "2day": {"today"}, "nite": {"night"},
	"idk": {"i", "do", "not", "know"}, "idc": {"i", "do", "not", "care"}, "bf": {"boyfriend"},
	"gf": {"girlfriend"}, "bff": {"best", "friend"}, "mum": {"mom"}, "mommy": {"mom"}, "daddy": {"dad"},
	"pls": {"please"}, "plz": {"please"}, "thru": {"through"}, "cus": {"because"},
	// Coded and euphemistic words for suicide and self-harm.
	"kms": {"kill", "myself"}, "ctb": {"ctb"}, "kys": {"kill", "yourself"}, "sewerslide": {"suicide"},
	"sewerslided": {"suicide"}, "suicidial": {"suicidal"}, "suicidle": {"suicidal"},
	"unalived": {"killed"}, "unaliving": {"killing"}, "unalives": {"kills"},
	"selfharm": {"self", "harm"}, "selfharming": {"self", "harming"}, "selfharmed": {"self", "harmed"},
	"sh'd": {"self", "harmed"}, "sh'ing": {"self", "harming"}, "shing": {"self", "harming"},
	"od": {"overdose"}, "od'd": {"overdosed"}, "od'ed": {"overdosed"}, "oded": {"overdosed"},
	"oding": {"overdosing"}, "od'ing": {"overdosing"}, "mself": {"myself"}, "meself": {"myself"},
	"myslf": {"myself"}, "mysef": {"myself"}, "kil": {"kill"}, "kiling": {"killing"}, "killin": {"killing"},
	"lyfe": {"life"}, "lif": {"life"}, "ded": {"dead"}, "dieing": {"dying"}, "dyin": {"dying"},
	"cuting": {"cutting"}, "cuttin": {"cutting"}, "hurtin": {"hurting"}, "wnat": {"want"}, "wnt": {"want"},
	"wamt": {"want"}, "pils": {"pills"}, "goin": {"going"}, "thinkin": {"thinking"}, "feelin": {"feeling"},
	"nothin": {"nothing"}, "somethin": {"something"}, "tryin": {"trying"}, "livin": {"living"},
	"everyting": {"everything"}, "evrything": {"everything"}, "nomore": {"no", "more"},
	"noone": {"no", "one"}, "nobodys": {"nobody", "is"}, "wud": {"would"}, "shud": {"should"},
	"cud": {"could"}, "tho": {"though"}, "b4": {"before"},
	"alot": {"a", "lot"},
	"slef": {"self"}, "whant": {"want"}, "nife": {"knife"}, "knif": {"knife"}, "kil'd": {"killed"},
	"mysefl": {"myself"}, "myselfe": {"myself"}, "sucide": {"suicide"}, "suecide": {"suicide"}, "deid": {"died"},
	// More chat spellings: dropped letters and common abbreviations.
	"bout": {"about"}, "abt": {"about"}, "boutta": {"about", "to"}, "bouta": {"about", "to"},
	"urself": {"yourself"}, "yourslef": {"yourself"}, "gona": {"going", "to"}, "gnna": {"going", "to"},
	"till": {"until"}, "til": {"until"}, "untill": {"until"}, "jus": {"just"}, "rly": {"really"},
	"wen": {"when"}, "hav": {"have"}, "dnt": {"do", "not"}, "becuz": {"because"}, "bcuz": {"because"},
	"bcoz": {"because"}, "smth": {"something"}, "ngl": {"not", "going", "to", "lie"},
	"tbh": {"to", "be", "honest"}, "fr": {"for", "real"}, "frfr": {"for", "real"}, "deadass": {"seriously"},
	"istg": {"i", "swear", "to", "god"}, "tomoro": {"tomorrow"}, "2moro": {"tomorrow"}, "tomorro": {"tomorrow"},
	"eveything": {"everything"}, "everytime": {"every", "time"},
}

// unaliveWord is rewritten by context: "unalive myself" is "kill myself",
// a bare "unalive" ("I want to unalive") is "die".
const unaliveWord = "unalive"

// fuzzyTargets are the key words that misspellings are corrected to (see
// fuzzyFix).
var fuzzyTargets = []string{
	"suicide", "suicidal", "myself", "overdose", "overdosed", "tonight",
	"yourself", "herself", "himself", "themselves",
}

// realLookalikes are real words within fuzzy distance of a key word; they
// are never "corrected".
var realLookalikes = map[string]bool{
	"overdone": true, "overdue": true, "overdoes": true, "overdo": true, "overdoses": true,
	"yourselves": true, "itself": true, "oneself": true, "thyself": true, "themself": true,
	"tonight's": true, "fortnight": true, "midnight": true,
}

// functionWords complete the vocabulary that spelled-out runs ("i w a n t
// t o d i e") are segmented with, beyond the words of the rules.
const functionWords = `i me my myself you your yourself he she it we they him her his hers its our their them
a an the and or but so of in on at to for with from by as if then than that this these those there here
am is are was were be been being have has had do does did not no never just really very so too
again still now right tonight today tomorrow yesterday night morning week weekend soon later
want wants need needs wish going gonna will would can could should might must may
kill killing killed end ending die dying dead death life live living alive suicide suicidal
cut cutting hurt hurting harm self pills rope gun knife bridge jump note goodbye help please
feel feeling think thinking about all everything anymore anyone someone nobody everyone
what why how when where who`

var (
	// vocab is every word the rules or function words mention: the words
	// that look-alike readings and segmentation may produce.
	vocab = buildVocab()
	// maxVocabWordLen bounds the words tried by segment.
	maxVocabWordLen = func() int {
		n := 0
		for w := range vocab {
			n = max(n, len(w))
		}
		return n
	}()
)

var patternWord = regexp.MustCompile(`[a-z]+`)

// buildVocab collects the literal words of every rule and marker pattern
// and the function words. Single letters other than "i", "a" and "u" are
// regular-expression syntax ("\d", "[a-z]"), not words.
func buildVocab() map[string]bool {
	v := map[string]bool{}
	add := func(src string) {
		for _, w := range patternWord.FindAllString(src, -1) {
			if len(w) > 1 || w == "i" || w == "a" || w == "u" {
				v[w] = true
			}
		}
	}
	for _, r := range rules {
		add(r.source)
	}
	for _, m := range allMarkers {
		add(m.source)
	}
	add(functionWords)
	for _, exp := range variants {
		add(strings.Join(exp, " "))
	}
	for _, t := range fuzzyTargets {
		v[t] = true
	}
	return v
}
