package safety

import (
	"slices"
	"strings"
)

// lexClass is a class of words and phrases the learned screen counts as
// one feature, so that what it learns from one word carries over to the
// others of its class ("paracetamol" and "tylenol" are both means).
type lexClass uint8

// The learned screen's lexicon classes. The first ones are risk classes,
// with the category they point to (lexCategory); the last ones are cues
// that are not risk.
const (
	lexDeath      lexClass = iota // dying, death, not existing, not waking up
	lexSuicide                    // suicide named, killing oneself, ending one's life
	lexHopeless                   // hopelessness, entrapment, being a burden
	lexSelfHarm                   // self-injury and its signs
	lexMeans                      // means: pills, rope, gun, bridge, heights, blade
	lexLethality                  // lethal, enough, painless, survive, how many
	lexTiming                     // a time: tonight, tomorrow, after Sunday
	lexFarewell                   // goodbyes, finality, letters, "when I'm gone"
	lexPrepare                    // preparation: giving away, sorting affairs, buying
	lexAbuse                      // abuse and violence from someone
	lexDanger                     // fear, hiding, threats: danger now
	lexHarmOthers                 // hurting someone else
	lexOverdose                   // overdose, poisoning, a medical emergency
	lexBenign                     // fiction, games, cooking, sport, study, news, tech
	lexJoke                       // laughter and hyperbole markers
	lexSadness                    // everyday sadness, stress and anger
	lexClasses
)

var lexNames = [lexClasses]string{"death", "suicide", "hopeless", "selfharm", "means", "lethality", "timing",
	"farewell", "prepare", "abuse", "danger", "harmothers", "overdose", "benign", "joke", "sadness"}

// lexCategory is the category a risk class points to ("" for the classes
// that are not risk): it marks the risk classes for the features and for
// RequireRiskWord. A learned flag's own category comes from the category
// heads.
var lexCategory = [lexClasses]Category{
	lexDeath: SuicidalIdeation, lexSuicide: SuicidalIdeation, lexHopeless: SuicidalIdeation,
	lexSelfHarm: SelfHarm, lexMeans: SuicidePlan, lexLethality: SuicidePlan, lexTiming: SuicidePlan,
	lexFarewell: SuicidePlan, lexPrepare: SuicidePlan, lexAbuse: AbuseViolence, lexDanger: AbuseViolence,
	lexHarmOthers: HarmToOthers, lexOverdose: OverdoseMedical,
}

