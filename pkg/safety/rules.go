package safety

import (
	"regexp"
	"slices"
	"strings"
)

// flags tell the screen how the modifiers treat a rule's matches.
type flags uint16

const (
	// passive: a passive wish (Concern); an acute time ("right now",
	// "tonight") raises it to High.
	passive flags = 1 << iota
	// act: something done; past, resolved times lower it to Concern,
	// recent ones keep it High.
	act
	// idea: active ideation; a denial of intent ("I'd never act on it")
	// lowers it to Concern, and so does a past tense.
	idea
	// method: method or lethality seeking; counts in questions and with
	// general subjects ("the most painless way to kill yourself").
	method
	// threat: harm to others; High with a weapon, a time, a plan or "I mean
	// it", None with joke markers or a trivial condition.
	threat
	// violence: an act of violence; the actor and the victim decide the
	// category (harm to others or abuse) and the subject.
	violence
	// cue: a warning sign that counts only with another sign or with earlier
	// risk talk (the conversation's or the message's).
	cue
	// noun: a topic word ("suicide attempt", "self harm"); needs a
	// first-person word in its clause and does not count in clinical,
	// academic or fictional writing.
	noun
	// joking: the phrase is commonly hyperbole; joke markers, idiom
	// completions and trivial conditions discount it.
	joking
	// negatedFrame: the pattern holds its own negation ("don't want to
	// live"), so a negation before it does not cancel it.
	negatedFrame
	// strongCue: a cue that, with any second cue, makes High (two weak
	// cues, such as "I'm done" and "going to do it", do not).
	strongCue
	// sense: a rule of the sensitivity layer (sensitivity.go).
	sense
)

// rule is one pattern of the screen.
type rule struct {
	name     string
	category Category
	level    Level // for a first-person, present match
	flags    flags
	// alone is the level of a cue without other signs (None: not counted).
	alone Level
	// notFollowedBy discounts a match whose next words are one of these
	// ("cutting back", "pushed me to the point": words joined by "_").
	notFollowedBy [][]string
	explain       string
	source        string // the pattern with macros expanded
	pattern
}

// macros are expanded in rule patterns ({name}). Canonical text is
// lower-case words separated by single spaces (see canonicalize).
var macros = append(slices.Clone(baseMacros), sensitivityMacros...)

var baseMacros = []struct{ name, re string }{
	{"w", `[^ .,;!?"'<>][^ ]*`},
	{"g1", `(?:{w} )?`},
	{"g2", `(?:{w} ){0,2}`},
	{"g3", `(?:{w} ){0,3}`},
	{"g5", `(?:{w} ){0,5}`},
	{"g8", `(?:{w} ){0,8}`},
	{"g10", `(?:{w} ){0,10}`},
	{"adv", `(?:(?:really|just|so|seriously|honestly|actually|truly|finally|definitely|still|also|even|literally|kind of|sort of|almost|totally|sometimes|often|always|constantly|again|probably|badly|desperately|genuinely|very|quite|pretty|a bit|a little|more|already|secretly|kinda|mostly|low key|lowkey|lately|all|kind|maybe) )*`},
	{"refl", `(?:myself|my self|himself|herself|themselves|themself|yourself|oneself|ourselves)`},
	{"poss", `(?:my|his|her|their|your|our)`},
	{"killv", `(?:kill|kills|killed|killing|murder|murdered|murdering|off|offing|offed)`},
	{"desire", `(?:want|wants|wanted|wanting|wish|wishes|wished|wishing|need|needs|needed|would like|would love|long|longing|yearn|yearning|crave|craving|feel like|feeling like|felt like|urge|urges|urge to|am tempted|tempted|hope|hoping|pray|praying)`},
	{"think", `(?:think|thinks|thinking|thought|thoughts|considering|consider|considered|contemplating|contemplate|contemplated|fantasize|fantasizing|fantasise|fantasising|fantasies|obsessing|obsessed|dream|dreaming|dreamt|imagine|imagining|imagined|plan|planning|planned|ideas|idea)`},
	{"intend", `(?:going to|will|about to|decided to|ready to|plan to|plans to|planning to|planning on|plan on|intend to|intending to|prepared to|preparing to|made up my mind to|gonna|am|is|are|have to|need to|got to|mean to)`},
	{"soon", `(?:tonight|today|right now|now|this weekend|this week|tomorrow|soon|in an hour|by morning|before morning|this morning|this afternoon|this evening|after work|after school|after class|after my shift|on monday|on tuesday|on wednesday|on thursday|on friday|on saturday|on sunday|this friday|this saturday|next week|before my birthday|at midnight)`},
	{"pills", `(?:pills|pill|tablets|tablet|meds|medication|medications|medicine|painkillers|pain killers|sleeping pills|sleeping tablets|antidepressants|xanax|tylenol|paracetamol|acetaminophen|ibuprofen|advil|aspirin|oxy|oxycodone|oxys|opioids|insulin|lithium|benadryl|ambien|valium|klonopin|percocet|vicodin|fentanyl|heroin|seroquel|prozac|zoloft|melatonin|benzos|adderall|sleeping meds|pain meds|prescription|prescriptions)`},
	// medname: medicines by name, for amounts taken (took_lethal, method_pills) only;
	// in {pills} they would turn ordinary medication questions into risk.
	{"medname", `(?:amitriptyline|nortriptyline|sertraline|citalopram|escitalopram|fluoxetine|paroxetine|venlafaxine|effexor|lexapro|celexa|mirtazapine|trazodone|bupropion|wellbutrin|quetiapine|olanzapine|zyprexa|risperidone|aripiprazole|abilify|clozapine|diazepam|lorazepam|ativan|alprazolam|clonazepam|temazepam|zopiclone|zolpidem|sleepers|sleeping ones|sleepy ones|codeine|co codamol|cocodamol|tramadol|morphine|oramorph|oxycontin|hydrocodone|methadone|buprenorphine|suboxone|gabapentin|pregabalin|lyrica|propranolol|amlodipine|metformin|warfarin|digoxin|lamotrigine|depakote|naproxen|nurofen|panadol|excedrin|nyquil|unisom|doxylamine|diphenhydramine|antihistamines|iron tablets|capsules)`},
	{"drugs", `(?:coke|cocaine|meth|crystal|crack|mdma|molly|ecstasy|ketamine|lsd|acid|shrooms|drugs|dope|pills|opiates|oxy|fent|benzos|xans|bars|lean|alcohol|vodka|whiskey|booze)`},
	{"weapon", `(?:gun|guns|pistol|handgun|rifle|shotgun|firearm|revolver|knife|knives|blade|blades|razor|razors|razor blade|razor blades|rope|noose|belt|cord)`},
	{"relation", `(?:mom|mother|dad|father|stepdad|stepfather|stepmom|stepmother|parents|parent|brother|sister|sibling|husband|wife|spouse|boyfriend|girlfriend|partner|fiance|fiancee|ex|boss|coworker|co worker|colleague|roommate|son|daughter|kid|kids|child|children|baby|infant|newborn|toddler|teacher|neighbor|neighbour|friend|friends|classmate|classmates|bully|bullies|family|uncle|aunt|cousin|grandma|grandpa|grandmother|grandfather|manager|landlord|guy|girl|man|woman|stepson|stepdaughter|students|class|coach|bitch|bastard|asshole|ex husband|ex wife|ex boyfriend|ex girlfriend)`},
	{"person", `(?:him|her|them|everyone|everybody|people|someone|somebody|all of them|(?:my|his|her|our|the|that|this|their|your) (?:own |little |big |older |younger |best |stupid |abusive |new |old |ex |baby |step |whole |fucking |damn )?(?:{w} )?{relation})`},
	{"victim", `(?:me|us|her|him|them|my (?:{w} )?{relation}|the kids|the children|(?:a|an|some|this|that|the) (?:{w} )?(?:woman|man|girl|boy|kid|child|lady|guy|person|student|baby)|someone|somebody)`},
	{"hurtv", `(?:hurt|hurts|hurting|harm|harms|harming|harmed|injure|injuring|injured|punish|punishing|punished|cut|cutting|cuts|burn|burns|burning|burned|burnt|scratch|scratching|scratched|carve|carving|carved|mutilate|mutilating|mutilated|bruise|bruising|bruised|hit|hitting|punch|punching|punched|stab|stabbing|stabbed|starve|starving)`},
	{"place", `(?:bridge|roof|rooftop|building|balcony|cliff|ledge|overpass|window|tower|parking garage|garage|tracks|train tracks|platform|edge|highway|freeway|dam|pier|skyscraper|top floor|parking structure)`},
	{"recentTime", `(?:last night|yesterday|today|this morning|tonight|earlier|just now|this week|last week|days ago|hours ago|minutes ago|an hour ago|recently|again|right now|this afternoon|this evening|last tuesday|last monday|last wednesday|last thursday|last friday|last saturday|last sunday|twice today|a few days ago)`},
}

// ruleSpec is the source of a rule.
type ruleSpec struct {
	name     string
	category Category
	level    Level
	flags    flags
	alone    Level
	not      string // space-separated notFollowedBy words
	explain  string
	pattern  string
}

