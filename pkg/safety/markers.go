package safety

import (
	"regexp"
	"strconv"
	"strings"
)

// marker is a pattern over canonical text that modifies the rules'
// matches: a time, a joke, a denial, a clinical setting.
type marker struct {
	name, source string
	pattern
}

func newMarker(name, src string) *marker {
	src = expand(src)
	return &marker{name: name, source: src, pattern: compilePattern(src)}
}

// in reports whether the marker occurs in the canonical segment seg (which
// starts and ends with a space).
func (m *marker) in(seg string) bool { return m.matchString(seg) }

// thingFarewell is a goodbye letter or note to something that is not a
// person.
const thingFarewell = `(?:letter|note)s? to (?:my|our|the) (?:old |first |younger |teenage )?(?:house|flat|home|apartment|room|job|car|anxiety|depression|vape|cigarettes|smoking|eating disorder|self|body|city|school|uni)`

var (
	// pastMarker: the event is past and over (C-SSRS counts a lifetime
	// event as lower risk than a recent one).
	pastMarker = newMarker("past", `used to|when i was|when i were|as a (?:kid|child|teen|teenager|young {w}|little {w})|(?:a |one |two |three |four |five |six |seven |eight |nine |ten |many |several |a few |few |couple of |a couple of |some |\d+ )?years? ago|last year|in (?:19|20)\d\d|(?:in|during|through) (?:high school|college|middle school|university|uni|my teens|my twenties|my 20s|my thirties|my 30s|my youth|the past|grade school|my childhood|junior high)|back (?:then|in (?:the day|high school|college|\d+))|at (?:age )?(?:1[0-9]|[2-9][0-9])|no longer|(?:been )?clean (?:for|since)|stable since|since then|a long time ago|(?:for|in) a long time|(?:my )?(?:first|previous|past|last) (?:suicide )?attempt|growing up|childhood|when (?:we|i) (?:were|was) (?:kids|young|little|younger|a kid|a child|a teen|a teenager)|(?:in|for) (?:over |more than |almost |nearly )?(?:a |one |two |three |four |five |six |\d+ )?years|(?:four|five|six|seven|eight|nine|ten|eleven|twelve|several|many|\d+) months ago|in my (?:teens|twenties|20s|thirties|30s|forties)|years back|in recovery|(?:was|were) (?:younger|a kid|a child|a teenager|a teen|in high school|in college)|(?:i am|i have been|doing|i feel) (?:much |a lot |so much )?(?:better|okay|ok|fine|well) (?:now|since)`)
	// recentMarker: the event is recent, ongoing or about to happen; it
	// wins over a past marker in the same sentence.
	recentMarker = newMarker("recent", `{recentTime}|just (?:took|swallowed|cut|did|tried|overdosed|drank|relapsed)|(?:a|one|two|three|a couple of|a few|couple) (?:days?|weeks?|nights?) ago|(?:a|one|two|three) months? ago|currently|these days|again|relapsed|tonight|keeps|every time|this month`)
	// presentDanger: violence happening now or about to (habitual violence,
	// "every night", is ongoing abuse, not a present danger).
	presentDanger = newMarker("present_danger", `right now|tonight|as we speak|at the moment|last night|yesterday|today|this morning|this evening|this afternoon|just now|earlier|an hour ago|hours ago|minutes ago|again|(?:a |two |few |couple of )?days ago|just (?:pushed|hit|beat|punched|kicked|choked|strangled|slapped|raped|attacked|threw|stabbed|shot|grabbed|hurt|assaulted)|still (?:in the house|outside|at the door|downstairs)|outside (?:my|the) (?:door|house|room|window)`)
	// acuteMarker raises a passive wish to High.
	acuteMarker = newMarker("acute", `right now|tonight|this minute|this second|at this moment|this very moment`)
	// jokeMarker: laughter, eye-rolling, "jk": hyperbole.
	jokeMarker = newMarker("joke", `<lol>|just kidding|kidding|jk|(?:literally|omg|lmao|ugh) {g5}<sob>|<sob> {g5}(?:literally|omg|embarrass\w*|cringe)|literally (?:want to die|dying|dead|going to die)|so embarrassing|of embarrassment|lmao|lmfao`)
	// trivialCondition: "if I have to sit through one more meeting": the
	// consequence is hyperbole.
	trivialCondition = newMarker("trivial", `if {g5}(?:one more|another|again|have to (?:sit|hear|listen|watch|go|do|deal|read|write|see|work|eat|wait|drive)|hear that|see that|sit through|listen to|keeps|does that|says that|borrows|eats|ate|touches my (?:stuff|food|things)|takes my (?:stuff|food|charger|clothes|things|seat|spot|parking)|uses my (?:stuff|charger|things|shampoo)|steals my (?:fries|food|stuff))|so {w}(?: {w})? (?:that )?i (?:literally )?(?:want|wanted|could|almost|nearly|thought i would|swear i) (?:to )?(?:die|have died|died)|when (?:she|he|they|my {w}|mom|dad) (?:sees|finds out|find out|see|hears|notices|gets home and sees|looks at)|(?:ate|eats|stole|took|borrowed) my (?:leftovers|food|fries|sweater|charger|clothes|snacks|lunch)|(?:if|when) i (?:am late|come home late|break|lose|fail|forget|miss|get (?:home|back) late|spoil|tell (?:the|that|this) joke|tell (?:her|him|them) about the (?:surprise|party|present))`)
	// serious cancels a joke: "I'm serious", "not joking", "I mean it".
	seriousMarker = newMarker("serious", `(?:i am|am) (?:serious|not joking|not kidding|dead serious|being serious)|i mean it|(?:not|no) (?:a )?joke|seriously though|for real`)
	// denialMarker: the writer rules out acting on suicidal thoughts,
	// which lowers active ideation to Concern.
	denialMarker = newMarker("denial", `(?:do not|don't|did not) (?:want|plan|intend|mean) to (?:do it|act on (?:it|them)|go through with it|actually do it)|(?:would|will|could|am) (?:never|not) {adv}(?:going to )?(?:act on (?:it|them|those|these|this|that|the thoughts)|do (?:it|anything|that|anything about it)|go through with (?:it|anything)|actually do it|try|actually try|going to do (?:it|anything))|(?:no|not have a|not have any|without a|without any|no actual|no real) (?:plan|plans|intent|intention|intentions)|(?:i am|i feel|but i am|i know i am) safe\b|i know i (?:will not|would not) (?:actually )?(?:do it|act on it|do anything)|(?:never|not) (?:act|acted) on (?:it|them)|(?:because of|for) my (?:kids|children|mom|dad|family|dog|cat|son|daughter|husband|wife|parents)|i have my (?:kids|children|family|son|daughter)`)
	// conditional: the statement depends on a condition ("if I fail").
	conditionalMarker = newMarker("conditional", `if|unless|what if|would i|in case`)
	// clinical: professional, academic or fictional writing about the topic.
	clinicalMarker = newMarker("clinical", `paper|thesis|dissertation|essay|reading|shakespeare|romeo|juliet|play|study|studies|research|researcher|researching (?:the|suicide prevention|prevention|rates|statistics)|class|course|lecture|seminar|presentation|project|assignment|homework|article|articles|journal|documentary|novel|book|books|story|stories|character|characters|protagonist|author|film|movie|show|episode|series|patient|patients|client|clients|nurse|doctors|physician|psychiatrists|psychologists|therapists|counselors|counsellors|social worker|volunteer|training|statistics|rate|rates|risk factors|prevention|awareness|warning signs|signs of|hotline|hotlines|crisis line|scale|assessment|ethics|cdc|cause of death|literature|history of|philosophy|psychology|poem|song|lyrics|quote|writing (?:a|my|about)|as a (?:nurse|doctor|counselor|counsellor|therapist|teacher|social worker|volunteer|psychologist|psychiatrist|paramedic|emt)|professional|clinically|clinical|diagnosis|treatment for|what is the treatment|how do (?:therapists|doctors|psychiatrists|nurses)`)
	// fictionMarker: characters of a story, play or film.
	fictionMarker = newMarker("fiction", `television|tv (?:drama|show|series)|netflix|soap opera|novel|book|story|stories|character|characters|movie|film|play|shakespeare|romeo|juliet|episode|series|fiction|villain|protagonist|cartoon|anime|video game`)
	// hypothetical: "how can I tell if my friend is suicidal?".
	hypothetical = newMarker("hypothetical", `(?:tell|know|find out|check|see|be sure|figure out|notice|recognize|recognise|spot) (?:if|whether)|what are (?:the )?(?:signs|warning signs|red flags)`)
	// relationship: "ending it" is about a relationship.
	relationshipMarker = newMarker("relationship", `boyfriend|girlfriend|relationship|marriage|married|husband|wife|partner|dating|breakup|break up|divorce|engagement|fiance|fiancee|affair|ex|friendship|him|her|them|job|contract|lease|subscription|membership|game|call|conversation|meeting|argument|fight`)
	// panic: symptoms in the frame of a panic or anxiety attack.
	panicMarker = newMarker("panic", `panic|panic attack|panic attacks|anxiety|anxious|hyperventilating|nightmares?|dreams?|calm down|calm myself|nervous|nerves`)
	// notSuicidal: an explicit denial that discounts loose talk of death.
	notSuicidal = newMarker("not_suicidal", `(?:am|i am) not suicidal|(?:do|i do) not want to die|no thoughts of suicide|never (?:been|felt) suicidal|not (?:thinking|planning) (?:of|about|to) (?:suicide|killing myself|ending my life)`)
	// metaphor: "I feel like I can't breathe".
	metaphorMarker = newMarker("metaphor", `feel like|feels like|felt like|as if|like i am|in this (?:relationship|job|house|town|marriage)`)
	// accident: an injury by accident, not self-harm.
	accidentMarker = newMarker("accident", `accident|accidentally|by mistake|at the gym|working out|playing|lifting|running|skiing|fell|fall|falling|tripped|slipped|in the long run|financially|my chances|my career|on the stove|cooking|sports|football|soccer|basketball|tennis|hiking|training|the oven|the iron|sunburn|sunburned|sunburnt|dicing|chopping|peeling|onions?|garlic|chicken|meat|bone|fish|butcher\w*|fillet\w*|whittl\w*|sewing|hem|hemming|needle and thread|knitting|pruning|thorns?|tin lid|can lid|paper cut|knife skills|woodwork`)
	// affirmation opens a reply that answers a question with yes.
	affirmation = regexp.MustCompile(`^ (?:yes|yeah|yep|yup|yea|ya|yah|sure|i do|i have|i am|i did|sometimes|often|a lot|all the time|every day|most days|kind of|sort of|kinda|maybe|probably|mhm|uh huh|honestly yes|i think so|constantly|always|lately|definitely|correct|true|right|it is|that is right|more or less|at times|occasionally|now and then|every night|i guess|pretty much|basically|unfortunately|honestly|not gonna lie) `)
	// denial opens a reply that answers a question with no.
	negativeAnswer = regexp.MustCompile(`^ (?:no|nope|nah|not really|never|not at all|no way|of course not|definitely not|i do not|i have not|i am not|not) `)
)