// lexWords lists each class's words and phrases in canonical form (see
// canonicalize: lower case, contractions expanded, "gonna" → "going to"):
// first single words, then "|"-separated phrases.
var lexWords = [lexClasses]string{
	lexDeath: `die dies died dying dead death deaths deathbed alive exist exists existing existence
		nonexistent nonexistence disappear disappeared disappearing vanish vanishing gone afterlife heaven
		funeral funerals grave graves coffin casket buried bury cemetery obituary eulogy perish cease
		unalive unaliving nothingness oblivion lifeless corpse
		|not wake up|never wake up|not to wake up|stop breathing|stop existing|stopped existing|not be here
		|not being here|not be around|be gone|not exist|not to exist|no longer be here|no longer here
		|pass away|passed away|rest in peace|six feet under|the other side|fall asleep forever
		|sleep forever|not survive|did not survive|end of me|last breath|the end|no tomorrow
		|at peace|find peace|rest forever|go to sleep forever|want to live|to live|keep living|point in living
		|worth living|be here|being here|here anymore|was not around|were not around|not around|was not here
		|were not here|never been born|never born|been born|woke up|wake up|fade out|fade away|vanished
		|go away forever|carrying on|carry on|keep going|go on|be over|all be over|to stop|make it stop
		|borrowed time|leave it|take me|takes me|no future|in my sleep|not coming up|really sick|hit by
		|get on fine|cope fine|be fine without|without me|in the way|blow out|keep me|the dark`,
	lexSuicide: `suicide suicidal suicides ctb selfdelete
		|kill myself|killing myself|killed myself|kill me|end my life|ending my life|end it|end it all
		|ending it|ending it all|end things|ending things|take my life|taking my life|took my life
		|take my own life|my own life|off myself|check out|checking out|way out|an exit|my exit
		|self delete|exit plan|not be alive|be dead|better off dead|wish i was dead|want to die
		|wanted to die|want to go|ready to go|rope myself|finish it|finish myself
		|finish what i started|go through with it|do it|done with life|done with living`,
	lexHopeless: `burden burdens hopeless hopelessness pointless worthless trapped unbearable meaningless
		helpless despair
		|better off without me|better without me|no point|no reason to|what is the point|no way out
		|can not go on|can not do this|can not keep going|can not take it|can not take this
		|can not live|not worth living|not worth it|give up|giving up|gave up|tired of living
		|tired of life|tired of everything|tired of being|sick of living|no future|no hope
		|nothing left|nothing to live for|nobody would care|nobody would notice|no one would care
		|no one would notice|no one would miss|would not miss|would not notice|a waste of space
		|waste of air|do not deserve to live|should not be here|should not exist|not meant to be here
		|a weight|dragging everyone down|holding everyone back|see a future|nothing matters
		|nothing will change|never get better|always be like this`,
	lexSelfHarm: `cut cuts cutting cutter cutters blade blades razor razors sharpener scar scars scarred
		bruise bruises bleed bleeding bled blood bloody wound wounds wrist wrists thigh thighs forearm
		bandage bandages plasters stitches relapse relapsed relapsing selfharm sh
		|self harm|self harming|self harmed|self injury|self injure|hurt myself|hurting myself
		|harm myself|harming myself|harmed myself|punish myself|punishing myself
		|hit myself|hitting myself|punch walls|punching walls|punched the wall|bang my head|banging my head
		|pull my hair|pulling my hair|long sleeves|days clean|weeks clean|months clean
		|burn myself|burning myself|burned myself|burnt myself|scratch myself|scratching myself
		|scratched myself|carve|carving|cut myself|cutting myself|cut again|the urge|the urges`,
	lexMeans: `pill pills tablet tablets capsules meds medication medications prescription paracetamol
		tylenol acetaminophen ibuprofen advil aspirin oxy oxycodone oxycontin opioid opioids fentanyl
		heroin morphine codeine tramadol xanax benzos benzodiazepines valium klonopin ambien lithium
		insulin antidepressants sertraline zoloft prozac stockpile stockpiled stockpiling stash
		rope ropes noose belt cord hang hanging hanged beam rafter ladder stool gun guns
		pistol handgun rifle shotgun firearm bullet bullets ammo ammunition trigger loaded revolver
		bridge bridges ledge roof rooftop cliff cliffs balcony heights jump jumping leap tracks
		railway motorway exhaust hose charcoal bleach poison antifreeze drown drowning knife knives
		scissors helium overdose
		|sleeping pills|whole bottle|the bottle|the pills|my pills|carbon monoxide|into traffic
		|in front of a train|in front of a bus|in front of a truck|off a bridge|off the roof|off the bridge
		|gun safe|the gun|the rope|under the water|into the water|the tallest|top floor|high enough
		|tall building|plastic bag|the car running|the garage|the river|the lake|the sea|the ocean
		|the train|a train|the tracks|the edge|the balcony`,
	lexLethality: `lethal fatal deadly painless instant instantly survive survivable dose doses dosage
		milligrams mg grams overdose
		|how many|how much|would it take|does it take|would it kill|would it work|does it work
		|would it hurt|does it hurt|how long does|how long would|how high|how far|how deep
		|fast enough|sure way|surest way|best way|easiest way|least painful|most painful
		|what happens if|what would happen if|is it possible to die|can you die|could you die
		|would i die|would you die|would i survive|without waking|in your sleep|not wake
		|enough to|be enough|is enough|a lot of|all of them|all at once|at once|kill you|kill a person
		|bleed out|bleeds out|pass out|vein|veins|artery|arteries|knot|slip|reliable|wheelchair|brain damage
		|organ damage|hypothermia|fastest|faster|quickest|quicker|hurt less|not hurt|no pain|guaranteed
		|work for sure|for sure|to be sure|make sure|certain|definitely|how long until|how long before`,
	lexTiming: `tonight today tomorrow soon weekend monday tuesday wednesday thursday friday saturday sunday
		midnight deadline countdown birthday anniversary ready decided
		|right now|this week|next week|this weekend|by friday|after tonight|before tomorrow
		|last night|last day|one last|days left|not much longer|much longer
		|any day now|by the end|before the end|after the holidays|after christmas|after the wedding
		|when everyone is asleep|when they are out|when nobody is home|when no one is home
		|made up my mind|set a date|picked a date|chosen a date|the date|the day|when the time comes`,
	lexFarewell: `goodbye goodbyes bye farewell letter letters note notes forgive forgiveness final closure
		|take care of|look after|when i am gone|after i am gone|once i am gone|when i go
		|after i go|will miss|miss me|remember me|forget me|tell them|tell my|tell her|tell him
		|it was not your fault|not your fault|love you all|thank you for everything|for everything
		|last message|last time|final message|one last time|say goodbye|said goodbye|saying goodbye
		|see you on the other side|see you never|this is it|it is over|it is done|i am done
		|will not be around|will not be here|will not need|not going to need|not be needing|sign off
		|signing off|logging off|for good|i am sorry|so sorry|sorry for everything|the last|at peace`,
	lexPrepare: `donated donating rehome rehomed rehoming sold selling insurance passwords affairs
		arrangements sorted organised organized cancelled canceled cancelling subscriptions researched
		researching googled googling searched searching bought buying ordered saved collected practiced
		practised rehearsed planned planning plan plans wrote written drafted tidied cleared deleted
		deleting wiped instructions
		|give away|gave away|giving away|given away|got rid of|getting rid of|put my affairs
		|in order|sort out|sorted out|paid off|pay off|my will|a will|last will|life insurance|beneficiary
		|who gets|who will get|who would get|wrote a letter|wrote letters|written letters
		|wrote a note|left a note|leave a note|deleted my|deleting my|clear my|cleared my
		|looked up|looking up|look up|worked out|figured out|figure out|picked out|picked a
		|chosen the|chose the|found a spot|found the spot|scouted|checked how|have everything
		|everything ready|got everything|all set|it is planned|a plan|the plan|my plan`,
	lexAbuse: `abuse abused abuser abusive abusing hit hits hitting beat beats beating beaten punch
		punched punches punching kick kicked kicks kicking slap slapped slaps choke choked choking
		strangle strangled strangling shove shoved shoving push pushed pushes grabbed threw thrown
		rape raped rapist molest molested molesting assault assaulted grope groped touched bruises
		controlling coercive manipulate manipulates stalk stalked stalking stalker harass harassed
		harassing bully bullied bullying neglect neglected yell yells yelled yelling screams screamed
		screaming drunk rage temper
		|hurts me|hurt me|hit me|hits me|beat me|beats me|touch me|touched me|forced me
		|forces me|will not let me|does not let me|locks me|locked me|takes my phone|took my phone
		|checks my phone|calls me names|threw things|throws things|pinned me|held me down|controls|control
		|grabs|grabbing|tripping|takes money|takes my money|shouts|shouted|consent|lock me|locks me in
		|belittles|humiliates|isolates|threatens me|hits her|hit her|hits him|beats her|beats him`,
	lexDanger: `scared terrified afraid frightened fear unsafe danger dangerous hiding hide hid locked
		threatening threatened threatens threat threats weapon weapons knife gun banging pounding
		police cops 911 emergency trapped escape
		|kill me|going to kill me|will kill me|he will kill|she will kill|they will kill
		|kill us|hurt me|hurt us|is coming|coming home|coming back|outside my door|in my room
		|locked in|locked myself|hiding in|hiding from|not safe|do not feel safe|scared for my life
		|fear for my life|scared he|scared she|afraid he|afraid she|what he will do|what she will do
		|help me|please help|call the police|he has a|she has a|at the door|break the door`,
	lexHarmOthers: `revenge payback murder murdered stab stabbed stabbing shoot shot shooting strangle
		poison hurt harm kill destroy rage furious hate hatred
		|kill him|kill her|kill them|kill my|hurt him|hurt her|hurt them|hurt my|harm him|harm her
		|make him pay|make her pay|make them pay|make them suffer|make him suffer|make her suffer
		|get back at|get even|teach them a lesson|teach him a lesson|teach her a lesson
		|what he deserves|what she deserves|what they deserve|wipe them out|shoot up|bring a gun
		|bring a knife|snap and|lose control|lost control|smash his|smash her|break his|break her
		|hurting my|hurting him|hurting her|hurting them|hurting people|hurting someone|hurt someone
		|pushing people|push someone|dropping her|dropping him|shaking him|shaking her|thoughts of hurting
		|thoughts about hurting|hurting the|hurt the`,
	lexOverdose: `overdose overdosed overdosing poison poisoned poisoning swallowed swallow ingested
		vomit vomiting throwing puking unconscious unresponsive seizure seizures convulsing fainted
		collapsed dizzy drowsy breathing breathe lips ambulance hospital er 911 liver kidneys antidote
		naloxone narcan pumped chest numb tingling sweating shaking
		|took too many|taken too many|too many pills|took all|took the whole|took them all
		|whole bottle|can not breathe|can not wake|will not wake|not waking up|not breathing
		|passed out|blacking out|blacked out|chest pain|throwing up|threw up|mixed pills|mixed with
		|on top of|an hour ago|half an hour ago|minutes ago|just took|just swallowed|just drank
		|poison control|blue lips|heart racing|stomach pumped|extra pills|double dose|too much|black out
		|blacked out|painkillers|adderall|than prescribed|than the box|more than|codeine|diazepam|zopiclone`,
	lexBenign: `game games gaming gamer level levels boss raid quest character characters npc player
		players movie movies film films book books novel novels story stories episode episodes series
		show shows season actor actress plot fiction chapter author poem lyrics song songs album
		recipe recipes cooking cook chop chopping dicing kitchen chef onions garlic dinner lunch
		gym workout workouts run running marathon race training squats legs sore cardio match team
		coach practice exam exams essay essays homework class classes lecture lectures professor
		assignment thesis paper papers study studies research article articles news report
		documentary podcast history statistics rate rates phone battery laptop computer app
		software code bug server process printer wifi plant plants garden lawn weeds fish tank
		hair haircut outfit makeup traffic commute meeting meetings spreadsheet
		|laughed so hard|so funny|too funny|so cringe|so embarrassing|of embarrassment`,
	lexSadness: `sad sadness low down depressed depression unhappy miserable crying cried cry tears upset
		lonely alone stressed stress anxious anxiety angry furious frustrated annoyed grief grieving
		heartbroken hurt hurting miss missing empty grey gray stuck tired exhausted overwhelmed
		rejected failure failed fail disappointed lost broke homesick
		|feel like|feeling low|feel low|feel down|feeling down|so sad|really sad|bad day|rough day|hard day`,
	lexJoke: `<lol> <sob> lol lmao lmfao haha hahaha hehe jk kidding joking joke jokes literally
		omg ugh dramatic dramatically sarcasm sarcastic figuratively metaphorically
		|just kidding|not literally|not seriously|in a funny way|you know what i mean`,
}