// rule sources, in priority order: when two matches cover the same words,
// the earlier rule wins. The sensitivity layer (sensitivity.go) comes
// last.
var ruleSpecs = []ruleSpec{
	// ---- Suicide: intent, plan, method, means, preparation, attempt.
	{"intent_kill_self", SuicidePlan, High, joking, 0, "", "states an intent to kill oneself",
		`{intend} {adv}(?:go |to )?(?:{killv} {refl}|end (?:{poss} (?:own )?life|it all|everything|my own life)|take {poss} (?:own )?life|commit suicide|do away with {refl}|hang {refl}|shoot {refl}|drown {refl}|throw {refl} off|overdose tonight|kill {refl})`},
	{"intent_soon", SuicidePlan, High, 0, 0, "", "an intent to end it or do it, with a time",
		`(?:{intend}|finally) {adv}(?:end it|end things|end everything|go through with it|kill {refl}|overdose) {soon}|(?:{killing}) {refl} {soon}|{soon} (?:i am|is the night i|is the day i|i will|i am going to|i am finally going to) {adv}(?:end it|end things|end my life|kill {refl})`},
	{"dead_by", SuicidePlan, High, 0, 0, "", "expects to be dead by a near time",
		`(?:will|going to|gonna|i will) be (?:dead|gone) (?:by|before|in) (?:morning|tomorrow|tonight|the weekend|the end of the (?:day|week)|friday|saturday|sunday|monday|an hour|a week)|(?:do not|not|never) (?:plan|planning|expect|expecting|intend|intending) (?:on |to )?(?:be|being|stay|staying) alive (?:for|by|at|on|past|until|through|much|next|after|in|to see)`},
	{"method_self", SuicidePlan, High, joking, 0, "foot head leg in_the_foot in_the_leg", "names a suicide method applied to oneself",
		`(?:hang|hanging|hanged|shoot|shooting|shot|drown|drowning|drowned|electrocute|electrocuting|poison|poisoning|poisoned|suffocate|suffocating|gas|gassing|strangle|strangling) {refl}|(?:slit|slitting|slice|slicing|sliced|cut|cutting|open|opening) {poss} (?:own )?wrists?|(?:put|putting) (?:a|the) (?:gun|pistol|bullet) (?:to|in) {poss} (?:head|mouth)|(?:blow|blowing) {poss} brains out|(?:belt|rope|cord|scarf|tie|ligature|noose|bag) (?:around|over|round) {poss} (?:neck|head)|(?:walk|walking|swim|swimming) (?:into|out into) the (?:sea|ocean|lake|river|water)`},
	{"method_jump", SuicidePlan, High, joking, 0, "into_the_lake into_the_sea into_the_water into_the_pool into_the_river for_charity for_my_best for_you for_her for_him", "names jumping from a height or in front of traffic",
		`(?:jump|jumping|jumped|leap|leaping|throw myself|throwing myself|step|stepping|walk|walking) (?:off|of|from|in front of|out of|out|into|onto) (?:of )?(?:the |a |my |that |this |our |an |next )?(?:{w} )?(?:{place}|train|bus|truck|car|traffic|oncoming traffic|subway)`},
	{"method_vehicle", SuicidePlan, High, joking, 0, "", "names crashing or driving off to die",
		`(?:crash|crashing|drive|driving|swerve|swerving|steer|steering|wrap|wrapping) (?:my )?(?:car )?(?:off|into|in to) (?:a |the |an |oncoming )?(?:{w} )?(?:cliff|bridge|tree|wall|river|lake|ocean|traffic|truck|pole|barrier|ditch)|(?:car|engine) running in (?:the|my) garage|garage with the (?:engine|car) running|crash my car|crashing my car|(?:hose|tube|pipe) {g3}(?:car|exhaust|tailpipe)|(?:car|exhaust|tailpipe) {g3}(?:hose|tube|pipe)`},
	{"method_pills", SuicidePlan, High, 0, 0, "", "plans to swallow a lethal amount",
		`(?:going to|gonna|will|plan to|planning to|about to|want to|wanna) {adv}(?:take|swallow|down|eat) (?:all|every|every one|everything|the whole|a whole|the rest|a bunch|a handful) (?:of )?(?:{poss} |the )?(?:{w} )?(?:{pills}|{medname})`},
	{"method_thinking", SuicidePlan, High, 0, 0, "", "thinks about or looks up how to do it",
		`(?:{think}|researching|researched|looking up|looked up|googling|googled|searching|searched|reading about|read about|figuring out|figured out|working out|worked out|picking|picked|chose|chosen|choosing) (?:about |of |up |on |out )?(?:how (?:i would|i'd|i could|to|i am going to|i'll|i will|i might)|ways to|the best way to|methods|which way|different ways|how many|how much|what dose|the dose|lethal doses?|the lethal|suicide methods|which (?:floor|bridge|building|method|pills)) {g3}(?:do it|end it|kill|die|go|overdose|suicide|lethal|it takes|to take|would be|is high enough|enough)|{think} {g5}how easy it would be to {adv}(?:jump|end it|die|swerve|drive off|crash|let go|step off|step in front|step forward|step out|lean over|lean forward|turn the wheel|pull the trigger|take them all|walk into|do it|fall)`},
	{"method_question", SuicidePlan, High, method, 0, "for_a_dog for_my_dog for_dogs for_a_cat for_my_cat for_cats for_a_horse for_horses for_a_puppy for_my_puppy for_a_kitten for_my_kitten for_pets for_a_pet", "asks for a method or a lethal amount",
		`can (?:you|u|i|someone|a person) (?:die|overdose|od) (?:from|on|of|with) (?:like |about |around )?(?:\d+|twenty|thirty|forty|fifty|a hundred|a whole (?:box|bottle|pack|packet|strip)) (?:of )?(?:{w} )?(?:{pills}|{medname}|{w})|how (?:many|much) {g10}(?:to (?:die|kill|overdose|end it|not wake up|never wake up|do it)|(?:is |are |would be |be )?(?:lethal|fatal|deadly|enough to kill)|so (?:i|you|that i|that you) (?:do not|will not|never|would not) wake up|before (?:i|you|it) (?:die|dies|kills))|(?:painless|quickest|easiest|fastest|surest|quietest|cleanest|quick|easy|simple|sure|peaceful|painfree|pain free|reliable|certain|effective|least painful|most painless|most effective|best|fast|surefire) (?:way|ways|method|methods) (?:to|of) (?:die|dying|kill {refl}|killing {refl}|end (?:it|{poss} life|things)|ending (?:it|{poss} life)|commit suicide|committing suicide|suicide|go|overdose|od|bleed out|bleeding out)|how (?:many|much) {g10}(?:would|will|could|does it take to|do i need to|to) (?:kill|end) (?:me|a person|someone|you|a human|an adult|myself|somebody|my {w})|if (?:i|you|someone|a person) (?:jump|jumped|jumps|fell|fall|leapt|leap|threw myself) (?:from|off) {g5}(?:floor|story|storey|building|bridge|roof|balcony|cliff|window|overpass) {g5}(?:would|will|could|instant|die|survive|painless|kill|quick)|(?:enough|a lethal dose|the lethal dose|a fatal dose|a lethal amount) (?:of {w} )?to kill (?:me|myself|someone|a person|you|somebody|a human|an adult)|is (?:\d+|a|one|two|a whole bottle of|a bottle of|\w+) {g3}enough to (?:kill|die|overdose)|how (?:high|tall|far|long) {g8}(?:to (?:die|kill|make sure)|die from|survive the fall|fatal|lethal)|(?:would|will|does|is) (?:slitting|cutting|hanging|drowning|jumping|shooting|overdosing|bleeding out) {g5}(?:painless|hurt|quick|lethal|fatal|work|kill|be peaceful)|(?:which|what) (?:floor|bridge|building|height|dose|amount|pills|drug) {g5}(?:high enough|enough to|lethal|fatal|to die|to kill)|(?:what happens|what would happen|will i die|would i die|could i die|can you die|can i die|would it kill me|is it fatal|is it lethal) {g5}(?:take|took|swallow|swallowed|drink|drank|eat|ate|od on|overdose on) (?:like |about )?(?:[1-9]\d+|twenty|thirty|forty|fifty|a hundred|a bottle|all|a whole|the whole|a handful|too many)|(?:which|what) {g3}(?:pills|drugs|medications|meds) {g5}(?:most deadly|most lethal|deadliest|lethal|fatal|kill you)|(?:toaster|hairdryer|hair dryer|radio|heater) in(?:to)? the (?:bath|bathtub|tub)`},
	{"lethality_enough", SuicidePlan, High, method, 0, "", "asks whether a height, a depth or a cut would be enough to die",
		`how (?:deep|hard|far) {g8}(?:to (?:hit|reach|cut|sever|nick|open) (?:an |the |a )?(?:artery|arteries|vein|veins)|to bleed out|bleed out|to (?:die|be fatal|kill))|(?:is|would|will|are|was) {g8}(?:bridge|river|water|lake|sea|drop|fall|cliff|quarry|dam|reservoir|building|roof|balcony|car park|parking garage|floor|storey|story|tower) {g5}(?:deep|high|tall|cold|far) enough(?: to (?:die|kill|drown|not survive|make sure|do it|end it|be fatal)| [.?!]| ?$)|(?:bridge|river|water|quarry|dam|reservoir|drop|cliff|building|roof|balcony|car park|parking garage|tower) {g5}(?:is|are|was|would be|will be) {g2}(?:deep|high|tall|cold|far) enough(?: to (?:die|kill|drown|not survive|make sure|do it|end it|be fatal)| [.?!]| ?$)|how (?:high|tall|far up) (?:does|do|would|should|must) (?:a |the |my |this |that )?(?:{w} )?(?:building|bridge|roof|balcony|cliff|tower|drop|fall|window|car park|parking garage) (?:need to|have to|got to) be|(?:does|would|will) it hurt (?:to|when you|if you|if i) (?:bleed out|hang|drown|jump|overdose|od|suffocate|slit)`},
	{"farewell_forever", SuicidePlan, High, joking | cue, Concern, "to", "says goodbye for good",
		`(?:goodbye|good bye|bye|goodnight|good night|night|farewell|so long) (?:everyone |everybody |world |all |guys |y all |mom |dad )?(?:forever|for ever|for good|for the last time|in the next life|on the other side)`},
	{"death_purpose", SuicidePlan, High, 0, 0, "", "gets or uses something in order to die",
		`(?:enough|saved|saving|stockpiled|stockpiling|hoarded|hoarding) {g8}(?:to (?:not|never) wake up|so (?:i|that i) (?:do not|will not|won't|never) wake up|in order to die|to die|to end it all|to end it|to kill myself|to end my life)|(?:took|take|taking|swallowed|swallow|use|using|bought|buy) {g8}(?:to (?:not|never) wake up|in order to die|to die|to end it all|to kill myself|to end my life|hoping to die|so i would die|so i would not wake up)|(?:check|checking|checked) out (?:tonight|for good|permanently|of this world|of life)|(?:going to|gonna|will|about to) (?:check out|ctb) (?:\.|for good|tonight|permanently|forever|early|of this world)`},
	{"plan_how_when", SuicidePlan, High, 0, 0, "", "knows how and when they will do it",
		`(?:know|decided|figured out|worked out|planned) (?:exactly )?(?:how|when|where) (?:i am going to|i will|i'm going to|to) (?:do it|end it|go|kill myself) and (?:when|where|how)`},
	{"goodbye_letters", SuicidePlan, High, cue | strongCue, High, "", "wrote notes or letters for everyone",
		`(?:wrote|written|writing|write|left|leaving|mailing|mail|finished) (?:goodbye |farewell )?(?:letters|notes) (?:to|for) (?:everyone|everybody|all of them|my family|each of|my whole family)`},
	{"preparation_note", SuicidePlan, High, 0, 0, "", "wrote or is writing a suicide note",
		`(?:suicide|goodbye|good bye|farewell) (?:note|notes|letter|letters|video|message|messages)|(?:wrote|written|writing|write|finished|left|leaving|drafted|drafting|recorded|recording) (?:my|a) (?:final|last) (?:note|letter|letters|message|goodbye|words)`},
	{"preparation_pills", SuicidePlan, High, 0, 0, "", "stockpiles pills (a preparatory act)",
		`(?:hoarding|hoarded|hoard|saving up|saved up|saving|stockpiling|stockpiled|stockpile|collecting|collected|stashing|stashed|stash|hiding|hid|keeping|kept|building up) (?:all )?(?:{poss} |the |some |up |of |a |enough )?(?:{w} )?(?:{w} )?{pills}`},
	{"preparation_noose", SuicidePlan, High, 0, 0, "", "made or has a noose",
		`(?:tied|tie|tying|made|make|making|have|got|bought|hung|hanging|set up) (?:a |the |up a |up the )?noose`},
	{"means_at_hand", SuicidePlan, High, 0, 0, "", "holds the means to die now",
		`(?:knife|blade|razor|gun|pistol|scissors|glass) (?:to|against|on|at) {poss} (?:wrists?|throat|neck|head|arm|arms|skin|chest|temple)|(?:holding|hold|have|got) (?:my |his |her |dad's |my dad's |a |the )?(?:{w} )?(?:gun|pistol|rifle|knife|blade|razor|noose) right now|(?:have|holding|hold|got|is|are|sitting|lying|lined|laid) (?:out )?(?:the |a |my |this |his |her |all the |all my )?(?:{w} )?(?:{weapon}|{pills}|bottle of {w}|bottle) (?:is |are )?(?:right here|in my hand|in my hands|in front of me|ready|next to me|in my lap|lined up|on the counter|on my desk|out on|loaded|with me right now|right now|to my head|against my wrist|against my skin)`},
	{"attempt", SuicidePlan, High, act, 0, "with_my with_him with_her with_them with_my_boyfriend", "a suicide attempt (an act: recent unless the text says it is past)",
		`(?:tried|try|trying|attempted|attempt|attempting|tries|tryed) (?:again )?(?:to )?{adv}(?:{killv} {refl}|end {poss} (?:own )?life|take {poss} (?:own )?life|commit suicide|suicide|hang {refl}|drown {refl}|overdose|od|shoot {refl}|jump off|jump from|slit {poss} wrists|gas {refl}|poison {refl}|end (?:it|things|it all|everything)|die|overdose|not wake up)|attempted suicide`},
	{"attempt_noun", SuicidePlan, High, act | noun, 0, "", "mentions one's suicide attempt",
		`(?:suicide|suicidal) attempts?|attempts? on (?:my|his|her|their) (?:own )?life`},
	{"overdosed_self", OverdoseMedical, High, act, 0, overdoseOtherSenses, "took an overdose",
		`(?:i|i have|i just|i have just|i had|he|she|they|he has|she has|just|has|have) {adv}(?:overdosed|overdose on|took an overdose|taken an overdose|overdosing)|(?:took|taken|take|taking) an overdose|overdosed (?:on purpose|intentionally|deliberately)|(?:{poss}|my {w}) (?:{w} )?{relation} {adv}(?:has |had |have )?(?:overdosed|took an overdose|taken an overdose)`},
	{"took_lethal", OverdoseMedical, High, act, 0, "", "swallowed a large amount of medication",
		`(?:took|taken|swallowed|swallow|swallowing|ate|eaten|downed|popped|consumed|chugged|necked) (?:like |about |around |over |nearly |almost |maybe |at least |more than |probably |just )?(?:all|every|everything|a whole|the whole|an entire|the entire|half|a bottle|a box|a pack|a packet|a strip|a handful|handfuls|a bunch|a lot|a ton|tons|loads|lots|too many|way too many|way too much|too much|(?:[1-9]\d|\d{3,})|{poss} whole|{poss} entire|twenty|thirty|forty|fifty|sixty|fifteen|a hundred|several|a few bottles) (?:of )?(?:{poss} |the |her |his )?(?:{w} )?(?:{w} )?(?:{pills}|{medname}|in the medicine cabinet|in my medicine cabinet|in the cabinet|bottle|pack|packet|box|strip)`},
	{"self_harm_on_purpose", SelfHarm, High, act, 0, "", "hurt oneself on purpose",
		`(?:burned|burnt|burn|cut|scratched|scalded|pressed|held|punched|bashed|banged|hit|slammed|stabbed) (?:{w} )?(?:my|myself) {g5}on purpose`},
	{"goodbyes_written", SuicidePlan, High, cue | strongCue, High, "", "writes goodbyes, or asks that someone be told they were loved",
		`(?:writing|wrote|written|recording|recorded|finished) (?:my|all my|the last of my) goodbyes|tell (?:my|the|her|him|them|everyone|everybody|my {w}) (?:{w} )?(?:that )?i loved (?:them|him|her|you|them all|all of them|everyone)`},
	{"poison_food", HarmToOthers, High, threat, 0, "", "means to put poison in someone's food or drink",
		`(?:put|putting|slip|slipping|mix|mixing|add|adding|pour|pouring) {g3}(?:rat poison|poison|antifreeze|anti freeze|bleach|weed killer|pesticide|cyanide|drain cleaner) {g3}(?:in|into) {g3}(?:tea|coffee|food|drink|dinner|meal|soup|beer|wine|lunch|breakfast|bottle|cup)`},
	{"poison", OverdoseMedical, High, act, 0, "", "swallowed a poison",
		`(?:drank|drink|drinking|swallowed|swallow|ate|eat|took|ingested|injected|chugged) (?:some |(?:half )?(?:a |the )?(?:bottle|cup|glass|jug|capful|mouthful|lot) of |the )?(?:bleach|antifreeze|anti freeze|rat poison|poison|drain cleaner|lye|pesticide|weed killer|detergent|tide pods?|lighter fluid|gasoline|cyanide|paint thinner|insecticide)|(?:swallowed|swallow|ate|eaten|has eaten) (?:a |an |one |two |some |the )?(?:{w} )?(?:button batter(?:y|ies)|coin batter(?:y|ies)|magnets?|detergent pods?|laundry pods?|washing pods?|dishwasher tablets?)`},
	{"mixed_substances", OverdoseMedical, Concern, cue, Concern, "", "mixed medication and alcohol",
		`(?:mixed|mixing|mix|combined|combining|took|taking|take|washed|washing|downed|chased) (?:down )?(?:{w} )?(?:{w} )?(?:{pills}|alcohol|vodka|whiskey|wine|beer|liquor|booze|drinks) (?:with|and) (?:{w} )?(?:{w} )?(?:{pills}|alcohol|vodka|whiskey|wine|beer|liquor|booze|drinks)|(?:{pills}) with (?:vodka|alcohol|whiskey|wine|beer|liquor|booze)|(?:drink|drinking|drank|drinks) {g5}(?:alcohol|wine|vodka|whiskey|beer|liquor|booze|gin|rum|cider) {g5}(?:on top of|while on|while taking|along with) (?:{poss} )?(?:{w} )?(?:{pills})`},

	// ---- Suicidal ideation, active.
	{"desire_kill_self", SuicidalIdeation, High, idea | joking, 0, "", "wants or thinks of killing oneself",
		`(?:{desire}|{think}) (?:to |of |about |i could |i can |i would |i'd |i should )?{adv}(?:{killv} {refl}|(?:end|ending|take|taking) (?:{poss} (?:own )?life|it all|my own life|everything|it for good)|commit suicide|committing suicide|commiting suicide|suicide|dying by suicide|suicidal)`},
	{"suicidal", SuicidalIdeation, High, idea, 0, "", "says one is suicidal",
		`(?:i am|i feel|i felt|feeling|feel|felt|i have been|i've been|been|getting|become|becoming|became|i was|am|is|are|was|were|got|so|feel so|get) {adv}(?:very |extremely |pretty |a bit |a little |kind of |so |really |super |incredibly |actively |passively |more )*suicidal\b`},
	{"suicidal_thoughts", SuicidalIdeation, High, idea, 0, "", "has suicidal thoughts",
		`(?:have|having|had|get|getting|got|experiencing|experience|experienced|keep having|battling|struggling with|dealing with|fighting|been having|started having) {adv}(?:some |these |my |a lot of |constant |frequent |recurring |intense |strong |daily |bad |more )?(?:suicidal|suicide) (?:thoughts?|ideation|ideas|feelings|urges|impulses)|suicidal (?:thoughts?|ideation|urges|impulses|feelings) (?:are |is )?(?:back|again|getting worse|getting stronger|every day|all the time|are getting|come and go|come|keep coming|never go away|will not stop|are constant|are there|are scaring me|scare me)`},
	{"kill_self", SuicidalIdeation, High, idea | joking, 0, "in mean means even_mean as_a_word is_a_word as_slang is_slang", "mentions killing oneself",
		`{killv} {refl}|(?:end|ending) (?:it all|{poss} (?:own )?life|my own life)|(?:finish|finishing|stop|stopping|end with|finish with) (?:my|his|her) (?:own )?life (?:\.|!|,|and|because|now|tonight|soon|today)|take {poss} (?:own )?life|commit suicide|(?:unalive|unaliving) {refl}`},
	{"suicide_way_out", SuicidalIdeation, High, idea, 0, "", "sees suicide as the way out",
		`(?:suicide|death|dying|killing myself|ending it) {adv}(?:is|feels like|seems like|seems|looks like|sounds like) {adv}(?:the|my|an) (?:only |best |easiest |last )?(?:way out|option|answer|solution|choice|escape|way)|(?:suicide|killing myself|dying|death|ending it) is (?:all|the only thing) (?:that )?i {adv}(?:think|can think|thought|dream) about|(?:all i|the only thing i) {adv}(?:think|can think) about is (?:suicide|killing myself|dying|death|ending it)|(?:suicide|killing myself|ending it|dying|death) (?:is |seems |sounds |looks |feels )?(?:looking |sounding |feeling )?(?:really |real |so |pretty |more and more )?(?:good|tempting|appealing|attractive|like a relief|peaceful|better and better|like the answer)`},
	{"talks_of_suicide", SuicidalIdeation, Concern, passive, 0, "prevention rates awareness research statistics hotline hotlines",
		"talks or writes about suicide or wanting to die",
		`(?:talking|talks|talked|talk|joking|jokes|joked|writing|writes|wrote|posting|posts|posted|texting|texted|saying|says|said|mentioning|mentions|mentioned|bringing up|brings up|brought up) (?:a lot |more |again |constantly |often )?about (?:suicide|killing {refl}|ending (?:{poss} )?(?:own )?life|ending it|dying|wanting to die|not wanting to live|not being here|death)`},
	{"end_it", SuicidalIdeation, High, idea | joking, 0, "with", "wants or thinks of ending it (a life, not a relationship)",
		`(?:feel like|feeling like|felt like|thinking about|think about|thought about|thinking of|thought of|want to|wanted to|wanna|wish i could|ready to|tempted to|urge to|considering|close to) {adv}(?:end|ending) it(?: all)?`},
	{"want_end_all", SuicidalIdeation, High, idea | joking, 0, "with", "wants to end it all",
		`(?:{desire}) (?:to )?{adv}(?:end it all|end everything|end it for good|end it once and for all|be done with life|be done with it all|check out for good|not exist anymore)`},

	// ---- Suicidal ideation, passive.
	{"want_die", SuicidalIdeation, Concern, passive | joking, 0, "for of from laughing", "wishes to be dead",
		`(?:{desire}) (?:to |(?:that )?(?:i|he|she|they) (?:could |would |was |were |had |am |is |could just |would just )?)?{adv}(?:die|be dead|not be alive|not be here|not exist|disappear forever|disappear permanently|stop existing|cease to exist|not wake up|never wake up|sleep forever|go to sleep forever|stay asleep forever|fall asleep forever|fall asleep and (?:never|not) wake up|(?:go to sleep|sleep|fall asleep) and (?:never|not|not have to|never have to) wake(?: up)?|die in {poss} sleep|not wake up again|never wake up again|dead|never been born|not been born|never existed|did not exist|get sick and die|{w} {w} and die|be gone forever|just disappear forever|vanish forever|not have to wake up|(?:was|were) not (?:here|alive|around)(?: anymore)?|(?:was|were) gone)|(?:{desire}) (?:that )?(?:i|he|she|they) (?:was|were|had) {adv}never (?:been )?born`},
	{"dont_want_live", SuicidalIdeation, Concern, passive | negatedFrame, 0, "early at before in tomorrow on for a the with this that to him her them people my his me you us back forth there out vacation holiday trip date dates", "does not want to live",
		`(?:do not|does not|did not|no longer|not|never|don't|can not|cannot) {adv}(?:want|wanna|wanting|wish|see a reason|see the point|see any reason|see any point|find a reason|have a reason|have any reason) (?:to )?(?:live|be alive|be here|exist|go on|keep going|keep living|wake up|be around|stay alive|continue living)`},
	{"ready_to_die", SuicidalIdeation, Concern, passive, 0, "", "is ready to die or done living",
		`(?:ready|prepared) to die|(?:done|finished) (?:with )?(?:living|life|being alive|existing)|(?:give|giving|gave) up on (?:life|living|myself)|(?:hate|hating) being alive|(?:do not|can not|cannot|don't) see (?:a|any) way out|no way out|(?:wish|wishing|pray|praying|hope|hoping) (?:a |that a |some )?(?:car|truck|bus|train|plane|lightning|someone) (?:would |will )?(?:just )?(?:hit|hits|kill|kills|crash|crashes) (?:me|into me)`},
	{"tired_of_living", SuicidalIdeation, Concern, passive, 0, "", "is tired of living",
		`(?:tired|sick|exhausted|weary|done) (?:of|with) (?:living|being alive|life|existing|being here|my life|this life)\b|(?:tired|sick|exhausted|weary) (?:to live|to be alive|to exist|from living|from life)`},
	{"no_reason_to_live", SuicidalIdeation, Concern, passive | negatedFrame, 0, "", "sees no reason to live",
		`(?:(?:do not|can not|could not|cannot) (?:see|find|have|think of) )?(?:no|any|a|the) (?:reason|point|purpose|meaning) (?:to |in |of |for |for me to |for me )(?:keep |keeping |me |to )?(?:living|live|life|being alive|being here|be here|be alive|going on|go on|staying alive|stay alive|existing|exist|my life|me being here|wake up|waking up|keep going|stay)|what is the point of (?:living|life|being alive|going on|existing|me|it all|waking up)`},
	{"life_not_worth", SuicidalIdeation, Concern, passive | negatedFrame, 0, "", "says life is not worth living",
		`(?:life|living|my life) {adv}(?:is not|is no longer|not|no longer|is n't|ai not|does not feel|does not seem|isn't) {adv}worth (?:living|it|anything)|not worth living|(?:life|my life) (?:is|feels) (?:pointless|meaningless|worthless)`},
	{"better_off_without_me", SuicidalIdeation, Concern, passive, 0, "", "thinks others would be better off without one",
		`(?:better off|better|happier|relieved|easier|lighter|fine|okay|ok|free) (?:place )?(?:off )?(?:for (?:{w} )?(?:{w} )?)?(?:without me(?: in it| around| here)?|if i {adv}(?:was|were|am|was not|were not|wasn't|weren't) (?:dead|gone|here|around|alive|in it|never born)|if i {adv}(?:died|disappeared|did not exist|never existed|was never born|was gone|were gone|vanished|killed myself))|(?:world|everyone|everybody|they|my family|his family|her family) (?:would )?(?:be )?(?:a )?better (?:place |off )?without (?:me|him|her|them)`},
	{"better_off_dead", SuicidalIdeation, Concern, passive | joking, 0, "", "thinks one would be better off dead",
		`(?:be|am|are|is|was|were) {adv}better off dead|better off dead`},
	{"nobody_would_notice", SuicidalIdeation, Concern, passive | negatedFrame, 0, "", "thinks nobody would notice one's death",
		`if i (?:died|was gone|were gone|disappeared|was dead|were dead|was not here|was not around|vanished|killed myself) {g3}(?:nobody|no one|noone|no body|not a single person) (?:would|will|is going to|gonna) {adv}(?:notice|care|miss me|even notice|even care)|if i (?:died|was gone|were gone|disappeared|was dead|were dead|vanished|killed myself) {g5}(?:not|n't) (?:think )?(?:anyone|anybody) (?:would|will) {adv}(?:care|notice|miss me)|(?:nobody|no one|noone|no body) (?:would|will) {adv}(?:notice|care|miss me)(?: {w})? if i (?:died|was gone|were gone|disappeared|was dead|were dead|was not here|was not around|vanished|killed myself|did not wake up)`},
	{"why_alive", SuicidalIdeation, Concern, passive | negatedFrame, 0, "", "does not know why one is alive",
		`(?:do not|don't) (?:know|see) why i am (?:still )?(?:alive|here|living|breathing)|why am i (?:still )?(?:alive|here|breathing)|(?:do not|don't) deserve to (?:live|be alive|be here|exist)`},
	{"think_death", SuicidalIdeation, Concern, passive, 0, "", "thinks about dying",
		`(?:{think}) (?:about|of) {adv}(?:dying|death|being dead|my death|my own death|not existing|not being here|not being alive|my funeral|disappearing forever)`},
	{"rather_dead", SuicidalIdeation, Concern, passive | joking, 0, "", "would rather be dead",
		`(?:would rather|rather) (?:be dead|die|not exist|not be alive)|(?:would not|wouldn't) mind (?:dying|being dead|if i died|if i did not wake up|not waking up|if i never woke up|if (?:a|the|some) (?:car|truck|bus|train|plane|someone) {g2}(?:hit|hits|killed|kills) me)`},
	{"okay_not_making_it", SuicidalIdeation, Concern, passive, 0, "", "would be fine not surviving",
		`(?:okay|ok|fine|alright|relieved|glad|happy) if i (?:just )?(?:did not|didn't|never|do not) (?:make it|wake up|come back|make it home|survive)|(?:do not|don't) care (?:if|whether) i (?:live|die|wake up|ever wake up|make it|survive)|(?:do not|don't) care what happens to me`},
	{"everything_stop", SuicidalIdeation, Concern, passive, 0, "", "wants everything to stop for good",
		`(?:want|wish|need) (?:it all|everything|it|the pain|life) to (?:stop|end)(?: ,)? (?:permanently|forever|for good|for ever)|(?:want|wish|need) (?:it all|everything) to (?:end|be over)`},
	{"cant_go_on", SuicidalIdeation, Concern, passive | negatedFrame, 0, "", "cannot go on living",
		`(?:can not|cannot|could not|can't) (?:go on|keep living|keep going on|go on living|live like this|live with this anymore|do life anymore)`},

	// ---- Self-harm.
	{"self_harm_intent", SelfHarm, High, 0, 0, "", "intends to hurt oneself soon",
		`(?:going to|gonna|will|about to|plan to|planning to|decided to|ready to) {adv}(?:{hurtv}) {refl}|(?:{hurtv}) {refl} {soon}|(?:going to|gonna|will|about to) {adv}(?:cut|self harm|sh|burn) (?:again )?{soon}`},
	{"self_harm_urge", SelfHarm, Concern, passive, 0, cutOtherSenses, "has urges to hurt oneself",
		`(?:{desire}|{think}|itching|temptation|tempted|impulse|impulses) (?:to |of |about )?{adv}(?:{hurtv}|self harm|self harming|self injure|self injuring|start cutting|cut again|cutting again|relapse) (?:{refl}|again|{poss} (?:arms?|wrists?|legs?|thighs?|skin|body))?|(?:urge|urges|need) to (?:self harm|cut|sh|hurt myself|harm myself|bleed|feel pain)|(?:want|wanna|need|urge|urges|itching|tempted) to (?:cut|self harm|sh|burn) (?:but|so|and|again|tonight|right now|\.|!|\?|;)|(?:miss|missing) (?:self harming|cutting|hurting myself|the pain|burning myself|harming myself)|(?:get|getting|have|having|still get|still have|strong|the) urges to (?:cut|self harm|hurt myself)`},
	{"urges_again", SelfHarm, Concern, cue | strongCue, 0, "", "urges, with self-harm mentioned",
		`(?:get|getting|have|having|still get|still have|feel|feeling) (?:the |these |strong |those )?(?:urges|urge)|(?:the |my )?urges (?:are|come|keep)`},
	{"self_harm_act", SelfHarm, High, act, 0, cutOtherSenses, "hurt oneself (an act: recent unless the text says it is past)",
		`(?:{hurtv}) {refl}|(?:i|i have|i've|have been|been|started|start|starting|keep|kept|began|resumed|relapsed and|went back to|back to|used to|still) {adv}(?:self harming|self harmed|self harm|self injuring|self injure|cutting|cut|burning myself|hurting myself|burn myself)|(?:is|are|was|were|has been|keeps|still) {adv}(?:self harming|self injuring|cutting)|(?:cut|cutting|carved|carving|burned|burning|burnt|scratched|scratching|sliced|slicing|stabbed|stabbing) (?:into )?(?:{poss}) (?:own )?(?:arms?|wrists?|legs?|thighs?|skin|stomach|hips?|ankles?|body|chest|shoulders?|forearms?|face|belly)|(?:i|i just) (?:cut|cutted|self harmed|burned|burnt) (?:again|last night|today|this morning|yesterday|tonight|earlier)|self harmed again|self harm again (?:last night|today|tonight|yesterday|this morning)|(?:carved|carving|cut|cutting|scratched|scratching|burned|burning|etched) {g3}(?:into|on|onto) {poss} (?:own )?(?:arms?|wrists?|legs?|thighs?|skin|stomach|hips?|ankles?|body|chest|forearms?|belly)|(?:slicing|sliced|slice) {poss} (?:{w} )?(?:arms?|wrists?|legs?|thighs?|skin|stomach|body|belly)|cutting (?:is|was) (?:the only|my only|what|how)|(?:can not|cannot|could not) stop {adv}(?:cutting|hurting myself|harming myself|burning myself|self harming)`},
	{"self_harm_noun", SelfHarm, Concern, act | noun, 0, "", "mentions one's self-harm",
		`(?:my )?(?:self harm|self injury|self harming|cutting|nssi) (?:scars|scar|urges|relapse|habit|problem|history|again)|(?:cuts|cut marks|scars|burns|burn marks|fresh cuts|marks|bruises) (?:on|all over) (?:his|her|their|my) (?:{w} )?(?:arms?|wrists?|legs?|thighs?|stomach|body)|(?:scars|marks|cuts) from (?:self harm|cutting|self injury|self harming|burning myself|hurting myself)|(?:have not|has not|had not|stopped|quit) (?:self harmed|self harming|cut|cutting|cut myself|hurt myself|burned myself|burnt myself|harmed myself) (?:in|for|since|last|a|two|three|\d+)|(?:clean|free) (?:from|of) (?:self harm|cutting|sh)|relapsed (?:on|with|into) (?:self harm|cutting)|(?:self harm|cutting) relapse|(?:relapse|relapsing|relapsed|relapses) (?:back )?(?:on|with|into|to) (?:self harm|cutting|sh|burning|hurting myself|harming myself)`},
	{"head_banging", SelfHarm, Concern, act, 0, "", "hits one's head against something",
		`(?:hit|hitting|bang|banging|banged|bangs|punch|punching|slam|slamming|smash|smashing) {poss} head (?:against|on|into|off)`},
	{"skin_until_bleeds", SelfHarm, Concern, act, 0, "", "picks or scratches until bleeding",
		`(?:pick|picking|picked|scratch|scratching|scratched|claw|clawing|tear|tearing|bite|biting|dig|digging|rub|rubbing|punch|punching|punched|hit|hitting|bang|banging|banged|slam|slamming|smash|smashing) {g5}until (?:it |they |i |my {w} )?(?:bleeds|bleed|bled|bleeding|bruise|bruised|bruises|break|breaks|broke|cracks|cracked)|pull(?:ing)? {poss} hair out`},

	// ---- Harm to others.
	{"plan_to_harm", HarmToOthers, High, threat, 0, "", "plans to harm someone",
		`(?:planning|planned|plan|plotting|plotted|figuring out|worked out|working out) (?:how |to |on |out how )?(?:{w} )?(?:to )?(?:kill|hurt|poison|shoot|stab|murder|strangle|get back at|make (?:them|him|her) pay|attack|run over) {person}|(?:looked up|looking up|researched|researching|googled|googling) (?:what|how|which) {g5}(?:would work|works|to use|kills|would kill|undetectable|to get away)|(?:bring|bringing|take|taking|brought|carry|carrying) (?:a|my|the|dad's|his|her|a loaded) (?:gun|knife|weapon|rifle|pistol|bomb|machete) to (?:school|work|class|the office|church|campus|the party|his house|her house)`},
	{"threat_to_kill", HarmToOthers, Concern, threat | joking, 0, "for feelings feeling chances career reputation with_kindness at_chess at_cards at_tennis at_pool at_golf at_games at_trivia in_a in_chess in_cards", "threatens to kill or hurt someone",
		`(?:{intend}|want to|wanna|would like to|need to|could|might|swear i will|swear i am going to|i will|i'll|threatened to|threatens to|threatening to|threaten to) {adv}(?:kill|murder|shoot|stab|hurt|poison|strangle|choke|beat up|beat|attack|slaughter|run over|blow up|burn down|slit the throat of|punch|smash|run over|hurt|kill|beat the shit out of|beat the crap out of) (?:(?:it|her|him|them) and (?:then )?)?{person}(?: to death| up| senseless| half to death| over)?|(?:{intend}|want to|wanna|i will|i'll) {adv}make {person} pay|(?:{intend}|want to|wanna|i will|i'll) {adv}run {person} over|(?:beat|stab|strangle|choke|kick) {person} to death|(?:shoot|shooting|shot|blow|blowing) up (?:my|the|a|this|our) (?:school|office|work|workplace|church|mall|class|campus|college|party|concert|store)`},
	{"harm_thoughts", HarmToOthers, Concern, 0, 0, "feelings feeling chances career reputation", "has thoughts or urges of hurting someone",
		`(?:{think}|urges?|impulses?|intrusive thoughts|scared|afraid|terrified) (?:of |about |that i will |that i might |i will |i might |i am going to |i'll )?{adv}(?:hurting|killing|stabbing|shooting|strangling|choking|pushing|harming|beating|murdering|poisoning|attacking|hitting|drowning|smothering|dropping|throwing|suffocating|shaking|hurt|kill|stab|shoot|harm|push|drown|smother) {person}`},

	// ---- Violence (routed by actor and victim: harm to others or abuse).
	{"violence_act", AbuseViolence, Concern, violence | act, 0, "off back away out into to_the_point to_my_limit to_my_limits to_the_edge to_do to_be to_try to_work to_study to_get too_hard", "violence against someone",
		`(?:beat up|beats up|beating up|beaten up|hit|hits|hitting|beat|beats|beating|beaten|punch|punched|punches|punching|kick|kicked|kicks|kicking|choke|choked|chokes|choking|strangle|strangled|strangles|strangling|slap|slapped|slaps|slapping|push|pushed|pushes|pushing|shove|shoved|shoves|shoving|rape|raped|rapes|raping|molest|molested|molests|molesting|abuse|abused|abuses|abusing|touch|touches|touched|touching|assault|assaulted|assaults|assaulting|attack|attacked|attacks|attacking|threw things at|throw things at|throws things at|throwing things at|burned|burns|shook|shaking|shakes|smothered|stabbed|stab|stabs|bit|bites|whipped|whips|whip|grab|grabs|grabbed|grabbing|grope|gropes|groped|groping) {victim}|(?:hands?|fingers) around {poss} (?:neck|throat)|(?:hurt|hurts|hurting) (?:me|us|her|him|my {w}) physically|physically (?:hurt|hurts|hurting|abused|abuses|abusing) {victim}|(?:threw|throw|throws|throwing) (?:a |the |my |his |her )?(?:{w} )?(?:at|near|towards|toward) {victim}|(?:hit|hitting|hits|beat|beating|beats|hurt|hurting) {victim} with (?:a|his|her|the) (?:belt|bat|stick|hammer|fist|fists|hand|cord|shoe|pan)`},
	{"violence_passive", AbuseViolence, Concern, act, 0, "", "was attacked or abused",
		`(?:he|she|they|my {w}|my {w} {w}) (?:was|is|were|are|has been|have been) {adv}(?:physically |sexually |violently |very |really )*(?:abusive|violent) (?:to|with|toward|towards) (?:me|us|my {w})|(?:my {w}|he|she) (?:was|is|has been) {adv}(?:physically|sexually) abusive|(?:i was|i got|i have been|i've been|was|been|got|being|i am being|am being) {adv}(?:raped|molested|sexually abused|sexually assaulted|assaulted|abused|beaten|beaten up|attacked|strangled|choked|groomed|trafficked|stalked|threatened|hit|kidnapped|drugged)`},
	{"threat_to_me", AbuseViolence, High, joking, 0, "", "someone threatens to kill the writer",
		`(?:said|says|saying|threatened|threatens|threatening|told me|tells me|telling me|screaming|screamed|yelling|yelled|shouting|shouted|swore|swears|texted|keeps saying|warned me|promised) {g5}(?:that )?(?:he|she|they|he is|she is|he will|she will|they will|he would|she would|he is going to|she is going to|they are going to|is going to|going to|will|would|gonna)? ?{g2}(?:kill|shoot|stab|murder|strangle|choke|end|slit) (?:me|us|my kids|the kids|the children|my family|my children|my (?:mom|mother|dad|father|sister|brother|son|daughter|baby))|(?:next time|one day|one of these days) i (?:will not|won't|might not|may not) wake up|(?:threatening|threatened|threatens|threaten) (?:me |us )?with (?:a|the|his|her) (?:knife|gun|weapon|bat|hammer|pistol|rifle)|(?:threatening|threatened|threatens) to (?:kill|shoot|stab|murder) (?:me|us|my|the kids)|(?:has|had|holding|held|holds|put|puts|pointing|pointed|points|aiming|aimed) (?:a |the |his |her )?(?:knife|gun|pistol|blade|weapon|rifle) (?:to|at|against|on) (?:my|me|us)|(?:said|says|saying|threatened|threatens|threatening|told me|tells me|screaming|screamed|yelling|yelled|shouting|shouted|swore|swears|texted|keeps saying|warned me|promised) {g5}(?:break|bash|smash|snap|crack|cave) (?:my|our) (?:neck|legs?|arms?|jaw|face|head|skull|bones|ribs|teeth)(?: in)?|(?:he|she|they) (?:will|is going to|is gonna|would|said he would|said she would) (?:break|bash|smash|snap|cave) (?:my|our) (?:neck|legs?|arms?|jaw|face|head|skull|bones|ribs|teeth)|(?:said|says|threatened|threatens|swore|told me) {g5}(?:beat|stab|choke|strangle|burn) me to death|(?:said|says|threatened|threatens|swore|told me) {g5}(?:put me in (?:the )?hospital|bury me|make me disappear|end me)`},
	{"threat_to_hurt_me", AbuseViolence, Concern, 0, 0, "", "someone threatens to hurt the writer",
		`(?:threatening|threatened|threatens|threaten) to (?:beat|hurt|hit|kick|attack|beat up) (?:me|us)|(?:threatening|threatened|scary|threatening) (?:messages|texts|calls|voicemails|emails|notes)|(?:keeps|kept) (?:showing up|turning up) at my (?:work|house|home|job|school|door|apartment|place)|(?:stalking|stalks|stalked) me`},
	{"held_captive", AbuseViolence, High, 0, 0, "", "is held or locked in against one's will",
		`(?:held|holding|keeping|kept|locked|trapped|keeps) (?:me )?(?:here |in )?(?:against my will)|(?:locked|trapped) me in|(?:lock|locks|locking|locked) me (?:in|up|inside) (?:the|my|a|his|her|our) (?:{w} )?(?:room|cellar|basement|closet|cupboard|bathroom|house|apartment|car|shed|attic)|(?:took|taken|takes|has|hid|hidden|keeps|kept) {g3}(?:keys|passport|phone) {g10}(?:not (?:leaving|allowed to leave|allowed out|letting me (?:leave|go|out))|(?:can not|cannot|can t) (?:leave|get out)|(?:will not|won t) let me (?:leave|go|out))|(?:can not|cannot|can t) leave (?:the|this|my|his|our) (?:flat|house|apartment|room|home) {g5}(?:took|taken|has|hid|locked)`},
	{"coercion", AbuseViolence, Concern, 0, 0, "", "is controlled or coerced by a partner or family member",
		`(?:forces|forced|forcing|makes|made|pressures|pressured|pressuring) me (?:to )?(?:have sex|do sexual things|sleep with|perform|into sex|do things i do not want)|(?:controls|controlling|takes|took) (?:all )?(?:my|all my) (?:money|finances|paycheck)|(?:isolates|isolated) me from|(?:will not|won't|does not|doesn't) let me (?:leave|escape)(?: the house| the room| the apartment| home)?|(?:checks|checked|checking|goes through|went through|reads|read|monitors|monitoring|tracks|tracking) (?:all )?my (?:phone|messages|texts|emails|location|bank account)(?: every| all| constantly| without)|(?:calls|called|calling) me (?:worthless|stupid|useless|fat|ugly|a whore|a slut|pathetic|a waste|nothing) (?:every|all the time|constantly|when|and)|(?:i am|i'm|am|i feel) (?:so |really |very |always |constantly )?(?:scared|afraid|terrified|frightened) of (?:him|her|my (?:husband|wife|partner|boyfriend|girlfriend|stepdad|stepfather|stepmom|stepmother|ex)|what (?:he|she) (?:will|might|would|could) do)(?: \.| !| ,| and| when| because| but)`},

	// ---- Overdose and medical emergency.
	{"emergency_symptoms", OverdoseMedical, High, 0, 0, "pressure sugar test tests donation bank work type thinner thinners", "describes a medical emergency",
		`(?:lips|fingers|face|skin) (?:are |is )?(?:turning |going |gone )?blue|(?:not|is not|isn't|stopped|has stopped|is barely) breathing|(?:is|he is|she is|they are|found (?:him|her|them)|and|now) (?:unconscious|unresponsive)|(?:he|she|they|and|but|he is|she is) (?:will not|won't|can not|cannot|does not|doesn't|is not|isn't) (?:wake|waking) up|(?:he is|she is|they are|baby is) (?:not|barely) (?:really )?(?:moving|responding)|can not wake (?:him|her|them) up|(?:having|had|is having) a seizure|(?:seizing|convulsing)|(?:will not|won't|does not|doesn't|can not|cannot) stop bleeding|(?:bleeding|bleeds) (?:heavily|a lot|everywhere|badly|out)|(?:so much|a lot of|lots of|there is a lot of) blood|(?:throwing|threw|coughing) up blood|vomiting blood|chest (?:is crushing|pain|feels crushed|is tight and)|crushing (?:chest )?pain|(?:face|mouth|smile) {g3}(?:drooping|droopy|drooped|sagging|fallen on one side)|(?:can not|cannot|can t|unable to) (?:lift|raise|move) (?:his|her|their|my|one) (?:arm|arms|leg|side)|(?:slurred|slurring) (?:his |her |their |my )?(?:speech|words)|(?:is|are|has been|have been|been|lying|lies) on (?:the|her|his|their) (?:kitchen |bathroom |bedroom )?floor (?:[^ .?!]+ ){0,10}(?:can not|cannot|can t) get up|(?:can not|cannot|can t) get up (?:[^ .?!]+ ){0,10}since (?:yesterday|last night|this morning)|(?:{poss}|my {w}) (?:{w} )?{relation} (?:is not|isn't|will not|won't|does not|doesn't|can not|cannot) (?:wake|waking) up`},
	{"weak_symptoms", OverdoseMedical, High, cue | strongCue, 0, "", "a symptom that is alarming together with another",
		`heart (?:is )?(?:racing|pounding|beating so fast|stopping)|chest (?:hurts|is hurting|feels tight|is tight|pain)|(?:can not|cannot|can't) stop (?:throwing up|vomiting|shaking)|(?:can not|cannot|could not|not able to|unable to|struggling to|hard to|barely) breathe|(?:can not|cannot|can't) feel my (?:hands|legs|arms|face|fingers|body)|(?:arm|face|side|left arm) (?:is |went |goes |feels )?numb|(?:feeling|feel|i am|getting|so|really) (?:really |so |very )?(?:sleepy|drowsy|dizzy|faint|woozy|confused)|stomach (?:is )?(?:starting to )?(?:hurt|hurts|hurting|burning)|(?:throwing up|vomiting|puking)|(?:everything is|vision is) (?:blurry|going dark|spinning)|(?:lips|hands|body) (?:are |is )?(?:numb|tingling)`},
	{"misuse", OverdoseMedical, Concern, 0, 0, "", "takes more medication or alcohol than safe",
		`(?:taking|take|took|been taking|started taking) (?:more|extra|double|triple|too many|too much|way more|a lot more|higher doses)(?: of)? (?:than )?{g2}(?:{pills})|(?:doubling|doubled|double) (?:up )?(?:on )?(?:my )?(?:{w} )?(?:{pills}|dose|doses)|(?:mix|mixing|mixed) {g3}(?:{pills}) with (?:alcohol|wine|vodka|beer|booze|drinks)|(?:drink|drank|drinking) (?:until|till|til|so much that) i (?:pass out|black out|blackout|cannot remember)|(?:blacking|blacked) out (?:from|every|almost)|black out (?:every|from)`},

	// ---- Cues: warning signs that count with earlier risk talk, or with a
	// second sign of which at least one is strong.
	{"cue_means_specific", SuicidePlan, High, cue | strongCue, Concern, "swing swings ladder course toy toys light lights for bridge burn tricks", "has a rope or a loaded gun for no stated reason",
		`(?:have|has|got|get|getting|bought|buy|buying|purchased|ordered|found|keep|keeps|there is|there's|with) (?:a |the |some |myself a |his |her |my )?(?:loaded (?:gun|pistol|rifle|shotgun)|rope|noose)`},
	{"cue_means", SuicidePlan, High, cue, 0, "safe safes cabinet lock locks licence license", "has or got the means (rope, gun, pills)",
		`(?:have|has|got|get|getting|bought|buy|buying|purchased|ordered|order|found|keep|keeps|there is|there's|with) (?:a |the |some |enough |myself a |all the |his |her |my |a loaded |a bottle of |two |all my )?(?:{w} )?(?:{w} )?(?:rope|ropes|gun|pistol|rifle|shotgun|firearm|bullets|ammo|razor blades|razors?|blades?|charcoal|helium|{pills}|knife|bottle of pills)|(?:it is|it's|they are|they're) (?:in my|right here|in his|in her)|(?:loaded|load|loading) (?:the |a |my )?(?:gun|pistol|rifle)|(?:holding|hold|held|taking out|take out|took out|taking it out) (?:it|the gun|the knife|the blade|the rope|the pills)`},
	{"at_the_height", SuicidePlan, High, 0, 0, "", "sits or stands on the edge of a bridge, roof or building",
		`(?:sitting|standing|stood|sat|perched|climbed|climbing|hanging) (?:up )?(?:on|over|onto|off) (?:the |a |my )?(?:{w} )?(?:railing|ledge|edge|parapet|rail|side) (?:of (?:the|a|my|this|that) )?(?:{w} )?(?:bridge|overpass|roof|rooftop|building|cliff|balcony|tower|parking garage|skyscraper|dam)|(?:sitting|standing|stood|sat|perched|climbed|climbing) (?:on|over|onto) (?:the |a )?(?:{w} )?(?:bridge|overpass|roof|rooftop|balcony|building|cliff) (?:railing|ledge|edge|rail|parapet)`},
	{"at_the_edge", SuicidePlan, High, cue | strongCue, Concern, "", "sits or stands on a ledge or a railing",
		`(?:sitting|standing|stood|sat|perched|climbed|climbing) (?:up )?(?:on|over|onto) (?:the |a |my )?(?:{w} )?(?:railing|ledge|edge|parapet|rail)`},
	{"cue_intent", SuicidePlan, High, cue, 0, "", "vague talk of doing it, being done or having decided",
		`(?:going to|gonna|will|about to) {adv}(?:do it|end it|jump|let go|go through with it|cut|use it|use them|take them all|take all of them|swallow them all|take them|swallow them)|(?:it is|it's) time\b|this is (?:it|the end)|(?:i am|i'm) {adv}(?:done|finished)(?: with everything| with it all| with life| with this)? (?:\.|!|,|and|i|with everything|with it all|with life)|(?:i have|i've) {adv}had enough|(?:i have|i've|i|have) {adv}(?:decided|made up my mind|made my decision|made peace with it)|for good \.|(?:said|saying|says|texted|sent) (?:me )?goodbye`},
	{"cue_place", SuicidePlan, High, cue, 0, "", "at a bridge, a roof, the tracks or a cliff",
		`(?:on|at|to|near|by) the (?:{w} )?(?:bridge|roof|rooftop|ledge|edge|tracks|train tracks|railway|railway line|train station|platform|cliff|cliffs|overpass|parking garage|top floor|balcony|motorway|highway bridge|river|sea|dam)|(?:in|into) the (?:bathroom|garage|woods) with (?:a|the|my)`},
	{"cue_unreachable", SuicidePlan, High, cue, 0, "", "someone at risk cannot be reached",
		`(?:is not|isn't|not|won't|will not|stopped) (?:answering|picking up|responding|replying)|(?:can not|cannot|can't) (?:reach|get hold of|get through to) (?:him|her|them)|(?:locked|locks) (?:himself|herself|themselves|myself) in`},
	{"cue_drugs", OverdoseMedical, High, cue | strongCue, 0, "", "took a lot of a drug",
		`(?:took|taken|did|done|snorted|smoked|injected|shot up|used) (?:way )?(?:a lot of|too much|so much|a ton of|lots of|a bunch of|more) (?:{w} )?(?:{drugs}|{pills})`},
	{"cue_plan", SuicidePlan, High, cue | strongCue, 0, "with_my_psychologist with_my_therapist with_my_doctor with_my_gp with_my_counsellor with_my_counselor with_my_psychiatrist with_my_care with_my_team with_my_nurse with_my_key with_my_social", "a plan, a date or a place picked, or no coming back",
		`(?:tonight|today) is the (?:night|day)|(?:know|decided|figured out|worked out) (?:exactly )?(?:how|when|where) (?:i am going to|i will|i'm going to|to) (?:do it|end it|go)|(?:picked|chose|chosen|picking|set|decided on|have|got|picked out) (?:a|the|my) (?:date|day|time|place|spot|location|method|bridge)|(?:a|the) (?:date|day) picked(?: out)?|(?:have|got|made) (?:a|the|my) plan|(?:have|got) (?:it|everything) {adv}(?:all )?(?:planned|figured out|worked out)|(?:ready|prepared) to go|(?:will not|won't|am not going to) be (?:here|around) (?:next week|tomorrow|much longer|for long|anymore|by (?:morning|tomorrow|friday|the weekend))|(?:not going to|won't|will not) be around much longer|(?:pills|tablets|meds) (?:are |all )?(?:counted|lined up|laid out|ready|sorted|in front of me|on my desk|on the table)|(?:sixty|seventy|eighty|ninety|fifty|forty|thirty|a hundred|hundreds|[3-9]\d|\d{3,}) (?:of them|pills|tablets|of my pills|of my meds)|(?:will not|won't|refuses to|refused to) (?:come down|get down|step back|come inside)|(?:counted|counting|lined up|laying out) (?:out )?(?:the |my |all the |all my )?(?:{pills})|(?:doing|do) it (?:tonight|today|now|this weekend|tomorrow|soon)|(?:not|never) (?:coming|going to come|gonna come) back|(?:not planning on|no plans for|won't need|will not need) (?:a )?(?:return|coming back|way back)|one way ticket|(?:will not|won't|never) (?:be )?(?:coming|going to come|make it) (?:back|home)|(?:will not|won't) need (?:them|it|these|my {w}|any of it|anything) (?:where i am going|anymore|after|much longer)|(?:get|getting|got|work up|working up) (?:up )?the (?:nerve|courage|guts)|(?:standing|sitting|stood) (?:on|at) the (?:edge|ledge)|(?:the )?(?:date|day|time) ,? (?:and )?(?:the )?(?:place|spot|location|method|way)|(?:counted|counting|count) (?:them|it) (?:again|out|twice|\.)|(?:not|never) (?:come|go) (?:back|home)|(?:until|once|when|need|wait for|waiting for) (?:everyone|everybody|they|my parents|my family|my {w}|the house) (?:is |are |to be |has |have )?(?:out|asleep|gone|away|at work|leave|leaves|left)`},
	{"cue_goodbye", SuicidePlan, High, cue | strongCue, 0, "", "says goodbye, gives things away, puts affairs in order",
		`(?:said|saying|say|texted|sent) goodbye (?:to )?(?:everyone|everybody|my {w}|all|them)|(?:goodbye|good bye|bye) (?:everyone|everybody|world|all|forever|guys)|(?:giving|gave|given|give) (?:away )?(?:{poss}|all my|away my) (?:{w} )?(?:stuff|things|belongings|possessions|guitar|books|clothes|pets?|cat|dog|games|collection|valuables|everything|jewelry|car|savings)|(?:updated|wrote|made|changed|finished|writing|drafted|sorted) (?:out )?(?:my )?will\b|(?:affairs|things|papers|everything) (?:is |are )?(?:in order|sorted)|(?:wrote|written|writing|write|left|leaving|mailing|mail) (?:goodbye )?(?:letters|notes|a letter|a note) (?:to|for) (?:my|everyone|all|each|the|everybody)|(?:wrote|written|writing|write|left|leaving|finished) (?:a|my|the) (?:goodbye )?(?:note|letter)|(?:none of (?:this|it|that)|it|this|that) (?:is|was|is not|was not|isn't|wasn't) (?:not )?(?:their|your|anyone's|anybody's|his|her|anyone|anybody) fault|not (?:their|your|his|her) fault|when i am gone|after i am gone|(?:paid|paying|pay) off (?:all )?(?:my )?debts|(?:left|leaving|wrote|writing) (?:instructions|my passwords|passwords)|(?:sent|gave|giving) {g2}(?:my )?passwords|this is goodbye|(?:saying|say|said) (?:my )?goodbyes|(?:deleted|deleting) (?:all )?(?:my )?(?:social media|accounts|photos)|(?:this is|it is) (?:my )?(?:last|final) (?:message|post|text|goodbye)|(?:my )?(?:last|final) (?:message|post|words|text) (?:to|for)|tell (?:her|him|them|my {w}|everyone) (?:i am|that i am|i'm|i was) sorry|(?:life insurance) {g5}(?:suicide|pays out|covers)|(?:a|the|my) noose|(?:i am|i'm) sorry for everything|(?:last|final) time (?:you|anyone|i) (?:will )?(?:hear|see)`},
	{"cue_relapse", SelfHarm, High, cue | strongCue, 0, "", "a relapse or fresh wounds",
		`relapsed|relapse|(?:fresh|new|deep|deeper) (?:cuts|wounds|scars|burns)|(?:deeper|worse) than (?:before|last time)|did it (?:again|twice|three times)`},
	{"danger_signs", AbuseViolence, High, cue | strongCue, 0, "", "a sign of danger from someone",
		`(?:locked|hiding|hid|barricaded) (?:myself )?(?:in|under) (?:the|my|a) (?:bathroom|room|closet|bedroom|car|basement|bed|wardrobe|attic)|(?:following|followed|follows|chasing|chased) me (?:home|right now|now|everywhere|again|tonight)|(?:banging|pounding|knocking) on (?:my|the) (?:door|window|windows)|broke into (?:my|our|the) (?:house|apartment|home|room|car|place)|(?:took|takes|smashed|broke) my phone|(?:scared|afraid|terrified) (?:to go home|to go to sleep|to sleep|for my life|he will kill me|she will kill me|he is going to kill me|he will hurt me)|(?:coming|come|is coming) back (?:tonight|later|soon|home|for me)|(?:he is|she is|they are|he will be|she will be) (?:coming|going to come|gonna come) back|nowhere (?:safe )?to go|(?:is|he is|she is) (?:drunk|high) and (?:angry|violent|hitting|screaming|beating)|(?:comes|coming|came|keeps coming|sneaks|sneaking|sneaked|snuck|creeps|creeping|crept|keeps sneaking) into my (?:room|bed|bedroom)|(?:has|have|had|got|with|holding|grabbed) (?:a |the |his |her )?(?:gun|guns|knife|knives|weapon|bat|pistol|rifle) (?:in the house|on me|to my|at me|pointed)|(?:he|she|my {w}|my {w} {w}) (?:has|have|got|keeps) (?:a |his |her )?(?:gun|guns|knife|weapon|rifle|pistol)|i am hiding|(?:hiding|hid) (?:in|under|behind|inside) (?:a|the|my|his|her) {w}|(?:he is|she is|they are|he's|someone is) (?:still )?(?:outside|at the door|outside my|in the house|downstairs|waiting outside)|scared for my life|fear for my life|(?:outside|at) (?:my|our|the) (?:house|door|window|apartment|work|car) with (?:a|his|her) (?:knife|gun|bat|weapon|pistol|rifle)|ran away (?:from home|because)|(?:i am|i'm) (?:outside|on the street|homeless|sleeping outside)|(?:it is|it's) freezing|(?:he is|she is) (?:drunk|high|wasted|raging)`},
	{"cue_harm_means", HarmToOthers, High, cue | strongCue | threat, 0, "", "means, time or seriousness behind a threat",
		`(?:i am|i'm) (?:serious|not joking|not kidding|dead serious)|i mean it|(?:not|no) joke|(?:have|got|bought|loaded|bring|bringing|has|carry|carrying) (?:a |the |his |my |it |some |two |three )?(?:{w} )?(?:guns?|knife|knives|weapons?|rifles?|pistols?|loaded|bat|baseball bat|hammer|machete|axe|crowbar|ammo)|(?:know|found out|learned) (?:where|when) (?:he|she|they) (?:lives|live|will be|works|is|sleeps|gets home|parks|goes|walks|drives|hangs out|gets off|leaves|stays|works out|goes to school)|(?:know|learned|memorized) (?:his|her|their) (?:schedule|routine|address)|(?:started|been) (?:looking at|looking for|looking up) (?:where|how) to (?:get|buy) (?:a )?(?:gun|weapon)|make (?:them|him|her|everyone) (?:all )?pay`},
}