// Markers of the sensitivity layer.
var (
	// nonHyperbole: words of a wish that hyperbole does not use.
	nonHyperbole = newMarker("non_hyperbole", `exist|existing|born|wake up|waking up|alive|be here|being here|be around|burden`)
	// everydayCause: a crying emoji's everyday cause ("this homework is so
	// long 😭").
	everydayCause = newMarker("everyday_cause", `(?:this|the|my|that) (?:homework|class|lecture|exam|test|quiz|assignment|essay|paper|meeting|traffic|commute|queue|line|weather|heat|song|show|episode|game|printer|wifi|app|teacher|hangover|haircut|outfit|meme|video|group chat)|(?:homework|exam|exams|test|quiz|assignment|essay|meeting|traffic|commute|hangover|finals|midterms) (?:is|was|are|were|has been) (?:so|too|literally|actually)`)
	// everydayFarewell: an everyday reason to say goodbye or give things
	// away.
	everydayFarewell = newMarker("everyday_farewell", `moving|move (?:abroad|away|out|to)|moved|relocating|relocate|retire|retired|retiring|retirement|new job|graduat\w*|charity|donate|donated|donating|donation|declutter\w*|spring cleaning|minimalis\w*|holiday|vacation|trip|travel\w*|abroad|wedding|last day (?:at|of)|leaving (?:the|my) (?:company|job|team|school)|baby|newborn|estate planning|christmas cards?|thank you cards?|grandparents|pen pal|university|college|uni|boarding school|summer camp|camp|deployment|exchange|semester|off to|heading off|christmas|birthday|invitations?|thank you (?:notes|letters)|fly home|flying home|flight|new phone|new number|this number|offline|no internet|digital detox|hike|hiking|maternity leave|paternity leave|house sale|contract (?:ends|is over|is up)|`+thingFarewell)
	// farewellToThing: a goodbye letter to a place, a habit or one's old
	// self ("a goodbye letter to our house", "to my anxiety").
	farewellToThing = newMarker("farewell_to_thing", thingFarewell)
	// alcohol: a drink, which makes a mix of medicines dangerous.
	alcohol = newMarker("alcohol", `alcohol|vodka|whiskey|wine|beer|liquor|booze|drinks|gin|rum|cider`)
	// drug: a medicine, a drug or a drink one can overdose on.
	drug = newMarker("drug", `{pills}|{medname}|drugs|heroin|fentanyl|cocaine|coke|crack|meth|ketamine|mdma|ecstasy|molly|xans|bars|opioids|opiates|methadone|spice|ghb|pcp|lsd|acid|shrooms|alcohol|vodka|whiskey|booze|something|them|it|what|everything`)
	// safetyDevice: an alarm or a detector, not a means ("is the carbon
	// monoxide alarm working?").
	safetyDevice = newMarker("safety_device", `(?:carbon monoxide|co|smoke|gas) (?:alarm|alarms|detector|detectors|monitor|monitors|sensor|sensors)`)
	// onPurpose: no accident.
	onPurpose = newMarker("on_purpose", `on purpose|deliberately|intentionally|meant to`)
	// gameOrSport: a game, a film plot or a sport that jumps off things or
	// bleeds out ("respawn", "bungee", "coasteering").
	gameOrSport = newMarker("game_or_sport", `game|games|gaming|gamer|respawn\w*|npc|rpg|pvp|dayz|minecraft|fortnite|roblox|skyrim|elden ring|call of duty|valorant|xbox|playstation|ps5|nintendo|d&d|dnd|rogue ?lite|roguelike|boss fight|bungee|coasteering|cliff (?:jumping|diving)|tombstoning|wetsuit|instructor|diving board|skydiv\w*|parachut\w*|zip ?line|paraglid\w*|base jump\w*`)
	// justHappened: the part of presentDanger that tells of violence just
	// past ("last night", "an hour ago"), which "not right now" leaves
	// standing.
	justHappened = newMarker("just_happened", `last night|yesterday|this morning|earlier|an hour ago|hours ago|minutes ago|again|(?:a |two |few |couple of )?days ago|just (?:pushed|hit|beat|punched|kicked|choked|strangled|slapped|raped|attacked|threw|stabbed|shot|grabbed|hurt|assaulted)`)
	// notNow: the danger is not present now ("it's not happening right
	// now", "he's away at work"); violence that just happened still is.
	notNow = newMarker("not_now", `not (?:happening )?(?:right now|now|tonight|today)|(?:he is|she is|they are) (?:away|out|at work|travelling|traveling|at church|abroad|in jail|in prison)`)
	// longStanding: a symptom of weeks or months is not an emergency.
	longStanding = newMarker("long_standing", `for (?:a few|several|some|two|three|four|five|six|\d+|many|a couple of) (?:weeks|months|years)|on and off|every now and then`)
	// innerVoice: the writer's own head, thoughts or voices speaking.
	innerVoice = newMarker("inner_voice", `(?:my (?:head|brain|mind|thoughts|inner voice|depression)|the voices?|a voice|voices|something in my head) (?:in my head )?(?:keeps |keep |is |are |just |always |still )?(?:saying|telling me|tells me|says|say|whispering|whispers|screaming|screams|repeating)`)
	// socialStory: a social-media story, not a tale.
	socialStory = newMarker("social_story", `on (?:her|his|their|my|the|your) (?:{w} )?story|instagram|insta|snapchat|snap story|ig story|whatsapp status|posted`)
	// intentFrame: an intention before a passive reference ("I'm going to
	// ... go to sleep for good").
	intentFrame = newMarker("intent_frame", `going to|will|about to|plan to|planning to|decided to|ready to|gonna`)
	// futureTime: a near time that makes an intention a plan.
	futureTime = newMarker("future_time", `tonight|tomorrow|this weekend|(?:on|this|next|by|after|before) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|after (?:tonight|tomorrow|the weekend|{poss} (?:{w} )?(?:birthday|wedding|exams?|graduation|shift|party))|before (?:christmas|the weekend|my birthday|morning|new year)|by the time|for christmas|next (?:week|month)|when (?:everyone|they|my {w}) (?:is |are )?(?:asleep|out|gone|at work)|in (?:a|an|two|three|a few) (?:hours?|days?)|soon`)
)