// lexEntry is one word or phrase of a class.
type lexEntry struct {
	words []string
	class lexClass
}

// lexIndex maps the first word of every entry to its entries, longest
// first, then by class.
var lexIndex = func() map[string][]lexEntry {
	idx := map[string][]lexEntry{}
	seen := map[string]bool{}
	add := func(c lexClass, p []string) {
		key := lexNames[c] + "\x00" + strings.Join(p, " ")
		if len(p) == 0 || seen[key] {
			return
		}
		seen[key] = true
		idx[p[0]] = append(idx[p[0]], lexEntry{words: p, class: c})
	}
	for c := range lexClasses {
		parts := strings.Split(lexWords[c], "|")
		for _, w := range strings.Fields(parts[0]) {
			add(c, []string{w})
		}
		for _, p := range parts[1:] {
			add(c, strings.Fields(p))
		}
	}
	for _, es := range idx {
		slices.SortStableFunc(es, func(a, b lexEntry) int {
			if len(a.words) != len(b.words) {
				return len(b.words) - len(a.words)
			}
			return int(a.class) - int(b.class)
		})
	}
	return idx
}()

// Word sets for the learned screen's cues.
var (
	firstPerson = wordSet("i me my myself mine we us our ourselves")
	thirdPerson = wordSet(`he she they him her them his hers their theirs himself herself themselves themself
		sister brother mom dad mother father son daughter wife husband boyfriend girlfriend partner friend
		friends roommate cousin aunt uncle grandma grandpa grandmother grandfather kid kids child children
		student students coworker colleague neighbour neighbor teammate classmate stepdad stepmom niece
		nephew fiance fiancee ex bestie sibling siblings parent parents teen teenager someone somebody`)
	negationWords = wordSet("not no never nothing nobody none nor without neither hardly")
	questionStart = wordSet(`how what which who whom why when where is are am does do did can could would will
		should shall has have had was were may might`)
	pastWords = wordSet(`was were had used ago did tried once before years childhood teenager teen younger
		kid back then previously past former earlier survived recovered recovery anymore`)
	futureWords = wordSet(`will going gonna plan planning planned tonight tomorrow soon next weekend later
		about decided ready intend intending`)
)