// cutOtherSenses are the words after "cut", "cutting", "burn" that give
// them a sense other than self-harm.
const cutOtherSenses = "back down out off class classes school corners costs ties coupons wood paper onions hair grass it them him her his the a an my some carbs sugar through into across ahead loose dinner food meat cake bread the toast lines line calories fat spending hours shifts"

// overdoseOtherSenses are the things one "overdoses on" in jest.
const overdoseOtherSenses = "on_coffee on_caffeine on_sugar on_chocolate on_candy on_sweets on_netflix on_tv on_memes on_love on_cuteness on_carbs on_junk on_pizza on_fries on_cake on_cookies on_tiktok on_anime on_sleep on_energy on_red_bull on_espresso"

// rules are the compiled ruleSpecs.
var rules = compileRules()

// ruleLiterals indexes the literals the rules' branches require.
var ruleLiterals = func() *literalIndex {
	var bs []*branch
	for _, r := range rules {
		for i := range r.branches {
			bs = append(bs, &r.branches[i])
		}
	}
	return newLiteralIndex(bs)
}()

var unexpanded = regexp.MustCompile(`\{[a-z]`)

func expand(p string) string {
	for i := 0; i < 4; i++ {
		for _, m := range macros {
			p = strings.ReplaceAll(p, "{"+m.name+"}", m.re)
		}
	}
	p = strings.ReplaceAll(p, "{killing}", `(?:killing|ending)`)
	return p
}

func compileRules() []*rule {
	specs := append(slices.Clone(ruleSpecs), sensitivitySpecs...)
	out := make([]*rule, len(specs))
	for i, s := range specs {
		src := expand(s.pattern)
		if unexpanded.MatchString(src) {
			panic("safety: unexpanded macro in rule " + s.name + ": " + src)
		}
		r := &rule{name: s.name, category: s.category, level: s.level, flags: s.flags, alone: s.alone,
			explain: s.explain, source: src, pattern: compilePattern(src)}
		for _, phrase := range strings.Fields(s.not) {
			r.notFollowedBy = append(r.notFollowedBy, strings.Split(phrase, "_"))
		}
		out[i] = r
	}
	return out
}

// describeRule returns a rule's explanation.
func describeRule(name string) string {
	for _, r := range rules {
		if r.name == name {
			return r.explain
		}
	}
	if d, ok := extraRuleDescriptions[name]; ok {
		return d
	}
	return name
}

// extraRuleDescriptions explain the evidence that does not come from a
// pattern of ruleSpecs.
var extraRuleDescriptions = map[string]string{
	ruleAffirmed: "answers yes to a question about suicide or self-harm",
}