// allMarkers lists the markers (their words join the vocabulary).
var allMarkers = []*marker{populationStat, burdenScope, partnerPronoun, hypotheticalFrame, fearedFrame, habitVerb, habitTrigger, ongoing, nonHyperbole, everydayCause, everydayFarewell, innerVoice, socialStory, intentFrame, futureTime,
	pastMarker, recentMarker, presentDanger, acuteMarker, jokeMarker, trivialCondition, seriousMarker,
	denialMarker, conditionalMarker, relationshipMarker, clinicalMarker, panicMarker, notSuicidal, metaphorMarker, accidentMarker,
	threatTime, pastTense, reportedQuestion, answerYes, resolvedNegation, quoteWorkMarker, quoteHabitMarker,
	quoteQuestionMarker, writerInDanger, hypothetical, actNow, fictionMarker, recentAct, gameOrSport, notNow, longStanding, farewellToThing, alcohol, drug, safetyDevice, onPurpose, justHappened}

// monthsAgo finds "N months ago" and reports whether N is more than three
// (the C-SSRS window for recent behaviour); "a few months ago" counts as
// recent.
var monthsAgo = regexp.MustCompile(` (\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve) months? ago `)

var numberWords = map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
	"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}

// monthsAgoPast reports "N months ago" with N > 3 in seg.
func monthsAgoPast(seg string) bool {
	for _, m := range monthsAgo.FindAllStringSubmatch(seg, -1) {
		n, ok := numberWords[m[1]]
		if !ok {
			n, _ = strconv.Atoi(m[1])
		}
		if n > 3 {
			return true
		}
	}
	return false
}

// Word classes used by the subject and negation logic.
var (
	negators = map[string]bool{"not": true, "never": true, "no": true, "nobody": true, "noone": true,
		"nothing": true, "without": true, "neither": true, "nor": true, "nah": true}
	// negationExceptions follow a negator without negating ("can't stop
	// thinking", "not only", "not sure").
	negationExceptions = []string{"stop", "only", "sure", "even", "help", "know", "gonna lie", "going to lie", "lie", "that i", "just",
		"one would", "one will", "body would", "one cares", "one is", "longer", "matter", "fair", "worth"}
	genericNouns = map[string]bool{"someone": true, "somebody": true, "anyone": true, "anybody": true,
		"people": true, "person": true, "persons": true, "one": true, "everyone": true, "everybody": true,
		"teens": true, "teenagers": true, "kids": true, "children": true, "students": true, "men": true,
		"women": true, "adults": true, "patients": true, "clients": true, "character": true,
		"characters": true, "protagonist": true, "narrator": true, "villain": true, "hero": true,
		"heroine": true, "individuals": true, "individual": true, "youth": true, "veterans": true,
		"victims": true, "survivors": true, "humans": true, "folks": true, "guys": true,
		"teen": true, "teenager": true, "child": true, "student": true, "patient": true, "client": true}
	// genericPronouns are general whatever precedes them ("signs that
	// someone ...").
	genericPronouns = map[string]bool{"someone": true, "somebody": true, "anyone": true, "anybody": true,
		"everyone": true, "everybody": true, "people": true}
	relationNouns = func() map[string]bool {
		m := map[string]bool{}
		for _, w := range strings.Split(strings.Trim(macroSource("relation"), "(?:)"), "|") {
			if !strings.Contains(w, " ") {
				m[w] = true
			}
		}
		for _, w := range []string{"bestie", "mate", "buddy", "pal", "niece", "nephew", "stepsister", "stepbrother",
			"sis", "bro", "wifey", "hubby", "fiancé", "sibling", "siblings", "brothers", "sisters", "sons", "daughters",
			"teammate", "tenant", "patient", "client", "student", "partner", "crush", "date"} {
			m[w] = true
		}
		return m
	}()
	definiteDeterminers = map[string]bool{"my": true, "our": true, "his": true, "her": true, "their": true,
		"the": true, "that": true, "this": true, "mom": true, "dad": true, "your": true}
	indefiniteDeterminers = map[string]bool{"a": true, "an": true, "any": true, "some": true, "every": true,
		"each": true, "no": true}
	nonPersonSubjects = map[string]bool{"it": true, "this": true, "that": true, "there": true, "what": true,
		"which": true, "life": true, "reality": true, "everything": true, "something": true, "nothing": true}
	reflexiveSubject = map[string]Subject{"myself": Self, "himself": ThirdParty, "herself": ThirdParty,
		"themselves": ThirdParty, "themself": ThirdParty}
	// generalReflexives address no one in particular ("kill yourself" in a
	// question, "oneself").
	generalReflexives = map[string]bool{"yourself": true, "oneself": true, "ourselves": false}
)

// macroSource returns a macro's pattern.
func macroSource(name string) string {
	for _, m := range macros {
		if m.name == name {
			return m.re
		}
	}
	return ""
}
